// A plug-in whose registration reports failure.
#include "node/plugin_api.hpp"

MESH_PLUGIN_ENTRY(registrar) {
  (void) registrar;
  return 3;
}
