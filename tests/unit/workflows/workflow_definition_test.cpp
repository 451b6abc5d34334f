#define CAF_SUITE workflows.definition
#include "check.hpp"

#include <chrono>
#include <iterator>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "temp_dir.hpp"
#include "workflow_fixtures.hpp" // three_steps, accepted, problems, has
#include "workflows/workflow.hpp"

// One workflow document: modes and defaults, each rule a workflow can
// break (with the exact JSON pointer), and loading files. References and
// `when` are in workflow_references_check_test.cpp; folders of workflows,
// the examples and the builder are in workflow_set_test.cpp.

using namespace mesh;
using namespace mesh::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A dag using every kind of step, retry, compensation, when and output.
json good_dag() {
  return json::parse(R"({
    "name": "order_flow",
    "description": "reserve, price, create, announce",
    "input_schema": {"type": "object", "required": ["sku"]},
    "mode": "dag", "on_failure": "continue",
    "timeout_ms": 60000, "max_parallel": 4,
    "output": {"order": "${steps.create.output.id}"},
    "steps": [
      {"id": "reserve", "call": "inventory/StockService/Reserve",
       "params": {"sku": "${input.sku}"},
       "retry": {"max_attempts": 3, "backoff_ms": 50, "multiplier": 1.5,
                 "max_backoff_ms": 400, "on": ["unavailable"]},
       "compensate": {"call": "inventory/StockService/Release",
                      "params": {"sku": "${steps.reserve.output.sku}"},
                      "timeout_ms": 5000}},
      {"id": "quote", "process": "price_quote"},
      {"id": "create", "call": "orders/OrderService/CreateOrder",
       "depends_on": ["reserve", "quote"], "timeout_ms": 2000,
       "params": {"items": [{"sku": "${steps.reserve.output.sku}",
                  "price": "${steps.quote.output.unit_price}"}]}},
      {"id": "announce", "publish": "orders.eu.created",
       "depends_on": ["create"], "when": "${input.announce}",
       "params": {"id": "${steps.create.output.id}"}},
      {"id": "record", "emit": "orders-created", "depends_on": ["create"]},
      {"id": "notify", "workflow": "notify_customer",
       "depends_on": ["announce"],
       "params": {"user": "${steps.create.output.user_id}"}}
    ]
  })");
}

using deps = std::vector<size_t>;

} // namespace

CAF_TEST(a dag parses with its dependencies kinds and options) {
  auto w = accepted(good_dag());
  CAF_CHECK_EQUAL(w->name, "order_flow");
  CAF_CHECK_EQUAL(w->file, "w.json");
  CAF_CHECK_EQUAL(w->description, "reserve, price, create, announce");
  CAF_CHECK(w->mode == workflow_mode::dag);
  CAF_CHECK(w->on_failure == failure_mode::continue_on);
  CAF_CHECK(w->timeout == 60000ms);
  CAF_CHECK_EQUAL(w->max_parallel, 4u);
  CAF_CHECK_EQUAL(w->output, json::parse(R"({"order":
                                             "${steps.create.output.id}"})"));
  CAF_CHECK_EQUAL(w->source, good_dag());
  CAF_REQUIRE(w->input_schema != nullptr);
  CAF_CHECK(w->input_schema->validate(json{{"sku", "x"}}).empty());
  CAF_CHECK(!w->input_schema->validate(json::object()).empty());
  CAF_REQUIRE_EQUAL(w->steps.size(), 6u);
  const auto& s = w->steps;
  CAF_CHECK(s[0].kind == step_kind::call);
  CAF_CHECK_EQUAL(s[0].target, "inventory/StockService/Reserve");
  CAF_CHECK(s[1].kind == step_kind::process);
  CAF_CHECK_EQUAL(s[1].target, "price_quote");
  CAF_CHECK(s[3].kind == step_kind::publish);
  CAF_CHECK_EQUAL(s[3].target, "orders.eu.created");
  CAF_CHECK(s[4].kind == step_kind::emit);
  CAF_CHECK_EQUAL(s[4].target, "orders-created");
  CAF_CHECK(s[5].kind == step_kind::workflow);
  CAF_CHECK_EQUAL(s[5].target, "notify_customer");
  CAF_CHECK_EQUAL(s[0].deps, deps{});
  CAF_CHECK_EQUAL(s[1].deps, deps{});
  CAF_CHECK_EQUAL(s[2].deps, (deps{0, 1}));
  CAF_CHECK_EQUAL(s[3].deps, deps{2});
  CAF_CHECK_EQUAL(s[4].deps, deps{2});
  CAF_CHECK_EQUAL(s[5].deps, deps{3});
  CAF_CHECK_EQUAL(s[2].depends_on,
                  (std::vector<std::string>{"reserve", "quote"}));
  CAF_CHECK_EQUAL(s[3].when, "${input.announce}");
  CAF_CHECK_EQUAL(s[0].when, "");
  CAF_CHECK(s[2].timeout == 2000ms);
  CAF_CHECK(s[0].timeout == 0ms);
  CAF_CHECK_EQUAL(s[1].params, json::object());
  auto params = s[3].params; // a copy: a field of it is compared below
  CAF_CHECK_EQUAL(params["id"], "${steps.create.output.id}");
  // Retry as written, and the defaults.
  CAF_CHECK_EQUAL(s[0].retry.max_attempts, 3u);
  CAF_CHECK(s[0].retry.backoff == 50ms);
  CAF_CHECK_EQUAL(s[0].retry.multiplier, 1.5);
  CAF_CHECK(s[0].retry.max_backoff == 400ms);
  CAF_CHECK(s[0].retry.on
            == std::vector<status_code>{status_code::unavailable});
  CAF_CHECK_EQUAL(s[1].retry.max_attempts, 1u);
  CAF_CHECK(s[1].retry.backoff == 100ms);
  CAF_CHECK_EQUAL(s[1].retry.multiplier, 2.0);
  CAF_CHECK(s[1].retry.max_backoff == 10000ms);
  CAF_CHECK(s[1].retry.on
            == (std::vector<status_code>{
                status_code::handler_error, status_code::deadline_exceeded,
                status_code::overloaded, status_code::internal,
                status_code::unavailable}));
  // Compensation.
  CAF_REQUIRE(s[0].compensate.has_value());
  CAF_CHECK_EQUAL(s[0].compensate->call, "inventory/StockService/Release");
  auto comp = s[0].compensate->params;
  CAF_CHECK_EQUAL(comp["sku"], "${steps.reserve.output.sku}");
  CAF_CHECK(s[0].compensate->timeout == 5000ms);
  CAF_CHECK(!s[1].compensate.has_value());
  CAF_CHECK_EQUAL(w->index_of("create"), 2u);
  CAF_CHECK_EQUAL(w->index_of("nope"), 6u);
}

