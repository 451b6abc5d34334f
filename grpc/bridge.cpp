#include "grpc/bridge.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "protocol/status.hpp"
#include "protocol/type_ids.hpp"

namespace mesh::grpc_door {

namespace {

using clock = std::chrono::steady_clock;

/// How often a bridge looks for calls the router left unanswered.
constexpr auto sweep_interval = std::chrono::seconds{1};

caf::error stopped_error() {
  return make_error(status_code::unavailable,
                    "the node's gRPC bridge has stopped (shutting down?)");
}

} // namespace

/// One bridge: its queue and in-flight table (shared with gRPC threads,
/// behind `mtx`) and its actor.
struct bridge_pool::lane {
  struct pending {
    std::function<void(bridge_answer&&)> done;
    clock::time_point give_up;
  };

  std::mutex mtx;
  std::vector<bridge_job> queue;
  std::unordered_map<uint64_t, pending> in_flight;
  uint64_t next_id = 0;
  bool closed = false;
  caf::actor self; ///< set once, before the first submit

  /// Finishes the in-flight call `id` with `answer`, unless it already was.
  void finish(uint64_t id, bridge_answer&& answer) {
    std::function<void(bridge_answer&&)> done;
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto i = in_flight.find(id);
      if (i == in_flight.end())
        return;
      done = std::move(i->second.done);
      in_flight.erase(i);
    }
    done(std::move(answer));
  }

  /// Closes the lane and finishes all it holds with `unavailable`.
  void close() {
    std::vector<bridge_job> queued;
    std::unordered_map<uint64_t, pending> flying;
    {
      std::lock_guard<std::mutex> guard{mtx};
      closed = true;
      queued.swap(queue);
      flying.swap(in_flight);
    }
    for (auto& j : queued)
      j.done(stopped_error());
    for (auto& [id, p] : flying)
      p.done(stopped_error());
  }
};

namespace {

using lane = bridge_pool::lane;

template <class Response, class Request>
void ask(caf::event_based_actor* self, const router_actor& router, lane* l,
         uint64_t id, Request&& req) {
  // The lane outlives these handlers: the actor holds it.
  self->request(router, caf::infinite, std::move(req))
    .then([l, id](Response& r) { l->finish(id, bridge_answer{std::move(r)}); },
          [l, id](caf::error& err) {
            l->finish(id, bridge_answer{std::move(err)});
          });
}

caf::behavior bridge(caf::event_based_actor* self, std::shared_ptr<lane> l,
                     actor_slot<router_actor> router) {
  // Dying for whatever reason answers what the bridge holds.
  self->attach_functor([l] { l->close(); });
  self->delayed_send(self, sweep_interval, atom::sweep_v);
  return {
    [self, l, router](atom::flush) {
      std::vector<bridge_job> batch;
      uint64_t first = 0;
      bool closed = false;
      {
        std::lock_guard<std::mutex> guard{l->mtx};
        batch.swap(l->queue);
        closed = l->closed;
        if (!closed) {
          first = l->next_id;
          for (auto& j : batch)
            l->in_flight.emplace(++l->next_id,
                                 lane::pending{std::move(j.done), j.give_up});
        }
      }
      if (closed) {
        for (auto& j : batch)
          j.done(stopped_error());
        return;
      }
      auto r = router.get();
      for (auto& j : batch) {
        auto id = ++first;
        if (!r) {
          l->finish(id, make_error(status_code::unavailable,
                                   "the node has no router (restarting?)"));
          continue;
        }
        if (auto* d = std::get_if<pb::DispatchRequest>(&j.request))
          ask<pb::DispatchResponse>(self, r, l.get(), id, std::move(*d));
        else
          ask<pb::ServeResponse>(self, r, l.get(), id,
                                 std::move(std::get<pb::ServeRequest>(j.request)));
      }
    },
    [self, l](atom::sweep) {
      std::vector<std::function<void(bridge_answer&&)>> late;
      auto now = clock::now();
      {
        std::lock_guard<std::mutex> guard{l->mtx};
        for (auto i = l->in_flight.begin(); i != l->in_flight.end();) {
          if (i->second.give_up < now) {
            late.push_back(std::move(i->second.done));
            i = l->in_flight.erase(i);
          } else {
            ++i;
          }
        }
      }
      for (auto& done : late)
        done(make_error(status_code::deadline_exceeded,
                        "the node did not answer in time"));
      self->delayed_send(self, sweep_interval, atom::sweep_v);
    },
  };
}

} // namespace

bridge_pool::bridge_pool(caf::actor_system& sys,
                         actor_slot<router_actor> router, size_t n) {
  for (size_t i = 0; i < std::max<size_t>(n, 1); ++i) {
    auto l = std::make_shared<lane>();
    l->self = sys.spawn(bridge, l, router);
    lanes_.push_back(std::move(l));
  }
}

bridge_pool::~bridge_pool() {
  stop();
}

void bridge_pool::submit(bridge_job job) {
  auto& l = *lanes_[next_.fetch_add(1, std::memory_order_relaxed)
                    % lanes_.size()];
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{l.mtx};
    if (!l.closed) {
      wake = l.queue.empty();
      l.queue.push_back(std::move(job));
      job.done = nullptr;
    }
  }
  if (job.done) { // the lane is closed
    job.done(stopped_error());
    return;
  }
  if (wake)
    caf::anon_send(l.self, atom::flush_v);
}

void bridge_pool::stop() {
  for (auto& l : lanes_) {
    l->close();
    caf::anon_send_exit(l->self, caf::exit_reason::user_shutdown);
  }
}

} // namespace mesh::grpc_door
