#pragma once

// What the data plane's cluster tests share: a node's router figures and
// the test plug-in's caller (test/Caller/Run) driven through meshctl.

#include <string>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "process.hpp"

namespace mesh::test {

/// The "router" part of `meshctl status` of the node at `http`.
inline nlohmann::json router_stats(const std::string& http) {
  auto doc = meshctl_json(http, {"status"});
  return result_of(doc).value("router", nlohmann::json::object());
}

/// A caller inside `node` (test/Caller/Run of the test plug-in) calls the
/// echo a peer serves, `count` dispatches `in_flight` at a time; its
/// figures (answers, ok, codes).
inline nlohmann::json run_caller(const node_process& node, size_t count,
                                 size_t in_flight, bool non_blocking,
                                 int sleep_ms = 0) {
  nlohmann::json args{{"target", "echo/EchoService/Echo"},
                      {"count", count},
                      {"in_flight", in_flight},
                      {"payload", {{"n", 1}}},
                      {"non_blocking", non_blocking},
                      {"sleep_ms", sleep_ms}};
  auto r = meshctl_json(node.http(), {"dispatch", "test", "Caller", "Run",
                                      "--payload", args.dump(),
                                      "--deadline-ms", "30000"});
  MESH_CHECK_MSG(r.value("status", "") == "ok", r.dump());
  return result_of(r).value("payload", nlohmann::json::object());
}

/// What a caller's figures must say when the peer serving its `count`
/// requests died midway: each answered once, some of them ok (at least
/// 2,000 were served before the kill), not all, none in CAF's words.
inline void check_one_answer_each(const nlohmann::json& out, size_t count) {
  CAF_MESSAGE("caller: " << out.dump());
  CAF_CHECK_EQUAL(out.value("answers", 0u), count);
  auto ok = out.value("ok", 0u);
  CAF_CHECK(ok >= 2000u);
  CAF_CHECK(ok < count);
  auto codes = out.value("codes", nlohmann::json::object());
  CAF_CHECK(!codes.contains("caf_error"));
  CAF_CHECK(codes.size() >= 2u);
}

} // namespace mesh::test
