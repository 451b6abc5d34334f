#define CAF_SUITE config.node_config
#include "check.hpp"
#include <caf/test/unit_test.hpp>

#include <string>

#include "config/node_config.hpp"
#include "config_problems.hpp"
#include "protocol/status.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using nlohmann::json;
using mesh::test::mentions;

namespace {

// `text` in a file of a directory of its own, removed at scope exit.
struct temp_file {
  mesh::test::temp_dir dir;
  std::string path;
  explicit temp_file(const std::string& text)
    : path(dir.write("cfg.json", text)) {
  }
};

} // namespace

CAF_TEST(the embedded default is valid and complete) {
  const auto& doc = default_node_config_json();
  CAF_CHECK(check_config_layer(doc, "default").empty());
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK_EQUAL(cfg->listen.host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg->limits.max_payload_bytes, 4u * 1024 * 1024);
  CAF_CHECK(!cfg->namespaces);
  CAF_CHECK(!cfg->plugins.empty());
}

CAF_TEST(a file layer overrides the default) {
  temp_file f{R"({"id": "n1", "listen": "127.0.0.1:0",
                  "namespaces": ["users"], "limits": {"max_queue": 3}})"};
  auto layer = read_json_file(f.path);
  CAF_REQUIRE(layer);
  CAF_CHECK(check_config_layer(*layer, f.path).empty());
  auto doc = default_node_config_json();
  merge_json(doc, *layer);
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK_EQUAL(cfg->id, "n1");
  CAF_CHECK_EQUAL(cfg->listen.port, 0u);
  CAF_CHECK_EQUAL(cfg->limits.max_queue, 3u);
  CAF_CHECK_EQUAL(cfg->limits.max_concurrency, 16u); // kept from default
  CAF_REQUIRE(cfg->namespaces);
  CAF_CHECK_EQUAL(cfg->namespaces->size(), 1u);
}

CAF_TEST(an unreadable file names the file) {
  auto r = read_json_file("/nonexistent/mesh.json");
  CAF_REQUIRE(!r);
  CAF_CHECK(error_text(r.error()).find("/nonexistent/mesh.json: cannot open")
            == 0);
}

CAF_TEST(invalid JSON names file and line and column) {
  temp_file f{"{\n  \"id\": \"n1\",\n  \"listen\": \n}\n"};
  auto r = read_json_file(f.path);
  CAF_REQUIRE(!r);
  auto text = error_text(r.error());
  MESH_CHECK_MSG(text.find(f.path + ":4:1:") == 0, text);
}

CAF_TEST(a file larger than any configuration is refused unread) {
  // At the bound it is read (and found to be no JSON); one byte past it,
  // refused for its size. /dev/zero never ends: the read stops at the bound.
  temp_file at_bound{std::string(max_json_file_bytes, ' ')};
  auto r = read_json_file(at_bound.path);
  CAF_REQUIRE(!r);
  auto text = error_text(r.error());
  MESH_CHECK_MSG(text.find("larger than") == std::string::npos, text);
  temp_file past{std::string(max_json_file_bytes, ' ') + "{}"};
  r = read_json_file(past.path);
  CAF_REQUIRE(!r);
  text = error_text(r.error());
  MESH_CHECK_MSG(text.find(past.path + ": the file is larger than 16777216 "
                           "bytes")
                   == 0,
                 text);
  r = read_json_file("/dev/zero");
  CAF_REQUIRE(!r);
  text = error_text(r.error());
  MESH_CHECK_MSG(text.find("/dev/zero: the file is larger than") == 0, text);
}

CAF_TEST(an unknown key is named with its pointer) {
  auto problems = check_config_layer(json{{"limits", {{"max_qeue", 1}}}},
                                     "cfg.json");
  CAF_CHECK(mentions(problems, "cfg.json: /limits"));
  CAF_CHECK(mentions(problems, "max_qeue"));
  CAF_CHECK(!check_config_layer(json{{"colour", "red"}}, "x").empty());
}

CAF_TEST(a wrong type is named with its pointer) {
  auto problems = check_config_layer(json{{"limits", {{"max_queue", "ten"}}}},
                                     "cfg.json");
  CAF_CHECK(mentions(problems, "cfg.json: /limits/max_queue"));
  CAF_CHECK(!check_config_layer(json{{"plugins", "x.so"}}, "x").empty());
  CAF_CHECK(!check_config_layer(json{{"log_level", "loud"}}, "x").empty());
  CAF_CHECK(!check_config_layer(json::array(), "x").empty());
}

