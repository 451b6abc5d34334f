#include "grpc/bridge.hpp"
#include "actors/inline_unit.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/default_attachable.hpp>
#include <caf/exit_reason.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include "actors/actor_names.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh::grpc_door {

namespace {

using clock = caf::actor_clock::clock_type;

/// How often the bridge looks for calls past their timeout.
constexpr auto sweep_interval = std::chrono::seconds{1};

caf::error stopped_error() {
  return make_error(status_code::unavailable,
                    "the node's gRPC bridge has stopped (shutting down?)");
}

/// Runs `done` with `err`; what it throws stays here.
void run(answer_fn& done, caf::error err) noexcept {
  try {
    auto msg = caf::make_message(std::move(err));
    done(msg.content());
  } catch (const std::exception& e) {
    log::get("grpc")->error("finishing a gRPC call failed: {}", e.what());
  } catch (...) {
    log::get("grpc")->error("finishing a gRPC call failed");
  }
}

} // namespace

class bridge::sink : public caf::monitorable_actor {
public:
  explicit sink(caf::actor_config& cfg) : caf::monitorable_actor(cfg) {}

  const char* name() const override {
    return "mesh.grpc_bridge";
  }

  /// Tables a call (see bridge::open).
  uint64_t open(const caf::strong_actor_ptr& dest, const char* what,
                answer_fn& done, std::chrono::milliseconds timeout,
                bool timer) {
    if (!dest) {
      run(done,
          make_error(status_code::unavailable, std::string{"the node has no "}
                                                   + what + " (restarting?)"));
      return 0;
    }
    uint64_t id = 0;
    while (id == 0)
      id = next_id_.fetch_add(1, std::memory_order_relaxed)
           & caf::message_id::request_id_mask;
    // The actor system's clock (tests drive it by hand), as the timers.
    auto now = home_system().clock().now();
    bool monitor = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (closed_) {
        id = 0;
      } else {
        calls_.emplace(id, pending{std::move(done), now + timeout,
                                   dest->id(), what});
        monitor = monitored_.insert(dest->id()).second;
      }
    }
    if (id == 0) {
      run(done, stopped_error());
      return 0;
    }
    // Outside the lock: a dead actor's down message arrives at once, here.
    if (monitor)
      dest->get()->attach(
          caf::default_attachable::make_monitor(dest->address(), address()));
    if (timer)
      home_system().clock().schedule_message(
          now + timeout, caf::strong_actor_ptr{ctrl()},
          caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                    atom::sweep_v, id));
    return id;
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    try {
      if (what->mid.is_response())
        return on_answer(*what);
      auto& x = what->content();
      if (x.match_elements<caf::down_msg>())
        return on_down(x.get_as<caf::down_msg>(0));
      if (what->sender != nullptr) // only the clock sends us more
        return;
      if (x.match_elements<caf::atom_value, uint64_t>()
          && x.get_as<caf::atom_value>(0) == atom::sweep::value)
        return expire(x.get_as<uint64_t>(1));
      if (x.match_elements<caf::atom_value>()
          && x.get_as<caf::atom_value>(0) == atom::sweep::value)
        return sweep();
    } catch (const std::exception& e) {
      // The delivering thread (a CAF worker, the clock, a gRPC thread):
      // never end it.
      log::get("grpc")->error("gRPC bridge: {}", e.what());
    }
  }

  /// Finishes call `id` with `err`, unless it was finished already.
  void fail(uint64_t id, caf::error err) {
    if (auto p = take(id))
      run(p->done, std::move(err));
  }

  void start_sweep() {
    home_system().clock().schedule_message(
        home_system().clock().now() + sweep_interval,
        caf::strong_actor_ptr{ctrl()},
        caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                  atom::sweep_v));
  }

  void stop() {
    if (auto left = close()) {
      for (auto& [id, p] : *left)
        run(p.done, stopped_error());
      cleanup(caf::make_error(caf::exit_reason::user_shutdown), nullptr);
    }
  }

  void on_destroy() override {
    // Only without stop() (the front door always stops first). No strong
    // reference may be made now: the calls left are finished as on stop.
    if (auto left = close()) {
      for (auto& [id, p] : *left)
        run(p.done, stopped_error());
      cleanup(caf::make_error(caf::exit_reason::unreachable), nullptr);
    }
    monitorable_actor::on_destroy();
  }

