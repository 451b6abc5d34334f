// A plug-in of the right ABI version whose registration reports failure
// with -1 (what MESH_PLUGIN_ENTRY itself answered for another ABI version
// before plug-ins named theirs): reported as a failed registration.
#include "node/plugin_api.hpp"

MESH_PLUGIN_ENTRY(registrar) {
  (void)registrar;
  return -1;
}
