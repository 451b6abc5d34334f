#include "tasks/job.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "config/json_schema.hpp"
#include "config/node_config.hpp"    // read_json_file
#include "protocol/json_payload.hpp" // max_json_depth
#include "protocol/service_key.hpp"
#include "protocol/status.hpp" // error_text

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
  static const auto schema = [] {
    auto compiled = json_schema::compile(job_schema_json());
    if (!compiled) // ours, embedded: a failure is a bug
      throw std::logic_error("embedded job schema does not compile");
    return std::move(*compiled);
  }();
  return schema;
}

std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (const auto& x : xs)
    result += (result.empty() ? "" : ", ") + x;
  return result;
}

// One JSON pointer token as written ("a~1b" -> "a/b").
std::string unescape(std::string token) {
  for (size_t i = 0; (i = token.find("~1", i)) != std::string::npos; ++i)
    token.replace(i, 2, "/");
  for (size_t i = 0; (i = token.find("~0", i)) != std::string::npos; ++i)
    token.replace(i, 2, "~");
  return token;
}

// The subschema that a document pointer lands in (following properties,
// items and local $refs), or null. Only used to enrich messages.
const nlohmann::json* schema_at(const std::string& pointer) {
  const auto& root = job_schema_json();
  auto deref = [&](const nlohmann::json* s) -> const nlohmann::json* {
    if (s == nullptr || !s->is_object() || !s->contains("$ref"))
      return s;
    auto ref = s->at("$ref");
    if (!ref.is_string() || ref.get<std::string>().rfind("#/", 0) != 0)
      return nullptr;
    try {
      return &root.at(
          nlohmann::json::json_pointer{ref.get<std::string>().substr(1)});
    } catch (const std::exception&) {
      return nullptr;
    }
  };
  const nlohmann::json* s = &root;
  size_t pos = 0;
  while (s != nullptr && pos < pointer.size()) {
    auto next = pointer.find('/', pos + 1);
    auto token
        = pointer.substr(pos + 1, next == std::string::npos ? std::string::npos
                                                            : next - pos - 1);
    pos = next == std::string::npos ? pointer.size() : next;
    token = unescape(std::move(token));
    s = deref(s);
    if (s == nullptr)
      break;
    if (auto p = s->find("properties");
        p != s->end() && p->is_object() && p->contains(token))
      s = &p->at(token);
    else if (auto it = s->find("items"); it != s->end() && it->is_object())
      s = &*it;
    else
      s = nullptr;
  }
  return deref(s);
}

// valijson's words for three common mistakes say little: "Failed to match
// against any enum values" (name the values), "Value type not permitted by
// 'type' constraint" (name the type), and, as additionalProperties
// false is compiled to {"not": {}}, "Target should not validate against
// schema specified in 'not' constraint" plus a summary at the parent (say
// which property is unknown and which are allowed).
std::vector<schema_violation> explained(std::vector<schema_violation> vs) {
  std::set<std::string> unknown_parents;
  for (auto& v : vs) {
    if (v.message.find("enum") != std::string::npos) {
      const auto* s = schema_at(v.pointer);
      if (s != nullptr && s->contains("enum") && s->at("enum").is_array()) {
        std::vector<std::string> values;
        for (const auto& x : s->at("enum"))
          values.push_back(x.is_string() ? x.get<std::string>() : x.dump());
        v.message += " (expected one of: " + join(values) + ")";
      }
      continue;
    }
    if (v.message.find("'type' constraint") != std::string::npos) {
      const auto* s = schema_at(v.pointer);
      if (s != nullptr && s->contains("type") && s->at("type").is_string())
        v.message += " (expected " + s->at("type").get<std::string>() + ")";
      continue;
    }
    auto slash = v.pointer.rfind('/');
    if (v.message.find("'not' constraint") == std::string::npos
        || slash == std::string::npos)
      continue;
    auto parent = v.pointer.substr(0, slash);
    const auto* s = schema_at(parent);
    auto extra = s == nullptr
                     ? nlohmann::json()
                     : s->value("additionalProperties", nlohmann::json());
    if (extra != false || !s->contains("properties"))
      continue;
    std::vector<std::string> allowed;
    for (const auto& [name, sub] : s->at("properties").items())
      allowed.push_back(name);
    auto name = unescape(v.pointer.substr(slash + 1));
    v.message
        = "unknown property '" + name + "' (allowed: " + join(allowed) + ")";
    unknown_parents.insert(parent);
  }
  std::vector<schema_violation> result;
  for (auto& v : vs)
    if (unknown_parents.count(v.pointer) == 0
        || v.message.find("additional properties") == std::string::npos)
      result.push_back(std::move(v));
  return result;
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
  for (auto& v : explained(job_schema().validate(doc)))
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
    j->max_in_flight = spec->max_in_flight;
  }
  // The schema has checked types and ranges, so these conversions are safe.
  if (doc.contains("max_attempts"))
    j->max_attempts = doc["max_attempts"].get<uint32_t>();
  if (doc.contains("lease_ms"))
    j->lease = std::chrono::milliseconds{doc["lease_ms"].get<int64_t>()};
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
