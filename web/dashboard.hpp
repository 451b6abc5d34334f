#pragma once

// The live web dashboard: one self-contained HTML page (inline CSS and
// JavaScript, nothing fetched from elsewhere) embedded in the binary at build
// time. The node's HTTP listener serves it at `GET /` without authentication:
// the page holds no data. In the browser it reads the node's own `/v1` API
// (with `Authorization: Bearer <token>` when a token is given in the URL
// fragment `#token=...` or in the page) and refreshes itself every 2 s.

#include <string_view>

namespace mesh {

/// The whole dashboard page (text/html; charset=utf-8). Valid for the
/// lifetime of the program.
std::string_view dashboard_html();

} // namespace mesh