CAF_TEST(modes give the effective dependencies and defaults apply) {
  auto w = accepted(three_steps());
  CAF_CHECK(w->mode == workflow_mode::sequential);
  CAF_CHECK(w->on_failure == failure_mode::stop);
  CAF_CHECK(w->timeout == 0ms);
  CAF_CHECK_EQUAL(w->max_parallel, 0u);
  CAF_CHECK(w->output.is_null());
  CAF_CHECK(w->input_schema == nullptr);
  CAF_CHECK_EQUAL(w->description, "");
  CAF_CHECK_EQUAL(w->steps[0].deps, deps{});
  CAF_CHECK_EQUAL(w->steps[1].deps, deps{0});
  CAF_CHECK_EQUAL(w->steps[2].deps, deps{1});
  // Sequential: depends_on adds earlier steps to the previous one.
  auto doc = three_steps("sequential");
  doc["steps"][2]["depends_on"] = {"a", "b"};
  w = accepted(doc);
  CAF_CHECK_EQUAL(w->steps[2].deps, (deps{0, 1}));
  w = accepted(three_steps("parallel"));
  for (const auto& s : w->steps)
    CAF_CHECK_EQUAL(s.deps, deps{});
  // A sequential step may reference any earlier step, not only the last.
  doc = three_steps();
  doc["steps"][2]["params"] = {{"x", "${steps.a.output}"}};
  CAF_CHECK(accepted(doc) != nullptr);
}

CAF_TEST(enum names and retry delays) {
  CAF_CHECK_EQUAL(to_string(workflow_mode::sequential),
                  std::string{"sequential"});
  CAF_CHECK_EQUAL(to_string(workflow_mode::parallel), std::string{"parallel"});
  CAF_CHECK_EQUAL(to_string(workflow_mode::dag), std::string{"dag"});
  CAF_CHECK_EQUAL(to_string(failure_mode::stop), std::string{"stop"});
  CAF_CHECK_EQUAL(to_string(failure_mode::continue_on),
                  std::string{"continue"});
  CAF_CHECK_EQUAL(to_string(step_kind::call), std::string{"call"});
  CAF_CHECK_EQUAL(to_string(step_kind::workflow), std::string{"workflow"});
  step_retry r; // backoff 100 ms, x2, at most 10 s
  CAF_CHECK(r.delay(1) == 0ms);
  CAF_CHECK(r.delay(2) == 100ms);
  CAF_CHECK(r.delay(3) == 200ms);
  CAF_CHECK(r.delay(4) == 400ms);
  CAF_CHECK(r.delay(8) == 6400ms);
  CAF_CHECK(r.delay(9) == 10000ms);    // 12800, capped
  CAF_CHECK(r.delay(4000) == 10000ms); // overflows to inf, still capped
  r.on = {status_code::unavailable};
  CAF_CHECK(!r.retries(status_code::unavailable)); // max_attempts 1
  r.max_attempts = 3;
  CAF_CHECK(r.retries(status_code::unavailable));
  CAF_CHECK(!r.retries(status_code::handler_error));
  CAF_CHECK(!r.retries(status_code::ok));
}

