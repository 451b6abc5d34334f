#define CAF_SUITE workflows.references
#include "check.hpp"

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "workflows/graph/workflow_refs.hpp"

// References in step params: parsing each form and each malformed one,
// finding them in a template with their pointers, resolving them (type
// kept for a whole-string reference, text inside a longer string) and
// every way a resolution fails, and `when` conditions.

using namespace mesh;
using nlohmann::json;

namespace {

// A run with steps a (succeeded), b (skipped) and c (compensated).
json scope() {
  return json::parse(R"({
    "input": {"customer": {"id": 42, "name": "Ada"}, "flag": true,
              "tags": ["x", "y"], "none": null, "ratio": 0.5},
    "context": {"tenant": "acme"},
    "steps": {
      "a": {"status": "success",
            "output": {"user": {"id": "u-1"}, "count": 3,
                       "items": [{"sku": "s1"}, {"sku": "s2"}],
                       "ok": false, "nothing": null}},
      "b": {"status": "skipped", "output": null},
      "c": {"status": "compensated", "output": {"id": 7}}
    }})");
}

reference parsed(const std::string& text) {
  auto result = parse_reference(text);
  if (auto* err = std::get_if<std::string>(&result))
    CAF_FAIL("'" << text << "' did not parse: " << *err);
  return std::get<reference>(result);
}

std::string parse_error(const std::string& text) {
  auto result = parse_reference(text);
  if (auto* err = std::get_if<std::string>(&result))
    return *err;
  CAF_FAIL("'" << text << "' parsed");
  return {};
}

json resolve(const json& templ) {
  return resolve_references(templ, scope());
}

// The message a resolution throws; fails the test if it resolves.
std::string resolve_error(const json& templ) {
  try {
    auto value = resolve(templ);
    CAF_FAIL(templ.dump() << " resolved to " << value.dump());
  } catch (const reference_error& e) {
    return e.what();
  }
  return {};
}

std::string condition_error(const std::string& when) {
  try {
    auto value = evaluate_condition(when, scope());
    CAF_FAIL(when << " evaluated to " << value);
  } catch (const reference_error& e) {
    return e.what();
  }
  return {};
}

using strings = std::vector<std::string>;

} // namespace

CAF_TEST(each reference form parses into scope step and path) {
  auto in = parsed("input.customer.id");
  CAF_CHECK_EQUAL(in.text, "input.customer.id");
  CAF_CHECK_EQUAL(in.scope, "input");
  CAF_CHECK_EQUAL(in.step, "");
  CAF_CHECK_EQUAL(in.path, (strings{"customer", "id"}));
  auto ctx = parsed("context");
  CAF_CHECK_EQUAL(ctx.scope, "context");
  CAF_CHECK(ctx.path.empty());
  auto out = parsed("steps.create-1_x.output.items[0].sku");
  CAF_CHECK_EQUAL(out.scope, "steps");
  CAF_CHECK_EQUAL(out.step, "create-1_x");
  CAF_CHECK_EQUAL(out.path, (strings{"output", "items", "0", "sku"}));
  // The two index forms give the same path; leading zeros are dropped.
  auto path_of = [](const std::string& text) { return parsed(text).path; };
  CAF_CHECK_EQUAL(path_of("steps.a.output.items.0.sku"), out.path);
  CAF_CHECK_EQUAL(path_of("input.m[007][1]"), (strings{"m", "7", "1"}));
  CAF_CHECK_EQUAL(path_of("steps.a.status"), strings{"status"});
  CAF_CHECK_EQUAL(path_of("steps.a.output"), strings{"output"});
  // Field names may hold anything but the separators.
  CAF_CHECK_EQUAL(path_of("input.a b-c:d$"), strings{"a b-c:d$"});
}