CAF_TEST(bad addresses are refused) {
  CAF_CHECK(mentions(check_config_layer(json{{"listen", "localhost"}}, "x"),
                     "/listen"));
  CAF_CHECK(mentions(check_config_layer(json{{"console", "a b:1"}}, "x"),
                     "/console"));
  auto doc = default_node_config_json();
  doc["listen"] = "127.0.0.1:99999";
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(!cfg);
  CAF_CHECK(error_text(cfg.error()).find("/listen: port 99999") == 0);
}

CAF_TEST(host and port parse including IPv6) {
  std::string error;
  auto a = parse_host_port("[::1]:80", error);
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(a->host, "::1");
  CAF_CHECK_EQUAL(to_string(*a), "[::1]:80");
  CAF_CHECK(!parse_host_port(":80", error));
  CAF_CHECK(!parse_host_port("host:", error));
  CAF_CHECK(!parse_host_port("host:8x", error));
}

CAF_TEST(inconsistent limits and bad allow-lists are refused) {
  auto doc = default_node_config_json();
  doc["limits"]["default_deadline_ms"] = 9000;
  doc["limits"]["max_deadline_ms"] = 100;
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(!cfg);
  CAF_CHECK(error_text(cfg.error()).find("/limits/default_deadline_ms") == 0);
  doc = default_node_config_json();
  doc["registry_validator"] = {{"allow", {"users/*/Get User"}}};
  cfg = to_node_config(doc);
  CAF_REQUIRE(!cfg);
  CAF_CHECK(error_text(cfg.error()).find("/registry_validator/allow") == 0);
}

CAF_TEST(topics config is checked with pointers) {
  json layer{{"topics",
              {{"dispatchers",
                {{{"id", "rec"}, {"kind", "record"}, {"category", "gossip"}}}}}}};
  CAF_CHECK(mentions(check_config_layer(layer, "t.json"),
                     "t.json: /topics/dispatchers/0/category"));
  layer = {{"topics", {{"dispatchers", {{{"id", "x"}, {"kind", "shell"},
                                          {"category", "event"}}}}}}};
  CAF_CHECK(mentions(check_config_layer(layer, "t.json"),
                     "/topics/dispatchers/0/kind"));
  auto doc = default_node_config_json();
  doc["topics"]["routes"] = {{{"id", "r"}, {"pattern", "orders.>.x"},
                              {"category", "event"}, {"dispatcher", "rec"}}};
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(!cfg);
  CAF_CHECK(error_text(cfg.error()).find("/topics/routes/0/pattern") == 0);
  doc = default_node_config_json();
  doc["topics"]["dispatchers"] = {{{"id", "f"}, {"kind", "forward"},
                                   {"category", "event"}}};
  cfg = to_node_config(doc);
  CAF_REQUIRE(!cfg);
  CAF_CHECK(error_text(cfg.error()).find("forward_to") != std::string::npos);
  doc = default_node_config_json();
  doc["topics"]["dispatchers"] = {{{"id", "rec"}, {"kind", "record"},
                                   {"category", "event"}, {"keep", 5}}};
  doc["topics"]["routes"] = {{{"id", "r"}, {"pattern", "orders.>"},
                              {"category", "event"}, {"dispatcher", "rec"},
                              {"message_type", "OrderCreated"}}};
  cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_REQUIRE_EQUAL(cfg->topics.routes.size(), 1u);
  CAF_CHECK_EQUAL(cfg->topics.routes[0].message_type, "OrderCreated");
  CAF_CHECK_EQUAL(cfg->topics.dispatchers[0].keep, 5u);
}

CAF_TEST(layers merge objects key by key) {
  json base{{"a", 1}, {"o", {{"x", 1}, {"y", 2}}}};
  merge_json(base, json{{"o", {{"y", 3}}}, {"b", 2}});
  CAF_CHECK_EQUAL(base, (json{{"a", 1}, {"b", 2}, {"o", {{"x", 1}, {"y", 3}}}}));
}

CAF_TEST(the default id names host and port) {
  node_config cfg;
  CAF_CHECK(effective_node_id(cfg, 7420).find("-7420") != std::string::npos);
  cfg.id = "fixed";
  CAF_CHECK_EQUAL(effective_node_id(cfg, 7420), "fixed");
}

