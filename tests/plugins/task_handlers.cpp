// Handlers for the durable-task process tests. MESH_TEST_TASKS lists the
// groups to register (comma-separated; default: all), so that each node of
// a test cluster serves its own part of a job chain:
//   stepa, stepb  <group>/Step/Run: answers its payload plus {"<group>": n};
//                 counts deliveries by task id
//   sink          sink/Sink/Count: counts deliveries by task id
//   fail          fail/Always/Fail: always fails (handler_error)
//   slow          slow/Slow/Run: sleeps {"ms": N} (payload), then answers
//   beat          beat/Beat/Run: runs {"ms": N}, calling ctx.heartbeat()
//                 every 50 ms
// Every group also serves <group>/Sink/Report: {"deliveries", "unique",
// "duplicates", "max_attempt"} of its counting handlers. And one task
// dispatcher function, "count-fn", which counts like the sink.

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "node/plugin_api.hpp"

namespace {

using nlohmann::json;

struct counter {
  std::mutex mtx;
  std::map<std::string, uint32_t> by_task;
  uint64_t deliveries = 0;
  uint32_t max_attempt = 0;

  void count(const std::string& id, uint32_t attempt) {
    std::lock_guard<std::mutex> guard{mtx};
    ++by_task[id];
    ++deliveries;
    max_attempt = std::max(max_attempt, attempt);
  }

  json report() {
    std::lock_guard<std::mutex> guard{mtx};
    return {{"deliveries", deliveries},
            {"unique", by_task.size()},
            {"duplicates", deliveries - by_task.size()},
            {"max_attempt", max_attempt}};
  }
};

counter& counter_of(const std::string& group) {
  static std::mutex mtx;
  static std::map<std::string, counter> all;
  std::lock_guard<std::mutex> guard{mtx};
  return all[group];
}

std::set<std::string> groups() {
  std::set<std::string> out;
  const char* env = std::getenv("MESH_TEST_TASKS");
  std::stringstream in{env != nullptr ? env : "stepa,stepb,sink,fail,slow,beat"};
  for (std::string g; std::getline(in, g, ',');)
    if (!g.empty())
      out.insert(g);
  return out;
}

void sleep_ms(const json& in) {
  auto ms = in.is_object() ? in.value("ms", 0) : 0;
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
}

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  for (const auto& g : groups()) {
    registrar.add_json({g, "Sink", "Report"},
                       [g](const mesh::call_context&, const json&) {
                         return counter_of(g).report();
                       });
    if (g == "stepa" || g == "stepb") {
      registrar.add_json({g, "Step", "Run"},
                         [g](const mesh::call_context& ctx, const json& in) {
                           counter_of(g).count(ctx.task.id, ctx.task.attempt);
                           json out = in.is_object() ? in : json::object();
                           out[g] = ctx.task.cursor;
                           return out;
                         });
    } else if (g == "sink") {
      registrar.add_json({g, "Sink", "Count"},
                         [g](const mesh::call_context& ctx, const json&) {
                           counter_of(g).count(ctx.task.id, ctx.task.attempt);
                           return json{{"counted", ctx.task.id}};
                         });
    } else if (g == "fail") {
      registrar.add_json({g, "Always", "Fail"},
                         [g](const mesh::call_context& ctx, const json&) -> json {
                           counter_of(g).count(ctx.task.id, ctx.task.attempt);
                           throw mesh::handler_failure(
                             mesh::status_code::handler_error,
                             "attempt " + std::to_string(ctx.task.attempt)
                               + " of " + ctx.task.id + " failed on purpose");
                         });
    } else if (g == "slow") {
      registrar.add_json({g, "Slow", "Run"},
                         [g](const mesh::call_context& ctx, const json& in) {
                           sleep_ms(in);
                           counter_of(g).count(ctx.task.id, ctx.task.attempt);
                           return in;
                         });
    } else if (g == "beat") {
      registrar.add_json(
        {g, "Beat", "Run"}, [g](const mesh::call_context& ctx, const json& in) {
          auto ms = in.is_object() ? in.value("ms", 0) : 0;
          auto until = std::chrono::steady_clock::now()
                       + std::chrono::milliseconds{ms};
          while (std::chrono::steady_clock::now() < until) {
            ctx.heartbeat();
            std::this_thread::sleep_for(std::chrono::milliseconds{50});
          }
          counter_of(g).count(ctx.task.id, ctx.task.attempt);
          return json{{"ran_ms", ms}};
        });
    }
  }
  registrar.add_task_dispatcher("count-fn", [](const mesh::task_call& call,
                                               const json& in) {
    counter_of("count-fn").count(call.task_id, call.attempt);
    return in;
  });
  registrar.add_json({"fn", "Sink", "Report"},
                     [](const mesh::call_context&, const json&) {
                       return counter_of("count-fn").report();
                     });
  return 0;
}
