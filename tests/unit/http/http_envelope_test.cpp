#define CAF_SUITE http.envelope
#include "check.hpp"

#include "http/http_envelope.hpp"

// The pure half of the HTTP API: which HTTP status each Mesh status travels
// with, how any console reply becomes the one envelope, W3C traceparent
// headers (malformed ones ignored), bearer tokens and query arguments.

using namespace mesh;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string trace = "0af7651916cd43dd8448eb211c80319c";
const std::string span = "b7ad6b7169203331";

// An optional's value, or a marker that no expected value can equal.
std::string str(const std::optional<std::string>& x) {
  return x ? *x : "<none>";
}

} // namespace

CAF_TEST(every Mesh status has its HTTP status) {
  CAF_CHECK_EQUAL(http_status(status_code::ok), 200);
  CAF_CHECK_EQUAL(http_status(status_code::invalid_argument), 400);
  CAF_CHECK_EQUAL(http_status(status_code::permission_denied), 403);
  CAF_CHECK_EQUAL(http_status(status_code::permission_denied, true), 401);
  CAF_CHECK_EQUAL(http_status(status_code::not_found), 404);
  CAF_CHECK_EQUAL(http_status(status_code::overloaded), 429);
  CAF_CHECK_EQUAL(http_status(status_code::handler_error), 500);
  CAF_CHECK_EQUAL(http_status(status_code::internal), 500);
  CAF_CHECK_EQUAL(http_status(status_code::unavailable), 503);
  CAF_CHECK_EQUAL(http_status(status_code::deadline_exceeded), 504);
}

CAF_TEST(the HTTP status of an envelope comes from its status name or code) {
  CAF_CHECK_EQUAL(http_status(envelope_ok(1)), 200);
  CAF_CHECK_EQUAL(http_status(envelope_error(status_code::not_found, "x")),
                  404);
  // The name wins; the code serves when the name is missing.
  CAF_CHECK_EQUAL(http_status(json{{"status", "overloaded"}, {"code", 5}}),
                  429);
  CAF_CHECK_EQUAL(http_status(json{{"code", 4}}), 504);
  auto refusal = envelope_error(status_code::permission_denied, "token");
  CAF_CHECK_EQUAL(http_status(refusal), 403);
  refusal["unauthenticated"] = true;
  CAF_CHECK_EQUAL(http_status(refusal), 401);
  // Nothing recognisable: a server error, never a success.
  CAF_CHECK_EQUAL(http_status(json{{"status", "fine"}}), 500);
  CAF_CHECK_EQUAL(http_status(json::array()), 500);
  CAF_CHECK_EQUAL(http_status(json{{"code", 99}}), 500);
}

CAF_TEST(envelopes have ok status code and result or error) {
  CAF_CHECK_EQUAL(envelope_ok({{"a", 1}}), json({{"ok", true},
                                                 {"status", "ok"},
                                                 {"code", 0},
                                                 {"result", {{"a", 1}}}}));
  CAF_CHECK_EQUAL(envelope_error(status_code::unavailable, "down"),
                  json({{"ok", false},
                        {"status", "unavailable"},
                        {"code", 14},
                        {"error", "down"}}));
}

CAF_TEST(an envelope passes and gains its code) {
  auto ok = to_envelope({{"ok", true}, {"status", "ok"}, {"result", {1, 2}}});
  CAF_CHECK_EQUAL(ok, envelope_ok({1, 2}));
  auto failed = to_envelope({{"ok", false},
                             {"status", "not_found"},
                             {"error", "no such run"},
                             {"result", {{"handled_by", "n1"}}}});
  CAF_CHECK_EQUAL(failed, json({{"ok", false},
                                {"status", "not_found"},
                                {"code", 5},
                                {"error", "no such run"},
                                {"result", {{"handled_by", "n1"}}}}));
  auto refused = to_envelope({{"ok", false},
                              {"status", "permission_denied"},
                              {"code", 7},
                              {"error", "token"},
                              {"unauthenticated", true}});
  CAF_CHECK_EQUAL(refused["unauthenticated"], true);
  CAF_CHECK_EQUAL(http_status(refused), 401);
}

CAF_TEST(a flat reply is wrapped with its extra keys in result) {
  auto flat = to_envelope({{"ok", true},
                           {"status", "ok"},
                           {"code", 0},
                           {"handled_by", "n2"},
                           {"trace_id", trace},
                           {"payload", {{"x", 1}}}});
  CAF_CHECK_EQUAL(flat, envelope_ok({{"handled_by", "n2"},
                                     {"trace_id", trace},
                                     {"payload", {{"x", 1}}}}));
  auto failed = to_envelope({{"ok", false},
                             {"status", "handler_error"},
                             {"handled_by", "n2"},
                             {"error", "boom"}});
  CAF_CHECK_EQUAL(failed, json({{"ok", false},
                                {"status", "handler_error"},
                                {"code", 2},
                                {"error", "boom"},
                                {"result", {{"handled_by", "n2"}}}}));
  // Extras beside a result that is not an object: nothing is dropped.
  auto mixed = to_envelope({{"ok", true}, {"result", 7}, {"note", "n"}});
  CAF_CHECK_EQUAL(mixed["result"], json({{"result", 7}, {"note", "n"}}));
}

