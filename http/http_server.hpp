#pragma once

// http_server: the node's HTTP API (README "HTTP API"), for meshctl, curl,
// the dashboard and Prometheus. It owns a cpp-httplib server on threads of
// its own (one accepting, a pool answering), never on CAF's scheduler: each
// request waits for its answer in a scoped actor, so a slow command blocks
// one pool thread and nothing else.
//
// Every /v1/<cmd> request becomes the console command {"cmd": <cmd>, ...}
// sent to the console actor with the request's bearer token, so HTTP and
// meshctl share one command table, one token check and one set of answers:
//   GET  /v1/<cmd>?k=v     arguments from the query
//   POST /v1/<cmd>         arguments from the JSON object body
//   GET  /v1/workflows/{name}, /v1/runs/{id}, /v1/jobs/{name},
//        /v1/traces/{id};  POST /v1/runs/{id}/cancel
//   GET  /metrics          Prometheus text (needs the token)
//   GET  /healthz, /readyz, /   (open: no data)
// Every answer but /metrics and / is the envelope of http_envelope.hpp.
// Before a body is read (http_routes.cpp, bounded_server.hpp): a request's
// head is bounded (64 KiB, 10 s), a compressed body is 415, a body with
// anything but a POST 400, /v1/ without the token 401; a body is bounded
// on the wire (chunked too).
//
//   http_server srv{sys, cfg};
//   if (auto err = srv.start()) ...;   // bound: srv.address() has the port
//   srv.set_draining();                // /readyz answers 503 from now on
//   srv.stop();                        // joins every thread
//
// stop() must run before the actor system ends (a request in flight holds a
// scoped actor). Thread-safe: start and stop from one thread, the rest from
// any.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/console/console.hpp"
#include "config/node_config.hpp"
#include "http/http_counter.hpp"
#include "protocol/address.hpp"

namespace mesh {

struct http_server_config {
  host_port address; ///< where to listen (port 0: any)
  std::string node_id;
  std::string token; ///< the console token; empty: none
  size_t max_payload_bytes = 4 * 1024 * 1024;    ///< limits.max_payload_bytes
  std::chrono::milliseconds max_deadline{60000}; ///< limits.max_deadline_ms
  /// The console, looked up per request: the supervisor may restart it.
  actor_slot<console_actor> console;
  /// Where requests are counted (null: nowhere); shared with the console.
  std::shared_ptr<http_counter> counter;
};

/// The server's settings from a node's configuration (`cfg.http` set).
http_server_config http_config_of(const node_config& cfg, std::string node_id,
                                  actor_slot<console_actor> console);

class http_server {
public:
  http_server(caf::actor_system& sys, http_server_config cfg);

  /// Stops the server if it still runs.
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds the configured address and starts answering. An address that
  /// cannot be bound (in use, not this host's) is an `unavailable` error
  /// naming it; nothing is left running.
  caf::error start();

  /// The bound address, with the real port once started.
  const host_port& address() const;

  /// From now on /readyz answers 503: the node is shutting down.
  void set_draining();

  /// Closes the listener and waits for the requests in flight (bounded by
  /// the console's own answers) and for every thread. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mesh
