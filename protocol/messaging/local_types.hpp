#pragma once

// Types that travel in CAF messages between actors of one node but never
// cross a node boundary (they hold functions, shared snapshots or handles to
// local state). CAF requires them to be declared; they are deliberately not
// in the type-ID block, so sending one to a remote actor fails loudly.

#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

namespace mesh {
struct handler_spec;
struct handler_outcome;
struct handler_table;
struct peer_table;
class registry_validator;
struct dispatcher_spec;
struct topic_route;
} // namespace mesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)

#include <caf/expected.hpp>
#include <caf/result.hpp>

namespace mesh {

/// A handler's JSON answer. caf::result<T>'s value constructor
/// brace-initialises T, which turns a nlohmann::json into a one-element
/// array; going through expected<T> moves the document as it is. Every
/// `-> caf::result<nlohmann::json>` handler returns its JSON through this.
inline caf::result<nlohmann::json> json_result(nlohmann::json doc) {
  return caf::expected<nlohmann::json>(std::move(doc));
}

} // namespace mesh
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::handler_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::handler_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const mesh::handler_table>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const mesh::registry_validator>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const mesh::peer_table>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::dispatcher_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::topic_route)
