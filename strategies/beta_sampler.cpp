#include "strategies/beta_sampler.hpp"

#include <array>
#include <cmath>

namespace mesh::detail {

namespace {

// The ziggurat: 128 layers of equal area v under f(x) = exp(-x^2 / 2) for
// x >= 0. Layer 0 is the base (a rectangle of width v / f(r) that includes
// the tail beyond r); layer i >= 1 lies between heights f(x[i]) and
// f(x[i + 1]) and is x[i] wide. r and v are the paper's values for 128.
constexpr int layers = 128;
constexpr double tail_start = 3.442619855899;   // r
constexpr double layer_area = 9.91256303526217e-3; // v

double density(double x) {
  return std::exp(-0.5 * x * x);
}

struct ziggurat {
  std::array<double, layers + 1> x; // widths, x[1] = r, x[128] = 0
  std::array<double, layers + 1> f; // density(x[i])

  ziggurat() {
    x[0] = layer_area / density(tail_start);
    x[1] = tail_start;
    for (int i = 1; i < layers - 1; ++i)
      x[i + 1] = std::sqrt(-2.0 * std::log(layer_area / x[i] + density(x[i])));
    x[layers] = 0.0;
    for (int i = 0; i <= layers; ++i)
      f[i] = density(x[i]); // f[0] is not read: the base has no wedge
  }
};

const ziggurat& table() {
  static const ziggurat z;
  return z;
}

// Beyond r: Marsaglia's (1964) exact tail method.
double tail(decision_rng& rng) {
  double a, b;
  do {
    a = -std::log(open_uniform(rng)) / tail_start;
    b = -std::log(open_uniform(rng));
  } while (b + b < a * a);
  return tail_start + a;
}

} // namespace

double standard_normal(decision_rng& rng) {
  const auto& z = table();
  for (;;) {
    auto bits = rng();
    auto i = static_cast<int>(bits & (layers - 1));
    // The top 52 bits (apart from the layer's low 7) as a signed uniform
    // in (-1, 1).
    auto u = 2.0 * open_uniform_of(bits) - 1.0;
    auto x = u * z.x[i];
    if (std::fabs(x) < z.x[i + 1])
      return x; // inside the layer's rectangle that lies under the curve
    if (i == 0)
      return u < 0 ? -tail(rng) : tail(rng);
    // The wedge: keep x if a uniform height in the layer is under f(x).
    auto y = z.f[i] + open_uniform(rng) * (z.f[i + 1] - z.f[i]);
    if (y < density(x))
      return x;
  }
}

double gamma_draw(decision_rng& rng, double shape) {
  if (shape < 1.0) {
    auto g = gamma_draw(rng, shape + 1.0);
    return g * std::pow(open_uniform(rng), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double n, v;
    do {
      n = standard_normal(rng);
      v = 1.0 + c * n;
    } while (v <= 0.0);
    v = v * v * v;
    auto u = open_uniform(rng);
    auto n2 = n * n;
    if (u < 1.0 - 0.0331 * n2 * n2) // the squeeze: no logarithm needed
      return d * v;
    if (std::log(u) < 0.5 * n2 + d * (1.0 - v + std::log(v)))
      return d * v;
  }
}

double beta_draw(decision_rng& rng, double a, double b) {
  auto x = gamma_draw(rng, a);
  auto y = gamma_draw(rng, b);
  return x + y > 0 ? x / (x + y) : 0.0;
}

} // namespace mesh::detail
