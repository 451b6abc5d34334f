#pragma once

// Asks several actors the same question and collects their JSON answers:
// the console and the registry use it to build reports. A target that fails
// or does not answer within `timeout` contributes {"error": "..."} instead,
// so one stuck actor never stalls a report.

#include <functional>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <nlohmann/json.hpp>

#include "protocol/messaging/local_types.hpp"

namespace mesh {

using gather_callback = std::function<void(std::vector<nlohmann::json>)>;

template <class Self>
void gather_json(Self* self, const std::vector<caf::actor>& targets,
                 const caf::message& question, caf::timespan timeout,
                 gather_callback done) {
  struct pending {
    std::vector<nlohmann::json> results;
    size_t remaining = 0;
    gather_callback done;
  };
  auto st = std::make_shared<pending>();
  st->results.resize(targets.size());
  st->remaining = targets.size();
  st->done = std::move(done);
  if (targets.empty()) {
    st->done({});
    return;
  }
  auto arrive = [st](size_t i, nlohmann::json x) {
    st->results[i] = std::move(x);
    if (--st->remaining == 0)
      st->done(std::move(st->results));
  };
  for (size_t i = 0; i < targets.size(); ++i) {
    self->request(targets[i], timeout, question)
      .then([arrive, i](nlohmann::json& x) { arrive(i, std::move(x)); },
            [arrive, i](caf::error& err) {
              arrive(i, nlohmann::json{{"error", caf::to_string(err)}});
            });
  }
}

} // namespace mesh
