// Misbehaving handlers for the process tests.
//   test/Faults/Throw   throws, with secrets in the message
//   test/Faults/Sleep   sleeps {"ms": N} then answers {"slept_ms": N}
//   test/Tight/Sleep    the same, with one slot and a queue of one
//   test/Faults/Echo    answers with its payload (idempotent)
//   test/Faults/Big     answers {"blob": "xxx..."} of {"bytes": N} bytes
//   test/Caller/Run     an actor of this plug-in calls the router, as a
//                       plug-in's caller would: {"target": "ns/S/M",
//                       "count": N, "in_flight": K, "payload": {...},
//                       "non_blocking": true declares it a non-blocking
//                       caller, "sleep_ms": M makes it sleep on each
//                       answer: one that blocks} -> {"answers": N, "ok": n,
//                       "codes": {status: count}, "declared": bool}
// and topic dispatchers (routes come from the tests' configs):
//   test-sleep          event; says "test-sleep started" on stderr, then
//                       sleeps {"ms": N}
//   test-throw          event; throws with a password in the message

#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/cluster/data/non_blocking_callers.hpp"
#include "node/plugin_api.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "protocol/service_key.hpp"

namespace {

using nlohmann::json;

json sleep_for(const json& in) {
  auto ms = in.value("ms", 0);
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return {{"slept_ms", ms}};
}

// test/Caller/Run's actor state: keeps `in_flight` dispatches out until
// `left` is spent, then fulfils `done` with the figures once the last
// answer is in (each request is answered exactly once).
struct caller_loop {
  caf::event_based_actor* self = nullptr;
  mesh::pb::DispatchRequest request;
  caf::actor router;
  std::chrono::milliseconds nap{0}; // slept on each answer: one that blocks
  size_t left = 0;    // not sent yet
  size_t pending = 0; // sent, not answered
  size_t answers = 0;
  size_t ok = 0;
  std::map<std::string, size_t> codes;
  bool declared = false;
  std::promise<json> done;

  // Sends one more, or finishes once the last answer is in. The closures
  // hold a plain pointer: the actor keeps this alive (see run_caller).
  void next() {
    if (left == 0) {
      if (pending == 0)
        finish();
      return;
    }
    --left;
    ++pending;
    self->request(router, caf::infinite, request)
      .then(
        [this](mesh::pb::DispatchResponse& r) {
          auto code = static_cast<mesh::status_code>(r.status().code());
          if (code == mesh::status_code::ok)
            ++ok;
          answered(mesh::to_string(code));
        },
        [this](caf::error&) { answered("caf_error"); });
  }

  void answered(const std::string& code) {
    std::this_thread::sleep_for(nap);
    --pending;
    ++answers;
    ++codes[code];
    next();
  }

  void finish() {
    done.set_value({{"answers", answers},
                    {"ok", ok},
                    {"codes", codes},
                    {"declared", declared}});
    self->quit();
  }
};

// test/Caller/Run: `count` dispatches, `in_flight` at a time, from an actor
// of its own; answers when every one was answered.
json run_caller(caf::actor_system& sys, const caf::actor& router,
                const json& in) {
  auto key = mesh::parse_service_path(in.value("target", ""));
  if (!key)
    throw mesh::handler_failure(mesh::status_code::invalid_argument,
                                "target must be namespace/Service/Method");
  auto st = std::make_shared<caller_loop>();
  mesh::to_service_ref(*key, *st->request.mutable_ref());
  *st->request.mutable_payload() = mesh::json_to_any(
    in.value("payload", json::object()));
  st->router = router;
  st->left = in.value("count", size_t{1});
  st->nap = std::chrono::milliseconds{in.value("sleep_ms", 0)};
  auto in_flight = std::max<size_t>(in.value("in_flight", size_t{1}), 1);
  bool non_blocking = in.value("non_blocking", false);
  auto result = st->done.get_future();
  sys.spawn([st, in_flight, non_blocking](caf::event_based_actor* self) {
    self->attach_functor([st] {}); // the closures point at it
    st->self = self;
    if (non_blocking)
      st->declared = mesh::declare_non_blocking_caller(
        caf::actor_cast<caf::actor>(self));
    for (size_t i = 0; i < in_flight && st->left > 0; ++i)
      st->next();
    if (st->pending == 0)
      st->finish();
  });
  if (result.wait_for(std::chrono::seconds{25}) != std::future_status::ready)
    throw mesh::handler_failure(mesh::status_code::deadline_exceeded,
                                "the caller got no answer to some requests "
                                "within 25 s");
  return result.get();
}

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  registrar.add_json({"test", "Faults", "Throw"},
                     [](const mesh::call_context&, const json&) -> json {
                       throw std::runtime_error(
                         "cannot open postgres://app:s3cret@db:5432/orders "
                         "with password=hunter2");
                     });
  registrar.add_json({"test", "Faults", "Sleep"},
                     [](const mesh::call_context&, const json& in) {
                       return sleep_for(in);
                     });
  mesh::handler_options tight;
  tight.max_concurrency = 1;
  tight.max_queue = 1;
  registrar.add_json({"test", "Tight", "Sleep"},
                     [](const mesh::call_context&, const json& in) {
                       return sleep_for(in);
                     },
                     tight);
  mesh::handler_options idempotent;
  idempotent.idempotent = true;
  registrar.add_json({"test", "Faults", "Echo"},
                     [](const mesh::call_context&, const json& in) {
                       return in;
                     },
                     idempotent);
  registrar.add_json({"test", "Faults", "Big"},
                     [](const mesh::call_context&, const json& in) {
                       return json{{"blob", std::string(in.value("bytes", 0u),
                                                        'x')}};
                     });
  registrar.add_json({"test", "Caller", "Run"},
                     [sys = &registrar.system(), router = registrar.router()](
                       const mesh::call_context&, const json& in) {
                       return run_caller(*sys, router, in);
                     });
  registrar.add_dispatcher("test-sleep", mesh::message_category::event,
                           [](const mesh::topic_message& m) {
                             std::cerr << "test-sleep started" << std::endl;
                             sleep_for(m.payload);
                             return std::vector<std::string>{};
                           });
  registrar.add_dispatcher(
    "test-throw", mesh::message_category::event,
    [](const mesh::topic_message&) -> std::vector<std::string> {
      throw std::runtime_error("broker login failed: password=hunter2");
    });
  return 0;
}
