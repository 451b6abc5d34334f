#pragma once

// asleep(tid): whether a thread of this process sleeps (state S in /proc),
// for tests that must know a thread is blocked before they act.

#include <fstream>
#include <string>

#include <sys/types.h>

namespace mesh::test {

inline bool asleep(pid_t tid) {
  std::ifstream stat{"/proc/self/task/" + std::to_string(tid) + "/stat"};
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size()
         && line[close + 2] == 'S';
}

} // namespace mesh::test
