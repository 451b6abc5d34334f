#pragma once

// raw_unary: the front door's methods read their request bodies themselves.
// gRPC's generated handler answers a body protobuf cannot parse (a string
// that is not UTF-8, a wrong wire type, a client built from another proto)
// with UNIMPLEMENTED and no message, so the client believes the method is
// missing, and protobuf writes its complaint to stderr. Here the token is
// checked first, then the body is parsed, and a bad one is answered
// INVALID_ARGUMENT naming what is wrong; a good one goes to the method's
// handler as before, and its response is serialized when the call ends.

#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "grpc/call_support.hpp"

namespace mesh::grpc_door {

/// A call's request and response, kept as long as a copy of its `call`.
template<class Request, class Response>
struct raw_call final : response_slot {
  Request request;
  Response response;
  grpc::ByteBuffer* out = nullptr; ///< gRPC's, alive until the call ends

  void seal() override {
    bool own = false;
    // Serializing a message just built cannot fail: a failure would leave
    // the body empty, which clients read as a default response.
    (void)grpc::SerializationTraits<Response>::Serialize(response, out, &own);
  }
};

/// Runs `handler(call, Request*, Response*)` for a raw call of `method`
/// (counted in node.counts), once the token passed and the body parsed
/// (the request is the handler's to move from); returns the call's
/// reactor.
template<class Request, class Response, class Handler>
grpc::ServerUnaryReactor* raw_unary(grpc::CallbackServerContext* ctx,
                                    const node_handles& node,
                                    const grpc::ByteBuffer* in,
                                    grpc::ByteBuffer* out, door_method method,
                                    Handler&& handler) {
  auto c = begin(ctx, node, method);
  if (c.finished)
    return c.reactor;
  auto held = std::make_shared<raw_call<Request, Response>>();
  held->out = out;
  if (auto why = parse_request(*in, held->request)) {
    auto text = "the request is not a valid "
                + Request::descriptor()->full_name() + ": " + *why;
    if (text.size() > 480) // a trailer: protobuf's words are short anyway
      text.resize(480);
    refuse(c, {grpc::StatusCode::INVALID_ARGUMENT, text});
    return c.reactor;
  }
  auto* reactor = c.reactor;
  c.slot = held;
  // Finishes the call when the handler throws before it did (the slot lets
  // only the first finish through); the body holds no status to read.
  auto fallback = c;
  fallback.status_in_body = false;
  try {
    handler(std::move(c), &held->request, &held->response);
  } catch (const std::exception& e) {
    fallback.done({grpc::StatusCode::INTERNAL,
                   std::string{"the node could not take this call: "}
                     + e.what()});
  } catch (...) {
    fallback.done({grpc::StatusCode::INTERNAL,
                   "the node could not take this call"});
  }
  return reactor;
}

/// raw_unary for a service's member `method(call, Request*, Response*)`:
/// what each raw method override of a service returns.
template <class Service, class Request, class Response>
grpc::ServerUnaryReactor*
raw_method(Service* self, void (Service::*method)(call, Request*, Response*),
           door_method which, grpc::CallbackServerContext* ctx,
           const node_handles& node, const grpc::ByteBuffer* in,
           grpc::ByteBuffer* out) {
  return raw_unary<Request, Response>(
    ctx, node, in, out, which,
    [self, method](call c, Request* req, Response* resp) {
      (self->*method)(std::move(c), req, resp);
    });
}

} // namespace mesh::grpc_door
