// The handler executor's behaviour: its messages, each checked to come
// from this node. What it does with a call (run, queue, time out, answer)
// is its state's work (handler_executor_state.cpp).

#include "actors/handlers/handler_executor.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/handlers/handler_executor_state.hpp"
#include "actors/local_only.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

using detail::executor_state;

executor_actor::behavior_type
executor_behavior(executor_actor::stateful_pointer<executor_state> self,
                  executor_config cfg) {
  auto& st = self->state;
  st.self = self;
  if (cfg.spec.options.max_concurrency == 0)
    cfg.spec.options.max_concurrency = cfg.max_concurrency;
  if (cfg.spec.options.max_queue == 0)
    cfg.spec.options.max_queue = cfg.max_queue;
  if (!cfg.runner_factory)
    cfg.runner_factory = default_runner_factory(cfg.spec.key.method);
  st.cfg = std::move(cfg);
  if (st.cfg.fast) {
    // Non-blocking: calls run through the shared fast path (usually called
    // by the router directly); no worker threads.
  } else if (st.cfg.spec.kind != handler_kind::actor) {
    st.runner = st.cfg.runner_factory(st.cfg.spec.options.max_concurrency);
  } else {
    // The node owns registered handler actors: they stop with their
    // executor (handler removed, node stopped), or the system never ends.
    self->attach_functor([handler = st.cfg.spec.actor] {
      caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
    });
  }
  st.log = log::get("executor");
  return {
    [self](const pb::ServeRequest& req) -> caf::result<pb::ServeResponse> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.handle<pb::ServeResponse>(req, false);
    },
    [self](const pb::DispatchRequest& req) -> caf::result<pb::DispatchResponse> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.handle<pb::DispatchResponse>(req, true);
    },
    [self](atom::job_done, uint64_t id, handler_outcome& out) {
      self->state.completed(id, std::move(out));
    },
    [self](atom::sweep) {
      if (from_this_node(self)) // own timer
        self->state.sweep();
    },
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      auto& st = self->state;
      if (st.pending() == 0)
        return caf::ok_atom::value;
      st.drain_waiters.push_back(self->make_response_promise());
      return caf::delegated<caf::ok_atom>{};
    },
    [self](atom::retire) {
      if (!from_this_node(self))
        return;
      self->state.retiring = true;
      self->state.check_drained();
    },
    [self](atom::stats) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.stats());
    },
  };
}

} // namespace

executor_actor spawn_handler_executor(caf::actor_system& sys,
                                      executor_config cfg) {
  return sys.spawn(executor_behavior, std::move(cfg));
}

} // namespace mesh
