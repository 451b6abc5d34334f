// decision_rng: the random numbers behind strategies' decisions (the
// bandit's samples, its exploration). xoshiro256++ (Blackman and Vigna,
// 2019): 256 bits of state, four additions, shifts and rotations per 64-bit
// draw, where std::mt19937_64 keeps 2.5 KB and regenerates 312 words every
// 312 draws; a bandit decision takes about eight draws, and the engine's
// share of a process dispatch fell from 1.5 % to a sliver (BENCHMARKS.md).
// Not for secrets (trace ids and tokens use their own sources).

#pragma once

#include <cstdint>
#include <limits>

namespace mesh {

class decision_rng {
public:
  using result_type = uint64_t;

  /// Seeds the four words from `seed` by splitmix64, as the authors
  /// recommend: any seed, 0 included, gives a state that is not all zero.
  explicit decision_rng(uint64_t seed = 0x6d657368) {
    this->seed(seed);
  }

  void seed(uint64_t seed) {
    for (auto& word : s_)
      word = splitmix64(seed);
  }

  /// The next output of splitmix64 whose state is `x` (advanced).
  static uint64_t splitmix64(uint64_t& x) {
    auto z = (x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }

  /// An engine in the given state (not all zero), for known-answer tests.
  static decision_rng from_state(uint64_t a, uint64_t b, uint64_t c,
                                 uint64_t d) {
    decision_rng out;
    out.s_[0] = a;
    out.s_[1] = b;
    out.s_[2] = c;
    out.s_[3] = d;
    return out;
  }

  static constexpr result_type min() {
    return 0;
  }

  static constexpr result_type max() {
    return std::numeric_limits<result_type>::max();
  }

  result_type operator()() {
    auto result = rotl(s_[0] + s_[3], 23) + s_[0];
    auto t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

private:
  static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }

  uint64_t s_[4];
};

} // namespace mesh
