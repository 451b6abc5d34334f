#pragma once

// The one JSON envelope of every answer Mesh gives a client: the console's
// replies, the HTTP API's, and those meshctl writes itself when the node
// cannot answer. Header-only, so meshctl needs nothing more to build one.
//   {"ok": true,  "status": "ok", "code": 0, "result": ...}
//   {"ok": false, "status": NAME, "code": N, "error": "...", "result"?: ...}

#include <string>

#include <nlohmann/json.hpp>

#include "protocol/status.hpp"

namespace mesh {

/// {"ok": true, "status": "ok", "code": 0, "result": result}.
inline nlohmann::json envelope_ok(nlohmann::json result) {
  return {{"ok", true},
          {"status", "ok"},
          {"code", static_cast<int>(status_code::ok)},
          {"result", std::move(result)}};
}

/// {"ok": false, "status": NAME, "code": N, "error": message}.
inline nlohmann::json envelope_error(status_code code, std::string message) {
  return {{"ok", false},
          {"status", to_string(code)},
          {"code", static_cast<int>(code)},
          {"error", std::move(message)}};
}

} // namespace mesh
