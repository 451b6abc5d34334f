#include <array>
#include <cstring>

#include <murmurhash.h>

#include "strategies/builtin.hpp"
#include "strategies/json_path.hpp"

namespace mesh {

json_path::json_path(std::string_view text, std::string_view prefix)
  : text_(text) {
  size_t start = 0;
  for (;;) {
    auto dot = text.find('.', start);
    parts_.emplace_back(text.substr(start, dot - start));
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  if (!prefix.empty() && parts_.size() > 1 && parts_.front() == prefix)
    parts_.erase(parts_.begin());
}

std::string strategy::explain(const decision& d,
                              const std::vector<variant>& variants) const {
  return "chose " + variants.at(d.index).id;
}

namespace {

struct entry {
  const char* name;
  std::unique_ptr<strategy> (*make)();
  const char* seed_script; ///< the seed's script name for it
};

const std::array<entry, 4>& entries() {
  static const std::array<entry, 4> xs{{
    {"direct", detail::make_direct, "direct"},
    {"percentage_rollout", detail::make_percentage_rollout,
     "percentage_rollout"},
    {"attribute_filter", detail::make_attribute_filter, "attribute_filter"},
    {"thompson_bandit", detail::make_thompson_bandit, "multi_armed_bandit"},
  }};
  return xs;
}

} // namespace

std::string canonical_strategy_name(std::string_view name) {
  // Seed paths: /optimisation/routing_strategies/<script>.py
  auto base = name.substr(name.rfind('/') + 1);
  if (base.size() > 3 && base.substr(base.size() - 3) == ".py")
    base.remove_suffix(3);
  for (const auto& e : entries())
    if (base == e.name || base == e.seed_script)
      return e.name;
  return {};
}

std::unique_ptr<strategy> make_strategy(std::string_view name_or_path) {
  auto name = canonical_strategy_name(name_or_path);
  for (const auto& e : entries())
    if (name == e.name)
      return e.make();
  return nullptr;
}

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> xs;
    for (const auto& e : entries())
      xs.emplace_back(e.name);
    return xs;
  }();
  return names;
}

uint32_t rollout_hash(std::string_view salt, std::string_view key) {
  // "<salt>:<key>" without allocating for the usual short keys.
  std::array<char, 256> stack;
  std::string heap;
  const char* data;
  size_t size = salt.size() + 1 + key.size();
  if (size <= stack.size()) {
    std::memcpy(stack.data(), salt.data(), salt.size());
    stack[salt.size()] = ':';
    std::memcpy(stack.data() + salt.size() + 1, key.data(), key.size());
    data = stack.data();
  } else {
    heap.reserve(size);
    heap.append(salt).append(1, ':').append(key);
    data = heap.data();
  }
  uint32_t h = 0;
  lmmh_x86_32(data, static_cast<unsigned>(size), 0, &h);
  return h;
}

uint32_t murmur3_x86_32(std::string_view data) {
  uint32_t h = 0;
  lmmh_x86_32(data.data(), static_cast<unsigned>(data.size()), 0, &h);
  return h;
}

uint32_t rollout_bucket(std::string_view salt, std::string_view key) {
  return static_cast<uint32_t>(
    (static_cast<uint64_t>(rollout_hash(salt, key)) * 10000) >> 32);
}

} // namespace mesh
