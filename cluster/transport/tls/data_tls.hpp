#pragma once

// data_tls: TLS for the data plane's links (../data_plane.hpp) with the
// node's own certificates (cluster.tls): mutual, each side's certificate
// verified against the cluster CA, as for the nodes' BASP connections. A
// node with TLS used to keep every request on BASP (4x slower than the
// plane); now its links are TLS streams.
//
// The sockets stay non-blocking and the plane's code stays as it was: a
// session reads and writes through send(MSG_NOSIGNAL) and recv (a peer that
// vanished must not raise SIGPIPE), and reports "would block" as 0, as the
// plain socket calls' EAGAIN. OpenSSL's error queue is per thread and read
// by SSL_get_error: it is emptied before every call, as in the TLS
// transport (node/net/transport/tls_transport.hpp), or one link's failure
// would make the next healthy call on that thread look failed.
//
// Certificates are rotated without a restart, as for the nodes' BASP
// connections (whose sessions CAF makes from the files each time): before
// a session is made the three files are looked at (stat), and when one has
// changed the context is made again from them; new links use it, links up
// already keep theirs. Files that cannot be used (half written, a key that
// does not match) leave the previous context in place until they change
// again.
//
// Thread safety: a data_tls may be shared by any threads; one session must
// be used by one thread at a time (data_link holds its lock around each).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <sys/types.h>

struct ssl_st;
struct ssl_ctx_st;

namespace mesh {

/// What one step of a session's handshake came to.
enum class tls_step { done, wants_read, wants_write, failed };

class data_tls {
public:
  /// A context for these PEM files (the key may be encrypted with
  /// `passphrase`), or null with `why` set.
  static std::shared_ptr<data_tls>
  make(const std::string& certificate, const std::string& key,
       const std::string& ca, const std::string& passphrase,
       std::string& why);

  ~data_tls();

  data_tls(const data_tls&) = delete;
  data_tls& operator=(const data_tls&) = delete;

  /// A session on `fd`: the server's side for an accepted connection, the
  /// client's for a dialled one. Null when OpenSSL cannot make one. When
  /// the files changed since the last session, `note` says what came of
  /// reading them again (for the log).
  ssl_st* session(int fd, bool server, std::string& note);

  /// Where the context comes from.
  struct files {
    std::string certificate, key, ca;
    /// Per file: modification and change time (ns), size, inode, device;
    /// or -1 and errno when it cannot be looked at.
    using stamp = std::array<std::array<int64_t, 5>, 3>;
    stamp look() const;
  };

private:
  using stamp = files::stamp;

  data_tls(files f, std::string passphrase);

  void reload_if_changed(std::string& note); // under mtx_

  const files files_;
  std::string passphrase_; ///< read by the key's callback
  std::mutex mtx_;
  ssl_ctx_st* ctx_ = nullptr; ///< under mtx_
  stamp stamp_{};             ///< the files ctx_ was made from
  stamp refused_{};           ///< the files last found unusable
};

/// Frees a session (null: nothing). The socket stays open.
void free_tls_session(ssl_st* s);

/// One step of the handshake; `why` says what failed.
tls_step tls_handshake(ssl_st* s, std::string& why);

/// Writes up to `n` bytes: how many (> 0), 0 when the socket must wait
/// (for room, or for the peer), -1 when the stream failed.
ssize_t tls_write(ssl_st* s, const char* p, size_t n);

/// Reads up to `n` bytes: how many (> 0), 0 when nothing is there yet, -1
/// when the peer closed or the stream failed.
ssize_t tls_read(ssl_st* s, char* p, size_t n);

/// Writes what waits in `pending` (plain bytes) through the session until
/// it is out or `until` (data_sockets::now_ms()) passes, then says
/// close_notify: best effort, the peer may be gone. `pending` is emptied.
void tls_flush_and_close(ssl_st* s, int fd, std::string& pending,
                         int64_t until);

} // namespace mesh
