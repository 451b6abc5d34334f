#define CAF_SUITE pipeline.hooks
#include <caf/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include "pipeline/hooks.hpp"
#include "telemetry/log.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

hook_verdict pass(hook_call&) {
  return hook_verdict::pass();
}

template <class F>
bool throws_invalid(F f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

hook_call outcome(std::string trace_id, status_code status) {
  hook_call call;
  call.stage = hook_stage::post;
  call.trace_id = std::move(trace_id);
  call.path = "orders/Cart/Get";
  call.caller = "node-1";
  call.node = "node-2";
  call.policy = "orders";
  call.status = status;
  call.message = status == status_code::ok ? "" : "it broke";
  call.handled_by = "node-3";
  call.attempts = 2;
  call.duration = 1500us;
  return call;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in{path};
  std::vector<std::string> result;
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

} // namespace

CAF_TEST(hooks are added by valid unique names) {
  hook_table table;
  CAF_CHECK_EQUAL(table.version(), 0u);
  table.add("auth", hook_stage::pre, pass);
  table.add(std::string(64, 'x'), hook_stage::post, pass);
  table.add("A-b_c.9", hook_stage::pre, pass);
  CAF_CHECK_EQUAL(table.version(), 3u);
  CAF_CHECK(throws_invalid([&] { table.add("auth", hook_stage::post, pass); }));
  CAF_CHECK(throws_invalid([&] { table.add("", hook_stage::pre, pass); }));
  CAF_CHECK(throws_invalid([&] { table.add("a b", hook_stage::pre, pass); }));
  CAF_CHECK(throws_invalid([&] { table.add("a/b", hook_stage::pre, pass); }));
  CAF_CHECK(throws_invalid(
    [&] { table.add(std::string(65, 'x'), hook_stage::pre, pass); }));
  CAF_CHECK(throws_invalid([&] { table.add("none", hook_stage::pre, {}); }));
  CAF_CHECK_EQUAL(table.version(), 3u);
  auto auth = table.find("auth");
  CAF_REQUIRE(auth != nullptr);
  CAF_CHECK_EQUAL(auth->name, "auth");
  CAF_CHECK_EQUAL(auth->stage, hook_stage::pre);
  CAF_CHECK(!auth->builtin);
  CAF_CHECK(table.find("nope") == nullptr);
  std::vector<std::string> names;
  for (auto& h : table.all())
    names.push_back(h->name);
  CAF_CHECK_EQUAL(names, (std::vector<std::string>{"A-b_c.9", "auth",
                                                   std::string(64, 'x')}));
  CAF_CHECK_EQUAL(std::string{to_string(hook_stage::pre)}, "pre");
  CAF_CHECK_EQUAL(std::string{to_string(hook_stage::post)}, "post");
}

CAF_TEST(running a pre hook counts calls and rejections) {
  hook_table table;
  table.add("tag", hook_stage::pre, [](hook_call& call) {
    call.context["tenant"] = "acme";
    return hook_verdict::pass();
  });
  table.add("deny", hook_stage::pre, [](hook_call& call) {
    if (call.caller == "evil")
      return hook_verdict::reject(status_code::permission_denied, "no");
    return hook_verdict::pass();
  });
  hook_call call;
  call.caller = "evil";
  auto tag = table.find("tag");
  CAF_CHECK(tag->run(call).ok());
  CAF_CHECK_EQUAL(call.context["tenant"], "acme");
  auto deny = table.find("deny");
  auto v = deny->run(call);
  CAF_CHECK_EQUAL(v.code, status_code::permission_denied);
  CAF_CHECK_EQUAL(v.message, "no");
  call.caller = "good";
  CAF_CHECK(deny->run(call).ok());
  CAF_CHECK_EQUAL(deny->calls.load(), 2u);
  CAF_CHECK_EQUAL(deny->rejected.load(), 1u);
  CAF_CHECK_EQUAL(deny->failed.load(), 0u);
  CAF_CHECK_EQUAL(tag->calls.load(), 1u);
  CAF_CHECK_EQUAL(tag->rejected.load(), 0u);
}

CAF_TEST(a throwing hook becomes a handler error naming it) {
  hook_table table;
  table.add("boom", hook_stage::pre, [](hook_call&) -> hook_verdict {
    throw std::runtime_error("out of coffee");
  });
  table.add("weird", hook_stage::pre, [](hook_call&) -> hook_verdict {
    throw 42;
  });
  hook_call call;
  auto boom = table.find("boom");
  auto v = boom->run(call);
  CAF_CHECK_EQUAL(v.code, status_code::handler_error);
  CAF_CHECK_EQUAL(v.message, "hook boom failed: out of coffee");
  CAF_CHECK_EQUAL(boom->calls.load(), 1u);
  CAF_CHECK_EQUAL(boom->failed.load(), 1u);
  CAF_CHECK_EQUAL(boom->rejected.load(), 0u);
  auto weird = table.find("weird");
  v = weird->run(call);
  CAF_CHECK_EQUAL(v.code, status_code::handler_error);
  CAF_CHECK_EQUAL(v.message, "hook weird failed: unknown exception");
  CAF_CHECK_EQUAL(weird->failed.load(), 1u);
}

CAF_TEST(a post hook saying no counts as failed) {
  hook_table table;
  table.add("check", hook_stage::post, [](hook_call& call) {
    if (call.status != status_code::ok)
      return hook_verdict::reject(status_code::internal, "saw a failure");
    return hook_verdict::pass();
  });
  auto check = table.find("check");
  auto ok = outcome("t1", status_code::ok);
  auto bad = outcome("t2", status_code::unavailable);
  CAF_CHECK(check->run(ok).ok());
  CAF_CHECK(!check->run(bad).ok());
  CAF_CHECK(!check->run(bad).ok());
  CAF_CHECK_EQUAL(check->calls.load(), 3u);
  CAF_CHECK_EQUAL(check->failed.load(), 2u);
  CAF_CHECK_EQUAL(check->rejected.load(), 0u);
  auto rows = table.to_json();
  CAF_REQUIRE_EQUAL(rows.size(), 1u);
  auto& row = rows[0];
  CAF_CHECK_EQUAL(row["name"].get<std::string>(), "check");
  CAF_CHECK_EQUAL(row["stage"].get<std::string>(), "post");
  CAF_CHECK_EQUAL(row["builtin"].get<bool>(), false);
  CAF_CHECK_EQUAL(row["calls"].get<uint64_t>(), 3u);
  CAF_CHECK_EQUAL(row["rejected"].get<uint64_t>(), 0u);
  CAF_CHECK_EQUAL(row["failed"].get<uint64_t>(), 2u);
  CAF_CHECK(row["mean_us"].is_number());
  CAF_CHECK_GREATER_OR_EQUAL(row["mean_us"].get<double>(), 0.0);
}

CAF_TEST(the metrics hook records requests by path and status) {
  hook_table table;
  auto metrics = std::make_shared<path_metrics>();
  add_builtin_hooks(table, {}, metrics);
  auto hook = table.find("metrics");
  CAF_REQUIRE(hook != nullptr);
  CAF_CHECK(hook->builtin);
  CAF_CHECK_EQUAL(hook->stage, hook_stage::post);
  CAF_CHECK(table.find("audit")->builtin);
  auto a = outcome("t1", status_code::ok);
  auto b = outcome("t2", status_code::unavailable);
  auto c = outcome("t3", status_code::ok);
  c.path = "orders/Cart/Put";
  c.duration = 3ms;
  for (auto* call : {&a, &b, &a, &c})
    CAF_CHECK(hook->run(*call).ok());
  auto j = metrics->to_json();
  CAF_CHECK_EQUAL(j.size(), 2u);
  auto& get = j["orders/Cart/Get"];
  CAF_CHECK_EQUAL(get["requests"].get<uint64_t>(), 3u);
  CAF_CHECK_EQUAL(get["statuses"]["ok"].get<uint64_t>(), 2u);
  CAF_CHECK_EQUAL(get["statuses"]["unavailable"].get<uint64_t>(), 1u);
  CAF_CHECK_EQUAL(get["latency"]["count"].get<uint64_t>(), 3u);
  CAF_CHECK_EQUAL(get["latency"]["max_us"].get<double>(), 1500.0);
  auto& put = j["orders/Cart/Put"];
  CAF_CHECK_EQUAL(put["requests"].get<uint64_t>(), 1u);
  CAF_CHECK_EQUAL(put["latency"]["max_us"].get<double>(), 3000.0);
}

CAF_TEST(the audit hook appends one json line per request to its file) {
  test::temp_dir dir;
  auto path = dir.write("audit.log", "earlier line\n");
  {
    hook_table table;
    add_builtin_hooks(table, {path}, std::make_shared<path_metrics>());
    auto audit = table.find("audit");
    CAF_REQUIRE(audit != nullptr);
    CAF_CHECK(audit->builtin);
    CAF_CHECK_EQUAL(audit->stage, hook_stage::post);
    auto a = outcome("t1", status_code::ok);
    auto b = outcome("t2", status_code::unavailable);
    auto c = outcome(std::string{"bad\xff utf8"}, status_code::ok);
    for (auto* call : {&a, &b, &c})
      CAF_CHECK(audit->run(*call).ok());
    CAF_CHECK_EQUAL(audit->calls.load(), 3u);
    CAF_CHECK_EQUAL(audit->failed.load(), 0u);
    // Leaving the scope drops the hook, which writes out what is queued.
  }
  auto lines = lines_of(path);
  CAF_REQUIRE_EQUAL(lines.size(), 4u);
  CAF_CHECK_EQUAL(lines[0], "earlier line");
  std::vector<nlohmann::json> docs;
  for (size_t i = 1; i < lines.size(); ++i)
    docs.push_back(nlohmann::json::parse(lines[i], nullptr, false));
  for (auto& doc : docs)
    CAF_CHECK(doc.is_object() && doc.size() == 10u);
  auto& first = docs[0];
  CAF_CHECK_EQUAL(first["trace_id"].get<std::string>(), "t1");
  CAF_CHECK_EQUAL(first["path"].get<std::string>(), "orders/Cart/Get");
  CAF_CHECK_EQUAL(first["caller"].get<std::string>(), "node-1");
  CAF_CHECK_EQUAL(first["node"].get<std::string>(), "node-2");
  CAF_CHECK_EQUAL(first["policy"].get<std::string>(), "orders");
  CAF_CHECK_EQUAL(first["status"].get<std::string>(), "ok");
  CAF_CHECK_EQUAL(first["message"].get<std::string>(), "");
  CAF_CHECK_EQUAL(first["duration_us"].get<int64_t>(), 1500);
  CAF_CHECK_EQUAL(first["attempts"].get<uint32_t>(), 2u);
  CAF_CHECK_EQUAL(first["handled_by"].get<std::string>(), "node-3");
  CAF_CHECK_EQUAL(docs[1]["status"].get<std::string>(), "unavailable");
  CAF_CHECK_EQUAL(docs[1]["message"].get<std::string>(), "it broke");
  // Invalid UTF-8 from the network is replaced, not fatal.
  CAF_CHECK_EQUAL(docs[2]["trace_id"].get<std::string>(),
                  "bad\xEF\xBF\xBD utf8");
}

CAF_TEST(the audit hook refuses a file it cannot open) {
  test::temp_dir dir;
  auto path = dir.file("missing/dir/audit.log");
  hook_table table;
  std::string what;
  try {
    add_builtin_hooks(table, {path}, std::make_shared<path_metrics>());
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  CAF_CHECK_NOT_EQUAL(what.find(path), std::string::npos);
  // Nothing was added: a failed start leaves the table as it was.
  CAF_CHECK(table.all().empty());
}

CAF_TEST(without a file the audit hook logs to the audit logger) {
  auto lg = log::get("audit");
  auto saved_sinks = lg->sinks();
  auto saved_level = lg->level();
  std::ostringstream captured;
  lg->sinks() = {std::make_shared<spdlog::sinks::ostream_sink_st>(captured)};
  lg->sinks().front()->set_pattern("%v");
  lg->set_level(spdlog::level::info);
  {
    hook_table table;
    add_builtin_hooks(table, {}, std::make_shared<path_metrics>());
    auto call = outcome("t9", status_code::overloaded);
    CAF_CHECK(table.find("audit")->run(call).ok());
  }
  lg->sinks() = saved_sinks;
  lg->set_level(saved_level);
  auto text = captured.str();
  CAF_REQUIRE(!text.empty() && text.back() == '\n');
  auto doc = nlohmann::json::parse(text.substr(0, text.size() - 1), nullptr,
                                   false);
  CAF_CHECK_EQUAL(doc["trace_id"].get<std::string>(), "t9");
  CAF_CHECK_EQUAL(doc["status"].get<std::string>(), "overloaded");
}
