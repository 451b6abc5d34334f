// A run record as JSON (workflow_run.hpp): one form for the store's column
// and for what meshctl shows. The reader is strict: a document that reads
// back wrong would resume a run wrongly after a restart, so every field is
// required and typed, and a bad one is named.

#include "workflows/runs/workflow_run.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

namespace mesh {

namespace {

using nlohmann::json;

constexpr const char* step_names[]
    = {"pending", "running", "success", "failed", "skipped", "compensated"};

constexpr const char* run_names[]
    = {"running", "success", "failed", "partial", "cancelled", "timed_out"};

template<class Enum, size_t N>
std::optional<Enum> from_name(const char* const (&names)[N],
                              const std::string& name) noexcept {
  for (size_t i = 0; i < N; ++i)
    if (name == names[i])
      return static_cast<Enum>(i);
  return std::nullopt;
}

// The JSON of a step's id: from the definition the run started with, so
// that meshctl shows names; "#i" for a record built without one.
json step_id(const run_record& run, size_t i) {
  const auto& def = run.definition;
  if (def.is_object()) {
    auto steps = def.find("steps");
    if (steps != def.end() && steps->is_array() && i < steps->size()) {
      const auto& step = (*steps)[i];
      if (step.is_object()) {
        auto id = step.find("id");
        if (id != step.end() && id->is_string())
          return *id;
      }
    }
  }
  return "#" + std::to_string(i);
}

json compensation_json(const compensation_result& c) {
  return {{"status", c.status},
          {"output", c.output},
          {"error", c.error},
          {"node", c.node},
          {"started_ms", c.started_ms},
          {"completed_ms", c.completed_ms},
          {"duration_ms",
           c.completed_ms > 0 ? c.completed_ms - c.started_ms : int64_t{0}}};
}

json step_json(const run_record& run, size_t i) {
  const auto& s = run.steps[i];
  json result{{"id", step_id(run, i)},
              {"status", to_string(s.status)},
              {"output", s.output},
              {"error", s.error},
              {"error_status", s.error_status},
              {"attempts", s.attempts},
              {"node", s.node},
              {"started_ms", s.started_ms},
              {"completed_ms", s.completed_ms},
              {"duration_ms", s.duration_ms()},
              {"idempotent", s.idempotent},
              {"detail", s.detail}};
  if (s.compensation)
    result["compensation"] = compensation_json(*s.compensation);
  return result;
}

// Reads the fields of one object of the document; `path` names it in
// errors ("" for the root, "steps[2]", "steps[2].compensation").
class reader {
public:
  reader(const json& obj, std::string path)
      : obj_(obj), path_(std::move(path)) {
    if (!obj_.is_object())
      fail("", "not an object");
  }

  [[noreturn]] void fail(const std::string& field,
                         const std::string& why) const {
    auto where = path_.empty()   ? field
                 : field.empty() ? path_
                                 : path_ + "." + field;
    throw std::invalid_argument(
        "run document: " + (where.empty() ? "(root)" : where) + ": " + why);
  }

  std::string name(const std::string& field) const {
    return path_.empty() ? field : path_ + "." + field;
  }

  // Any JSON value (input, output, detail, ...).
  const json& any(const char* field) const {
    auto i = obj_.find(field);
    if (i == obj_.end())
      fail(field, "missing");
    return *i;
  }

  // A field derived from others (ids, durations): checked when present.
  const json* optional(const char* field) const {
    auto i = obj_.find(field);
    return i != obj_.end() ? &*i : nullptr;
  }

  std::string str(const char* field) const {
    const auto& x = any(field);
    if (!x.is_string())
      fail(field, std::string{"not a string but "} + x.type_name());
    return x.get<std::string>();
  }

  bool boolean(const char* field) const {
    const auto& x = any(field);
    if (!x.is_boolean())
      fail(field, std::string{"not a boolean but "} + x.type_name());
    return x.get<bool>();
  }

  int64_t int64(const char* field) const {
    return int64_of(any(field), field);
  }

  void check_int64(const char* field) const {
    if (auto* x = optional(field))
      int64_of(*x, field);
  }

  uint32_t uint32(const char* field) const {
    return static_cast<uint32_t>(
        unsigned_of(any(field), field, std::numeric_limits<uint32_t>::max()));
  }

  uint64_t unsigned_of(const json& x, const std::string& field,
                       uint64_t max) const {
    if (!x.is_number_integer())
      fail(field, std::string{"not an integer but "} + x.type_name());
    if (!x.is_number_unsigned() || x.get<uint64_t>() > max)
      fail(field, "out of range: " + x.dump());
    return x.get<uint64_t>();
  }