CAF_TEST(each malformed reference says what is wrong) {
  CAF_CHECK_EQUAL(parse_error(""), "empty reference");
  CAF_CHECK_EQUAL(parse_error("inputs.x"),
                  "unknown scope 'inputs' (input, context, steps)");
  CAF_CHECK_EQUAL(parse_error(" input"),
                  "unknown scope ' input' (input, context, steps)");
  CAF_CHECK_EQUAL(parse_error("steps"), "expected '.<step id>' after 'steps'");
  CAF_CHECK_EQUAL(parse_error("steps[0]"),
                  "expected '.<step id>' after 'steps'");
  CAF_CHECK_EQUAL(parse_error("steps..output"), "empty step id after 'steps.'");
  CAF_CHECK_EQUAL(parse_error("steps.a!b.output"),
                  "invalid step id 'a!b' (letters, digits, '_' and '-')");
  CAF_CHECK_EQUAL(parse_error("steps.a"),
                  "expected 'output' or 'status' after 'steps.a'");
  CAF_CHECK_EQUAL(parse_error("steps.a.outputs"),
                  "expected 'output' or 'status' after 'steps.a'");
  CAF_CHECK_EQUAL(parse_error("steps.a[0]"),
                  "expected 'output' or 'status' after 'steps.a'");
  CAF_CHECK_EQUAL(parse_error("steps.a.status.x"),
                  "nothing may follow 'steps.a.status'");
  CAF_CHECK_EQUAL(parse_error("steps.a.output."),
                  "empty field name after 'output.'");
  CAF_CHECK_EQUAL(parse_error("input.a..b"), "empty field name after 'a.'");
  CAF_CHECK_EQUAL(parse_error("input."), "empty field name after 'input.'");
  CAF_CHECK_EQUAL(parse_error("input.a[1]."), "empty field name after '[1].'");
  CAF_CHECK_EQUAL(parse_error("input.a[x]"),
                  "index must be a non-negative integer, not 'x'");
  CAF_CHECK_EQUAL(parse_error("input.a[-1]"),
                  "index must be a non-negative integer, not '-1'");
  CAF_CHECK_EQUAL(parse_error("input.a[]"),
                  "index must be a non-negative integer, not ''");
  CAF_CHECK_EQUAL(parse_error("input.a[1234567890]"),
                  "index must be a non-negative integer, not '1234567890'");
  CAF_CHECK_EQUAL(parse_error("input.a[1"), "unclosed '[' after 'a'");
  CAF_CHECK_EQUAL(parse_error("input.a]"), "unexpected ']' after 'a'");
  CAF_CHECK_EQUAL(parse_error("input.a[0]b"), "unexpected 'b' after '[0]'");
}

CAF_TEST(find_references names the pointer of each reference and error) {
  auto templ = json::parse(R"({
    "id": "${input.customer.id}",
    "list": ["plain", "${steps.a.output.count} of ${context.tenant}"],
    "a/b": {"~k": "$${input.not_a_ref} ${steps.b.status}"},
    "n": 3,
    "bad": "${inputs.x}",
    "open": "x ${input.y"
  })");
  strings errors;
  auto found = find_references(templ, errors);
  strings seen;
  for (const auto& f : found)
    seen.push_back(f.pointer + " " + f.ref.text);
  // Objects iterate by key (nlohmann sorts them).
  CAF_CHECK_EQUAL(
      seen,
      (strings{"/a~1b/~0k steps.b.status", "/id input.customer.id",
               "/list/1 steps.a.output.count", "/list/1 context.tenant"}));
  CAF_CHECK_EQUAL(errors, (strings{"/bad: ${inputs.x}: unknown scope 'inputs' "
                                   "(input, context, steps)",
                                   "/open: unclosed '${'"}));
  // The template itself is a string: its pointer is "".
  errors.clear();
  auto own = find_references(json::array({"${input.x}"}), errors);
  CAF_REQUIRE_EQUAL(own.size(), 1u);
  CAF_CHECK_EQUAL(own[0].pointer, "/0");
  own = find_references(json("${input.x"), errors);
  CAF_CHECK(own.empty());
  CAF_CHECK_EQUAL(errors, strings{": unclosed '${'"});
  errors.clear();
  own = find_references(json("${input.x}"), errors);
  CAF_REQUIRE_EQUAL(own.size(), 1u);
  CAF_CHECK_EQUAL(own[0].pointer, "");
  CAF_CHECK_EQUAL(own[0].ref.scope, "input");
  CAF_CHECK(errors.empty());
}

