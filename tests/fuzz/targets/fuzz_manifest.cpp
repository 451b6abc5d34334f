// Fuzz target: a process manifest (one file of the manifests folder).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/manifests/manifest.hpp"
#include "protocol/json/safe_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto doc = mesh::parse_json(text);
  if (!doc)
    return 0;
  auto result = mesh::parse_manifest(*doc, "fuzz", "fuzz.json");
  if (auto* m = std::get_if<mesh::manifest_ptr>(&result); m && *m) {
    // A manifest that loads must also validate input without crashing.
    nlohmann::json args = nlohmann::json::object();
    (void) (*m)->input_schema->validate(args);
  }
  return 0;
}
