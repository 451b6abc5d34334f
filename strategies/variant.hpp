#pragma once

#include <string>

#include "protocol/service_key.hpp"

namespace mesh {

/// One versioned implementation of a process: a handler anywhere in the
/// cluster, named by its path "namespace/Service/Method".
struct variant {
  std::string id;
  std::string path;
  service_key key;
  double weight = 0;     ///< share of traffic (percentage_rollout)
  bool has_weight = false;
};

} // namespace mesh
