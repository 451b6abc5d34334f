#define CAF_SUITE strategies.beta_sampler
#include "check.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "strategies/beta_sampler.hpp"

using namespace mesh::detail;

namespace {

constexpr size_t draws = 400000;

// Two-sample Kolmogorov-Smirnov distance between the samples' CDFs.
double ks_distance(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    auto x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x)
      ++i;
    while (j < b.size() && b[j] <= x)
      ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / a.size()
                              - static_cast<double>(j) / b.size()));
  }
  return d;
}

// The distance two samples of `draws` from one distribution exceed with
// probability 1e-6 (so a fixed seed that passes is no fluke of the seed).
double ks_bound() {
  return std::sqrt(-0.5 * std::log(0.5e-6)) * std::sqrt(2.0 / draws);
}

template <class F>
std::vector<double> sample(F draw) {
  std::vector<double> xs(draws);
  for (auto& x : xs)
    x = draw();
  return xs;
}

struct moments {
  double mean = 0;
  double variance = 0;
};

moments moments_of(const std::vector<double>& xs) {
  moments m;
  for (auto x : xs)
    m.mean += x;
  m.mean /= static_cast<double>(xs.size());
  for (auto x : xs)
    m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(xs.size() - 1);
  return m;
}

} // namespace

CAF_TEST(normal draws have the moments tail and shape of the standard normal) {
  mesh::decision_rng rng{1};
  auto xs = sample([&] { return standard_normal(rng); });
  auto m = moments_of(xs);
  auto n = static_cast<double>(draws);
  CAF_CHECK_LESS(std::fabs(m.mean), 5.0 / std::sqrt(n));
  CAF_CHECK_LESS(std::fabs(m.variance - 1.0), 5.0 * std::sqrt(2.0 / n));
  // Beyond the ziggurat's base (|x| > 3.4426) the tail method answers: as
  // often as the normal's tail says (P = 5.76e-4).
  auto p = std::erfc(3.442619855899 / std::sqrt(2.0));
  auto beyond = std::count_if(xs.begin(), xs.end(), [](double x) {
    return std::fabs(x) > 3.442619855899;
  });
  auto expected = p * n;
  CAF_CHECK_LESS(std::fabs(static_cast<double>(beyond) - expected),
                 5.0 * std::sqrt(expected));
  // The whole shape against the standard library's normal.
  mesh::decision_rng other{2};
  std::normal_distribution<double> reference;
  CAF_CHECK_LESS(ks_distance(xs, sample([&] { return reference(other); })),
                 ks_bound());
}

CAF_TEST(the tail beyond the ziggurat base has the shape of the normal tail) {
  // Few draws land there, so the whole-shape check above cannot see it:
  // 4M draws, and the mean excess over r against the exact one,
  // E[X - r | X > r] = phi(r) / Q(r) - r (0.2566; 1/r = 0.2905 would be an
  // exponential tail without the rejection step).
  constexpr double r = 3.442619855899;
  mesh::decision_rng rng{8};
  double excess = 0, excess_sq = 0;
  size_t beyond = 0;
  for (size_t i = 0; i < 4000000; ++i) {
    auto x = std::fabs(standard_normal(rng));
    if (x > r) {
      ++beyond;
      excess += x - r;
      excess_sq += (x - r) * (x - r);
    }
  }
  CAF_REQUIRE_GREATER(beyond, 1000u);
  auto n = static_cast<double>(beyond);
  auto mean = excess / n;
  auto sd = std::sqrt(excess_sq / n - mean * mean);
  auto phi = std::exp(-0.5 * r * r) / std::sqrt(2 * M_PI);
  auto q = 0.5 * std::erfc(r / std::sqrt(2.0));
  CAF_CHECK_LESS(std::fabs(mean - (phi / q - r)), 4.0 * sd / std::sqrt(n));
}

CAF_TEST(gamma draws match the standard library for shapes below and above one) {
  for (double shape : {0.3, 1.0, 2.5, 40.0, 1e5}) {
    CAF_MESSAGE("shape " << shape);
    mesh::decision_rng rng{3};
    auto xs = sample([&] { return gamma_draw(rng, shape); });
    auto m = moments_of(xs);
    // Gamma(k, 1): mean k, variance k.
    CAF_CHECK_LESS(std::fabs(m.mean - shape),
                   5.0 * std::sqrt(shape / static_cast<double>(draws)));
    CAF_CHECK_LESS(std::fabs(m.variance / shape - 1.0), 0.05);
    CAF_CHECK(std::all_of(xs.begin(), xs.end(),
                          [](double x) { return x >= 0 && std::isfinite(x); }));
    mesh::decision_rng other{4};
    std::gamma_distribution<double> reference{shape};
    CAF_CHECK_LESS(ks_distance(xs, sample([&] { return reference(other); })),
                   ks_bound());
  }
}

CAF_TEST(beta draws have the posterior the bandit samples from) {
  struct shape {
    double a, b;
  };
  for (auto [a, b] : {shape{1, 1}, shape{3, 7}, shape{0.5, 0.5},
                      shape{901, 101}, shape{1e-6, 1e-6}}) {
    CAF_MESSAGE("Beta(" << a << ", " << b << ")");
    mesh::decision_rng rng{5};
    auto xs = sample([&] { return beta_draw(rng, a, b); });
    CAF_CHECK(std::all_of(xs.begin(), xs.end(),
                          [](double x) { return x >= 0 && x <= 1; }));
    if (a < 1e-3)
      continue; // both gamma draws underflow: 0, as the bandit expects
    auto m = moments_of(xs);
    auto mean = a / (a + b);
    auto variance = a * b / ((a + b) * (a + b) * (a + b + 1));
    CAF_CHECK_LESS(std::fabs(m.mean - mean),
                   5.0 * std::sqrt(variance / static_cast<double>(draws)));
    CAF_CHECK_LESS(std::fabs(m.variance / variance - 1.0), 0.05);
    mesh::decision_rng other{6};
    std::gamma_distribution<double> ga{a}, gb{b};
    CAF_CHECK_LESS(ks_distance(xs, sample([&] {
                                 auto x = ga(other);
                                 auto y = gb(other);
                                 return x / (x + y);
                               })),
                   ks_bound());
  }
}

CAF_TEST(open uniforms never reach zero or one) {
  mesh::decision_rng rng{7};
  auto xs = sample([&] { return open_uniform(rng); });
  CAF_CHECK(std::all_of(xs.begin(), xs.end(),
                        [](double x) { return x > 0 && x < 1; }));
  CAF_CHECK_LESS(std::fabs(moments_of(xs).mean - 0.5), 0.005);
  // The extreme bit patterns stay inside.
  CAF_CHECK_GREATER(open_uniform_of(0), 0.0);
  CAF_CHECK_LESS(open_uniform_of(~uint64_t{0}), 1.0);
  CAF_CHECK_LESS(std::log(open_uniform_of(~uint64_t{0})), 0.0);
}
