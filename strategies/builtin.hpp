#pragma once

// Private to strategies/: the factories of the built-in strategies.

#include <memory>

#include "strategies/strategy.hpp"

namespace mesh::detail {

std::unique_ptr<strategy> make_direct();
std::unique_ptr<strategy> make_percentage_rollout();
std::unique_ptr<strategy> make_attribute_filter();
std::unique_ptr<strategy> make_thompson_bandit();

/// The message of a decision that could not be made for `strategy`.
inline std::vector<manifest_problem> no_problems() {
  return {};
}

} // namespace mesh::detail
