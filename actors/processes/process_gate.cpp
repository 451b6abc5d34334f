#include "actors/processes/process_gate.hpp"

#include <atomic>
#include <mutex>
#include <new>
#include <optional>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/default_attachable.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/send.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include "actors/local_only.hpp"
#include "actors/message_in_place.hpp"
#include "actors/processes/call_slots.hpp"
#include "protocol/status.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

class process_gate : public caf::monitorable_actor {
public:
  process_gate(caf::actor_config& cfg, process_core_ptr core)
    : caf::monitorable_actor(cfg), core_(std::move(core)) {
  }

  const char* name() const override {
    return "mesh.process_gate";
  }

  void init(caf::actor evaluator) {
    evaluator_ = std::move(evaluator);
    evaluator_->attach(caf::default_attachable::make_monitor(
      evaluator_.address(), address()));
  }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* eu) override {
    if (closed_.load(std::memory_order_acquire)) {
      // Requests get "receiver down", as from a dead actor (explicitly: the
      // fail state is set only at the end of stop()).
      bounce(what, caf::make_error(caf::sec::request_receiver_down));
      return;
    }
    try {
      if (what->mid.is_response())
        return on_reply(what, eu);
      auto& content = what->content();
      if (content.match_elements<pb::ProcessRequest>())
        return on_process(what, eu);
      if (content.match_elements<caf::atom_value, pb::OutcomeReport>()
          && content.get_as<caf::atom_value>(0) == atom::outcome::value)
        return on_outcome(what, eu);
      if (content.match_elements<caf::exit_msg>()) {
        auto reason = content.get_as<caf::exit_msg>(0).reason;
        if (reason) // a normal exit does not end an actor that is not linked
          stop(std::move(reason), eu);
        return;
      }
      if (content.match_elements<caf::down_msg>()) {
        const auto& dm = content.get_as<caf::down_msg>(0);
        if (dm.source == evaluator_.address())
          stop(dm.reason ? dm.reason : caf::make_error(caf::exit_reason::normal),
               eu);
        return;
      }
    } catch (const std::exception& e) {
      // Work done in a caller's thread must not end the caller.
      core_->log->error("process dispatch failed: {}", e.what());
      if (what)
        answer(*what, caf::make_message(make_error(
                        status_code::internal,
                        core_->who + " failed: " + e.what())),
               eu);
      return;
    }
    evaluator_->enqueue(std::move(what), eu);
  }

  void on_destroy() override {
    // No strong reference may be made now (the count is 0): calls left
    // (a router dropped them) are answered without a sender, as CAF's own
    // bounces are.
    if (auto left = close()) {
      left->drain([this](pending&& p) {
        if (p.source)
          p.source->enqueue(nullptr, p.mid.response_id(),
                            caf::make_message(stopped_error()), nullptr);
      });
      if (evaluator_)
        evaluator_->enqueue(nullptr, caf::make_message_id(),
                            caf::make_message(caf::exit_msg{
                              address(), caf::exit_reason::unreachable}),
                            nullptr);
      cleanup(caf::make_error(caf::exit_reason::unreachable), nullptr);
    }
    monitorable_actor::on_destroy();
  }

