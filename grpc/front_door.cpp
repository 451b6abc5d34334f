#include "grpc/front_door.hpp"

#include <algorithm>
#include <limits>
#include <future>

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include "grpc/door_credentials.hpp"
#include "grpc/services.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/health.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/status.hpp"
#include "protocol/version.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

/// Room for the rest of a request beside its payload (names, trace id,
/// directives, protobuf framing).
constexpr size_t envelope_bytes = 64 * 1024;

/// gRPC's keepalive for the door's connections (front_door.hpp).
void keep_alive(grpc::ServerBuilder& builder, const grpc_keepalive_config& ka) {
  auto ms = [](uint32_t x) {
    return static_cast<int>(std::min<uint32_t>(
      x, static_cast<uint32_t>(std::numeric_limits<int>::max())));
  };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(ka.time_ms));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(ka.timeout_ms));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The door's own pings go on while a connection stays idle (gRPC stops
  // after two without data otherwise, and a dead peer is never noticed).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(
    GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
    ms(ka.min_client_ping_ms));
  if (ka.max_idle_ms > 0)
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               ms(ka.max_idle_ms));
}

} // namespace

struct grpc_front_door::impl {
  grpc_front_door_config cfg;
  host_port bound;
  std::shared_ptr<grpc_door::bridge> hop;
  std::unique_ptr<grpc::Service> collector;
  std::unique_ptr<grpc::Service> mesh;
  std::vector<std::unique_ptr<grpc::Service>> reflection;
  std::unique_ptr<grpc::Server> server;
};

grpc_front_door::grpc_front_door(grpc_front_door_config cfg)
  : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->bound = impl_->cfg.address;
}

grpc_front_door::~grpc_front_door() {
  stop();
}

caf::error grpc_front_door::start() {
  auto& st = *impl_;
  auto where = to_string(st.cfg.address);
  std::string error;
  auto creds = grpc_door::door_credentials(st.cfg.tls, st.cfg.node, error);
  if (!creds)
    return make_error(status_code::unavailable, "gRPC on " + where + ": " + error);
  grpc_door::route_protobuf_log(); // a bad body's details reach our log
  // Debian builds abseil with its debug checks, so every absl::Mutex gRPC
  // takes or destroys feeds a lock graph for deadlock detection: 2-4 % of
  // the door's CPU per call (BENCHMARKS.md). A check for abseil's own
  // developers, not a node's; process-wide, and only gRPC uses absl here.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  st.hop = std::make_shared<grpc_door::bridge>(*st.cfg.node.sys);
  st.collector = grpc_door::make_collector_service(st.cfg.node, st.hop);
  st.mesh = grpc_door::make_mesh_service(st.cfg.node, st.hop);
  st.reflection = grpc_door::make_reflection_services(
    st.cfg.node, {collector::CollectiveDispatcher::service_full_name(),
                  mesh::v1::Mesh::service_full_name(),
                  ::grpc::health::v1::Health::service_full_name()});
  // grpc.health.v1.Health, gRPC's own. The switch is process-wide and read
  // when a server is built: set for ours, then as the embedding program
  // had it (its own servers are left as they were).
  bool health_was = grpc::DefaultHealthCheckServiceEnabled();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(where, creds, &port);
  // A request larger than the node takes is refused before it is read
  // (RESOURCE_EXHAUSTED, "received message larger than max").
  builder.SetMaxReceiveMessageSize(
    static_cast<int>(std::min<size_t>(st.cfg.max_payload_bytes + envelope_bytes,
                                      std::numeric_limits<int>::max())));
  keep_alive(builder, st.cfg.keepalive);
  // A budget for what gRPC holds (connections, messages): an idle HTTP/2
  // connection costs ~18 KB, so a stranger's thousands of them grew the
  // node without bound (2,000: +35 MB). Past the budget gRPC sends idle
  // connections away first and refuses new calls (RST_STREAM) until
  // memory is freed.
  grpc::ResourceQuota quota{"mesh-grpc-door"};
  quota.Resize(st.cfg.memory_bytes);
  builder.SetResourceQuota(quota);
  // A stream's window stays at gRPC's 64 KiB until its message is asked
  // for (then it opens to the message's size): with gRPC's bandwidth probe
  // it grew to megabytes per stream, all of it buffered for a call the
  // token check had refused unread.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // A connection must finish its TLS handshake and send HTTP/2's preface
  // within 10 s (as an HTTP request its head): gRPC waits 120 s, so a
  // client that connects and says nothing held a descriptor that long.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
  // Compressed requests are refused (UNIMPLEMENTED, and gRPC tells the
  // client to send them plain): gRPC 1.51 checks the limit above against
  // the compressed size only and unpacks the rest before any handler (and
  // so the token check) runs: 256 KiB of gzip took the node's memory from
  // 35 to 386 MB, without a token. Answers are sent plain anyway.
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  builder.RegisterService(st.collector.get());
  builder.RegisterService(st.mesh.get());
  for (auto& service : st.reflection)
    builder.RegisterService(service.get());
  st.server = builder.BuildAndStart();
  grpc::EnableDefaultHealthCheckService(health_was);
  if (!st.server || port == 0) {
    st.server.reset();
    st.hop->stop();
    return make_error(status_code::unavailable,
                      "cannot listen for gRPC on " + where
                        + " (in use, or not an address of this host)");
  }
  st.bound.port = static_cast<uint16_t>(port);
  if (auto* health = st.server->GetHealthCheckService()) {
    // "" is SERVING already; each service by its full name too, so a probe
    // naming one gets an answer rather than NOT_FOUND.
    using collector::CollectiveDispatcher;
    for (const char* name : {CollectiveDispatcher::service_full_name(),
                             mesh::v1::Mesh::service_full_name()})
      health->SetServingStatus(name, true);
  }
  log::get("node")->info("gRPC front door on {}{}", to_string(st.bound),
                         st.cfg.tls.enabled() ? " (TLS)" : "");
  return {};
}

const host_port& grpc_front_door::address() const {
  return impl_->bound;
}

void grpc_front_door::set_draining() {
  auto& st = *impl_;
  // Every name NOT_SERVING, for good (later changes are ignored); Watch
  // calls get the change at once.
  if (st.server)
    if (auto* health = st.server->GetHealthCheckService())
      health->Shutdown();
}

void grpc_front_door::stop() {
  auto& st = *impl_;
  if (!st.server)
    return;
  set_draining();
  // Calls in flight get a moment to finish. Shutdown may block until every
  // call is finished, so it runs aside: once its deadline passes, the
  // bridge answers what it still holds (UNAVAILABLE) and Wait() cannot
  // hang. (On the node's shutdown its actors have ended already: the
  // bridge answered their calls when they went down.)
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds{1};
  auto shutdown = std::async(std::launch::async,
                             [&st, deadline] { st.server->Shutdown(deadline); });
  // A little before it: their UNAVAILABLE leaves before gRPC cancels.
  shutdown.wait_until(deadline - std::chrono::milliseconds{100});
  st.hop->stop();
  shutdown.wait();
  st.server->Wait();
  st.server.reset();
}

namespace {

std::unique_ptr<front_door> make_door(grpc_front_door_config&& cfg) {
  return std::make_unique<grpc_front_door>(std::move(cfg));
}

} // namespace

} // namespace mesh

// What a node opens this library for (grpc/door_entry.hpp).
extern "C" const mesh::grpc_door_entry mesh_grpc_door_entry{
  mesh::mesh_version, sizeof(mesh::grpc_front_door_config),
  mesh::grpc_door::make_call_counts, mesh::make_door};
