#include "actors/cluster/data/data_plane_glue.hpp"

#include <algorithm>
#include <atomic>

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/actor_names.hpp"
#include "actors/cluster/data/message_pool.hpp"
#include "actors/cluster/data/non_blocking_callers.hpp"
#include "actors/inline_unit.hpp"
#include "protocol/address.hpp"
#include "telemetry/log.hpp"

namespace mesh {

std::shared_ptr<data_plane> make_data_plane(const node_config& cfg) {
  if (!cfg.cluster.data_plane)
    return nullptr;
  data_plane_config dc;
  if (const auto& tls = cfg.cluster.tls; tls.enabled()) {
    std::string why;
    dc.tls = data_tls::make(tls.certificate, tls.key, tls.ca, tls.passphrase,
                            why);
    if (!dc.tls) {
      log::get("data_plane")->error("no data plane: {}", why);
      return nullptr;
    }
  }
  dc.host = cfg.listen.host;
  // A batch: 256 KiB of small requests, or one of the largest allowed (and
  // protobuf's 2 GiB stays far).
  if (cfg.limits.max_payload_bytes > 0)
    dc.max_frame_bytes = std::min<size_t>(
      cfg.limits.max_payload_bytes + 2 * batch_max_bytes, size_t{1} << 30);
  dc.max_pending_bytes = cfg.limits.max_peer_backlog_bytes;
  dc.spin = std::chrono::microseconds{cfg.cluster.data_plane_spin_us};
  // A replaced link stays for the answers of the longest request on it.
  dc.retire_after = std::chrono::milliseconds{cfg.limits.max_deadline_ms}
                    + std::chrono::seconds{5};
  return std::make_shared<data_plane>(dc);
}

namespace {

// Whether an actor a frame wakes may run on the plane's thread: the router,
// the peers' ingresses and the clients' ingress, which never wait (handlers
// that may block run in executors of their own), and the callers declared
// non-blocking (non_blocking_callers.hpp). Anything else goes to CAF's
// workers: the plane has one thread, and a job that waits there stalls
// every link.
bool runs_on_data_plane(caf::resumable* job) noexcept {
  return is_actor_named(job, {actor_names::request_router,
                              actor_names::peer_ingress,
                              actor_names::client_ingress})
         || is_non_blocking_caller(job);
}

std::atomic<uint64_t> plane_stalls{0};

// Told how long each job ran on the plane's thread. One that held it for
// data_plane_stall or more kept every link waiting: a caller declared
// non-blocking, or a non-blocking handler (run by the router), that
// blocked. Said in the log, naming the actor (a few times per thousand),
// and counted.
void watch_plane_job(caf::resumable* job,
                     std::chrono::nanoseconds took) noexcept {
  if (took < data_plane_stall)
    return;
  // A declared caller that blocked twice within a minute will again: it
  // goes to the workers for good (said each time: once per such caller).
  bool revoked = non_blocking_caller_stalled(job);
  if (plane_stalls.fetch_add(1) % 1000 >= 5 && !revoked)
    return;
  try {
    // A name is there only for an actor (inline_unit.hpp's actor_name).
    const char* name = actor_name(job);
    auto who = name == nullptr
                 ? std::string{"a job"}
                 : "actor " + std::to_string(
                     static_cast<caf::scheduled_actor*>(job)->id())
                     + " (" + name + ")";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took)
                .count();
    log::get("data_plane")
      ->warn("data plane: {} held the plane's thread for {} ms, and no data "
             "link was read meanwhile: {}",
             who, ms,
             revoked ? "it was declared a non-blocking caller and blocked "
                       "twice within a minute, so it runs on CAF's workers "
                       "from now on"
                     : "a caller declared non-blocking, or a non-blocking "
                       "handler, that blocks");
  } catch (...) {
    // Out of memory for the line: the count stands.
  }
}

// Hands `msg` to `dest` from the plane's thread: an idle router or ingress
// runs here at once (actors/inline_unit.hpp) instead of waking a CAF worker
// to run it, one thread wake-up less per frame.
template <class Handle, class Message>
void hand_over(const Handle& dest, Message&& msg) {
  auto* ptr = caf::actor_cast<caf::abstract_actor*>(dest);
  ptr->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                         std::forward<Message>(msg)),
               inline_unit::here(ptr->home_system(), runs_on_data_plane,
                                 watch_plane_job));
}

data_plane_handlers make_data_plane_handlers(actor_slot<router_actor> router,
                                             std::shared_ptr<spdlog::logger> log) {
  data_plane_handlers h;
  // A few reply batches, parsed into again and again: a frame of answers
  // then allocates no response objects (the router takes each one's status
  // and payload; the rest stays for the next frame).
  auto pool = std::make_shared<message_pool<pb::ServeReplies>>(
    4, batch_max_count);
  h.on_reply = [router, pool](const std::string& peer, std::string_view body) {
    data_replies msg;
    msg.peer = peer;
    msg.replies = pool->take();
    auto& replies = *msg.replies;
    if (!replies.ParseFromArray(body.data(), static_cast<int>(body.size()))
        || replies.tags_size() != replies.responses_size())
      return false;
    if (auto r = router.get())
      hand_over(r, std::move(msg));
    // A router between restarts: the attempts went with its predecessor.
    return true;
  };
  h.on_closed = [router](const std::string& peer, uint64_t link) {
    if (auto r = router.get())
      caf::anon_send(r, data_link_down{peer, link});
  };
  // A stranger knocking at the port must not flood the log. Called from
  // the plane's thread and from dial()'s caller.
  auto count = std::make_shared<std::atomic<uint64_t>>(0);
  h.on_warning = [log, count](const std::string& what) {
    if (count->fetch_add(1) % 1000 < 5)
      log->warn("data plane: {}", what);
  };
  return h;
}

} // namespace

uint64_t data_plane_stalls() noexcept {
  return plane_stalls.load(std::memory_order_relaxed);
}

std::string start_data_plane(data_plane& plane, actor_slot<router_actor> router) {
  return plane.start(make_data_plane_handlers(router, log::get("data_plane")));
}

std::string data_plane_address(const data_plane* plane, const host_port& listen) {
  if (plane == nullptr || plane->port() == 0)
    return {};
  return to_string(host_port{listen.host, plane->port()});
}

std::string offer_data_link(data_plane& plane,
                            const peer_ingress_actor& ingress) {
  return plane.issue_token(ingress.id(), [ingress](const data_link_ptr& link,
                                                   std::string_view body) {
    data_batch msg;
    msg.link = link;
    if (!msg.batch.ParseFromArray(body.data(), static_cast<int>(body.size()))
        || msg.batch.tags_size() != msg.batch.requests_size())
      return false;
    hand_over(ingress, std::move(msg));
    return true;
  });
}

void dial_data_link(data_plane& plane, const std::string& peer,
                    const std::string& incarnation, const std::string& address,
                    uint32_t port, const std::string& token) {
  if (port == 0 || port > UINT16_MAX || token.empty())
    return;
  std::string error;
  std::string host = address;
  if (auto hp = parse_host_port(address, error))
    host = hp->host;
  if (host.empty() || host == "0.0.0.0" || host == "::")
    return;
  plane.dial(peer, incarnation, host, static_cast<uint16_t>(port), token);
}

} // namespace mesh
