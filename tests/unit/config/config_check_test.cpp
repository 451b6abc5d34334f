#define CAF_SUITE node.config_check
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// What `meshnode --check-config` finds without starting anything
// (node/check/config_check.hpp), and the configuration it prints
// (config/config_redact.hpp).

#include <filesystem>
#include <string>
#include <vector>

#include "config/config_redact.hpp"
#include "config/node_config.hpp"
#include "node/check/config_check.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using mesh::test::temp_dir;
using nlohmann::json;

namespace {

const std::string examples = std::string{MESH_SOURCE_DIR} + "/examples";

std::string plugin(const std::string& name) {
  return std::string{MESH_BIN_DIR} + "/" + name;
}

// A config from the default with `layer` merged in ("cfg.json"), checked.
struct checked {
  node_config cfg;
  std::vector<config_problem> problems;

  explicit checked(json layer) {
    auto doc = default_node_config_json();
    // Never the default ports, and no plug-in unless a test names one.
    json base = {{"listen", "127.0.0.1:0"},
                 {"console", {{"listen", "127.0.0.1:0"}}},
                 {"http", "127.0.0.1:0"},
                 {"plugins", json::array()}};
    merge_json(doc, base);
    merge_json(doc, layer);
    auto c = to_node_config(doc);
    CAF_REQUIRE(c);
    cfg = *c;
    problems = check_node_start(cfg, {{"default", default_node_config_json()},
                                      {"cfg.json", layer}});
  }

  std::string text() const {
    std::string all;
    for (const auto& p : problems)
      all += to_string(p) + "\n";
    return all;
  }

  bool has(const std::string& line) const {
    return text().find(line) != std::string::npos;
  }
};

} // namespace

CAF_TEST(a good configuration has no problems) {
  temp_dir data;
  checked c{{{"plugins", {plugin("libmesh_example_handlers.so")}},
             {"manifests", examples + "/manifests"},
             {"jobs", examples + "/jobs"},
             {"workflows", examples + "/workflows"},
             {"data_dir", data.file("state")}}};
  MESH_CHECK_MSG(c.problems.empty(), c.text());
  // Checked, not created.
  CAF_CHECK(!std::filesystem::exists(data.file("state")));
}

CAF_TEST(every problem a start would meet is reported at once) {
  checked c{{{"plugins", {"/nonexistent/libx.so",
                          plugin("libmesh_test_plugin_failing.so")}},
             {"manifests", "/nonexistent/m"},
             {"jobs", "/nonexistent/j"},
             {"workflows", "/nonexistent/w"},
             {"topics", {{"routes", {{{"id", "r"}, {"pattern", "orders.>"},
                                      {"category", "event"},
                                      {"dispatcher", "nobody"}}}}}}}};
  MESH_CHECK_MSG(c.has("cfg.json: /manifests: the manifests folder "
                       "'/nonexistent/m' does not exist"),
                 c.text());
  CAF_CHECK(c.has("cfg.json: /jobs: the jobs folder '/nonexistent/j' does "
                  "not exist"));
  CAF_CHECK(c.has("cfg.json: /workflows: the workflows folder "
                  "'/nonexistent/w' does not exist"));
  CAF_CHECK(c.has("cfg.json: /plugins/0: plug-in '/nonexistent/libx.so'"));
  CAF_CHECK(c.has("cfg.json: /plugins/1: plug-in '"));
  CAF_CHECK(c.has("registration failed with code 3"));
  CAF_CHECK(c.has("cfg.json: /topics/routes/0: route 'r' names unknown "
                  "dispatcher 'nobody'"));
  CAF_CHECK_EQUAL(c.problems.size(), 6u);
}

CAF_TEST(routes resolve against the dispatchers plug-ins register) {
  json route = {{"id", "r"}, {"pattern", "orders.>"}, {"category", "event"},
                {"dispatcher", "order-audit"}};
  // The example plug-in registers order-audit: the route resolves.
  checked with{{{"plugins", {plugin("libmesh_example_handlers.so")}},
                {"topics", {{"routes", {route}}}}}};
  MESH_CHECK_MSG(with.problems.empty(), with.text());
  // Without it, the same route names an unknown dispatcher.
  checked without{{{"topics", {{"routes", {route}}}}}};
  CAF_CHECK(without.has("/topics/routes/0: route 'r' names unknown "
                        "dispatcher 'order-audit'"));
  // A config dispatcher of another category: refused as the start would.
  json intent = route;
  intent["category"] = "intent";
  checked wrong{{{"plugins", {plugin("libmesh_example_handlers.so")}},
                 {"topics", {{"routes", {intent}}}}}};
  CAF_CHECK(wrong.has("is for intent messages but dispatcher 'order-audit' "
                      "takes event messages"));
}

