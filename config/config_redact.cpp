#include "config/config_redact.hpp"

#include <string_view>

namespace mesh {

namespace {

bool is_secret_key(std::string_view key) {
  return key == "secret" || key == "token" || key == "passphrase"
         || key == "password";
}

void redact_by_name(nlohmann::json& x) {
  if (x.is_array()) {
    for (auto& item : x)
      redact_by_name(item);
    return;
  }
  if (!x.is_object())
    return;
  for (auto& [key, value] : x.items()) {
    if (is_secret_key(key) && value.is_string())
      value = redacted_secret;
    else
      redact_by_name(value);
  }
}

void set_if(nlohmann::json& doc, const char* pointer, bool is_set) {
  nlohmann::json::json_pointer p{pointer};
  if (!is_set)
    return;
  // Only into objects: a parent written in another form (a plain
  // "host:port" console) holds no secret to hide.
  for (auto parent = p.parent_pointer(); !parent.empty();
       parent = parent.parent_pointer())
    if (doc.contains(parent) && !doc.at(parent).is_object())
      return;
  doc[p] = redacted_secret;
}

} // namespace

nlohmann::json redact_config(nlohmann::json doc, const node_config& cfg) {
  if (!doc.is_object())
    return doc;
  redact_by_name(doc);
  // Secrets that came from elsewhere (environment, token file) are in force
  // too: the reader learns that one is set, never what it is.
  set_if(doc, "/cluster/secret", !cfg.cluster.secret.empty());
  set_if(doc, "/console/token", !cfg.console_token.empty());
  set_if(doc, "/cluster/tls/passphrase", !cfg.cluster.tls.passphrase.empty());
  return doc;
}

} // namespace mesh
