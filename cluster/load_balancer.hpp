#pragma once

// Choosing a peer among those that can serve a request: an interface, three
// policies, and a factory keyed by name (as Envoy's load balancers are).
// Pure logic: the router feeds it candidates and in-flight counts.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mesh {

struct peer_candidate {
  std::string_view id;
  size_t in_flight = 0; ///< requests this node has outstanding at the peer
};

class load_balancer {
public:
  virtual ~load_balancer() = default;

  /// Picks one of `candidates` (never empty) and returns its index.
  virtual size_t pick(const std::vector<peer_candidate>& candidates) = 0;

  virtual const char* name() const noexcept = 0;
};

/// "round_robin": each candidate in turn.
/// "least_in_flight": power of two choices: two random candidates, the one
///   with fewer requests in flight (Mitzenmacher; what Envoy calls
///   LEAST_REQUEST).
/// "random": uniformly at random.
/// Returns null for an unknown name.
std::unique_ptr<load_balancer> make_load_balancer(std::string_view name,
                                                  uint64_t seed);

/// The names make_load_balancer accepts.
const std::vector<std::string>& load_balancer_names();

} // namespace mesh
