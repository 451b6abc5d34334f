// Handlers and hooks for the dispatch-pipeline process tests
// (tests/cluster/pipeline_test.cpp, pipeline_resilience_test.cpp).
//
// Handlers, namespace "pipe":
//   pipe/Svc/Echo    idempotent; answers {"node": this node, "context": the
//                    call's context (what pre-hooks added), "in": payload}
//   pipe/Svc/Sleep   idempotent; sleeps {"ms": N} (payload), then answers
//                    {"node"}
//   pipe/Svc/Write   not idempotent; answers {"node"}
//   pipe/Svc/Down    idempotent; always throws unavailable
//   pipe/Svc/Stats   {"node", "runs": {"Echo": n, ...}, "count_post": n}:
//                    how often each handler ran here (tests call it with
//                    `meshctl serve`; no test policy names it)
// With MESH_TEST_PIPE_DOWN=1 every pipe handler but Stats throws
// unavailable: a peer that answers unavailable to everything (it still
// counts the run). With MESH_TEST_PIPE_HANDLERS=0 the plug-in registers only
// its hooks: a gateway whose policies name them.
//
// Hooks:
//   tag           pre; adds context "tagged_by" = the node running the hook
//   deny          pre; rejects with permission_denied "denied by test hook"
//   explode       pre; throws std::runtime_error
//   post-explode  post; throws std::runtime_error
//   count-post    post; counts its calls (harmless)

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "node/plugin_api.hpp"

namespace {

using nlohmann::json;

/// Handler runs on this node, by method.
class run_counter {
public:
  void count(const std::string& method) {
    std::lock_guard<std::mutex> guard{mtx_};
    ++runs_[method];
  }

  json to_json() const {
    std::lock_guard<std::mutex> guard{mtx_};
    json out = json::object();
    for (const auto& [method, n] : runs_)
      out[method] = n;
    return out;
  }

private:
  mutable std::mutex mtx_;
  std::map<std::string, uint64_t> runs_;
};

run_counter& runs() {
  static run_counter instance;
  return instance;
}

std::atomic<uint64_t>& count_post_calls() {
  static std::atomic<uint64_t> n{0};
  return n;
}

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string{v} == value;
}

/// Counts the run, then fails when the node plays a broken peer.
void enter(const std::string& method, const mesh::call_context& ctx) {
  runs().count(method);
  if (env_is("MESH_TEST_PIPE_DOWN", "1"))
    throw mesh::handler_failure(mesh::status_code::unavailable,
                                "node " + ctx.node_id
                                  + " is down for the test "
                                    "(MESH_TEST_PIPE_DOWN=1)");
}

void add_handlers(mesh::handler_registrar& registrar) {
  mesh::handler_options idempotent;
  idempotent.idempotent = true;
  registrar.add_json({"pipe", "Svc", "Echo"},
                     [](const mesh::call_context& ctx, const json& in) {
                       enter("Echo", ctx);
                       json context = json::object();
                       for (const auto& [k, v] : ctx.context)
                         context[k] = v;
                       return json{{"node", ctx.node_id},
                                   {"context", context},
                                   {"in", in}};
                     },
                     idempotent);
  registrar.add_json({"pipe", "Svc", "Sleep"},
                     [](const mesh::call_context& ctx, const json& in) {
                       enter("Sleep", ctx);
                       auto ms = in.is_object() ? in.value("ms", 0) : 0;
                       std::this_thread::sleep_for(
                         std::chrono::milliseconds{ms});
                       return json{{"node", ctx.node_id}};
                     },
                     idempotent);
  registrar.add_json({"pipe", "Svc", "Write"},
                     [](const mesh::call_context& ctx, const json&) {
                       enter("Write", ctx);
                       return json{{"node", ctx.node_id}};
                     });
  registrar.add_json({"pipe", "Svc", "Down"},
                     [](const mesh::call_context& ctx, const json&) -> json {
                       enter("Down", ctx);
                       throw mesh::handler_failure(
                         mesh::status_code::unavailable,
                         "pipe/Svc/Down is always unavailable");
                     },
                     idempotent);
  registrar.add_json({"pipe", "Svc", "Stats"},
                     [](const mesh::call_context& ctx, const json&) {
                       return json{{"node", ctx.node_id},
                                   {"runs", runs().to_json()},
                                   {"count_post", count_post_calls().load()}};
                     });
}

void add_hooks(mesh::handler_registrar& registrar) {
  using mesh::hook_call;
  using mesh::hook_stage;
  using mesh::hook_verdict;
  registrar.add_hook("tag", hook_stage::pre, [](hook_call& call) {
    call.context["tagged_by"] = call.node;
    return hook_verdict::pass();
  });
  registrar.add_hook("deny", hook_stage::pre, [](hook_call&) {
    return hook_verdict::reject(mesh::status_code::permission_denied,
                                "denied by test hook");
  });
  registrar.add_hook("explode", hook_stage::pre,
                     [](hook_call&) -> hook_verdict {
                       throw std::runtime_error("the explode hook blew up");
                     });
  registrar.add_hook("post-explode", hook_stage::post,
                     [](hook_call&) -> hook_verdict {
                       throw std::runtime_error(
                         "the post-explode hook blew up");
                     });
  registrar.add_hook("count-post", hook_stage::post, [](hook_call&) {
    ++count_post_calls();
    return hook_verdict::pass();
  });
}

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  if (!env_is("MESH_TEST_PIPE_HANDLERS", "0"))
    add_handlers(registrar);
  add_hooks(registrar);
  return 0;
}
