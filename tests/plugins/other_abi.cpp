// A plug-in built for another ABI version, written out by hand (as an old
// or future MESH_PLUGIN_ENTRY would expand): refused before its entry runs.
#include <cstdint>

extern "C" __attribute__((visibility("default"))) uint32_t
mesh_plugin_abi_version() {
  return 3;
}

extern "C" __attribute__((visibility("default"))) int
mesh_register_handlers(void*, uint32_t) {
  return 0;
}