private:
  struct pending {
    caf::strong_actor_ptr source;
    caf::message_id mid;
    caf::mailbox_element::forwarding_stack stages;
    process_call call;
  };

  // As a response promise delivers: to the next stage, else the sender.
  void answer(caf::mailbox_element& src, caf::message msg,
              caf::execution_unit* eu) {
    answer(src.sender, src.mid, src.stages, std::move(msg), eu);
  }

  void answer(caf::strong_actor_ptr& source, caf::message_id mid,
              caf::mailbox_element::forwarding_stack& stages,
              caf::message msg, caf::execution_unit* eu) {
    if (mid.is_response())
      return;
    if (!stages.empty()) {
      auto next = std::move(stages.back());
      stages.pop_back();
      next->enqueue(caf::make_mailbox_element(std::move(source), mid,
                                              std::move(stages),
                                              std::move(msg)),
                    eu);
      return;
    }
    if (source)
      source->enqueue(caf::strong_actor_ptr{ctrl()}, mid.response_id(), std::move(msg), eu);
  }

  bool from_here(const caf::mailbox_element& x) const {
    return x.sender != nullptr && x.sender->node() == node();
  }

  void on_process(caf::mailbox_element_ptr& what, caf::execution_unit* eu) {
    if (!from_here(*what))
      return answer(*what, caf::make_message(refused_remote()), eu);
    const auto& req = what->content().get_as<pb::ProcessRequest>(0);
    pending p;
    // Built where the router reads it: no second message and no swap.
    auto msg = make_message_in_place<pb::DispatchRequest>();
    auto& dr = msg.get_mutable_as<pb::DispatchRequest>(0);
    if (auto refusal = core_->decide(req, p.call, dr))
      return answer(*what, caf::make_message(std::move(*refusal)), eu);
    auto router = core_->cfg.router.get();
    if (!router)
      return answer(*what,
                    error_reply(p.call,
                             make_error(status_code::unavailable,
                                        "the router of node "
                                          + core_->cfg.node_id
                                          + " is not running")),
                    eu);
    p.source = std::move(what->sender);
    p.mid = what->mid;
    p.stages = std::move(what->stages);
    std::optional<uint64_t> id;
    {
      // Checked under the lock stop() empties the table with: a call is
      // either in the table when it is emptied, or refused here.
      std::lock_guard<std::mutex> guard{mtx_};
      try {
        if (!closed_.load(std::memory_order_acquire))
          id = calls_.put(std::move(p));
      } catch (const std::bad_alloc&) {
        // No room for the call: `p` is as it was, answered as when full.
      }
    }
    if (!id) // stopped meanwhile, 16 M calls in flight, or no memory
      return answer(p.source, p.mid, p.stages,
                    error_reply(p.call, closed_.load() ? stopped_error()
                                                       : full_error()),
                    eu);
    caf::actor_cast<caf::abstract_actor*>(router)->enqueue(
      caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()},
                                caf::make_message_id(*id), {},
                                std::move(msg)),
      eu);
  }

  void on_outcome(caf::mailbox_element_ptr& what, caf::execution_unit* eu) {
    if (!from_here(*what))
      return answer(*what, caf::make_message(refused_remote()), eu);
    const auto& report = what->content().get_as<pb::OutcomeReport>(1);
    if (auto err = core_->outcome(report))
      return answer(*what, caf::make_message(std::move(err)), eu);
    answer(*what, caf::make_message(caf::ok_atom::value), eu);
  }

  void on_reply(caf::mailbox_element_ptr& what, caf::execution_unit* eu) {
    // Only what this node's actors say counts, or CAF's own bounce (an
    // error without a sender).
    if (what->sender != nullptr ? what->sender->node() != node()
                                : !what->content().match_elements<caf::error>())
      return;
    std::optional<pending> found;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      found = calls_.take(what->mid.request_id().integer_value());
    }
    if (!found)
      return; // answered already (stopped), or not ours
    auto& p = *found;
    auto msg = what->move_content_to_message();
    caf::message out;
    try {
      if (msg.match_elements<pb::DispatchResponse>()) {
        out = make_message_in_place<pb::ProcessResponse>();
        core_->finish(p.call, msg.get_mutable_as<pb::DispatchResponse>(0),
                      out.get_mutable_as<pb::ProcessResponse>(0));
      } else if (msg.match_elements<caf::error>()) {
        out = error_reply(p.call, msg.get_as<caf::error>(0));
      } else {
        out = error_reply(p.call, caf::make_error(caf::sec::unexpected_response));
      }
    } catch (const std::exception& e) {
      // The entry is gone: this caller must still get its one answer.
      core_->log->error("process dispatch failed: {}", e.what());
      out = caf::make_message(make_error(status_code::internal,
                                         core_->who + " failed: " + e.what()));
    }
    answer(p.source, p.mid, p.stages, std::move(out), eu);
  }

  // The reply to a call that ends with `err`, in its message.
  caf::message error_reply(process_call& call, const caf::error& err) {
    auto out = make_message_in_place<pb::ProcessResponse>();
    core_->finish(call, err, out.get_mutable_as<pb::ProcessResponse>(0));
    return out;
  }

  caf::error full_error() const {
    return make_error(status_code::overloaded,
                      core_->who + " has too many calls in flight");
  }

  caf::error stopped_error() const {
    return make_error(status_code::unavailable,
                      core_->who + " stopped before answering");
  }

  // Closes the gate once: the calls still waiting, or nothing when it was
  // closed already. Allocates nothing (it runs in on_destroy too).
  std::optional<call_slots<pending>> close() {
    std::optional<call_slots<pending>> left{std::in_place};
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_.exchange(true))
      return std::nullopt;
    left->swap(calls_);
    return left;
  }

  void stop(caf::error reason, caf::execution_unit* eu) {
    auto left = close();
    if (!left)
      return;
    left->drain([this, eu](pending&& p) {
      answer(p.source, p.mid, p.stages, caf::make_message(stopped_error()),
             eu);
    });
    if (evaluator_)
      evaluator_->enqueue(nullptr, caf::make_message_id(),
                          caf::make_message(caf::exit_msg{address(), reason}),
                          eu);
    cleanup(std::move(reason), eu);
  }

  process_core_ptr core_;
  caf::actor evaluator_;
  std::atomic<bool> closed_{false};
  std::mutex mtx_;
  // Ids fit CAF's request ids (60 bits).
  static_assert(caf::message_id::request_id_mask == (uint64_t{1} << 60) - 1);
  call_slots<pending> calls_{60}; // under mtx_
};

} // namespace

caf::actor spawn_process_gate(caf::actor_system& sys, process_core_ptr core,
                              caf::actor evaluator) {
  caf::actor_config cfg;
  auto gate = caf::make_actor<process_gate, caf::actor>(
    sys.next_actor_id(), sys.node(), &sys, cfg, std::move(core));
  auto* ptr = static_cast<process_gate*>(
    caf::actor_cast<caf::abstract_actor*>(gate));
  ptr->init(std::move(evaluator));
  return gate;
}

} // namespace mesh
