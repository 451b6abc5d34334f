#include "tasks/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace mesh {

std::chrono::milliseconds retry_policy::delay(uint32_t next_attempt,
                                              double random01) const noexcept {
  if (next_attempt <= 1)
    return std::chrono::milliseconds{0};
  // Everything in double and clamped before converting back: a large
  // multiplier or attempt number gives inf (or NaN for odd inputs), which
  // must end as `max`, never as an overflowed or negative integer.
  // 2^61 ms keeps max * (1 + jitter) representable for any jitter <= 1.
  constexpr double limit = 2.305843009213693952e18;
  double cap = std::clamp(static_cast<double>(max.count()), 0.0, limit);
  double first = std::clamp(static_cast<double>(initial.count()), 0.0, cap);
  double base = first * std::pow(multiplier, next_attempt - 2.0);
  if (!(base >= 0.0)) // NaN or negative (a negative multiplier)
    base = first;
  base = std::min(base, cap);
  double spread = std::isfinite(jitter) ? std::clamp(jitter, 0.0, 1.0) : 0.0;
  double r = std::isfinite(random01) ? std::clamp(random01, 0.0, 1.0) : 0.5;
  double result = base * (1.0 - spread + 2.0 * spread * r);
  result = std::clamp(result, 0.0, cap * (1.0 + spread));
  return std::chrono::milliseconds{
      static_cast<std::chrono::milliseconds::rep>(std::llround(result))};
}

} // namespace mesh
