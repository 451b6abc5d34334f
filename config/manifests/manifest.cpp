#include "config/manifests/manifest.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "config/node_config.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/status.hpp"

namespace mesh::embedded {
extern const char* const manifest_schema_json;
} // namespace mesh::embedded

namespace mesh {

size_t manifest::index_of(const std::string& id) const {
  for (size_t i = 0; i < variants.size(); ++i)
    if (variants[i].id == id)
      return i;
  return variants.size();
}

std::string manifest_load_error::to_string() const {
  std::string result;
  for (const auto& p : problems) {
    if (!result.empty())
      result += '\n';
    result += file + ": " + (p.pointer.empty() ? "/" : p.pointer) + ": "
              + p.message;
  }
  return result;
}

nlohmann::json manifest_load_error::to_json() const {
  auto list = nlohmann::json::array();
  for (const auto& p : problems)
    list.push_back({{"pointer", p.pointer.empty() ? "/" : p.pointer},
                    {"message", p.message}});
  return list;
}

const nlohmann::json& manifest_schema_json() {
  static const auto doc = nlohmann::json::parse(embedded::manifest_schema_json);
  return doc;
}

namespace {

const json_schema& manifest_schema() {
  static const auto schema = compile_embedded(manifest_schema_json(), "manifest");
  return schema;
}

} // namespace

std::variant<manifest_ptr, manifest_load_error>
parse_manifest(const nlohmann::json& doc, const std::string& name,
               const std::string& file) {
  manifest_load_error err{file, {}};
  auto add = [&](std::string pointer, std::string message) {
    err.problems.push_back({std::move(pointer), std::move(message)});
  };
  for (auto& v : explain_violations(manifest_schema_json(), doc,
                                    manifest_schema().validate(doc)))
    add(v.pointer, v.message);
  if (!err.problems.empty())
    return err; // the shape is wrong: the rules below would only repeat it
  auto m = std::make_shared<manifest>();
  m->name = name;
  m->file = file;
  m->source = doc;
  m->description = doc["description"];
  m->owner = doc["owner"];
  m->strategy_path = doc["strategy"]["path"];
  m->strategy_args = doc["strategy"].value("args", nlohmann::json());
  m->input_schema_doc = doc["input_schema"];
  m->experiment = doc.value("experiment", nlohmann::json());
  if (auto e = check_name("process name", name); !e.empty())
    add("", "file name: " + e);
  std::set<std::string> ids;
  const auto& variants = doc["variants"];
  for (size_t i = 0; i < variants.size(); ++i) {
    const auto& v = variants[i];
    auto ptr = "/variants/" + std::to_string(i);
    variant x;
    x.id = v["id"];
    x.path = v["path"];
    if (!ids.insert(x.id).second)
      add(ptr + "/id", "duplicate variant id '" + x.id + "'");
    auto key = parse_service_path(x.path);
    if (!key)
      add(ptr + "/path", "'" + x.path + "' is not namespace/Service/Method");
    else
      x.key = *key;
    if (v.contains("weight")) {
      x.weight = v["weight"];
      x.has_weight = true;
    }
    m->variants.push_back(std::move(x));
  }
  auto compiled = json_schema::compile(m->input_schema_doc);
  if (!compiled)
    add("/input_schema", "is not a valid draft-07 schema: "
                           + error_text(compiled.error()));
  else
    m->input_schema = std::make_shared<json_schema>(std::move(*compiled));
  auto chooser = make_strategy(m->strategy_path);
  if (!chooser) {
    std::string known;
    for (const auto& n : strategy_names())
      known += (known.empty() ? "" : ", ") + n;
    add("/strategy/path", "unknown strategy '" + m->strategy_path
                            + "' (known: " + known + ")");
  } else {
    for (auto& p : chooser->prepare(m->strategy_args, m->variants, name))
      err.problems.push_back(std::move(p));
    m->chooser = std::move(chooser);
  }
  if (!err.problems.empty())
    return err;
  return manifest_ptr{std::move(m)};
}

std::variant<manifest_ptr, manifest_load_error>
load_manifest(const std::string& path) {
  auto name = std::filesystem::path{path}.stem().string();
  auto doc = read_json_file(path, max_json_depth());
  if (!doc) {
    // read_json_file already says "file:line:col: ..."; keep it whole.
    auto text = error_text(doc.error());
    auto rest = text.rfind(path, 0) == 0 ? text.substr(path.size() + 1) : text;
    if (!rest.empty() && rest.front() == ' ')
      rest.erase(0, 1);
    return manifest_load_error{path, {{"", rest}}};
  }
  return parse_manifest(*doc, name, path);
}

std::vector<std::string> manifest_files(const std::string& dir,
                                        std::string& error) {
  std::vector<std::string> result;
  std::error_code ec;
  std::filesystem::directory_iterator it{dir, ec};
  if (ec) {
    error = "cannot read manifest folder " + dir + ": " + ec.message();
    return result;
  }
  for (const auto& entry : it)
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      result.push_back(entry.path().string());
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace mesh
