#pragma once

// meshnode's limit on open files. A node holds a descriptor for every peer
// link, client connection (HTTP, gRPC, console) and store file; Debian's
// default soft limit (1024, with a hard limit of 524288 under systemd) is
// reached by a few hundred clients, after which the node can accept no
// one, peers included. meshnode raises the soft limit to the hard one at
// start, as Go's runtime does for every Go server; the hard limit stays
// the operator's (LimitNOFILE= in a unit, `ulimit -Hn`). Only meshnode
// does: a program embedding mesh::node keeps its own limits.

#include <cstdint>
#include <string>

namespace mesh {

/// What raise_open_files_limit() found and did.
struct open_files_limit {
  uint64_t before = 0; ///< the soft limit at start
  uint64_t after = 0;  ///< the soft limit now
  std::string error;   ///< why it could not be read or raised; empty: fine
};

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (at most
/// 1,048,576, the kernel's default ceiling). Never throws.
open_files_limit raise_open_files_limit();

} // namespace mesh
