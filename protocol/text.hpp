#pragma once

// Small text helpers for messages people read.

#include <string>
#include <vector>

namespace mesh {

/// "a, b, c" (empty for none): lists of names in error messages.
inline std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (const auto& x : xs)
    result += (result.empty() ? "" : ", ") + x;
  return result;
}

} // namespace mesh
