// Runtimes (seed 002's runtime registry): the built-in kinds, and the
// configured runtimes that map names to them with capabilities and limits.

#include <algorithm>
#include <stdexcept>

#include "tasks/jobs/job.hpp"
#include "protocol/text.hpp"

namespace mesh {

const std::vector<std::string>& builtin_task_kinds() {
  static const std::vector<std::string> kinds{"mesh", "process", "dispatcher"};
  return kinds;
}

namespace {

// An integer field of a configured runtime, in [lo, hi].
int64_t runtime_int(const std::string& name, const nlohmann::json& entry,
                    const char* field, int64_t lo, int64_t hi) {
  const auto& x = entry.at(field);
  int64_t value = 0;
  bool ok = false;
  if (x.is_number_unsigned()) { // huge values must not wrap to negative
    ok = x.get<uint64_t>() <= uint64_t(hi);
    value = ok ? int64_t(x.get<uint64_t>()) : 0;
  } else if (x.is_number_integer()) {
    value = x.get<int64_t>();
    ok = true;
  }
  if (!ok || value < lo || value > hi)
    throw std::invalid_argument("runtime '" + name + "': " + field
                                + " must be an integer in ["
                                + std::to_string(lo) + ", " + std::to_string(hi)
                                + "], not " + x.dump());
  return value;
}

runtime_spec configured_runtime(const std::string& name,
                                const nlohmann::json& entry,
                                const std::vector<std::string>& known) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("runtime '" + name + "': " + what);
  };
  if (!valid_dataset_name(name)) // same alphabet as job ids and datasets
    fail("the name must be 1..128 characters of letters, digits, '.', '_', "
         "'-'");
  if (!entry.is_object())
    fail("must be an object with a \"kind\"");
  runtime_spec spec;
  spec.name = name;
  auto kind = entry.find("kind");
  if (kind == entry.end() || !kind->is_string())
    fail("kind must be a string");
  spec.kind = kind->get<std::string>();
  if (std::find(known.begin(), known.end(), spec.kind) == known.end())
    fail("unknown kind '" + spec.kind + "' (known: " + join(known) + ")");
  if (auto caps = entry.find("capabilities"); caps != entry.end()) {
    if (!caps->is_array())
      fail("capabilities must be an array of strings");
    for (const auto& c : *caps) {
      if (!c.is_string())
        fail("capabilities must be an array of strings");
      spec.capabilities.push_back(c.get<std::string>());
    }
  }
  // Bounds as in job.schema.json, so a runtime never gives its jobs limits
  // that a job could not declare itself.
  if (entry.contains("max_in_flight"))
    spec.max_in_flight
        = size_t(runtime_int(name, entry, "max_in_flight", 1, 100000));
  if (entry.contains("lease_ms")) {
    spec.lease = std::chrono::milliseconds{
        runtime_int(name, entry, "lease_ms", 100, 86400000)};
    spec.lease_set = true;
  }
  if (entry.contains("max_attempts"))
    spec.max_attempts
        = uint32_t(runtime_int(name, entry, "max_attempts", 1, 1000));
  // Other fields are left alone: they may configure the kind's plug-in.
  return spec;
}

} // namespace

runtime_table make_runtime_table(const nlohmann::json& configured,
                                 const std::vector<std::string>& kinds) {
  runtime_table result;
  for (const auto& k : builtin_task_kinds()) {
    runtime_spec spec;
    spec.name = k;
    spec.kind = k;
    result.emplace(k, std::move(spec));
  }
  if (configured.is_null())
    return result;
  if (!configured.is_object())
    throw std::invalid_argument("runtimes must be an object {name: {\"kind\": "
                                "...}}, not "
                                + std::string{configured.type_name()});
  // The built-in kinds always exist, whatever the caller passes.
  std::vector<std::string> known = builtin_task_kinds();
  for (const auto& k : kinds)
    if (std::find(known.begin(), known.end(), k) == known.end())
      known.push_back(k);
  std::sort(known.begin(), known.end());
  for (const auto& [name, entry] : configured.items()) {
    auto spec = configured_runtime(name, entry, known);
    // A built-in may get other limits, but not another kind: "mesh" means
    // mesh handlers everywhere.
    if (auto i = result.find(name);
        i != result.end() && i->second.kind != spec.kind)
      throw std::invalid_argument(
          "runtime '" + name + "': is built in with kind '" + i->second.kind
          + "', not '" + spec.kind + "'");
    result[name] = std::move(spec);
  }
  return result;
}

} // namespace mesh
