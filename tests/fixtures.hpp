#pragma once

// Shared test fixtures:
// - test_config: an actor_system_config with every Mesh type registered;
// - actor_fixture: CAF's deterministic scheduler (test_coordinator_fixture)
//   on test_config, with logging off (MESH_TEST_LOG=debug turns it on) and
//   `ask`, a request that runs the scheduler until the answer is there;
// - manual_runner: a job_runner the test drives by hand, so executor tests
//   decide exactly when handler code runs.

#include <cstdlib>
#include <deque>
#include <functional>

#include <caf/test/dsl.hpp>

#include "actors/handlers/job_runner.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/register.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh::test {

struct test_config : caf::actor_system_config {
  test_config() {
    register_types(*this);
  }
};

inline void init_test_logging() {
  const char* level = std::getenv("MESH_TEST_LOG");
  log::init(level != nullptr ? level : "off");
}

struct actor_fixture : test_coordinator_fixture<test_config> {
  actor_fixture() {
    init_test_logging();
  }

  /// Runs every actor until no message is left, without firing timeouts:
  /// CAF's own run() also jumps the clock to each pending timeout, which
  /// would expire every deadline at once. Tests move time explicitly with
  /// advance_time().
  size_t run() {
    return sched.run();
  }

  /// Stops actors that reference each other (registry <-> router): without
  /// this the cycle keeps them alive and the system never shuts down.
  void stop(std::initializer_list<caf::actor> actors) {
    for (const auto& a : actors)
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  /// Sends `msg` to `dest` as a request from `self`, runs every actor until
  /// nothing is left to do, and returns the reply (or fails the test).
  template <class Response, class... Ts>
  Response ask(const caf::actor& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    Response result;
    bool received = false;
    handle.receive(
      [&](Response& x) {
        result = std::move(x);
        received = true;
      },
      [&](caf::error& err) { CAF_FAIL("request failed: " << sys.render(err)); });
    CAF_REQUIRE(received);
    return result;
  }

  /// Like `ask`, but expects an error and returns it (`Success` is the
  /// type of a successful reply, which fails the test).
  template <class Success = caf::ok_atom, class... Ts>
  caf::error ask_error(const caf::actor& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::error result;
    handle.receive([&](Success&) { CAF_FAIL("expected an error"); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

/// What a request_client received, in arrival order.
struct reply_log {
  std::vector<pb::DispatchResponse> dispatch;
  std::vector<pb::ServeResponse> serve;
  std::vector<caf::error> errors;

  size_t total() const {
    return dispatch.size() + serve.size() + errors.size();
  }
};

/// An actor that forwards each request it is sent to `target` and logs the
/// reply: lets a test keep many requests in flight and inspect every answer.
inline caf::behavior request_client(caf::event_based_actor* self,
                                    caf::actor target,
                                    std::shared_ptr<reply_log> log) {
  return {
    [=](pb::DispatchRequest& req) {
      self->request(target, caf::infinite, std::move(req))
        .then([=](pb::DispatchResponse& r) { log->dispatch.push_back(r); },
              [=](caf::error& e) { log->errors.push_back(e); });
    },
    [=](pb::ServeRequest& req) {
      self->request(target, caf::infinite, std::move(req))
        .then([=](pb::ServeResponse& r) { log->serve.push_back(r); },
              [=](caf::error& e) { log->errors.push_back(e); });
    },
  };
}

inline pb::DispatchRequest make_dispatch(const std::string& ns,
                                         const std::string& service,
                                         const std::string& method,
                                         const std::string& target = {}) {
  pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_(ns);
  req.mutable_ref()->set_service(service);
  req.mutable_ref()->set_method(method);
  req.set_target_node_id(target);
  return req;
}

inline status_code code_of(const pb::Status& s) {
  return static_cast<status_code>(s.code());
}

/// Runs handler jobs only when told to.
class manual_runner : public job_runner {
public:
  void submit(std::function<void()> job) override {
    jobs_.push_back(std::move(job));
  }

  size_t waiting() const {
    return jobs_.size();
  }

  /// Runs the oldest job; false if there is none.
  bool run_one() {
    if (jobs_.empty())
      return false;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    job();
    return true;
  }

  size_t run_all() {
    size_t n = 0;
    while (run_one())
      ++n;
    return n;
  }

private:
  std::deque<std::function<void()>> jobs_;
};

} // namespace mesh::test
