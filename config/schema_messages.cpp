// Our own schemas compiled once, and valijson's messages in clearer words
// (config/json_schema.hpp).

#include <set>
#include <stdexcept>

#include "config/json_schema.hpp"
#include "protocol/text.hpp"

namespace mesh {

namespace {

using json = nlohmann::json;

// The subschema a document pointer lands in (through properties, items and
// local $refs), or null; only used to make the messages say more.
const json* schema_at(const json& root, const json::json_pointer& pointer) {
  auto deref = [&](const json* s) -> const json* {
    for (int hops = 0; s != nullptr && s->is_object() && s->contains("$ref");
         ++hops) {
      const auto& ref = s->at("$ref");
      if (hops > 16 || !ref.is_string()
          || ref.get<std::string>().rfind("#/", 0) != 0)
        return nullptr;
      json::json_pointer target{ref.get<std::string>().substr(1)};
      s = root.contains(target) ? &root.at(target) : nullptr;
    }
    return s;
  };
  std::vector<std::string> tokens;
  for (auto p = pointer; !p.empty(); p.pop_back())
    tokens.insert(tokens.begin(), p.back());
  const json* s = &root;
  for (const auto& token : tokens) {
    if (s = deref(s); s == nullptr)
      return nullptr;
    if (auto p = s->find("properties");
        p != s->end() && p->is_object() && p->contains(token))
      s = &p->at(token);
    else if (auto it = s->find("items"); it != s->end() && it->is_object())
      s = &*it;
    else
      return nullptr;
  }
  return deref(s);
}

} // namespace

json_schema compile_embedded(const nlohmann::json& schema, const char* what) {
  auto compiled = json_schema::compile(schema);
  if (!compiled)
    throw std::logic_error(std::string{"embedded "} + what
                           + " schema does not compile");
  return std::move(*compiled);
}

std::vector<schema_violation> explain_violations(const nlohmann::json& schema,
                                                 std::vector<schema_violation> vs) {
  std::set<std::string> unknown_parents;
  for (auto& v : vs) {
    json::json_pointer at;
    try {
      at = json::json_pointer{v.pointer};
    } catch (const std::exception&) {
      continue;
    }
    const auto* s = schema_at(schema, at);
    auto has = [&](const char* word) {
      return v.message.find(word) != std::string::npos;
    };
    if (has("enum") && s != nullptr && s->contains("enum")
        && s->at("enum").is_array()) {
      std::vector<std::string> values;
      for (const auto& x : s->at("enum"))
        values.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      v.message += " (expected one of: " + join(values) + ")";
    } else if (has("'type' constraint") && s != nullptr
               && s->contains("type")) {
      const auto& t = s->at("type");
      if (t.is_string())
        v.message += " (expected " + t.get<std::string>() + ")";
      else if (t.is_array())
        v.message += " (expected " + join(t.get<std::vector<std::string>>()) + ")";
    } else if (has("'pattern'") && s != nullptr && s->contains("pattern")
               && s->at("pattern").is_string()) {
      v.message += " (expected " + s->at("pattern").get<std::string>() + ")";
    } else if (has("'not' constraint") && !at.empty()) {
      auto parent = at.parent_pointer();
      const auto* ps = schema_at(schema, parent);
      if (ps == nullptr || ps->value("additionalProperties", json()) != false
          || !ps->contains("properties"))
        continue;
      std::vector<std::string> allowed;
      for (const auto& [name, sub] : ps->at("properties").items())
        allowed.push_back(name);
      v.message = "unknown property '" + at.back()
                  + "' (allowed: " + join(allowed) + ")";
      unknown_parents.insert(parent.to_string());
    }
  }
  std::vector<schema_violation> result;
  for (auto& v : vs)
    if (unknown_parents.count(v.pointer) == 0
        || v.message.find("additional properties") == std::string::npos)
      result.push_back(std::move(v));
  return result;
}

} // namespace mesh
