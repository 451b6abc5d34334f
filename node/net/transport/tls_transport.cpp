#include "node/net/transport/tls_transport.hpp"

#include <set>
#include <string>
#include <utility>

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/openssl/session.hpp>
#include <caf/scoped_actor.hpp>
#include <openssl/err.h>

#include "node/net/transport/guarded_scribe.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

using caf::io::network::default_multiplexer;
using caf::io::network::native_socket;
using caf::io::network::rw_state;

// A stream reads and writes through an OpenSSL session; the session goes
// on with its handshake (SSL_accept or SSL_connect) in those calls.
//
// OpenSSL keeps errors in a queue per thread, and SSL_get_error reads that
// queue: CAF's session leaves a failed handshake's errors in it, so the
// next read of a healthy connection on the same event loop that merely
// had to wait (SSL_ERROR_WANT_READ) looked failed, and the link was cut.
// A stranger sending garbage to the peer port cut members' links that way
// (50 connections: 8 links lost). Each call starts with an empty queue.
class ssl_policy {
public:
  explicit ssl_policy(caf::openssl::session_ptr session)
    : session_(std::move(session)) {
  }

  rw_state read_some(size_t& result, native_socket fd, void* buf,
                     size_t len) {
    ERR_clear_error();
    return session_->read_some(result, fd, buf, len);
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len) {
    ERR_clear_error();
    return session_->write_some(result, fd, buf, len);
  }

  bool must_read_more(native_socket fd, size_t threshold) {
    return session_->must_read_more(fd, threshold);
  }

private:
  caf::openssl::session_ptr session_;
};

// CAF's scribe over that stream; guarded_scribe<tls_scribe> adds the bounds.
class tls_scribe : public caf::io::scribe {
public:
  tls_scribe(default_multiplexer& mx, native_socket fd,
             caf::openssl::session_ptr session)
    : scribe(caf::io::network::conn_hdl_from_socket(fd)),
      stream_(mx, fd, std::move(session)) {
  }

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      stream_.start(this);
      // The handshake needs a write turn before any byte is for BASP: an
      // empty write gives it one.
      stream_.force_empty_write(this);
    }
  }

  void ack_writes(bool enable) override {
    stream_.ack_writes(enable);
  }

  std::vector<char>& wr_buf() override {
    return stream_.wr_buf();
  }

  std::vector<char>& rd_buf() override {
    return stream_.rd_buf();
  }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override {
    stream_.flush(this);
  }

  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : uint16_t{0};
  }

  void add_to_loop() override {
    stream_.activate(this);
  }

  void remove_from_loop() override {
    stream_.passivate();
  }

protected:
  caf::io::network::stream_impl<ssl_policy> stream_;

private:
  bool launched_ = false;
};

using guarded_tls_scribe = guarded_scribe<tls_scribe>;

caf::io::scribe_ptr make_scribe(guarded_multiplexer& mx, native_socket fd,
                                bool accepted) {
  caf::io::network::nonblocking(fd, true);
  ERR_clear_error(); // the session's first handshake step reads the queue
  auto session = caf::openssl::make_session(mx.system(), fd, accepted);
  if (!session) {
    auto peer = caf::io::network::remote_addr_of_fd(fd);
    log::get("cluster")->warn("no TLS session for a connection {} {}",
                              accepted ? "from" : "to",
                              peer ? *peer : std::string{"?"});
    caf::io::network::close_socket(fd);
    return nullptr;
  }
  return caf::make_counted<guarded_tls_scribe>(mx, fd, mx.limits(),
                                               mx.silent(),
                                               std::move(session));
}

class tls_doorman : public caf::io::network::doorman_impl {
public:
  tls_doorman(guarded_multiplexer& mx, native_socket fd)
    : doorman_impl(mx, fd), mx_(mx) {
  }

  bool new_connection() override {
    if (detached()) // the broker let go while the loop still had events
      return false;
    auto scribe = make_scribe(mx_, acceptor_.accepted_socket(), true);
    if (!scribe)
      return false;
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mx_, hdl);
  }

private:
  guarded_multiplexer& mx_;
};

class tls_middleman : public caf::io::middleman_actor_impl {
public:
  tls_middleman(caf::actor_config& cfg, caf::actor broker,
                guarded_multiplexer* mx)
    : middleman_actor_impl(cfg, std::move(broker)), mx_(*mx) {
  }

  const char* name() const override {
    return "mesh.tls_transport";
  }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    if (auto scribe = make_scribe(mx_, *fd, false))
      return scribe;
    return caf::sec::cannot_connect_to_node;
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<tls_doorman>(mx_, *fd);
  }

private:
  guarded_multiplexer& mx_;
};

} // namespace

caf::io::middleman_actor spawn_tls_transport(caf::actor_system& sys) {
  auto* mx = dynamic_cast<guarded_multiplexer*>(&sys.middleman().backend());
  if (!mx)
    return {};
  // Detached, as CAF runs its own: connect() blocks on the dial.
  auto basp = sys.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  return sys.spawn<tls_middleman, caf::detached + caf::hidden>(basp, mx);
}

caf::expected<uint16_t> publish_tls(caf::actor_system& sys,
                                    const caf::io::middleman_actor& transport,
                                    const caf::actor& whom, uint16_t port,
                                    const char* host, bool reuse) {
  caf::scoped_actor self{sys};
  caf::expected<uint16_t> result{caf::sec::runtime_error};
  self
    ->request(transport, caf::infinite, caf::publish_atom::value, port,
              caf::actor_cast<caf::strong_actor_ptr>(whom),
              std::set<std::string>{}, std::string{host}, reuse)
    .receive([&](uint16_t bound) { result = bound; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

void stop_tls_transport(caf::actor_system& sys,
                        caf::io::middleman_actor& transport) {
  if (!transport)
    return;
  caf::scoped_actor self{sys};
  // kill, as CAF stops its own: the middleman actor traps other exits.
  self->send_exit(transport, caf::exit_reason::kill);
  self->wait_for(transport);
  transport = nullptr;
}

} // namespace mesh
