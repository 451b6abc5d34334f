// Fuzz target: a job file (one file of the jobs folder). Parsed as
// load_job does (the same depth limit) but without its catch-all, so that
// an exception escaping parse_job is a finding rather than a load error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/json/json_payload.hpp" // max_json_depth
#include "protocol/json/safe_json.hpp"
#include "tasks/jobs/job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Built once: the runtimes every node has, and a target check that
  // accepts any target (the rules before the check still run).
  static const auto runtimes
    = mesh::make_runtime_table({}, {"mesh", "process", "dispatcher"});
  static const mesh::target_check accept_all
    = [](const std::string&, const std::string&) { return std::string{}; };
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto doc = mesh::parse_json(text, mesh::max_json_depth());
  if (!doc)
    return 0;
  auto result = mesh::parse_job(*doc, "fuzz.json", runtimes, accept_all);
  if (auto* err = std::get_if<mesh::manifest_load_error>(&result)) {
    // What meshctl and the log show of a bad job must render too.
    (void) err->to_string();
  } else if (auto* job = std::get_if<mesh::job_ptr>(&result); job && *job) {
    // `job show` prints the source; retries compute delays from the policy.
    (void) mesh::dump_json((*job)->source);
    for (uint32_t n = 2; n < 40; ++n)
      (void) (*job)->retry.delay(n, 0.999);
  }
  return 0;
}
