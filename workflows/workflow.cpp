#include "workflows/workflow.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "config/node_config.hpp"    // read_json_file
#include "protocol/json/json_payload.hpp" // max_json_depth
#include "protocol/service_key.hpp"
#include "tasks/jobs/job.hpp" // valid_dataset_name
#include "topics/topic.hpp"
#include "workflows/workflow_parse.hpp" // checker, resolve_deps
#include "protocol/text.hpp"

namespace mesh::embedded {
extern const char* const workflow_schema_json;
} // namespace mesh::embedded

namespace mesh {

using nlohmann::json;

// The enums are dense from 0, in the order of these names.
const char* to_string(workflow_mode x) noexcept {
  static const char* const names[] = {"sequential", "parallel", "dag"};
  return names[static_cast<size_t>(x)];
}

const char* to_string(failure_mode x) noexcept {
  return x == failure_mode::stop ? "stop" : "continue";
}

const char* to_string(step_kind x) noexcept {
  static const char* const names[]
      = {"call", "process", "publish", "emit", "workflow"};
  return names[static_cast<size_t>(x)];
}

bool step_retry::retries(status_code code) const noexcept {
  return max_attempts > 1 && code != status_code::ok
         && std::find(on.begin(), on.end(), code) != on.end();
}

std::chrono::milliseconds
step_retry::delay(uint32_t next_attempt) const noexcept {
  // Attempt 2 is the first retry: it waits `backoff`.
  if (next_attempt < 2)
    return std::chrono::milliseconds{0};
  auto ms = static_cast<double>(backoff.count())
            * std::pow(multiplier, static_cast<double>(next_attempt - 2));
  if (!(ms < static_cast<double>(max_backoff.count()))) // also inf
    return max_backoff;
  return std::chrono::milliseconds{static_cast<int64_t>(ms)};
}

size_t workflow_definition::index_of(const std::string& id) const noexcept {
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].id == id)
      return i;
  return steps.size();
}

const json& workflow_schema_json() {
  static const auto doc = json::parse(embedded::workflow_schema_json);
  return doc;
}

namespace {

using detail::checker;
using detail::resolve_deps;

const json_schema& workflow_schema() {
  static const auto schema = compile_embedded(workflow_schema_json(), "workflow");
  return schema;
}

constexpr std::pair<const char*, step_kind> step_kinds[] = {
    {"call", step_kind::call},         {"process", step_kind::process},
    {"publish", step_kind::publish},   {"emit", step_kind::emit},
    {"workflow", step_kind::workflow},
};

const char* service_path_rule = "is not namespace/Service/Method (three parts "
                                "of letters, digits, '.', '_', '-')";

std::vector<status_code> default_retry_on() {
  std::vector<status_code> result;
  for (auto x : all_status_codes)
    if (x != status_code::ok && x != status_code::invalid_argument
        && x != status_code::not_found && x != status_code::permission_denied)
      result.push_back(x);
  return result;
}

// One step (`st`, at `ptr`): kind, target, options and compensation.
step_definition parse_step(const json& st, const std::string& ptr,
                           const std::string& workflow_name, checker& c) {
  step_definition s;
  s.id = st["id"];
  std::vector<std::string> kinds;
  for (const auto& [key, kind] : step_kinds)
    if (st.contains(key)) {
      kinds.push_back(key);
      s.kind = kind;
      s.target = st[key];
    }
  if (kinds.empty()) {
    c.add(ptr, "a step needs exactly one of call, process, publish, emit, "
               "workflow");
  } else if (kinds.size() > 1) {
    auto last = kinds.back();
    kinds.pop_back();
    c.add(ptr, "step '" + s.id + "' has " + (kinds.size() == 1 ? "both " : "")
                   + join(kinds) + " and " + last
                   + " (a step needs exactly one of call, process, publish, "
                     "emit, workflow)");
  } else {
    auto at = ptr + "/" + kinds[0];
    const auto& t = s.target;
    if (s.kind == step_kind::call && !parse_service_path(t))
      c.add(at, "'" + t + "' " + service_path_rule);
    if (s.kind == step_kind::publish)
      if (auto why = check_topic(t); !why.empty())
        c.add(at, "cannot publish to '" + t + "': " + why);
    if (s.kind == step_kind::emit && !valid_dataset_name(t))
      c.add(at, "'" + t
                    + "' is not a valid dataset name (1..128 characters "
                      "of letters, digits, '.', '_', '-')");
    if (s.kind == step_kind::workflow && t == workflow_name)
      c.add(at, "workflow '" + t + "' cannot call itself");
  }
  s.params = st.value("params", json::object());
  s.depends_on = st.value("depends_on", std::vector<std::string>{});
  s.when = st.value("when", "");
  // The schema has checked types and ranges: these conversions are safe.
  s.timeout = std::chrono::milliseconds{st.value("timeout_ms", int64_t{0})};
  s.retry.on = default_retry_on();
  if (auto r = st.find("retry"); r != st.end()) {
    auto& p = s.retry;
    p.max_attempts = r->value("max_attempts", p.max_attempts);
    p.backoff = std::chrono::milliseconds{
        r->value("backoff_ms", int64_t{p.backoff.count()})};
    p.multiplier = r->value("multiplier", p.multiplier);
    p.max_backoff = std::chrono::milliseconds{
        r->value("max_backoff_ms", int64_t{p.max_backoff.count()})};
    if (auto on = r->find("on"); on != r->end()) {
      p.on.clear();
      for (const auto& name : *on)
        p.on.push_back(*status_code_from_string(name.get<std::string>()));
    }
    if (p.max_backoff < p.backoff)
      c.add(ptr
                + (r->contains("max_backoff_ms") ? "/retry/max_backoff_ms"
                                                 : "/retry/backoff_ms"),
            "max_backoff_ms (" + std::to_string(p.max_backoff.count())
                + (r->contains("max_backoff_ms") ? "" : ", the default")
                + ") must be >= backoff_ms ("
                + std::to_string(p.backoff.count()) + ")");
  }
  if (auto comp = st.find("compensate"); comp != st.end()) {
    step_compensation x;
    x.call = (*comp)["call"];
    x.params = comp->value("params", json::object());
    x.timeout
        = std::chrono::milliseconds{comp->value("timeout_ms", int64_t{0})};
    if (!parse_service_path(x.call))
      c.add(ptr + "/compensate/call", "'" + x.call + "' " + service_path_rule);
    s.compensate = std::move(x);
  }
  return s;
}

} // namespace