CAF_TEST(the schema names the property the shape and the values) {
  CAF_CHECK(has(problems(json::array()), "", "must be a JSON object"));
  auto doc = three_steps();
  doc["steps"][1]["dependson"] = {"a"};
  auto ps = problems(doc);
  CAF_CHECK(has(ps, "/steps/1/dependson",
                "unknown key 'dependson'; did you mean 'depends_on'? "
                "(allowed: call, compensate, "
                "depends_on, emit, id, params, process, publish, retry, "
                "timeout_ms, when, workflow)"));
  CAF_CHECK_EQUAL(ps.size(), 1u); // not repeated by valijson's summary
  doc = three_steps();
  doc["mode"] = "graph";
  CAF_CHECK(has(problems(doc), "/mode", "sequential, parallel, dag"));
  doc = three_steps();
  doc["name"] = "has space";
  CAF_CHECK(has(problems(doc), "/name", "^[A-Za-z0-9._-]{1,128}$"));
  doc = three_steps();
  doc["steps"][0]["id"] = "a.b"; // references use dots
  CAF_CHECK(has(problems(doc), "/steps/0/id", "^[A-Za-z0-9_-]{1,64}$"));
  doc = three_steps();
  doc["steps"][0]["retry"] = {{"on", json::array({"ok"})}};
  CAF_CHECK(has(problems(doc), "/steps/0/retry/on/0", "unavailable"));
  doc = three_steps();
  doc["steps"][0]["timeout_ms"] = 0;
  CAF_CHECK(has(problems(doc), "/steps/0/timeout_ms", ""));
  doc = three_steps();
  doc["steps"] = json::array();
  CAF_CHECK(has(problems(doc), "/steps", ""));
  doc.erase("steps");
  doc.erase("name");
  ps = problems(doc);
  CAF_CHECK(has(ps, "", "name"));
  CAF_CHECK(has(ps, "", "steps"));
  // Every status the schema lets `on` name is one of ours, and not ok.
  auto names = workflow_schema_json()["definitions"]["Retry"]["properties"]
                                     ["on"]["items"]["enum"];
  CAF_CHECK_EQUAL(names.size(), std::size(all_status_codes) - 1);
  for (const auto& name : names) {
    auto code = status_code_from_string(name.get<std::string>());
    CAF_CHECK(code && *code != status_code::ok);
  }
}

CAF_TEST(a step has exactly one valid kind) {
  auto doc = three_steps();
  doc["steps"][0].erase("call");
  CAF_CHECK(has(problems(doc), "/steps/0",
                "a step needs exactly one of call, process, publish, emit, "
                "workflow"));
  doc = three_steps();
  doc["steps"][0]["emit"] = "orders";
  CAF_CHECK(has(problems(doc), "/steps/0", "step 'a' has both call and emit"));
  doc["steps"][0]["publish"] = "orders";
  CAF_CHECK(has(problems(doc), "/steps/0", "has call, publish and emit"));
  doc = three_steps();
  doc["steps"][0]["call"] = "nope";
  CAF_CHECK(has(problems(doc), "/steps/0/call",
                "'nope' is not namespace/Service/Method"));
  doc = three_steps();
  doc["steps"][0] = {{"id", "a"}, {"publish", "orders.*"}};
  CAF_CHECK(has(problems(doc), "/steps/0/publish", "cannot publish to"));
  doc["steps"][0] = {{"id", "a"}, {"emit", "bad name"}};
  CAF_CHECK(has(problems(doc), "/steps/0/emit", "not a valid dataset name"));
  doc["steps"][0] = {{"id", "a"}, {"workflow", "w"}};
  CAF_CHECK(has(problems(doc), "/steps/0/workflow", "cannot call itself"));
  doc["steps"][0]
      = {{"id", "a"}, {"process", "p"}, {"compensate", {{"call", "undo"}}}};
  CAF_CHECK(has(problems(doc), "/steps/0/compensate/call",
                "'undo' is not namespace/Service/Method"));
}