CAF_TEST(a reply without ok is a plain result) {
  CAF_CHECK_EQUAL(to_envelope({{"peers", json::array()}}),
                  envelope_ok({{"peers", json::array()}}));
  CAF_CHECK_EQUAL(to_envelope("text"), envelope_ok("text"));
  CAF_CHECK_EQUAL(to_envelope({{"ok", "yes"}}), envelope_ok({{"ok", "yes"}}));
}

CAF_TEST(a reply that contradicts itself never claims success) {
  auto x = to_envelope({{"ok", false}, {"status", "ok"}});
  CAF_CHECK_EQUAL(x["status"], "internal");
  CAF_CHECK_EQUAL(x["code"], 13);
  CAF_CHECK_EQUAL(x["error"], "the node answered internal without saying why");
  CAF_CHECK_EQUAL(http_status(x), 500);
  auto y = to_envelope({{"ok", false}, {"status", "bogus"}, {"error", "e"}});
  CAF_CHECK_EQUAL(y["status"], "internal");
  auto z = to_envelope({{"ok", true}, {"status", "not_found"}});
  CAF_CHECK_EQUAL(z, envelope_ok(nullptr));
}

CAF_TEST(a valid traceparent is parsed) {
  auto tp = parse_traceparent("00-" + trace + "-" + span + "-01");
  CAF_REQUIRE(tp.has_value());
  CAF_CHECK_EQUAL(tp->trace_id, trace);
  CAF_CHECK_EQUAL(tp->parent_id, span);
  CAF_CHECK_EQUAL(tp->flags, 1);
  // Blanks around a header value are allowed.
  CAF_CHECK(parse_traceparent("  00-" + trace + "-" + span + "-00 "));
  // A later version may add fields after a dash.
  auto later = parse_traceparent("01-" + trace + "-" + span + "-01-extra");
  CAF_REQUIRE(later.has_value());
  CAF_CHECK_EQUAL(later->trace_id, trace);
}

CAF_TEST(a malformed traceparent is ignored) {
  auto good = "00-" + trace + "-" + span + "-01";
  std::vector<std::string> bad{
      "",
      "00",
      good.substr(0, 54),                                // one short
      good + "0",                                        // version 00 is exact
      good + "-x",                                       // ... even with a dash
      "01-" + trace + "-" + span + "-01x",               // no dash after flags
      "ff-" + trace + "-" + span + "-01",                // forbidden version
      "0g-" + trace + "-" + span + "-01",                // version not hex
      "00-" + std::string(32, '0') + "-" + span + "-01", // zero trace id
      "00-" + trace + "-" + std::string(16, '0') + "-01",    // zero parent id
      "00-0AF7651916CD43DD8448EB211C80319C-" + span + "-01", // upper case
      "00_" + trace + "-" + span + "-01",                    // wrong separator
      "00-" + trace + "_" + span + "-01",
      "00-" + trace + "-" + span + "_01",
      "00-" + trace + "-" + span + "-0z",            // flags not hex
      "00-" + trace.substr(1) + "-" + span + "0-01", // fields shifted
  };
  for (const auto& header : bad)
    MESH_CHECK_MSG(!parse_traceparent(header), "accepted '" << header << "'");
}

CAF_TEST(trace ids and outgoing traceparents) {
  CAF_CHECK(is_trace_id(trace));
  CAF_CHECK(!is_trace_id(trace.substr(1)));
  CAF_CHECK(!is_trace_id(std::string(32, '0')));
  CAF_CHECK(!is_trace_id("0AF7651916CD43DD8448EB211C80319C"));
  CAF_CHECK_EQUAL(make_traceparent(trace, span),
                  "00-" + trace + "-" + span + "-01");
  auto round = parse_traceparent(make_traceparent(trace, span));
  CAF_REQUIRE(round.has_value());
  CAF_CHECK_EQUAL(round->trace_id, trace);
}