CAF_TEST(every bad file of the folders is reported in its own words) {
  temp_dir m, w;
  std::filesystem::copy_file(examples + "/manifests/price_quote.json",
                             m.file("good.json"));
  m.write("typo.json", R"({"descripton": "x"})");
  w.write("broken.json", "{");
  w.write("mode.json", R"({"name": "x", "mode": "graph",
                           "steps": [{"id": "a", "call": "a/B/C"}]})");
  checked c{{{"manifests", m.path()}, {"workflows", w.path()}}};
  CAF_CHECK(c.has(m.file("typo.json") + ": /descripton: unknown key "
                  "'descripton'; did you mean 'description'?"));
  CAF_CHECK(c.has(w.file("broken.json") + ": /: "));
  CAF_CHECK(c.has(w.file("mode.json") + ": /mode: 'graph' is not one of: "
                  "sequential, parallel, dag"));
  CAF_CHECK(!c.has("good.json"));
}

CAF_TEST(jobs are checked against the functions plug-ins register) {
  // examples/jobs/audit-order.json runs the example plug-in's dispatcher.
  checked without{{{"jobs", examples + "/jobs"},
                   {"plugins", {plugin("libmesh_test_handlers.so")}}}};
  CAF_CHECK(without.has("audit-order.json: /target: no task dispatcher "
                        "named 'audit-order'"));
  checked with{{{"jobs", examples + "/jobs"},
                {"plugins", {plugin("libmesh_example_handlers.so")}}}};
  MESH_CHECK_MSG(with.problems.empty(), with.text());
}

CAF_TEST(policies may name only hooks that exist) {
  json policy = {{"name", "p"}, {"match", "ns/Svc/*"}, {"hooks", {"nohook"}}};
  checked c{{{"policies", {policy}}}};
  CAF_CHECK(c.has("/policies: policy 'p' names hook 'nohook'"));
}

CAF_TEST(the state folders must be writable or creatable) {
  temp_dir dir;
  auto file = dir.write("not-a-folder", "x");
  checked c{{{"manifests", examples + "/manifests"},
             {"data_dir", file + "/state"}}};
  MESH_CHECK_MSG(c.has("cfg.json: /data_dir: the node's state cannot be kept: "
                       "cannot create '" + file + "/state'"),
                 c.text());
  // Without manifests, jobs or workflows the node writes nothing there.
  checked idle{{{"data_dir", file + "/state"}}};
  MESH_CHECK_MSG(idle.problems.empty(), idle.text());
}

CAF_TEST(the console exposure is checked) {
  checked c{{{"console", {{"listen", "0.0.0.0:0"}}}}};
  CAF_CHECK(c.has("cfg.json: /console: the console listens on 0.0.0.0:0"));
}

CAF_TEST(secrets are shown as stars and unset ones as null) {
  auto doc = default_node_config_json();
  merge_json(doc, {{"cluster", {{"secret", "hunter2-secret"},
                                {"tls", {{"passphrase", "pw"}}}}},
                   {"console", {{"token", "a-console-token"}}}});
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  auto shown = redact_config(doc, *cfg).dump();
  CAF_CHECK(shown.find("hunter2") == std::string::npos);
  CAF_CHECK(shown.find("a-console-token") == std::string::npos);
  CAF_CHECK(shown.find("\"pw\"") == std::string::npos);
  auto r = redact_config(doc, *cfg);
  CAF_CHECK_EQUAL(r["cluster"]["secret"], "***");
  CAF_CHECK_EQUAL(r["console"]["token"], "***");
  // A secret from the environment is in force too: shown as set.
  auto plain = default_node_config_json();
  auto from_env = *to_node_config(plain);
  from_env.cluster.secret = "from-the-environment";
  auto e = redact_config(plain, from_env);
  CAF_CHECK_EQUAL(e["cluster"]["secret"], "***");
  CAF_CHECK(e["console"]["token"].is_null());
}