std::variant<workflow_ptr, manifest_load_error>
parse_workflow(const json& doc, const std::string& file) {
  manifest_load_error err{file, {}};
  if (!doc.is_object()) {
    err.problems.push_back(
        {"", std::string{"a workflow must be a JSON object, not "}
                 + doc.type_name()});
    return err;
  }
  for (auto& v : explain_violations(workflow_schema_json(), doc,
                                    workflow_schema().validate(doc)))
    err.problems.push_back({v.pointer, v.message});
  if (!err.problems.empty())
    return err; // the shape is wrong: the rules below would only repeat it
  auto w = std::make_shared<workflow_definition>();
  checker c{*w, err, {}};
  w->name = doc["name"];
  w->file = file;
  w->source = doc;
  w->description = doc.value("description", "");
  auto mode = doc.value("mode", "sequential");
  w->mode = mode == "dag"        ? workflow_mode::dag
            : mode == "parallel" ? workflow_mode::parallel
                                 : workflow_mode::sequential;
  if (doc.value("on_failure", "stop") == "continue")
    w->on_failure = failure_mode::continue_on;
  w->timeout = std::chrono::milliseconds{doc.value("timeout_ms", int64_t{0})};
  w->max_parallel = doc.value("max_parallel", size_t{0});
  w->output = doc.value("output", json());
  if (auto s = doc.find("input_schema"); s != doc.end()) {
    auto compiled = json_schema::compile(*s);
    if (!compiled)
      c.add("/input_schema",
            "is not a valid draft-07 schema: " + error_text(compiled.error()));
    else
      w->input_schema = std::make_shared<json_schema>(std::move(*compiled));
  }
  const auto& steps = doc["steps"];
  std::map<std::string, size_t> first; // step id -> where it is declared
  for (size_t i = 0; i < steps.size(); ++i) {
    auto ptr = "/steps/" + std::to_string(i);
    w->steps.push_back(parse_step(steps[i], ptr, w->name, c));
    const auto& id = w->steps.back().id;
    if (auto [at, fresh] = first.emplace(id, i); !fresh)
      c.add(ptr + "/id", "duplicate step id '" + id + "' (also /steps/"
                             + std::to_string(at->second) + ")");
  }
  resolve_deps(c);
  for (size_t i = 0; i < w->steps.size(); ++i) {
    const auto& s = w->steps[i];
    auto ptr = "/steps/" + std::to_string(i);
    c.check_template(s.params, ptr + "/params", i, false);
    if (steps[i].contains("when"))
      c.check_when(s.when, ptr + "/when", i);
    if (s.compensate)
      c.check_template(s.compensate->params, ptr + "/compensate/params", i,
                       true);
  }
  c.check_template(w->output, "/output", w->steps.size(), false);
  if (!err.problems.empty())
    return err;
  return workflow_ptr{std::move(w)};
}

std::variant<workflow_ptr, manifest_load_error>
load_workflow(const std::string& path) {
  try {
    auto doc = read_json_file(path, max_json_depth());
    if (!doc) {
      // read_json_file says "file:line:col: ..." or "file: ...": the file
      // is named by the error already, keep the rest whole.
      auto text = error_text(doc.error());
      auto rest = text.rfind(path, 0) == 0 ? text.substr(path.size()) : text;
      if (!rest.empty() && rest.front() == ':')
        rest.erase(0, 1);
      if (!rest.empty() && rest.front() == ' ')
        rest.erase(0, 1);
      return manifest_load_error{path, {{"", rest}}};
    }
    return parse_workflow(*doc, path);
  } catch (const std::exception& e) {
    return manifest_load_error{path,
                               {{"", std::string{"cannot load: "} + e.what()}}};
  } catch (...) {
    return manifest_load_error{path, {{"", "cannot load: unknown error"}}};
  }
}

std::string check_input(const workflow_definition& def,
                        const nlohmann::json& input) {
  if (!def.input_schema)
    return {};
  auto violations = def.input_schema->validate(input);
  if (violations.empty())
    return {};
  auto schema = def.source.value("input_schema", nlohmann::json::object());
  return "the input does not match the input_schema of workflow " + def.name
         + ":\n"
         + to_string(explain_violations(schema, input, std::move(violations)));
}

} // namespace mesh
