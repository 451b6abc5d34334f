#pragma once

// data_plane: Serve batches between nodes on connections of their own, beside
// CAF's BASP (issue 16). A request over BASP wakes the sender's multiplexer
// thread to write it, the receiver's to read it and a worker to handle it,
// and the same again for the answer: six thread wake-ups per round trip. A
// data link is written straight from the sending actor's thread and read
// by one thread per node that hands each frame to an actor: four; two when
// the handlers run that actor in the plane's thread (the node's glue runs
// an idle router or peer ingress there, actors/inline_unit.hpp).
//
// Who may connect: the data port takes a connection only if its first frame
// is a hello with a token this node issued (issue_token()) over the peer's
// authenticated BASP handshake; a token is good for one connection and
// expires. A connection that says nothing, sends anything else, a frame
// over the bound, or a frame of the wrong direction is closed. The links
// carry what BASP would, as safe as BASP: with cluster TLS every link is a
// TLS stream with the node's certificates (tls/data_tls.hpp; a connection
// whose certificate the cluster CA did not sign is closed in its
// handshake, before any frame is read). A token belongs to an owner (the
// peer's ingress): when the owner ends, its links close (close_owner()),
// so nothing is sent to an actor that is gone.
//
// Each node dials a link to each peer for its own requests (outbound: it
// sends request frames, reads reply frames); the peer's answers come back
// on the same link. Links the node accepted (inbound) carry its peers'
// requests. A failed outbound link is reported (on_closed) so that the
// requests it carried are answered; callers fall back to BASP whenever no
// open link exists. Every handshake dials anew: the link it replaces stays
// open for answers still to come and closes after `retire_after`.
//
// Thread safety: every member may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "cluster/transport/data_link.hpp"
#include "cluster/transport/plane_spin.hpp"
#include "cluster/transport/tls/data_tls.hpp"

struct addrinfo;

namespace mesh {

struct data_plane_config {
  std::string host = "127.0.0.1"; ///< where the data port listens
  /// Largest frame body accepted; a larger one closes the link.
  size_t max_frame_bytes = 64 * 1024 * 1024;
  /// How long an accepted connection may take to say hello, and a token
  /// stays good.
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds token_lifetime{60000};
  std::chrono::milliseconds retire_after{60000};
  /// Bytes waiting for a peer that stopped reading before its link is cut
  /// (limits.max_peer_backlog_bytes, as for BASP).
  size_t max_pending_bytes = 256 * 1024 * 1024;
  /// Looks up a host name for dial() on the lookup's own thread, as
  /// getaddrinfo (its result is freed with freeaddrinfo; null with `why`
  /// set when the name does not resolve). Null: getaddrinfo. Tests make it
  /// slow.
  std::function<addrinfo*(const std::string& host, uint16_t port,
                          std::string& why)>
    lookup;
  /// Cluster TLS: every link is a TLS stream of this context. Null: plain.
  std::shared_ptr<data_tls> tls;
  /// How long the thread polls after a busy round that followed a sleep of
  /// under a millisecond, before it sleeps again, while the last bytes came
  /// from another CPU (plane_spin.hpp). 0: never.
  std::chrono::microseconds spin{0};
};

struct data_plane_handlers {
  /// A reply frame on an outbound link to `peer`; false: the frame broke
  /// the protocol and the link closes.
  std::function<bool(const std::string& peer, std::string_view body)> on_reply;
  /// An outbound link to `peer` failed or closed after it was ready.
  std::function<void(const std::string& peer, uint64_t link)> on_closed;
  /// An outbound link to `peer` is ready (tests wait for it).
  std::function<void(const std::string& peer)> on_ready;
  /// Something worth a line in the log (a refused connection, a bad frame).
  std::function<void(const std::string& what)> on_warning;
};

class data_plane {
public:
  /// What handles the request frames of one accepted link; false: the
  /// frame broke the protocol and the link closes.
  using request_handler
    = std::function<bool(const data_link_ptr&, std::string_view body)>;

  explicit data_plane(data_plane_config cfg);
  ~data_plane();

  data_plane(const data_plane&) = delete;
  data_plane& operator=(const data_plane&) = delete;

  /// Listens (on the config's host, an ephemeral port) and starts the
  /// plane's thread. An empty string on success, else why not.
  std::string start(data_plane_handlers handlers);

  /// Stops the thread and closes every link. Idempotent.
  void stop();

