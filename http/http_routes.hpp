#pragma once

// Inside the HTTP server (not installed): what the routes share, and the
// one function that installs them (http_routes.cpp).

#include <atomic>
#include <memory>

#include <caf/fwd.hpp>
#include <spdlog/logger.h>

#include "http/http_server.hpp"

namespace httplib {
class Server;
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

} // namespace mesh
