#pragma once

// A closed-loop load generator: one actor keeps `in_flight` requests
// outstanding against a target, sending the next as soon as one is answered,
// for a warm-up and then a measured period. Mesh scenarios and the bare-CAF
// baselines all use it, so their figures differ only in what they measure.

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <vector>

namespace mesh::bench {

struct load_spec {
  size_t in_flight = 1;
  std::chrono::milliseconds warmup{500};
  std::chrono::milliseconds duration{2000};
  /// Called with the loop's actor before its first request (a Mesh driver
  /// declares it a non-blocking caller there); may be empty.
  std::function<void(const caf::actor&)> on_start;
};

struct load_result {
  uint64_t ok = 0;     ///< answered successfully within the measured period
  uint64_t failed = 0; ///< answered with an error (any time)
  double seconds = 0;  ///< length of the measured period
  std::vector<uint64_t> latencies_ns; ///< every measured request, exact
  std::string first_error;

  /// The exact q-quantile (0..1) of the measured latencies, in ns.
  uint64_t quantile(double q) const;

  double per_second() const {
    return seconds > 0 ? static_cast<double>(ok) / seconds : 0.0;
  }

  /// {"requests_per_s", "ok", "failed", "p50_us", "p90_us", "p99_us",
  ///  "max_us", "mean_us", "first_error"}
  nlohmann::json to_json() const;
};

/// Runs the loop and blocks until it ends. `make_request()` returns the
/// message content to send (a fresh copy each time, or a caf::message
/// the driver keeps and sends again: no copy per request); `check(response)`
/// returns an empty string for success or an error text.
template <class Response, class MakeRequest, class Check>
load_result run_closed_loop(caf::actor_system& sys, caf::actor target,
                            const load_spec& spec, MakeRequest make_request,
                            Check check) {
  using clock = std::chrono::steady_clock;
  // The loop's state, owned by its actor until it ends. The closures of a
  // request hold a plain pointer to it: copying shared pointers into them
  // cost atomic increments and decrements per request, the driver's own
  // work in every figure (Mesh's and the baselines' alike).
  struct loop {
    loop(caf::actor t, const load_spec& s, MakeRequest m, Check c)
      : target(std::move(t)),
        spec(s),
        make_request(std::move(m)),
        check(std::move(c)) {
    }
    caf::event_based_actor* self = nullptr;
    caf::actor target;
    load_spec spec;
    MakeRequest make_request;
    Check check;
    load_result result;
    clock::time_point measure_from, end;
    size_t outstanding = 0;
    std::promise<load_result> done;

    void send() {
      auto sent = clock::now();
      self->request(target, caf::infinite, make_request())
        .then([this, sent](Response& r) { finish(sent, check(r)); },
              [this, sent](caf::error& err) {
                finish(sent, caf::to_string(err));
              });
    }

    void finish(clock::time_point sent, const std::string& error) {
      auto now = clock::now();
      if (!error.empty()) {
        ++result.failed;
        if (result.first_error.empty())
          result.first_error = error;
      } else if (sent >= measure_from && now < end) {
        ++result.ok;
        result.latencies_ns.push_back(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent)
            .count()));
      }
      if (now < end) {
        send();
        return;
      }
      if (--outstanding == 0) {
        result.seconds = std::chrono::duration<double>(spec.duration).count();
        done.set_value(std::move(result));
        self->quit();
      }
    }
  };
  auto st = std::make_shared<loop>(std::move(target), spec,
                                   std::move(make_request), std::move(check));
  auto future = st->done.get_future();
  sys.spawn([st](caf::event_based_actor* self) {
    self->attach_functor([st] {}); // the requests' closures point at it
    st->self = self;
    if (st->spec.on_start)
      st->spec.on_start(caf::actor_cast<caf::actor>(self));
    st->measure_from = clock::now() + st->spec.warmup;
    st->end = st->measure_from + st->spec.duration;
    st->result.latencies_ns.reserve(1 << 20);
    st->outstanding = st->spec.in_flight;
    for (size_t i = 0; i < st->spec.in_flight; ++i)
      st->send();
  });
  return future.get();
}

} // namespace mesh::bench