CAF_TEST(the console takes an address or an object with a token) {
  auto doc = default_node_config_json();
  // A file that sets only the token, a flag that sets only the address:
  // both survive the merge.
  json file{{"console", {{"token", "tok-12345678"}}}};
  json flags{{"console", "127.0.0.1:9999"}};
  CAF_CHECK(check_config_layer(file, "f.json").empty());
  CAF_CHECK(check_config_layer(flags, "command line").empty());
  normalize_layer(file);
  normalize_layer(flags);
  merge_json(doc, file);
  merge_json(doc, flags);
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK_EQUAL(cfg->console_token, "tok-12345678");
  CAF_CHECK_EQUAL(cfg->console.port, 9999);
  // A token shorter than 8 characters or an unknown key: schema errors.
  CAF_CHECK(!check_config_layer(json{{"console", {{"token", "short"}}}}, "f")
               .empty());
  CAF_CHECK(!check_config_layer(json{{"console", {{"tokn", "x"}}}}, "f").empty());
  // A token file that is not there names the pointer.
  doc["console"]["token_file"] = "/nonexistent/token";
  cfg = to_node_config(doc);
  CAF_REQUIRE(!cfg);
  CAF_CHECK(error_text(cfg.error()).find("/console/token_file")
            != std::string::npos);
}

CAF_TEST(a token file holds one line of printable text) {
  mesh::test::temp_dir dir;
  auto error_for = [&](const std::string& content) {
    auto doc = default_node_config_json();
    doc["console"] = {{"listen", "127.0.0.1:7421"},
                      {"token_file", dir.write("token", content)}};
    auto cfg = to_node_config(doc);
    return cfg ? std::string{} : error_text(cfg.error());
  };
  CAF_CHECK_EQUAL(error_for("  tok-12345678\n"), "");
  auto huge = error_for(std::string(1 << 20, 'a'));
  CAF_CHECK(huge.find("/console/token_file") != std::string::npos);
  CAF_CHECK(huge.find("larger than 4096 bytes") != std::string::npos);
  auto binary = error_for("tok-1234\xff\xfe" "5678");
  CAF_CHECK(binary.find("not printable UTF-8 text") != std::string::npos);
  auto control = error_for(std::string{"tok-1234\0" "5678", 13});
  CAF_CHECK(control.find("not printable UTF-8 text") != std::string::npos);
}

CAF_TEST(a console off loopback needs a token) {
  node_config cfg;
  cfg.console.host = "127.0.0.1";
  CAF_CHECK(check_console_exposure(cfg).empty());
  cfg.console.host = "0.0.0.0";
  CAF_CHECK(check_console_exposure(cfg).find("no token") != std::string::npos);
  cfg.console_token = "tok-12345678";
  CAF_CHECK(check_console_exposure(cfg).empty());
  CAF_CHECK(is_loopback_host("localhost"));
  CAF_CHECK(is_loopback_host("::1"));
  CAF_CHECK(!is_loopback_host("10.0.0.1"));
}

CAF_TEST(tls needs certificate key and ca together) {
  auto doc = default_node_config_json();
  CAF_CHECK(!check_config_layer(json{{"cluster", {{"tls", {{"certificate", "c.pem"}}}}}},
                                "f")
               .empty());
  json full{{"cluster", {{"tls", {{"certificate", "c.pem"}, {"key", "k.pem"},
                                  {"ca", "ca.pem"}}}}}};
  CAF_CHECK(check_config_layer(full, "f").empty());
  merge_json(doc, full);
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK(cfg->cluster.tls.enabled());
  CAF_CHECK_EQUAL(cfg->cluster.tls.ca, "ca.pem");
}

CAF_TEST(handlers patterns select registered handlers) {
  std::optional<std::vector<std::string>> none;
  CAF_CHECK(handler_selected(none, {"orders", "OrderService", "CreateOrder"}));
  std::optional<std::vector<std::string>> some{
    {"users", "orders/OrderService/GetOrder", "*/EchoService"}};
  CAF_CHECK(handler_selected(some, {"users", "UserService", "GetUser"}));
  CAF_CHECK(handler_selected(some, {"orders", "OrderService", "GetOrder"}));
  CAF_CHECK(!handler_selected(some, {"orders", "OrderService", "CreateOrder"}));
  CAF_CHECK(handler_selected(some, {"echo", "EchoService", "Echo"}));
  CAF_CHECK(!handler_selected(some, {"echo", "Other", "Echo"}));
  std::optional<std::vector<std::string>> empty{std::vector<std::string>{}};
  CAF_CHECK(!handler_selected(empty, {"users", "UserService", "GetUser"}));
  // The schema refuses patterns that could never match.
  CAF_CHECK(check_config_layer(json{{"handlers", {"users"}}}, "f").empty());
  CAF_CHECK(!check_config_layer(json{{"handlers", {"a/b/c/d"}}}, "f").empty());
  CAF_CHECK(!check_config_layer(json{{"handlers", {""}}}, "f").empty());
  auto doc = default_node_config_json();
  merge_json(doc, json{{"handlers", {"users/*"}}});
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_REQUIRE(cfg->handlers.has_value());
  CAF_CHECK_EQUAL(cfg->handlers->front(), "users/*");
}