CAF_TEST(step ids and dependencies are checked with their pointers) {
  auto doc = three_steps("dag");
  doc["steps"][2]["id"] = "a";
  CAF_CHECK(has(problems(doc), "/steps/2/id",
                "duplicate step id 'a' (also /steps/0)"));
  doc = three_steps("dag");
  doc["steps"][1]["depends_on"] = {"a", "nope"};
  CAF_CHECK(has(problems(doc), "/steps/1/depends_on/1", "unknown step 'nope'"));
  doc = three_steps("dag");
  doc["steps"][1]["depends_on"] = {"b"};
  CAF_CHECK(has(problems(doc), "/steps/1/depends_on/0",
                "step 'b' depends on itself (cycle: b -> b)"));
  doc = three_steps("dag");
  doc["steps"][0]["depends_on"] = {"c"};
  doc["steps"][1]["depends_on"] = {"a"};
  doc["steps"][2]["depends_on"] = {"b"};
  auto ps = problems(doc);
  CAF_CHECK(has(ps, "/steps/0/depends_on", "cycle: a -> c -> b -> a"));
  CAF_CHECK_EQUAL(ps.size(), 1u);
  doc = three_steps(); // sequential
  doc["steps"][0]["depends_on"] = {"c"};
  CAF_CHECK(has(problems(doc), "/steps/0/depends_on/0",
                "in sequential mode a step can depend only on earlier steps; "
                "use mode dag"));
  doc = three_steps("parallel");
  doc["steps"][1]["depends_on"] = {"a"};
  CAF_CHECK(has(problems(doc), "/steps/1/depends_on",
                "parallel steps cannot depend on one another; use mode dag"));
}

CAF_TEST(input schema and retry bounds are checked) {
  auto doc = three_steps();
  doc["input_schema"] = {{"type", "strng"}};
  CAF_CHECK(
      has(problems(doc), "/input_schema", "is not a valid draft-07 schema"));
  doc["input_schema"] = 5;
  CAF_CHECK(has(problems(doc), "/input_schema", "expected object or boolean"));
  doc = three_steps();
  doc["steps"][0]["retry"] = {{"backoff_ms", 20000}};
  CAF_CHECK(has(problems(doc), "/steps/0/retry/backoff_ms",
                "max_backoff_ms (10000, the default) must be >= backoff_ms "
                "(20000)"));
  doc["steps"][0]["retry"]["max_backoff_ms"] = 1000;
  CAF_CHECK(has(problems(doc), "/steps/0/retry/max_backoff_ms",
                "must be >= backoff_ms"));
}

CAF_TEST(every problem is reported at once) {
  auto doc = three_steps("dag");
  doc["steps"][0]["call"] = "nope";
  doc["steps"][1]["depends_on"] = {"zz"};
  doc["steps"][2]["id"] = "a";
  doc["steps"][2]["when"] = "yes";
  auto ps = problems(doc);
  CAF_CHECK_EQUAL(ps.size(), 4u);
  CAF_CHECK(has(ps, "/steps/0/call", "nope"));
  CAF_CHECK(has(ps, "/steps/1/depends_on/0", "unknown step 'zz'"));
  CAF_CHECK(has(ps, "/steps/2/id", "duplicate"));
  CAF_CHECK(has(ps, "/steps/2/when", "not one reference"));
}

CAF_TEST(files load with clear errors) {
  test::temp_dir dir;
  auto path = dir.write("broken.json", "{\n  \"name\": \n}");
  auto result = load_workflow(path);
  auto* err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK_EQUAL(err->file, path);
  CAF_REQUIRE_EQUAL(err->problems.size(), 1u);
  CAF_CHECK(has(err->problems, "", "3:1: syntax error"));
  result = load_workflow(dir.file("absent.json"));
  err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK(has(err->problems, "", "cannot open"));
  path = dir.write("deep.json", std::string(200, '[') + std::string(200, ']'));
  result = load_workflow(path);
  CAF_CHECK(std::holds_alternative<manifest_load_error>(result));
  // Not UTF-8 (a Latin-1 byte in a string): refused, saying so.
  path = dir.write("latin1.json", "{\"name\": \"caf\xe9\", \"steps\": []}");
  result = load_workflow(path);
  err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_REQUIRE_EQUAL(err->problems.size(), 1u);
  MESH_CHECK_MSG(err->problems[0].message.find("UTF-8") != std::string::npos,
                 err->problems[0].message);
  path = dir.write("good.json", good_dag().dump(2));
  result = load_workflow(path);
  CAF_REQUIRE(std::holds_alternative<workflow_ptr>(result));
  CAF_CHECK_EQUAL(std::get<workflow_ptr>(result)->file, path);
}
