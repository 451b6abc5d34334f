#pragma once

// Inside the HTTP server (not installed): what the routes share, and the
// one function that installs them (http_routes.cpp).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <nlohmann/json_fwd.hpp>
#include <spdlog/logger.h>

#include "http/http_server.hpp"

namespace httplib {
class Server;
struct Response;
} // namespace httplib

namespace mesh {

struct http_context {
  http_context(caf::actor_system& system, http_server_config config)
      : sys(system), cfg(std::move(config)) {}

  caf::actor_system& sys;
  const http_server_config cfg;
  std::atomic<bool> draining{false};
  std::shared_ptr<spdlog::logger> log;
};

/// Installs every route, the error and exception handlers and the request
/// log on `srv`; `ctx` outlives the server.
void install_routes(httplib::Server& srv, http_context& ctx);

/// The probes, /metrics and the page (probe_routes.cpp).
void probe_routes(httplib::Server& srv, http_context& ctx);

/// Answers with `envelope` and the HTTP status of its Mesh status.
void send_envelope(httplib::Response& res, const nlohmann::json& envelope);

/// Sends `command` to the console with `token` and waits (at most
/// `timeout`) for its answer, as an envelope.
nlohmann::json ask_console(http_context& ctx, const std::string& token,
                           const nlohmann::json& command,
                           std::chrono::milliseconds timeout);


} // namespace mesh
