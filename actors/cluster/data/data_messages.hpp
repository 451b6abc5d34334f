#pragma once

// What the data plane's thread (cluster/transport/data_plane.hpp) hands to
// the node's actors. Local-only types: they hold a link and cannot be
// deserialized from the network, so only this node's data plane sends them
// (the links it hands over were authenticated by their token).
//
//   to a peer's ingress: data_batch        // a ServeBatch that came on
//        `link`; the answers go back on it while it is open
//   to the router: data_replies            // answers to our batches, from
//        `peer`, on the link we dialled
//   to the router: data_link_down          // our link to `peer` failed:
//        the attempts it carried are answered (or retried)

#include <cstdint>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>

#include "cluster/transport/data_link.hpp"
#include "protocol/mesh.pb.h"

namespace mesh {

struct data_batch {
  data_link_ptr link;
  pb::ServeBatch batch;
};

struct data_replies {
  std::string peer;
  /// Never null when the data plane sends it; from its pool
  /// (message_pool.hpp), to which it returns when the last owner is done.
  std::shared_ptr<pb::ServeReplies> replies;
};

struct data_link_down {
  std::string peer;
  uint64_t link = 0;
};

} // namespace mesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::data_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::data_replies)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::data_link_down)
