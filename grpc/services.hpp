#pragma once

// The two services of the gRPC front door (grpc/front_door.hpp):
//   collector.CollectiveDispatcher  the seed's service (collector_service.cpp)
//   mesh.v1.Mesh                    Mesh's own API (mesh_service.cpp)
// Both answer every call exactly once, through the front door's bridge
// (bridge.hpp): the node's actor answers into it, and the call is finished
// in the thread that delivers the answer.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/type_erased_tuple.hpp>
#include <grpcpp/impl/service_type.h>

#include "grpc/bridge.hpp"
#include "grpc/call_support.hpp"

namespace mesh::grpc_door {

/// The bridge's answer function for a request answered with `Answer`:
/// `on_answer(Answer&)`, or `on_error(caf::error&)` for an error or an
/// answer of another type.
template <class Answer, class OnAnswer, class OnError>
answer_fn expect(OnAnswer on_answer, OnError on_error) {
  return [on_answer = std::move(on_answer),
          on_error = std::move(on_error)](caf::type_erased_tuple& x) mutable {
    if (x.match_elements<Answer>()) {
      // An answer that cannot be read still ends the call, once: on_answer
      // throws before it finishes the call (its last step).
      std::string why;
      try {
        on_answer(x.get_mutable_as<Answer>(0));
        return;
      } catch (const std::exception& e) {
        why = e.what();
      }
      auto err = make_error(status_code::internal,
                            "the node could not read its own answer: " + why);
      on_error(err);
    } else if (x.match_elements<caf::error>()) {
      on_error(x.get_mutable_as<caf::error>(0));
    } else {
      auto err = caf::make_error(caf::sec::unexpected_response);
      on_error(err);
    }
  };
}

/// The strong pointer the bridge asks (null for an empty slot's handle).
template <class Handle>
caf::strong_actor_ptr ptr_of(const Handle& h) {
  return caf::actor_cast<caf::strong_actor_ptr>(h);
}

std::unique_ptr<grpc::Service>
make_collector_service(node_handles node, std::shared_ptr<bridge> hop);

std::unique_ptr<grpc::Service>
make_mesh_service(node_handles node, std::shared_ptr<bridge> hop);

/// gRPC server reflection, v1 and v1alpha (reflection_service.cpp), for
/// the token's holders: `services` (full names of what the server
/// registers beside it) and the reflection services themselves, with the
/// files they import.
std::vector<std::unique_ptr<grpc::Service>>
make_reflection_services(const node_handles& node,
                         std::vector<std::string> services);

} // namespace mesh::grpc_door
