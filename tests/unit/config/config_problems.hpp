#pragma once

// mentions: whether one of a config check's problems contains `x`.

#include <string>
#include <vector>

namespace mesh::test {

inline bool mentions(const std::vector<std::string>& problems,
                     const std::string& x) {
  for (const auto& p : problems)
    if (p.find(x) != std::string::npos)
      return true;
  return false;
}

} // namespace mesh::test
