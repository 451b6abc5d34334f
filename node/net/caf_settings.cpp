#include "node/net/caf_settings.hpp"

#include <algorithm>
#include <chrono>

#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "node/net/transport/guarded_transport.hpp"
#include "node/net/prompt_sharing.hpp"
#include "protocol/messaging/register.hpp"

namespace mesh {

std::unique_ptr<caf::actor_system_config> make_caf_config(const node_config& cfg) {
  auto c = std::make_unique<guarded_config>();
  register_types(*c);
  // Room for a request of the largest payload and its envelope, from a peer
  // whose limit is up to twice ours
  // (node/net/transport/guarded_transport.hpp).
  c->transport.max_message_bytes = 2 * cfg.limits.max_payload_bytes
                                   + 1024 * 1024;
  c->transport.max_backlog_bytes = cfg.limits.max_peer_backlog_bytes;
  c->load<caf::io::middleman, guarded_multiplexer>();
  if (cfg.cluster.tls.enabled()) {
    // Mutual TLS on the peer port (CAF's OpenSSL module: TLS 1.2, both
    // sides present a certificate the CA signed). The console stays plain:
    // it is loopback-only unless it has a token.
    c->load<caf::openssl::manager>();
    c->openssl_certificate = cfg.cluster.tls.certificate;
    c->openssl_key = cfg.cluster.tls.key;
    c->openssl_passphrase = cfg.cluster.tls.passphrase;
    c->openssl_cafile = cfg.cluster.tls.ca;
  }
  c->set("scheduler.policy", caf::atom_from_string(cfg.scheduler.policy));
  if (cfg.scheduler.policy == "sharing") {
    c->load<caf::scheduler::coordinator<prompt_sharing>>();
    caf::put(c->content, prompt_sharing::spin_key,
             int64_t{cfg.scheduler.worker_spin_us});
  }
  c->set("scheduler.max-threads",
         effective_scheduler_threads(cfg.scheduler.max_threads));
  c->set("scheduler.max-throughput", cfg.scheduler.max_throughput);
  c->set("middleman.workers", cfg.scheduler.middleman_workers);
  // CAF's own liveness for BASP connections: a silent connection is closed
  // after the timeout; CAF's beat keeps a quiet one open. Mesh judges its
  // peers itself (heartbeat ring, reachability reports: a frozen peer is
  // down for every node after interval x misses), and with the ring most
  // peer connections carry no Mesh beat at all, so CAF's only job left is
  // to reap a connection whose far end vanished without a word: ten times
  // Mesh's threshold, at least 30 s, with a beat every third of that. A
  // beat on each of 120 connections of 16 nodes every 1.5 s was, with
  // Mesh's own, most of an idle cluster's CPU (BENCHMARKS.md).
  auto interval = std::chrono::milliseconds{cfg.cluster.heartbeat_interval_ms};
  auto silence = std::max<std::chrono::milliseconds>(
    interval * cfg.cluster.heartbeat_misses * 10, std::chrono::seconds{30});
  c->set("middleman.heartbeat-interval",
         std::chrono::duration_cast<caf::timespan>(silence / 3));
  c->set("middleman.connection-timeout",
         std::chrono::duration_cast<caf::timespan>(silence));
  return c;
}

} // namespace mesh