CAF_TEST(a whole string reference keeps the referenced type) {
  CAF_CHECK_EQUAL(resolve("${input.customer.id}"), json(42));
  CAF_CHECK_EQUAL(resolve("${input.ratio}"), json(0.5));
  CAF_CHECK_EQUAL(resolve("${input.customer}"),
                  json({{"id", 42}, {"name", "Ada"}}));
  CAF_CHECK_EQUAL(resolve("${input.tags}"), json({"x", "y"}));
  CAF_CHECK_EQUAL(resolve("${input.flag}"), json(true));
  CAF_CHECK_EQUAL(resolve("${steps.a.output.ok}"), json(false));
  CAF_CHECK(resolve("${input.none}").is_null());
  CAF_CHECK(resolve("${steps.a.output.nothing}").is_null());
  CAF_CHECK_EQUAL(resolve("${context.tenant}"), json("acme"));
  CAF_CHECK_EQUAL(resolve("${steps.a.output.user.id}"), json("u-1"));
  CAF_CHECK_EQUAL(resolve("${steps.a.output.count}"), json(3));
  CAF_CHECK_EQUAL(resolve("${steps.c.output.id}"), json(7));
  auto whole = resolve("${steps.a.output}");
  auto count = whole["count"];
  CAF_CHECK_EQUAL(count, json(3));
}

CAF_TEST(indexes work in both forms and nest) {
  CAF_CHECK_EQUAL(resolve("${steps.a.output.items[1].sku}"), json("s2"));
  CAF_CHECK_EQUAL(resolve("${steps.a.output.items.1.sku}"), json("s2"));
  CAF_CHECK_EQUAL(resolve("${steps.a.output.items[0]}"), json({{"sku", "s1"}}));
  CAF_CHECK_EQUAL(resolve("${input.tags[0]}"), json("x"));
  CAF_CHECK_EQUAL(resolve("${input.tags.1}"), json("y"));
}

CAF_TEST(a status is always readable) {
  CAF_CHECK_EQUAL(resolve("${steps.a.status}"), json("success"));
  CAF_CHECK_EQUAL(resolve("${steps.b.status}"), json("skipped"));
  CAF_CHECK_EQUAL(resolve("${steps.c.status}"), json("compensated"));
}

CAF_TEST(references inside a longer string become text) {
  CAF_CHECK_EQUAL(resolve("id=${input.customer.id}"), json("id=42"));
  CAF_CHECK_EQUAL(resolve("${context.tenant}/${steps.a.output.user.id}"),
                  json("acme/u-1"));
  CAF_CHECK_EQUAL(resolve("tags ${input.tags} user ${input.customer}"),
                  json(R"(tags ["x","y"] user {"id":42,"name":"Ada"})"));
  CAF_CHECK_EQUAL(resolve("${input.flag} ${input.none} ${steps.a.output.ok}"),
                  json("true null false"));
  CAF_CHECK_EQUAL(resolve("${input.ratio}x"), json("0.5x"));
}

CAF_TEST(an escaped dollar brace stays literal) {
  CAF_CHECK_EQUAL(resolve("$${input.flag}"), json("${input.flag}"));
  CAF_CHECK_EQUAL(resolve("cost $${x} for ${context.tenant}"),
                  json("cost ${x} for acme"));
  CAF_CHECK_EQUAL(resolve("$$${context.tenant}"), json("$${context.tenant}"));
  CAF_CHECK_EQUAL(resolve("$5 and $ and }"), json("$5 and $ and }"));
  strings errors;
  CAF_CHECK(find_references(json("$${inputs.x"), errors).empty());
  CAF_CHECK(errors.empty());
}

CAF_TEST(resolution walks objects and arrays and keeps other values) {
  auto templ = json::parse(R"({
    "customer": "${input.customer.id}",
    "lines": [{"sku": "${steps.a.output.items[0].sku}", "qty": 2}, true],
    "note": null,
    "title": "for ${input.customer.name}"
  })");
  auto expected = json::parse(R"({
    "customer": 42,
    "lines": [{"sku": "s1", "qty": 2}, true],
    "note": null,
    "title": "for Ada"
  })");
  CAF_CHECK_EQUAL(resolve(templ), expected);
}

