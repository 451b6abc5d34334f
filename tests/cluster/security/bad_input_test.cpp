#define CAF_SUITE cluster.bad_input
#include "check.hpp"

#include <fstream>

#include "process.hpp"
#include "temp_dir.hpp"

// The defects a user found (issue 11): each one, from outside, against real
// nodes. After each, the node still serves every good request and says
// clearly what it refused.

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string examples = std::string{MESH_SOURCE_DIR} + "/examples/manifests";

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

std::string nested_schema(size_t depth) {
  std::string s;
  for (size_t i = 0; i < depth; ++i)
    s += R"({"items":)";
  s += "{}";
  for (size_t i = 0; i < depth; ++i)
    s += "}";
  return s;
}

json nested_payload(size_t depth) {
  json doc = "leaf";
  for (size_t i = 0; i < depth; ++i)
    doc = json::object({{"n", std::move(doc)}});
  return doc;
}

std::vector<std::string> node_args(const temp_dir& dir) {
  return {"--plugin", bin("libmesh_example_handlers.so"), "--manifests",
          dir.path(), "--data-dir", dir.file("data")};
}

bool quote_works(const node_process& n) {
  auto r = meshctl(n.http(), {"process", "price_quote", "--context",
                                 R"({"user_id":"u-42"})", "--args",
                                 R"({"sku":"sku-1","quantity":3})"});
  auto doc = json::parse(r.out, nullptr, false);
  return r.exit_code == 0 && doc.is_object() && doc.value("status", "") == "ok";
}

} // namespace

CAF_TEST(defective manifests never take the evaluator down) {
  temp_dir dir;
  dir.write("price_quote.json", read_file(examples + "/price_quote.json"));
  dir.write("not_utf8.json", "{\"description\": \"bad \xff\xfe bytes\"}");
  auto overflow = read_file(examples + "/price_quote.json");
  overflow.insert(overflow.rfind('}'), R"(, "extra": 1e400)");
  dir.write("overflow.json", overflow);
  dir.write("deep.json", R"({"description":"d","owner":"o","input_schema":)"
                           + nested_schema(10000) + "}");
  node_process n{node_args(dir)};
  CAF_CHECK(quote_works(n));
  auto listed = meshctl_json(n.http(), {"manifests"});
  std::string errors = listed.dump();
  CAF_CHECK(errors.find("1e400") != std::string::npos);
  CAF_CHECK(errors.find("UTF-8") != std::string::npos);
  CAF_CHECK(errors.find("nested deeper than") != std::string::npos);
  // The reloads that used to kill the evaluator (or time out): at once.
  for (int i = 0; i < 3; ++i) {
    auto r = meshctl(n.http(), {"manifests", "reload"}, false, 10s);
    CAF_CHECK_LESS(r.elapsed, std::chrono::milliseconds{5000});
    auto doc = json::parse(r.out, nullptr, false);
    CAF_REQUIRE(doc.is_object());
    CAF_CHECK_EQUAL(doc["result"]["failed"].size(), 3u);
    CAF_CHECK(quote_works(n));
  }
  CAF_CHECK(n.running());
  CAF_CHECK(n.log().find("unhandled exception") == std::string::npos);
}

