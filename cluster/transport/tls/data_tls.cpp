#include "cluster/transport/tls/data_tls.hpp"

#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <algorithm>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cluster/transport/data_sockets.hpp"

namespace mesh {

namespace {

// OpenSSL's queued errors as one line ("" when there are none).
std::string ssl_errors() {
  std::string out;
  while (auto err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out;
}

int socket_of(BIO* b) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
}

// A socket BIO of our own: OpenSSL's writes with write(), which raises
// SIGPIPE when the peer is gone.
int bio_write(BIO* b, const char* p, size_t n, size_t* written) {
  BIO_clear_retry_flags(b);
  auto r = ::send(socket_of(b), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r >= 0) {
    *written = static_cast<size_t>(r);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    BIO_set_retry_write(b);
  return 0;
}

int bio_read(BIO* b, char* p, size_t n, size_t* got) {
  BIO_clear_retry_flags(b);
  auto r = ::recv(socket_of(b), p, n, MSG_DONTWAIT);
  if (r > 0) {
    *got = static_cast<size_t>(r);
    return 1;
  }
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_read(b);
  return 0; // r == 0: the peer closed
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                           "mesh data link");
    if (m != nullptr) {
      BIO_meth_set_write_ex(m, bio_write);
      BIO_meth_set_read_ex(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
    }
    return m;
  }();
  return method;
}

int passphrase_cb(char* buf, int size, int, void* user) {
  const auto* pass = static_cast<const std::string*>(user);
  auto n = std::min<size_t>(pass->size(), static_cast<size_t>(size));
  std::memcpy(buf, pass->data(), n);
  return static_cast<int>(n);
}

} // namespace

namespace {

// A context for the files, or null with `why` set; `passphrase` must
// outlive it (the key's callback reads it whenever a key is loaded).
SSL_CTX* make_context(const data_tls::files& f, const std::string* passphrase,
                      std::string& why) {
  ERR_clear_error();
  auto* c = SSL_CTX_new(TLS_method());
  auto fail = [&](const char* what) -> SSL_CTX* {
    why = std::string{"TLS for the data plane: "} + what + ": "
          + ssl_errors();
    if (c != nullptr)
      SSL_CTX_free(c);
    return nullptr;
  };
  if (c == nullptr || socket_method() == nullptr)
    return fail("cannot create a context");
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(c, passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(c, const_cast<std::string*>(
                                              passphrase));
  if (SSL_CTX_use_certificate_chain_file(c, f.certificate.c_str()) != 1)
    return fail("cannot load the certificate");
  if (SSL_CTX_use_PrivateKey_file(c, f.key.c_str(), SSL_FILETYPE_PEM) != 1
      || SSL_CTX_check_private_key(c) != 1)
    return fail("cannot load the key");
  if (SSL_CTX_load_verify_locations(c, f.ca.c_str(), nullptr) != 1)
    return fail("cannot load the CA");
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  // A frame may go out in pieces, from another copy of its bytes (the
  // link's buffer) when the socket was full.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE
                        | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Links are dialled anew on each handshake: no tickets, no renegotiation
  // (nothing for a read to have to write).
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  return c;
}

// The change time too: a copy that keeps the modification time (cp -p,
// rsync -t) and the size (a new key of the same curve) still changes it.
void stamp_of(const std::string& path, std::array<int64_t, 5>& out) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    out = {-1, errno, 0, 0, 0};
    return;
  }
  auto ns = [](const timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
  };
  out = {ns(st.st_mtim), ns(st.st_ctim), static_cast<int64_t>(st.st_size),
         static_cast<int64_t>(st.st_ino), static_cast<int64_t>(st.st_dev)};
}

} // namespace

data_tls::files::stamp data_tls::files::look() const {
  stamp out;
  stamp_of(certificate, out[0]);
  stamp_of(key, out[1]);
  stamp_of(ca, out[2]);
  return out;
}

std::shared_ptr<data_tls>
data_tls::make(const std::string& certificate, const std::string& key,
               const std::string& ca, const std::string& passphrase,
               std::string& why) {
  std::shared_ptr<data_tls> out{
    new data_tls(files{certificate, key, ca}, passphrase)};
  out->stamp_ = out->files_.look();
  out->ctx_ = make_context(out->files_, &out->passphrase_, why);
  return out->ctx_ != nullptr ? out : nullptr;
}

data_tls::data_tls(files f, std::string passphrase)
  : files_(std::move(f)), passphrase_(std::move(passphrase)) {
  // Nothing.
}

data_tls::~data_tls() {
  SSL_CTX_free(ctx_);
}

void data_tls::reload_if_changed(std::string& note) {
  auto now = files_.look();
  if (now == stamp_ || now == refused_)
    return;
  std::string why;
  if (auto* next = make_context(files_, &passphrase_, why)) {
    SSL_CTX_free(ctx_); // sessions made from it hold their own reference
    ctx_ = next;
    stamp_ = now;
    note = "the TLS files changed on disk: new data links use them";
    return;
  }
  // Perhaps half written: tried again once they change again.
  refused_ = now;
  note = "the TLS files changed on disk but cannot be used, new data links "
         "keep the previous ones: " + why;
}

ssl_st* data_tls::session(int fd, bool server, std::string& note) {
  std::lock_guard<std::mutex> guard{mtx_};
  reload_if_changed(note);
  ERR_clear_error();
  auto* s = SSL_new(ctx_);
  auto* b = s != nullptr ? BIO_new(socket_method()) : nullptr;
  if (b == nullptr) {
    SSL_free(s);
    return nullptr;
  }
  BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  SSL_set_bio(s, b, b); // one reference, owned by the session
  if (server)
    SSL_set_accept_state(s);
  else
    SSL_set_connect_state(s);
  return s;
}

void free_tls_session(ssl_st* s) {
  SSL_free(s);
}

tls_step tls_handshake(ssl_st* s, std::string& why) {
  ERR_clear_error();
  auto r = SSL_do_handshake(s);
  if (r == 1)
    return tls_step::done;
  switch (SSL_get_error(s, r)) {
    case SSL_ERROR_WANT_READ:
      return tls_step::wants_read;
    case SSL_ERROR_WANT_WRITE:
      return tls_step::wants_write;
    case SSL_ERROR_SYSCALL:
      why = errno != 0 ? std::strerror(errno)
                       : "the peer closed the connection";
      return tls_step::failed;
    default:
      why = ssl_errors();
      if (why.empty())
        why = "the handshake failed";
      return tls_step::failed;
  }
}

ssize_t tls_write(ssl_st* s, const char* p, size_t n) {
  ERR_clear_error();
  auto r = SSL_write(s, p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
  if (r > 0)
    return r;
  auto e = SSL_get_error(s, r);
  return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -1;
}

ssize_t tls_read(ssl_st* s, char* p, size_t n) {
  ERR_clear_error();
  auto r = SSL_read(s, p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
  if (r > 0)
    return r;
  auto e = SSL_get_error(s, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

void tls_flush_and_close(ssl_st* s, int fd, std::string& pending,
                         int64_t until) {
  while (!pending.empty() && data_sockets::now_ms() < until) {
    auto n = tls_write(s, pending.data(), pending.size());
    if (n < 0)
      break;
    if (n > 0) {
      pending.erase(0, static_cast<size_t>(n));
      continue;
    }
    pollfd p{fd, POLLIN | POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(std::max<int64_t>(
                    until - data_sockets::now_ms(), 0)));
  }
  pending.clear();
  ERR_clear_error();
  SSL_shutdown(s);
  ERR_clear_error();
}

} // namespace mesh
