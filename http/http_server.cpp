#include "http/http_server.hpp"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <httplib.h>

#include "http/bounded_server.hpp"
#include "http/http_envelope.hpp"
#include "http/http_routes.hpp"
#include "protocol/status.hpp"
#include "telemetry/log.hpp"

namespace mesh {

http_server_config http_config_of(const node_config& cfg, std::string node_id,
                                  actor_slot<console_actor> console) {
  http_server_config out;
  out.address = cfg.http.value_or(host_port{"127.0.0.1", 0});
  out.node_id = std::move(node_id);
  out.token = cfg.console_token;
  out.max_payload_bytes = cfg.limits.max_payload_bytes;
  out.max_deadline = std::chrono::milliseconds{cfg.limits.max_deadline_ms};
  out.console = std::move(console);
  return out;
}

struct http_server::impl {
  impl(caf::actor_system& sys, http_server_config cfg)
      : ctx(sys, std::move(cfg)), bound(ctx.cfg.address) {
    ctx.log = log::get("http");
  }

  http_context ctx;
  host_port bound;
  bounded_server srv; // httplib's, each request's head bounded
  std::thread thread;
  std::mutex mtx; ///< guards `thread` between start and stop
};

http_server::http_server(caf::actor_system& sys, http_server_config cfg)
    : impl_(std::make_unique<impl>(sys, std::move(cfg))) {}

http_server::~http_server() {
  stop();
}

caf::error http_server::start() {
  auto& st = *impl_;
  std::lock_guard<std::mutex> guard{st.mtx};
  if (st.thread.joinable())
    return caf::none;
  auto& srv = st.srv;
  install_routes(srv, st.ctx);
  srv.set_payload_max_length(max_body_bytes(st.ctx.cfg.max_payload_bytes));
  // httplib's default also sets SO_REUSEPORT, with which a second node
  // binds the same port and silently takes half the requests: only
  // SO_REUSEADDR (restart while old connections linger in TIME_WAIT).
  // TCP_NODELAY too (Linux hands it on to every accepted connection):
  // httplib writes an answer's header and body in two sends, and with
  // Nagle the body waits for the client's ACK of the header, which a
  // keep-alive client delays up to 40 ms: every request on a reused
  // connection (browsers, the dashboard, scrapers, client libraries) took
  // ~26-40 ms instead of well under one.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  const auto& want = st.ctx.cfg.address;
  errno = 0;
  int port = want.port == 0
                 ? srv.bind_to_any_port(want.host)
                 : (srv.bind_to_port(want.host, want.port) ? want.port : -1);
  if (port <= 0) {
    std::string why
        = errno != 0 ? std::strerror(errno) : "not an address of this host";
    return make_error(status_code::unavailable, "cannot listen for HTTP on "
                                                    + to_string(want) + ": "
                                                    + why);
  }
  srv.widen_backlog();
  st.bound = {want.host, static_cast<uint16_t>(port)};
  st.thread = std::thread{[&srv] { srv.listen_after_bind(); }};
  // httplib's stop() does nothing until the accept loop runs: wait for it,
  // so a stop() right after start() cannot be lost.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (!srv.is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  if (!srv.is_running()) {
    srv.stop();
    st.thread.join();
    return make_error(status_code::unavailable,
                      "the HTTP listener on " + to_string(st.bound)
                          + " stopped as soon as it started");
  }
  st.ctx.log->info("node {} answers HTTP on {}", st.ctx.cfg.node_id,
                   to_string(st.bound));
  return caf::none;
}

const host_port& http_server::address() const {
  return impl_->bound;
}

void http_server::set_draining() {
  impl_->ctx.draining = true;
}

void http_server::stop() {
  auto& st = *impl_;
  std::lock_guard<std::mutex> guard{st.mtx};
  if (!st.thread.joinable())
    return;
  st.ctx.draining = true;
  st.srv.stop_lobby(); // before the request threads it hands work to end
  st.srv.stop();
  st.thread.join(); // the accept loop, then the pool: requests in flight end
  st.ctx.log->debug("node {} closed HTTP on {}", st.ctx.cfg.node_id,
                    to_string(st.bound));
}

} // namespace mesh
