#pragma once

// The CAF actor-system configuration of a node, derived from its config:
// registered types, the middleman, the scheduler settings we tuned
// (BENCHMARKS.md), and CAF's connection liveness in step with ours.

#include <memory>

#include <caf/actor_system_config.hpp>

#include "config/node_config.hpp"

namespace mesh {

std::unique_ptr<caf::actor_system_config>
make_caf_config(const node_config& cfg);

} // namespace mesh