private:
  struct pending {
    answer_fn done;
    clock::time_point give_up;
    caf::actor_id dest;
    const char* what;
  };

  using table = std::unordered_map<uint64_t, pending>;

  std::optional<pending> take(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = calls_.find(id);
    if (i == calls_.end())
      return std::nullopt;
    std::optional<pending> p{std::move(i->second)};
    calls_.erase(i);
    return p;
  }

  void on_answer(caf::mailbox_element& what) {
    // Only what this node's actors say counts, or CAF's own bounce (an
    // error without a sender).
    if (what.sender != nullptr ? what.sender->node() != node()
                               : !what.content().match_elements<caf::error>())
      return;
    auto p = take(what.mid.request_id().integer_value());
    if (!p)
      return; // finished already (timeout, down, stop)
    try {
      p->done(what.content());
    } catch (const std::exception& e) {
      log::get("grpc")->error("finishing a gRPC call failed: {}", e.what());
    }
  }

  void on_down(const caf::down_msg& dm) {
    auto dead = dm.source.id();
    std::vector<pending> lost;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      monitored_.erase(dead); // its successor is a new actor
      for (auto i = calls_.begin(); i != calls_.end();) {
        if (i->second.dest == dead) {
          lost.push_back(std::move(i->second));
          i = calls_.erase(i);
        } else {
          ++i;
        }
      }
    }
    for (auto& p : lost)
      run(p.done, make_error(status_code::unavailable,
                             std::string{"the node's "} + p.what
                                 + " stopped before answering (restarting or "
                                   "shutting down?)"));
  }

  void expire(uint64_t id) {
    // As CAF's own request timeout: callers tell it apart (RunWorkflow).
    fail(id, caf::make_error(caf::sec::request_timeout));
  }

  void sweep() {
    std::vector<pending> late;
    auto now = home_system().clock().now();
    bool open = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      open = !closed_;
      for (auto i = calls_.begin(); i != calls_.end();) {
        if (i->second.give_up < now) {
          late.push_back(std::move(i->second));
          i = calls_.erase(i);
        } else {
          ++i;
        }
      }
    }
    for (auto& p : late)
      run(p.done, make_error(status_code::deadline_exceeded,
                             std::string{"the node's "} + p.what
                                 + " did not answer in time"));
    if (open)
      start_sweep();
  }

  // Closes the bridge once: the calls still waiting, or nothing when it was
  // closed already.
  std::optional<table> close() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return std::nullopt;
    closed_ = true;
    table left;
    left.swap(calls_);
    return left;
  }

  std::mutex mtx_;
  bool closed_ = false;
  table calls_;
  std::unordered_set<caf::actor_id> monitored_;
  std::atomic<uint64_t> next_id_{1};
};

bool runs_in_grpc_thread(caf::resumable* job) noexcept {
  // Any actor but these; a job that is no actor stays off (as before).
  const char* name = actor_name(job);
  return name != nullptr
         && !is_one_of(name, {actor_names::task_dispatcher,
                              actor_names::workflow_runner});
}

bridge::bridge(caf::actor_system& sys) {
  caf::actor_config cfg;
  handle_ = caf::make_actor<sink, caf::actor>(sys.next_actor_id(), sys.node(),
                                              &sys, cfg);
  sink_ = static_cast<sink*>(caf::actor_cast<caf::abstract_actor*>(handle_));
  sink_->start_sweep();
}

bridge::~bridge() {
  stop();
}

uint64_t bridge::open(const caf::strong_actor_ptr& dest, const char* what,
                      answer_fn done, std::chrono::milliseconds timeout,
                      bool timer) noexcept {
  try {
    return sink_->open(dest, what, done, timeout, timer);
  } catch (const std::exception& e) {
    // Out of memory, at worst: the call still gets its one answer.
    log::get("grpc")->error("gRPC bridge: {}", e.what());
    if (done)
      run(done, make_error(status_code::internal, e.what()));
    return 0;
  }
}

void bridge::deliver(const caf::strong_actor_ptr& dest,
                     caf::mailbox_element_ptr what) noexcept {
  what->sender = caf::strong_actor_ptr{sink_->ctrl()};
  // From a gRPC thread: dest, if idle, runs here (actors/inline_unit.hpp).
  dest->enqueue(std::move(what), inline_unit::here(sink_->home_system(),
                                                   runs_in_grpc_thread));
}

void bridge::failed(uint64_t id) noexcept {
  try {
    sink_->fail(id, make_error(status_code::internal,
                               "the node could not build the request"));
  } catch (...) {
    log::get("grpc")->error("gRPC bridge: a request could not be built");
  }
}

void bridge::stop() noexcept {
  try {
    sink_->stop();
  } catch (const std::exception& e) {
    log::get("grpc")->error("gRPC bridge stop: {}", e.what());
  }
}

} // namespace mesh::grpc_door