CAF_TEST(a missing part names the reference and what is missing) {
  CAF_CHECK_EQUAL(resolve_error("${steps.a.output.user.id.x}"),
                  "${steps.a.output.user.id.x}: 'user.id' in the output of "
                  "step a is a string, not an object (field 'x')");
  CAF_CHECK_EQUAL(resolve_error("${steps.a.output.users.id}"),
                  "${steps.a.output.users.id}: the output of step a has no "
                  "field 'users'");
  CAF_CHECK_EQUAL(resolve_error("${steps.a.output.user.name}"),
                  "${steps.a.output.user.name}: the output of step a has no "
                  "field 'name'");
  CAF_CHECK_EQUAL(resolve_error("${steps.a.output.items[5]}"),
                  "${steps.a.output.items[5]}: the output of step a has no "
                  "index 5 (it has 2 items)");
  CAF_CHECK_EQUAL(resolve_error("${steps.a.output.items.2}"),
                  "${steps.a.output.items.2}: the output of step a has no "
                  "index 2 (it has 2 items)");
  CAF_CHECK_EQUAL(resolve_error("${input.x}"),
                  "${input.x}: the input has no field 'x'");
  CAF_CHECK_EQUAL(resolve_error("${context.x}"),
                  "${context.x}: the context has no field 'x'");
  CAF_CHECK_EQUAL(resolve_error("${input.tags[0][0]}"),
                  "${input.tags[0][0]}: 'tags[0]' in the input is a string, "
                  "not an array (index 0)");
  CAF_CHECK_EQUAL(resolve_error("${input.tags.first}"),
                  "${input.tags.first}: 'tags' in the input is an array, not "
                  "an object (field 'first')");
  CAF_CHECK_EQUAL(resolve_error("${input.flag[0]}"),
                  "${input.flag[0]}: 'flag' in the input is a boolean, not an "
                  "array (index 0)");
  CAF_CHECK_EQUAL(resolve_error("${steps.a.output.count.x}"),
                  "${steps.a.output.count.x}: 'count' in the output of step a "
                  "is a number, not an object (field 'x')");
}

CAF_TEST(a step that did not succeed or does not exist is an error) {
  CAF_CHECK_EQUAL(resolve_error("${steps.b.output}"),
                  "${steps.b.output}: step b did not succeed (it is skipped)");
  CAF_CHECK_EQUAL(resolve_error("x ${steps.b.output.id}"),
                  "${steps.b.output.id}: step b did not succeed (it is "
                  "skipped)");
  CAF_CHECK_EQUAL(resolve_error("${steps.zz.output}"),
                  "${steps.zz.output}: no step 'zz'");
  CAF_CHECK_EQUAL(resolve_error("${steps.zz.status}"),
                  "${steps.zz.status}: no step 'zz'");
  // A succeeded step's null output: only its fields are missing.
  auto s = scope();
  s["steps"]["d"] = {{"status", "success"}, {"output", nullptr}};
  CAF_CHECK(resolve_references("${steps.d.output}", s).is_null());
  try {
    resolve_references("${steps.d.output.id}", s);
    CAF_FAIL("resolved");
  } catch (const reference_error& e) {
    CAF_CHECK_EQUAL(std::string{e.what()},
                    "${steps.d.output.id}: the output of step d is null, not "
                    "an object (field 'id')");
  }
}

CAF_TEST(a malformed reference fails resolution too) {
  CAF_CHECK_EQUAL(resolve_error({{"k", "${inputs.x}"}}),
                  "${inputs.x}: unknown scope 'inputs' (input, context, "
                  "steps)");
  CAF_CHECK_EQUAL(resolve_error("a ${input.x"), "'a ${input.x': unclosed '${'");
}

CAF_TEST(a condition is true only for the boolean true) {
  CAF_CHECK(evaluate_condition("${input.flag}", scope()));
  CAF_CHECK(!evaluate_condition("${steps.a.output.ok}", scope()));
  CAF_CHECK(!evaluate_condition("${input.none}", scope()));
  CAF_CHECK_EQUAL(condition_error("${steps.a.output.count}"),
                  "${steps.a.output.count}: is 3, not a boolean");
  CAF_CHECK_EQUAL(condition_error("${context.tenant}"),
                  "${context.tenant}: is \"acme\", not a boolean");
  CAF_CHECK_EQUAL(condition_error("${input.missing}"),
                  "${input.missing}: the input has no field 'missing'");
  CAF_CHECK_EQUAL(condition_error("${input.flag} "),
                  "'${input.flag} ': a condition must be exactly one "
                  "reference");
  CAF_CHECK_EQUAL(condition_error("true"),
                  "'true': a condition must be exactly one reference");
  CAF_CHECK_EQUAL(condition_error("${input.flag}${input.flag}"),
                  "'${input.flag}${input.flag}': a condition must be exactly "
                  "one reference");
}