CAF_TEST(a config number out of range is a configuration error) {
  temp_dir dir;
  auto cfg = dir.write("cfg.json", R"({"limits": {"max_hops": 1e400}})");
  for (auto extra : {std::vector<std::string>{},
                     std::vector<std::string>{"--check-config"}}) {
    std::vector<std::string> argv{bin("meshnode"), "--config", cfg, "--listen",
                                  "127.0.0.1:0", "--console", "127.0.0.1:0",
                                  "--http", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run_program(argv, 30s);
    CAF_CHECK_EQUAL(r.exit_code, 2);
    CAF_CHECK(r.err.find(cfg) != std::string::npos);
    CAF_CHECK(r.err.find("1e400") != std::string::npos);
  }
}

CAF_TEST(deep payloads are carried faithfully up to the limit and refused past it) {
  node_process a{{"--id", "a", "--namespaces", "users,echo", "--plugin",
                  bin("libmesh_example_handlers.so")}};
  node_process b{{"--id", "b", "--plugin", bin("libmesh_example_handlers.so")}};
  meshctl_json(a.http(), {"connect", b.listen()});
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  // Local (on b) and remote (from a, run on b): the same rule.
  for (const auto* via : {&b, &a}) {
    for (size_t depth : {10u, 50u, 60u}) {
      auto doc = nested_payload(depth);
      auto r = meshctl_json(via->http(),
                            {"dispatch", "echo", "EchoService", "Echo",
                             "--target", "b", "--payload", doc.dump()});
      CAF_CHECK_EQUAL(r["status"], "ok");
      CAF_CHECK_EQUAL(r["result"]["handled_by"], "b");
      CAF_CHECK(r["result"]["payload"] == doc);
    }
    auto r = meshctl(via->http(), {"dispatch", "echo", "EchoService", "Echo",
                                      "--target", "b", "--payload",
                                      nested_payload(70).dump()});
    CAF_CHECK_EQUAL(r.exit_code, 1);
    CAF_CHECK(r.out.find("invalid_argument") != std::string::npos);
    CAF_CHECK(r.out.find("max_json_depth") != std::string::npos);
  }
}

CAF_TEST(errors of the runtime reach users in Mesh words) {
  // Nothing listens on port 1: meshctl says so, without CAF's own terms.
  auto r = meshctl("127.0.0.1:1", {"status"}, true, 10s);
  CAF_CHECK_EQUAL(r.exit_code, 3);
  CAF_CHECK(r.err.find("system_error") == std::string::npos);
  CAF_CHECK(r.err.find("cannot") != std::string::npos);
}

CAF_TEST(meshctl takes large payloads from a file and from standard input) {
  temp_dir dir;
  node_process n{{"--plugin", bin("libmesh_example_handlers.so")}};
  // 3 MiB: far past what one command-line argument may hold (128 KiB).
  json big = {{"blob", std::string(3 * 1024 * 1024, 'x')}};
  auto file = dir.write("big.json", big.dump());
  auto r = meshctl(n.http(), {"dispatch", "echo", "EchoService", "Echo",
                                 "--payload", "@" + file});
  CAF_CHECK_EQUAL(r.exit_code, 0);
  auto doc = json::parse(r.out, nullptr, false);
  CAF_REQUIRE(doc.is_object());
  CAF_CHECK(doc["result"]["payload"] == big);
  auto piped = run_program({"/bin/sh", "-c",
                            bin("meshctl") + " --node " + n.http()
                              + " --json dispatch echo EchoService Echo"
                                " --payload - < " + file});
  CAF_CHECK_EQUAL(piped.exit_code, 0);
  CAF_CHECK(json::parse(piped.out)["result"]["payload"] == big);
  // Past the node's limit (4 MiB): refused with the reason.
  json huge = {{"blob", std::string(5 * 1024 * 1024, 'x')}};
  auto over = meshctl(n.http(), {"dispatch", "echo", "EchoService", "Echo",
                                    "--payload",
                                    "@" + dir.write("huge.json", huge.dump())});
  CAF_CHECK_EQUAL(over.exit_code, 1);
  CAF_CHECK(over.out.find("invalid_argument") != std::string::npos);
  // A file that is not there, or is not JSON: usage errors naming it.
  auto missing = meshctl(n.http(), {"dispatch", "echo", "EchoService",
                                       "Echo", "--payload", "@/nonexistent"});
  CAF_CHECK_EQUAL(missing.exit_code, 2);
  CAF_CHECK(missing.err.find("/nonexistent") != std::string::npos);
  auto bad = meshctl(n.http(), {"dispatch", "echo", "EchoService", "Echo",
                                   "--payload", "@" + dir.write("bad.json", "{")});
  CAF_CHECK_EQUAL(bad.exit_code, 2);
  CAF_CHECK(bad.err.find("not valid JSON") != std::string::npos);
}
