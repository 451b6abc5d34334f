#include "tasks/jobs/job.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "config/json_schema.hpp"
#include "config/node_config.hpp"    // read_json_file
#include "protocol/json/json_payload.hpp" // max_json_depth
#include "protocol/service_key.hpp"
#include "protocol/status.hpp" // error_text
#include "protocol/text.hpp"

namespace mesh::embedded {
extern const char* const job_schema_json;
} // namespace mesh::embedded

namespace mesh {

const nlohmann::json& job_schema_json() {
  static const auto doc = nlohmann::json::parse(embedded::job_schema_json);
  return doc;
}

bool valid_dataset_name(const std::string& name) noexcept {
  if (name.empty() || name.size() > 128)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

namespace {

const json_schema& job_schema() {
  static const auto schema = compile_embedded(job_schema_json(), "job");
  return schema;
}

} // namespace

std::variant<job_ptr, manifest_load_error>
parse_job(const nlohmann::json& doc, const std::string& file,
          const runtime_table& runtimes, const target_check& check) {
  manifest_load_error err{file, {}};
  auto add = [&](std::string pointer, std::string message) {
    err.problems.push_back({std::move(pointer), std::move(message)});
  };
  if (!doc.is_object()) {
    add("", std::string{"a job must be a JSON object, not "} + doc.type_name());
    return err;
  }
  for (auto& v :
       explain_violations(job_schema_json(), doc, job_schema().validate(doc)))
    add(v.pointer, v.message);
  if (!err.problems.empty())
    return err; // the shape is wrong: the rules below would only repeat it
  auto j = std::make_shared<job_definition>();
  j->id = doc["id"];
  j->file = file;
  j->source = doc;
  j->runtime = doc["runtime"];
  j->target = doc["target"];
  j->inputs = doc["inputs"].get<std::vector<std::string>>();
  if (doc.contains("outputs"))
    j->outputs = doc["outputs"].get<std::vector<std::string>>();
  const runtime_spec* spec = nullptr;
  if (auto i = runtimes.find(j->runtime); i != runtimes.end()) {
    spec = &i->second;
    j->kind = spec->kind;
  } else {
    std::vector<std::string> names;
    for (const auto& [name, rt] : runtimes)
      names.push_back(name);
    add("/runtime",
        "unknown runtime '" + j->runtime + "' (known: " + join(names) + ")");
  }
  if (spec != nullptr) {
    bool well_formed = true;
    if (j->kind == "mesh" && !parse_service_path(j->target)) {
      well_formed = false;
      add("/target", "'" + j->target
                         + "' is not namespace/Service/Method "
                           "(three parts of letters, digits, '.', '_', '-')");
    }
    // Only a well-formed target is worth looking up.
    if (well_formed && check) {
      std::string why;
      try {
        why = check(j->kind, j->target);
      } catch (const std::exception& e) {
        why = std::string{"cannot check the target: "} + e.what();
      }
      if (!why.empty())
        add("/target", why);
    }
  }
  auto check_names
      = [&](const std::vector<std::string>& names, const std::string& field) {
          for (size_t i = 0; i < names.size(); ++i)
            if (!valid_dataset_name(names[i]))
              add("/" + field + "/" + std::to_string(i),
                  "'" + names[i]
                      + "' is not a valid dataset name (1..128 "
                        "characters of letters, digits, '.', '_', '-')");
        };
  check_names(j->inputs, "inputs");
  check_names(j->outputs, "outputs");
  // A job writing a dataset it reads would create its own tasks forever.
  for (size_t i = 0; i < j->outputs.size(); ++i)
    if (std::find(j->inputs.begin(), j->inputs.end(), j->outputs[i])
        != j->inputs.end())
      add("/outputs/" + std::to_string(i),
          "'" + j->outputs[i]
              + "' is also an input: a job must not feed itself");
  if (doc.value("priority", "normal") == "backfill")
    j->priority = job_priority::backfill;
  if (spec != nullptr) {
    j->max_attempts = spec->max_attempts;
    j->lease = spec->lease;
    if (spec->lease_set)
      j->lease_from = "runtime " + spec->name;
    j->max_in_flight = spec->max_in_flight;
  }
  // The schema has checked types and ranges, so these conversions are safe.
  if (doc.contains("max_attempts"))
    j->max_attempts = doc["max_attempts"].get<uint32_t>();
  if (doc.contains("lease_ms")) {
    j->lease = std::chrono::milliseconds{doc["lease_ms"].get<int64_t>()};
    j->lease_from = "the job file";
  }
  if (doc.contains("max_in_flight"))
    j->max_in_flight = doc["max_in_flight"].get<size_t>();
  j->heartbeat
      = std::chrono::milliseconds{doc.value("heartbeat_ms", int64_t{0})};
  j->max_queue_depth = doc.value("max_queue_depth", size_t{0});
  j->max_queue_age
      = std::chrono::milliseconds{doc.value("max_queue_age_ms", int64_t{0})};
  if (doc.contains("retry")) {
    const auto& r = doc["retry"];
    auto& p = j->retry;
    if (r.contains("initial_ms"))
      p.initial = std::chrono::milliseconds{r["initial_ms"].get<int64_t>()};
    if (r.contains("multiplier"))
      p.multiplier = r["multiplier"].get<double>();
    if (r.contains("max_ms"))
      p.max = std::chrono::milliseconds{r["max_ms"].get<int64_t>()};
    if (r.contains("jitter"))
      p.jitter = r["jitter"].get<double>();
    if (p.max < p.initial) {
      // Point at the field the author wrote: max_ms, else initial_ms
      // against the default max.
      auto text = "max_ms (" + std::to_string(p.max.count())
                  + (r.contains("max_ms") ? "" : ", the default")
                  + ") must be >= initial_ms ("
                  + std::to_string(p.initial.count()) + ")";
      add(r.contains("max_ms") ? "/retry/max_ms" : "/retry/initial_ms", text);
    }
  }
  if (!err.problems.empty())
    return err;
  return job_ptr{std::move(j)};
}

std::variant<job_ptr, manifest_load_error>
load_job(const std::string& path, const runtime_table& runtimes,
         const target_check& check) {
  try {
    auto doc = read_json_file(path, max_json_depth());
    if (!doc) {
      // read_json_file says "file:line:col: ..." or "file: ...": the file
      // is already named by the error, keep the rest whole.
      auto text = error_text(doc.error());
      auto rest = text.rfind(path, 0) == 0 ? text.substr(path.size()) : text;
      if (!rest.empty() && rest.front() == ':')
        rest.erase(0, 1);
      if (!rest.empty() && rest.front() == ' ')
        rest.erase(0, 1);
      return manifest_load_error{path, {{"", rest}}};
    }
    return parse_job(*doc, path, runtimes, check);
  } catch (const std::exception& e) {
    return manifest_load_error{path,
                               {{"", std::string{"cannot load: "} + e.what()}}};
  } catch (...) {
    return manifest_load_error{path, {{"", "cannot load: unknown error"}}};
  }
}

} // namespace mesh