CAF_TEST(done tasks are kept a week by default and zero keeps them forever) {
  for (auto bad : {json(-1), json(315360001), json("7d"), json(1.5)})
    MESH_CHECK_MSG(mentions(check_config_layer(
                              json{{"tasks", {{"done_retention_s", bad}}}},
                              "cfg.json"),
                            "cfg.json: /tasks/done_retention_s"),
                   "done_retention_s " << bad.dump() << " was not refused");
  auto doc = default_node_config_json();
  CAF_CHECK_EQUAL(doc["tasks"]["done_retention_s"], 604800);
  doc["tasks"]["done_retention_s"] = 0;
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK_EQUAL(cfg->tasks.done_retention_s, 0u);
}

CAF_TEST(the grpc door keepalive and budget take numbers within bounds) {
  for (auto bad : {json(0), json(-5), json("60s"), json(1.5),
                   json(86400001)})
    MESH_CHECK_MSG(
      mentions(check_config_layer(
                 json{{"grpc",
                       {{"listen", "127.0.0.1:0"},
                        {"keepalive", {{"time_ms", bad}}}}}},
                 "cfg.json"),
               "cfg.json: /grpc/keepalive/time_ms"),
      "time_ms " << bad.dump() << " was not refused");
  CAF_CHECK(mentions(check_config_layer(
                       json{{"grpc",
                             {{"listen", "127.0.0.1:0"},
                              {"keepalive", {{"every_ms", 5}}}}}},
                       "cfg.json"),
                     "every_ms"));
  auto doc = default_node_config_json();
  auto defaults = to_node_config(doc);
  CAF_REQUIRE(defaults);
  CAF_CHECK_EQUAL(defaults->grpc_keepalive.time_ms, 60000u);
  CAF_CHECK_EQUAL(defaults->grpc_keepalive.timeout_ms, 20000u);
  CAF_CHECK_EQUAL(defaults->grpc_keepalive.min_client_ping_ms, 10000u);
  CAF_CHECK_EQUAL(defaults->grpc_keepalive.max_idle_ms, 3600000u);
  CAF_CHECK_EQUAL(defaults->grpc_memory_mb, 256u);
  merge_json(doc, json{{"grpc",
                        {{"listen", "127.0.0.1:0"},
                         {"memory_mb", 4},
                         {"keepalive",
                          {{"timeout_ms", 500},
                           {"max_idle_ms", 0},
                           {"min_client_ping_ms", 1000}}}}}});
  CAF_CHECK(check_config_layer(doc, "merged").empty());
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK_EQUAL(cfg->grpc_keepalive.time_ms, 60000u);
  CAF_CHECK_EQUAL(cfg->grpc_keepalive.timeout_ms, 500u);
  CAF_CHECK_EQUAL(cfg->grpc_keepalive.min_client_ping_ms, 1000u);
  CAF_CHECK_EQUAL(cfg->grpc_keepalive.max_idle_ms, 0u); // never
  CAF_CHECK_EQUAL(cfg->grpc_memory_mb, 4u);
  // The budget: at least 4 MiB, whole MiB, at most 1 TiB.
  for (auto bad : {json(3), json(-1), json("64MB"), json(1.5),
                   json(1048577)})
    MESH_CHECK_MSG(mentions(check_config_layer(
                              json{{"grpc",
                                    {{"listen", "127.0.0.1:0"},
                                     {"memory_mb", bad}}}},
                              "cfg.json"),
                            "cfg.json: /grpc/memory_mb"),
                   "memory_mb " << bad.dump() << " was not refused");
  CAF_CHECK(mentions(check_config_layer(
                       json{{"grpc",
                             {{"listen", "127.0.0.1:0"},
                              {"keepalive", {{"max_idle_ms", -1}}}}}},
                       "cfg.json"),
                     "cfg.json: /grpc/keepalive/max_idle_ms"));
}