CAF_TEST(a command adopts the incoming trace unless it names one) {
  auto tp = *parse_traceparent("00-" + trace + "-" + span + "-01");
  json args{{"namespace", "echo"}};
  CAF_CHECK(adopt_trace(args, tp));
  CAF_CHECK_EQUAL(args["trace_id"], trace);
  CAF_CHECK_EQUAL(args["trace"], trace);
  json own{{"trace_id", "mine"}};
  CAF_CHECK(!adopt_trace(own, tp));
  CAF_CHECK_EQUAL(own, json({{"trace_id", "mine"}}));
  json own_short{{"trace", "mine"}};
  CAF_CHECK(!adopt_trace(own_short, tp));
  CAF_CHECK(!own_short.contains("trace_id"));
}

CAF_TEST(the trace id of a reply) {
  CAF_CHECK_EQUAL(str(reply_trace_id(envelope_ok({{"trace_id", trace}}))),
                  trace);
  auto failed = envelope_error(status_code::handler_error, "boom");
  failed["result"] = {{"handled_by", "n"}, {"trace_id", trace}};
  CAF_CHECK_EQUAL(str(reply_trace_id(failed)), trace);
  CAF_CHECK(!reply_trace_id(envelope_ok({{"trace_id", "not-hex"}})));
  CAF_CHECK(!reply_trace_id(envelope_ok({{"trace_id", 12}})));
  CAF_CHECK(!reply_trace_id(envelope_ok(trace)));
  CAF_CHECK(!reply_trace_id(envelope_error(status_code::internal, "x")));
}

CAF_TEST(bearer tokens) {
  CAF_CHECK_EQUAL(str(bearer_token("Bearer s3cret")), "s3cret");
  CAF_CHECK_EQUAL(str(bearer_token("bearer   s3cret  ")), "s3cret");
  CAF_CHECK_EQUAL(str(bearer_token("BEARER\ts3cret")), "s3cret");
  CAF_CHECK(!bearer_token(""));
  CAF_CHECK(!bearer_token("Bearer"));
  CAF_CHECK(!bearer_token("Bearers3cret"));
  CAF_CHECK(!bearer_token("Basic dXNlcjpwYXNz"));
  CAF_CHECK_EQUAL(str(bearer_token("Bearer  ")), "");
}

CAF_TEST(query values that are JSON are taken as JSON) {
  std::multimap<std::string, std::string> q{
      {"limit", "10"},    {"async", "true"},  {"id", "\"12\""},
      {"name", "orders"}, {"empty", ""},      {"input", "{\"a\":[1,2]}"},
      {"huge", "1e400"},  {"half", "{\"a\":"}};
  CAF_CHECK_EQUAL(query_args(q), json({{"limit", 10},
                                       {"async", true},
                                       {"id", "12"},
                                       {"name", "orders"},
                                       {"empty", ""},
                                       {"input", {{"a", {1, 2}}}},
                                       {"huge", "1e400"},
                                       {"half", "{\"a\":"}}));
  CAF_CHECK_EQUAL(query_args({}), json::object());
}

CAF_TEST(a repeated query key becomes an array in order) {
  std::multimap<std::string, std::string> q;
  q.emplace("allow", "a/*/*");
  q.emplace("other", "1");
  q.emplace("allow", "b/*/*");
  q.emplace("allow", "[1]");
  CAF_CHECK_EQUAL(query_args(q),
                  json({{"allow", {"a/*/*", "b/*/*", {1}}}, {"other", 1}}));
}

CAF_TEST(a command waits as long as it may run) {
  auto max = 60000ms;
  CAF_CHECK_EQUAL(reply_timeout({{"cmd", "status"}}, max).count(), 65000);
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", "dispatch"}, {"timeout_ms", 60000}}, max).count(),
      65000);
  // A run waits wait_ms (default 5 minutes) plus the console's margin.
  CAF_CHECK_EQUAL(reply_timeout({{"cmd", "workflow_run"}}, max).count(),
                  300000 + 2000 + 5000);
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", "workflow_run"}, {"wait_ms", 1000}}, max).count(),
      65000);
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", "workflow_run"}, {"wait_ms", 600000}}, max)
          .count(),
      607000);
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", "workflow_run"}, {"async", true}}, max).count(),
      65000);
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", "run"}, {"action", "cancel"}}, max).count(),
      307000);
  CAF_CHECK_EQUAL(reply_timeout({{"cmd", "run"}}, max).count(), 65000);
  // Wrong types are the console's to refuse; here they never throw.
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", 5}, {"action", 1}, {"async", "x"}}, max).count(),
      65000);
  CAF_CHECK_EQUAL(
      reply_timeout({{"cmd", "workflow_run"}, {"wait_ms", "x"}}, max).count(),
      307000);
}

CAF_TEST(the body limit leaves room around the payload limit) {
  CAF_CHECK_EQUAL(max_body_bytes(1024), 2048u + 65536u);
  CAF_CHECK(max_body_bytes(4 * 1024 * 1024) > 8u * 1024 * 1024);
}
