#pragma once

// The variant handlers of the example process manifests.

#include "node/plugin_api.hpp"

/// Registers pricing/, notify/ and recommend/ handlers (see the .cpp).
void add_process_variants(mesh::handler_registrar& registrar);
