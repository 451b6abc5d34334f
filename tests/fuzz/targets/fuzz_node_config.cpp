// Fuzz target: a node configuration file (what meshnode --config reads).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/node_config.hpp"
#include "protocol/json/safe_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto layer = mesh::parse_json(text);
  if (!layer)
    return 0;
  if (!mesh::check_config_layer(*layer, "fuzz.json").empty())
    return 0;
  auto doc = mesh::default_node_config_json();
  mesh::normalize_layer(*layer);
  mesh::merge_json(doc, *layer);
  auto cfg = mesh::to_node_config(doc);
  if (cfg)
    (void) mesh::check_console_exposure(*cfg);
  return 0;
}