  /// The data port (0 before start()).
  uint16_t port() const {
    return port_;
  }

  /// A new one-use token of `owner`: the connection that presents it gets
  /// its request frames handled by `fn`.
  std::string issue_token(uint64_t owner, request_handler fn);

  /// `owner` is gone: its tokens are void and its links close.
  void close_owner(uint64_t owner);

  /// Dials `host:port` for requests to `peer` (a process of it: `incarnation`)
  /// and presents `token`. The link to `peer` it replaces retires. A host
  /// name (not an IP address) is looked up on a thread of its own, so the
  /// caller never waits on a DNS server; the dial follows once it answers.
  void dial(const std::string& peer, const std::string& incarnation,
            const std::string& host, uint16_t port, const std::string& token);

  /// The open outbound link to `peer`, or null.
  data_link_ptr link_to(const std::string& peer) const;

  /// Whether an outbound link to `peer` is open or still connecting (or its
  /// address still being looked up): false once it failed, so the caller
  /// may ask the peer for a new token.
  bool has_link_to(const std::string& peer) const;

  /// Fails every outbound link (fault injection for tests): each is closed
  /// and reported to on_closed as if its connection had broken. Returns
  /// how many there were.
  size_t fail_outbound();

  /// Fault injection for tests: the next `n` peers that ask this node for
  /// a new token (take_token_refusal()) are refused.
  void refuse_tokens(size_t n) {
    refusals_.store(n);
  }

  /// Whether the token asked for now is to be refused (counts it).
  bool take_token_refusal() {
    auto n = refusals_.load();
    while (n > 0 && !refusals_.compare_exchange_weak(n, n - 1)) {
    }
    return n > 0;
  }

  /// How many links are ready and open (inbound and outbound), for stats.
  size_t link_count() const;

private:
  /// A lookup for a dial to `peer` ended.
  void resolved(const std::string& peer);
  /// dial() once the address is known; frees `ai`.
  void dial_resolved(const std::string& peer, const std::string& incarnation,
                     addrinfo* ai, const std::string& where,
                     const std::string& token);
  void run();
  void accept_all();
  void on_event(uint64_t id, uint32_t events);
  void connected(const data_link_ptr& link);
  /// One step of a link's TLS handshake: true once it is over (and the
  /// link, if dialled, ready), false while it goes on or when it failed
  /// (the link is then closed).
  bool handshake(const data_link_ptr& link);
  /// A dialled link is connected (and through its handshake): its hello
  /// and what waits go out.
  void link_ready(const data_link_ptr& link);
  void read_all(const data_link_ptr& link);
  /// False when the frame breaks the protocol (the link is then closed).
  bool on_frame(const data_link_ptr& link, frame_kind kind,
                std::string_view body);
  bool on_hello(const data_link_ptr& link, std::string_view token);
  void close_link(const data_link_ptr& link, const std::string& why);
  void expire();
  void pause_accepting();
  /// Something now has a deadline: the thread looks every 250 ms again.
  void wake_for_deadlines();
  void warn(const std::string& what);
  data_link_ptr find(uint64_t id) const;

  // epoll tags of the listener and the wake-up; links count from 16.
  static constexpr uint64_t listen_tag = 1;
  static constexpr uint64_t wake_tag = 2;

  struct issued_token {
    uint64_t owner;
    request_handler fn;
    std::chrono::steady_clock::time_point until;
  };

  /// What a lookup thread finds when it is done: the plane, or null once
  /// the plane stopped (the thread may outlive it).
  struct liveness {
    std::mutex mtx;
    data_plane* plane = nullptr;
  };

  data_plane_config cfg_;
  data_plane_handlers handlers_;
  std::shared_ptr<liveness> alive_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> quiet_{false}; ///< nothing to expire: epoll waits forever
  std::atomic<size_t> refusals_{0}; ///< refuse_tokens()
  std::thread thread_;
  plane_spin spin_{cfg_.spin}; ///< the thread's alone

  mutable std::mutex mtx_;
  uint64_t next_id_ = 16;
  std::unordered_map<uint64_t, data_link_ptr> links_;        ///< by id
  std::unordered_map<std::string, data_link_ptr> outbound_;  ///< by peer
  std::unordered_map<std::string, int> resolving_; ///< lookups under way
  std::map<std::string, issued_token> tokens_;
  int64_t accept_paused_until_ = 0; ///< out of descriptors: until then
};

} // namespace mesh
