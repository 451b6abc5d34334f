// Our own schemas compiled once, and valijson's messages in clearer words
// (config/json_schema.hpp).

#include <algorithm>
#include <utility>

#include "config/json_schema.hpp"
#include "protocol/text.hpp"

namespace mesh {

namespace {

using json = nlohmann::json;

// A key list this short is printed whole with an unknown key.
constexpr size_t short_key_list = 12;

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Follows local $refs ("#/definitions/x"); null for a remote or broken one.
const json* deref(const json& root, const json* s) {
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
}

// The alternatives of `s` (oneOf, anyOf, allOf), each dereferenced.
std::vector<const json*> branches(const json& root, const json* s) {
  std::vector<const json*> out;
  if (s == nullptr || !s->is_object())
    return out;
  for (const char* key : {"oneOf", "anyOf", "allOf"})
    if (auto i = s->find(key); i != s->end() && i->is_array())
      for (const auto& b : *i)
        if (auto* d = deref(root, &b))
          out.push_back(d);
  return out;
}

// The subschema for member `token` of a value matching `s`: a property, a
// map's value schema, an array's items; looked for in `s` and then in its
// alternatives (the first that has it).
const json* child(const json& root, const json* s, const std::string& token,
                  int depth = 0) {
  if (s == nullptr || !s->is_object() || depth > 8)
    return nullptr;
  if (auto p = s->find("properties");
      p != s->end() && p->is_object() && p->contains(token))
    return deref(root, &p->at(token));
  if (auto a = s->find("additionalProperties");
      a != s->end() && a->is_object() && !a->empty())
    return deref(root, &*a);
  if (auto it = s->find("items"); it != s->end() && it->is_object())
    return deref(root, &*it);
  for (const auto* b : branches(root, s))
    if (auto* c = child(root, b, token, depth + 1))
      return c;
  return nullptr;
}

// The subschema a document pointer lands in, or null; only used to make
// the messages say more.
const json* schema_at(const json& root, const json::json_pointer& pointer) {
  std::vector<std::string> tokens;
  for (auto p = pointer; !p.empty(); p.pop_back())
    tokens.insert(tokens.begin(), p.back());
  const json* s = deref(root, &root);
  for (const auto& token : tokens)
    if (s = child(root, s, token); s == nullptr)
      return nullptr;
  return s;
}

// The object schema (with "properties") among `s` and its alternatives.
const json* object_schema(const json& root, const json* s) {
  if (s != nullptr && s->is_object() && s->contains("properties")
      && s->at("properties").is_object())
    return s;
  for (const auto* b : branches(root, s))
    if (b->contains("properties") && b->at("properties").is_object())
      return b;
  return nullptr;
}

// `s`, or the first of its alternatives, that has keyword `key`.
const json* with_keyword(const json& root, const json* s, const char* key) {
  if (s != nullptr && s->is_object() && s->contains(key))
    return s;
  for (const auto* b : branches(root, s))
    if (b->contains(key))
      return b;
  return nullptr;
}

// The allowed key a typo most likely meant, or "": close in edits (at most
// a third of the key, and never more than 3), or one contains the other.
std::string closest_key(const std::string& key,
                        const std::vector<std::string>& allowed) {
  std::string best;
  size_t best_distance = std::min<size_t>(3, std::max<size_t>(1, key.size() / 3));
  for (const auto& name : allowed) {
    auto d = edit_distance(key, name);
    if (d <= best_distance) {
      best = name;
      best_distance = d;
    }
  }
  if (best.empty() && key.size() >= 3)
    for (const auto& name : allowed)
      if (name.find(key) != std::string::npos
          || (name.size() >= 3 && key.find(name) != std::string::npos))
        return name;
  return best;
}

std::string unknown_key_message(const std::string& key,
                                const std::vector<std::string>& allowed) {
  auto guess = closest_key(key, allowed);
  std::string text = "unknown key '" + key + "'";
  if (!guess.empty())
    text += "; did you mean '" + guess + "'?";
  if (allowed.size() <= short_key_list || guess.empty())
    text += " (allowed: " + join(allowed) + ")";
  return text;
}

// A value as the user wrote it, short: 'text' for a string, JSON otherwise.
std::string show_value(const json& v) {
  auto text = v.is_string() ? "'" + v.get<std::string>() + "'" : v.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// A secret's value never appears in a message, even a malformed one.
bool names_secret(const std::string& pointer) {
  auto last = pointer.substr(pointer.rfind('/') + 1);
  for (const char* word : {"secret", "token", "passphrase", "password"})
    if (last.find(word) != std::string::npos && last != "token_file")
      return true;
  return false;
}

// The JSON type names a schema accepts ("string", "null or object").
std::vector<std::string> types_of(const json& root, const json* s) {
  std::vector<std::string> out;
  if (s == nullptr || !s->is_object())
    return out;
  if (auto t = s->find("type"); t != s->end()) {
    if (t->is_string())
      out.push_back(t->get<std::string>());
    else if (t->is_array())
      for (const auto& x : *t)
        if (x.is_string())
          out.push_back(x.get<std::string>());
    return out;
  }
  for (const auto* b : branches(root, s))
    for (auto& x : types_of(root, b))
      if (std::find(out.begin(), out.end(), x) == out.end())
        out.push_back(x);
  return out;
}

std::string or_list(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i == 0 ? "" : i + 1 == xs.size() ? " or " : ", ") + xs[i];
  return out;
}

bool is_type_error(const schema_violation& v) {
  return v.message.find("'type' constraint") != std::string::npos;
}

bool is_branch_marker(const schema_violation& v) {
  return starts_with(v.message, "Failed to validate against child schema #");
}

bool is_alternatives_summary(const schema_violation& v) {
  return starts_with(v.message, "Failed to validate against any child schemas");
}

bool under(const std::string& pointer, const std::string& parent) {
  return pointer == parent
         || (pointer.size() > parent.size()
             && pointer.compare(0, parent.size(), parent) == 0
             && pointer[parent.size()] == '/');
}

// valijson reports a failed oneOf/anyOf as every alternative's errors, each
// closed by "Failed to validate against child schema #i", then a summary.
// An alternative of another type than the value is not what the user
// meant: its errors go. When every alternative fails on the type, one line
// says which types are accepted.
void resolve_alternatives(const json& schema, std::vector<schema_violation>& vs,
                          std::vector<bool>& dropped) {
  for (size_t i = 0; i < vs.size(); ++i) {
    if (!is_alternatives_summary(vs[i]))
      continue;
    const auto& at = vs[i].pointer;
    size_t start = i;
    while (start > 0 && under(vs[start - 1].pointer, at))
      --start;
    std::vector<std::vector<size_t>> alternatives(1);
    for (size_t j = start; j < i; ++j) {
      if (dropped[j])
        continue;
      if (vs[j].pointer == at && is_branch_marker(vs[j])) {
        dropped[j] = true;
        alternatives.emplace_back();
      } else {
        alternatives.back().push_back(j);
      }
    }
    auto wrong_type = [&](const std::vector<size_t>& xs) {
      return xs.size() == 1 && vs[xs[0]].pointer == at
             && is_type_error(vs[xs[0]]);
    };
    bool any_right_type = false;
    for (const auto& a : alternatives)
      any_right_type = any_right_type || (!a.empty() && !wrong_type(a));
    dropped[i] = any_right_type;
    for (const auto& a : alternatives)
      if (wrong_type(a))
        dropped[a[0]] = true;
    if (!any_right_type) {
      json::json_pointer p;
      try {
        p = json::json_pointer{at};
      } catch (const std::exception&) {
      }
      // As a type error, the summary is then said as "expected string or
      // object, not number 5" by explain_violations.
      auto types = types_of(schema, schema_at(schema, p));
      vs[i].message = types.empty()
                        ? "matches none of the accepted forms"
                        : "Value type not permitted by 'type' constraint.";
    }
  }
  for (size_t i = 0; i < vs.size(); ++i)
    if (is_branch_marker(vs[i]))
      dropped[i] = true;
}

} // namespace

std::vector<schema_violation> explain_violations(const nlohmann::json& schema,
                                                 const nlohmann::json& doc,
                                                 std::vector<schema_violation> vs) {
  std::vector<bool> dropped(vs.size(), false);
  resolve_alternatives(schema, vs, dropped);
  for (size_t i = 0; i < vs.size(); ++i) {
    auto& v = vs[i];
    if (dropped[i])
      continue;
    json::json_pointer at;
    try {
      at = json::json_pointer{v.pointer};
    } catch (const std::exception&) {
      continue;
    }
    const json* value = doc.contains(at) ? &doc.at(at) : nullptr;
    bool secret = names_secret(v.pointer);
    auto show = [secret](const json& x) {
      return secret ? std::string{"(hidden)"} : show_value(x);
    };
    const auto* s = schema_at(schema, at);
    auto has = [&](const char* word) {
      return v.message.find(word) != std::string::npos;
    };
    const auto* with_enum = with_keyword(schema, s, "enum");
    const auto* with_pattern = with_keyword(schema, s, "pattern");
    if (has("enum") && with_enum != nullptr && with_enum->at("enum").is_array()) {
      std::vector<std::string> values;
      for (const auto& x : with_enum->at("enum"))
        values.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      v.message = (value ? show(*value) : std::string{"the value"})
                  + " is not one of: " + join(values);
    } else if (has("'type' constraint")) {
      auto types = types_of(schema, s);
      if (types.empty())
        continue;
      v.message = "expected " + or_list(types);
      if (value != nullptr)
        v.message += ", not " + std::string{value->type_name()} + " "
                     + show(*value);
    } else if ((has("Expected number greater") || has("Expected number less"))
               && value != nullptr) {
      // The bounds from the schema and the value as written: valijson reads
      // an integer past 2^63 as negative ("greater than or equal to 0").
      std::string range;
      for (auto [key, word] : {std::pair{"minimum", "at least "},
                               std::pair{"maximum", "at most "}})
        if (const auto* b = with_keyword(schema, s, key))
          range += (range.empty() ? "" : " and ") + std::string{word}
                   + b->at(key).dump();
      if (range.empty())
        continue;
      v.message = show(*value) + " is out of range: it must be " + range;
    } else if (has("'pattern'") && with_pattern != nullptr
               && with_pattern->at("pattern").is_string()) {
      v.message = (value ? show(*value) : std::string{"the value"})
                  + " does not have the expected form (pattern "
                  + with_pattern->at("pattern").get<std::string>() + ")";
    } else if (starts_with(v.message, "Missing required property '")) {
      v.message = "missing required key '" + v.message.substr(27);
      if (v.message.back() == '.')
        v.message.pop_back();
    } else if (has("'not' constraint") && !at.empty()) {
      // additionalProperties false, compiled as {"not": {}}: an unknown key.
      auto parent = at.parent_pointer();
      const auto* ps = object_schema(schema, schema_at(schema, parent));
      if (ps == nullptr || ps->value("additionalProperties", json()) != false)
        continue;
      std::vector<std::string> allowed;
      for (const auto& [name, sub] : ps->at("properties").items())
        allowed.push_back(name);
      v.message = unknown_key_message(at.back(), allowed);
    }
  }
  // valijson's summary of a map or object whose members failed only
  // repeats them.
  auto repeats_deeper = [&](size_t i) {
    if (!starts_with(vs[i].message,
                     "Failed to validate against additional properties"))
      return false;
    for (size_t j = 0; j < vs.size(); ++j)
      if (!dropped[j] && j != i && vs[j].pointer != vs[i].pointer
          && under(vs[j].pointer, vs[i].pointer))
        return true;
    return false;
  };
  std::vector<bool> keep(vs.size());
  for (size_t i = 0; i < vs.size(); ++i)
    keep[i] = !dropped[i] && !repeats_deeper(i);
  std::vector<schema_violation> result;
  for (size_t i = 0; i < vs.size(); ++i)
    if (keep[i])
      result.push_back(std::move(vs[i]));
  return result;
}

} // namespace mesh
