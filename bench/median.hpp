#pragma once

// The median of a sample (the mean of the middle two for an even count;
// 0 for none): meshbench's and grpc_bench's same-round ratios.

#include <algorithm>
#include <vector>

namespace mesh::bench {

inline double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  if (n == 0)
    return 0.0;
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

} // namespace mesh::bench
