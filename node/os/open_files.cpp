#include "node/os/open_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/resource.h>

namespace mesh {

open_files_limit raise_open_files_limit() {
  open_files_limit result;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    result.error = std::string{"cannot read the open files limit: "}
                   + std::strerror(errno);
    return result;
  }
  result.before = result.after = lim.rlim_cur;
  // RLIM_INFINITY is refused for this limit (it may not pass nr_open).
  constexpr rlim_t ceiling = 1 << 20;
  auto wanted = std::min(lim.rlim_max, ceiling);
  if (lim.rlim_cur >= wanted)
    return result;
  lim.rlim_cur = wanted;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    result.error = "cannot raise the open files limit from "
                   + std::to_string(result.before) + " to "
                   + std::to_string(wanted) + ": " + std::strerror(errno);
    return result;
  }
  result.after = wanted;
  return result;
}

} // namespace mesh
