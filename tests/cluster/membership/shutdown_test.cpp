#define CAF_SUITE cluster.shutdown
#include "check.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include "process.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

// Polls a node (meshctl) until `pred` holds for its handlers list (the condition is
// awaited, not slept for: every poll is a real round trip).
template <class Pred>
bool await_handlers(const std::string& http, Pred pred,
                    std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = meshctl(http, {"handlers"});
    auto doc = json::parse(r.out, nullptr, false);
    if (!doc.is_discarded() && doc.value("ok", false) && pred(doc["result"]))
      return true;
  }
  return false;
}

int running_calls(const json& handlers, const std::string& name) {
  for (const auto& h : handlers)
    if (h["handler"] == name)
      return h["stats"]["running"];
  return 0;
}

} // namespace

CAF_TEST(SIGTERM lets in-flight requests finish and exits 0) {
  node_process node{{"--id", "leaving", "--plugin",
                     bin("libmesh_test_handlers.so")}};
  constexpr int n = 6;
  std::vector<run_result> results(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      results[i] = meshctl(node.http(),
                           {"dispatch", "test", "Faults", "Sleep", "--payload",
                            R"({"ms":1500})"});
    });
  CAF_CHECK(await_handlers(node.http(), [&](const json& hs) {
    return running_calls(hs, "test/Faults/Sleep") == n;
  }));
  CAF_CHECK_EQUAL(node.terminate(), 0);
  for (auto& t : threads)
    t.join();
  for (const auto& r : results) {
    CAF_CHECK_EQUAL(r.exit_code, 0);
    auto doc = json::parse(r.out, nullptr, false);
    CAF_CHECK(!doc.is_discarded() && doc["status"] == "ok");
  }
}

CAF_TEST(during a stream of dispatches every accepted request is answered) {
  node_process node{{"--id", "streaming", "--plugin",
                     bin("libmesh_test_handlers.so")}};
  std::atomic<bool> stop{false}, terminating{false};
  std::atomic<int> answered{0}, refused{0}, lost{0};
  std::mutex lost_mtx;
  std::string lost_detail;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      while (!stop) {
        auto r = meshctl(node.http(),
                         {"dispatch", "test", "Faults", "Sleep", "--payload",
                          R"({"ms":50})"});
        auto doc = json::parse(r.out, nullptr, false);
        // Exit 0 or 1: the node's own envelope; 3: one meshctl wrote.
        bool from_node = r.exit_code == 0 || r.exit_code == 1;
        auto error = doc.is_object() ? doc.value("error", "") : "";
        if (from_node && !doc.is_discarded()) {
          // ok, or unavailable once the node is draining: an answer.
          if (doc["status"] == "ok" || doc["status"] == "unavailable")
            ++answered;
          else
            ++lost;
        } else if (terminating && r.exit_code == 3
                   && (error.find("cannot connect") != std::string::npos
                       || error.find("closed before an answer")
                            != std::string::npos)) {
          // Only once shutdown began: never accepted, the listener was
          // closed or the console had ended (it answers everything it
          // accepted before it ends). Before that, it is a lost request.
          ++refused;
          stop = true;
        } else {
          ++lost; // accepted and never answered
          std::lock_guard<std::mutex> guard{lost_mtx};
          lost_detail = r.out + r.err;
        }
      }
    });
  CAF_CHECK(await_handlers(node.http(), [&](const json& hs) {
    for (const auto& h : hs)
      if (h["handler"] == "test/Faults/Sleep")
        return h["stats"]["calls"].get<int>() >= 20;
    return false;
  }));
  terminating = true;
  CAF_CHECK_EQUAL(node.terminate(), 0);
  stop = true;
  for (auto& t : clients)
    t.join();
  CAF_CHECK_GREATER_OR_EQUAL(answered.load(), 20);
  MESH_CHECK_MSG(lost.load() == 0, lost.load() << " lost: " << lost_detail);
}
