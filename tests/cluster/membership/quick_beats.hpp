#pragma once

// Arguments of a membership test's node: beats every 100 ms and down after
// 5 missed (half a second), so joins, failures and thaws show quickly.

#include <string>
#include <vector>

namespace mesh::test {

inline std::vector<std::string>
quick_beats_args(const std::string& id, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--id", id, "--heartbeat-interval-ms", "100",
                                "--heartbeat-misses", "5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

} // namespace mesh::test
