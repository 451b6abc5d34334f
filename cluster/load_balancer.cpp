#include "cluster/load_balancer.hpp"

namespace mesh {

namespace {

class round_robin : public load_balancer {
public:
  size_t pick(const std::vector<peer_candidate>& xs) override {
    // A pool of one (a hedge, a retry) is no turn: the rotation stays fair
    // for the requests that do choose.
    if (xs.size() == 1)
      return 0;
    return next_++ % xs.size();
  }
  const char* name() const noexcept override {
    return "round_robin";
  }

private:
  size_t next_ = 0;
};

class least_in_flight : public load_balancer {
public:
  explicit least_in_flight(uint64_t seed) : rng_(seed) {}

  size_t pick(const std::vector<peer_candidate>& xs) override {
    if (xs.size() == 1)
      return 0;
    std::uniform_int_distribution<size_t> dist{0, xs.size() - 1};
    auto a = dist(rng_);
    auto b = dist(rng_);
    while (b == a)
      b = dist(rng_);
    return xs[b].in_flight < xs[a].in_flight ? b : a;
  }
  const char* name() const noexcept override {
    return "least_in_flight";
  }

private:
  std::mt19937_64 rng_;
};

class random_choice : public load_balancer {
public:
  explicit random_choice(uint64_t seed) : rng_(seed) {}

  size_t pick(const std::vector<peer_candidate>& xs) override {
    return std::uniform_int_distribution<size_t>{0, xs.size() - 1}(rng_);
  }
  const char* name() const noexcept override {
    return "random";
  }

private:
  std::mt19937_64 rng_;
};

} // namespace

std::unique_ptr<load_balancer> make_load_balancer(std::string_view name,
                                                  uint64_t seed) {
  if (name == "round_robin")
    return std::make_unique<round_robin>();
  if (name == "least_in_flight")
    return std::make_unique<least_in_flight>(seed);
  if (name == "random")
    return std::make_unique<random_choice>(seed);
  return nullptr;
}

const std::vector<std::string>& load_balancer_names() {
  static const std::vector<std::string> names{"round_robin",
                                              "least_in_flight", "random"};
  return names;
}

} // namespace mesh