  const json& array(const char* field) const {
    const auto& x = any(field);
    if (!x.is_array())
      fail(field, std::string{"not an array but "} + x.type_name());
    return x;
  }

private:
  int64_t int64_of(const json& x, const char* field) const {
    if (!x.is_number_integer())
      fail(field, std::string{"not an integer but "} + x.type_name());
    if (x.is_number_unsigned()
        && x.get<uint64_t>()
               > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(field, "out of range: " + x.dump());
    return x.get<int64_t>();
  }

  const json& obj_;
  std::string path_;
};

compensation_result read_compensation(const json& doc,
                                      const std::string& path) {
  reader r{doc, path};
  compensation_result c;
  c.status = r.str("status");
  c.output = r.any("output");
  c.error = r.str("error");
  c.node = r.str("node");
  c.started_ms = r.int64("started_ms");
  c.completed_ms = r.int64("completed_ms");
  r.check_int64("duration_ms");
  return c;
}

step_result read_step(const json& doc, const std::string& path) {
  reader r{doc, path};
  step_result s;
  if (auto* id = r.optional("id"); id != nullptr && !id->is_string())
    r.fail("id", std::string{"not a string but "} + id->type_name());
  auto status = r.str("status");
  auto parsed = step_status_from(status);
  if (!parsed)
    r.fail("status", "unknown step status '" + status + "'");
  s.status = *parsed;
  s.output = r.any("output");
  s.error = r.str("error");
  s.error_status = r.str("error_status");
  s.attempts = r.uint32("attempts");
  s.node = r.str("node");
  s.started_ms = r.int64("started_ms");
  s.completed_ms = r.int64("completed_ms");
  r.check_int64("duration_ms");
  s.idempotent = r.boolean("idempotent");
  s.detail = r.any("detail");
  if (auto* c = r.optional("compensation"))
    s.compensation = read_compensation(*c, r.name("compensation"));
  return s;
}

} // namespace

const char* to_string(step_status x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < std::size(step_names) ? step_names[i] : "unknown";
}

const char* to_string(run_status x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < std::size(run_names) ? run_names[i] : "unknown";
}

std::optional<step_status> step_status_from(const std::string& name) noexcept {
  return from_name<step_status>(step_names, name);
}

std::optional<run_status> run_status_from(const std::string& name) noexcept {
  return from_name<run_status>(run_names, name);
}

nlohmann::json to_json(const run_record& run) {
  auto steps = json::array();
  for (size_t i = 0; i < run.steps.size(); ++i)
    steps.push_back(step_json(run, i));
  return {{"id", run.id},
          {"workflow", run.workflow},
          {"trace_id", run.trace_id},
          {"status", to_string(run.status)},
          {"input", run.input},
          {"context", run.context},
          {"definition", run.definition},
          {"steps", std::move(steps)},
          {"completion_order", run.completion_order},
          {"compensating", run.compensating},
          {"ending", to_string(run.ending)},
          {"error", run.error},
          {"output", run.output},
          {"parent_run", run.parent_run},
          {"parent_step", run.parent_step},
          {"started_ms", run.started_ms},
          {"completed_ms", run.completed_ms},
          {"deadline_ms", run.deadline_ms},
          {"duration_ms", run.completed_ms > 0
                              ? run.completed_ms - run.started_ms
                              : int64_t{0}}};
}

run_record run_from_json(const nlohmann::json& doc) {
  reader r{doc, ""};
  run_record run;
  run.id = r.str("id");
  run.workflow = r.str("workflow");
  run.trace_id = r.str("trace_id");
  auto status = r.str("status");
  auto parsed = run_status_from(status);
  if (!parsed)
    r.fail("status", "unknown run status '" + status + "'");
  run.status = *parsed;
  run.input = r.any("input");
  run.context = r.any("context");
  run.definition = r.any("definition");
  const auto& steps = r.array("steps");
  run.steps.reserve(steps.size());
  for (size_t i = 0; i < steps.size(); ++i)
    run.steps.push_back(
        read_step(steps[i], "steps[" + std::to_string(i) + "]"));
  // Indexes into steps: the runner compensates through them.
  const auto& order = r.array("completion_order");
  for (size_t i = 0; i < order.size(); ++i) {
    auto field = "completion_order[" + std::to_string(i) + "]";
    if (!order[i].is_number_unsigned()
        || order[i].get<uint64_t>() >= run.steps.size())
      r.fail(field, "not a step index: " + order[i].dump());
    run.completion_order.push_back(
        static_cast<size_t>(order[i].get<uint64_t>()));
  }
  run.compensating = r.boolean("compensating");
  // What a stopping run ends with (absent in records of older builds).
  if (doc.contains("ending")) {
    auto ending = run_status_from(r.str("ending"));
    if (!ending)
      r.fail("ending", "unknown run status");
    run.ending = *ending;
  }
  run.error = r.str("error");
  run.output = r.any("output");
  run.parent_run = r.str("parent_run");
  run.parent_step = r.str("parent_step");
  run.started_ms = r.int64("started_ms");
  run.completed_ms = r.int64("completed_ms");
  run.deadline_ms = r.int64("deadline_ms");
  r.check_int64("duration_ms");
  return run;
}

} // namespace mesh
