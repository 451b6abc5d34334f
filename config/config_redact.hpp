#pragma once

// The effective configuration as `meshnode --check-config` prints it:
// every secret replaced, so the output can be pasted into a ticket.

#include <nlohmann/json.hpp>

#include "config/node_config.hpp"

namespace mesh {

/// What a redacted secret reads as.
inline constexpr const char* redacted_secret = "***";

/// `doc` (the merged configuration `cfg` came from) with every secret set
/// in `cfg` (the cluster secret, the console token, the TLS key passphrase,
/// whether from the file, a token file or the environment) shown as "***",
/// and any other string under a key named secret, token, passphrase or
/// password as well. Unset secrets stay null: the reader sees there is none.
nlohmann::json redact_config(nlohmann::json doc, const node_config& cfg);

} // namespace mesh
