// beta_sampler: exact draws from the normal, gamma and beta distributions,
// for the bandit's Thompson sampling. The standard library's gamma draws its
// normals by the polar method (a logarithm and a square root per pair); here
// the normal comes from a ziggurat, which needs one 64-bit random number and
// a table look-up for 97 % of its draws, and the gamma is Marsaglia and
// Tsang's, as the standard library's is. Same distributions, about half the
// cost per draw (BENCHMARKS.md).

#pragma once

#include <cstdint>

#include "strategies/decision_rng.hpp"

namespace mesh::detail {

/// A uniform double in the open interval (0, 1) from 64 random bits: the
/// top 52, centred in their cell so neither 0 nor 1 comes out (53 would
/// round the last cell up to 1). A logarithm of it is always finite.
inline double open_uniform_of(uint64_t bits) {
  return (static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-52;
}

inline double open_uniform(decision_rng& rng) {
  return open_uniform_of(rng());
}

/// A standard normal draw (mean 0, variance 1), by the ziggurat method of
/// Marsaglia and Tsang (2000) with 128 layers.
double standard_normal(decision_rng& rng);

/// A Gamma(shape, 1) draw; shape > 0. Marsaglia and Tsang (2000) for shape
/// >= 1; below 1, Gamma(shape + 1) x U^(1/shape).
double gamma_draw(decision_rng& rng, double shape);

/// A Beta(a, b) draw from two gamma draws: X / (X + Y). 0 when both gamma
/// draws underflow (shapes near 0).
double beta_draw(decision_rng& rng, double a, double b);

} // namespace mesh::detail
