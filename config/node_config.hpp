#pragma once

// The configuration of one meshnode: an embedded default, overlaid by a JSON
// config file (--config), overlaid by command-line flags. Each layer is
// validated against config/schemas/node.schema.json before it is merged, so
// an error names its source (file, or "command line") and the JSON pointer.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "pipeline/policy.hpp"

#include "protocol/address.hpp"
#include "protocol/service_key.hpp"
#include "topics/route_table.hpp"

namespace mesh {

struct limits_config {
  size_t max_payload_bytes = 4 * 1024 * 1024;
  uint32_t default_deadline_ms = 5000;
  uint32_t max_deadline_ms = 60000;
  size_t max_concurrency = 16;
  size_t max_queue = 1024;
  uint32_t max_hops = 4;
  size_t max_json_depth = 64; ///< JSON payloads and manifests
  /// The node's supervisor gives up (exit 70) after more restarts than
  /// this within restart_window_ms.
  uint32_t max_restarts = 5;
  /// Bytes waiting to be written to one peer before its connection is
  /// closed as one that stopped reading
  /// (node/net/transport/guarded_transport.hpp).
  size_t max_peer_backlog_bytes = 256 * 1024 * 1024;
  uint32_t restart_window_ms = 60000;
  uint32_t shutdown_grace_ms = 10000;
};

struct scheduler_config {
  std::string policy = "sharing";
  size_t max_threads = 0; ///< 0: one per CPU in the affinity mask
  size_t max_throughput = 100;
  size_t middleman_workers = 0;
  /// With "sharing": a worker whose last sleep was shorter than a
  /// millisecond, on running out of jobs, polls the queue this long before
  /// it sleeps, one worker at a time, where the node may run on more than
  /// one CPU (node/net/prompt_sharing.hpp; 0: never).
  uint32_t worker_spin_us = 100;
};

/// How the gRPC front door keeps its connections (gRPC's keepalive). gRPC's
/// own defaults suit neither side: a client pinging an idle connection
/// more often than every 5 minutes is sent away (GOAWAY too_many_pings),
/// and a vanished client's connection lingers 2 hours.
struct grpc_keepalive_config {
  uint32_t time_ms = 60000;    ///< the door pings a connection idle this long
  uint32_t timeout_ms = 20000; ///< unanswered this long: the door closes it
  /// Clients may ping this often, with calls in flight or none.
  uint32_t min_client_ping_ms = 10000;
  /// A connection with no call this long is sent away (GOAWAY; a client
  /// reconnects for its next call). 0: never.
  uint32_t max_idle_ms = 3600000;
};

/// Mutual TLS between nodes (BASP through CAF's OpenSSL sessions, and the
/// data plane's links, cluster/transport/tls/data_tls.hpp): PEM file paths.
struct tls_config {
  std::string certificate;
  std::string key;
  std::string ca;
  std::string passphrase;

  bool enabled() const {
    return !certificate.empty();
  }
};

struct cluster_config {
  std::vector<std::string> seeds;
  std::string secret; ///< empty: none (MESH_CLUSTER_SECRET overrides)
  tls_config tls;     ///< not enabled: plaintext
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_misses = 3;
  uint32_t monitors = 3; ///< peers each node beats and watches (the ring)
  uint32_t redial_initial_ms = 200;
  uint32_t redial_max_ms = 5000;
  uint32_t connect_timeout_ms = 5000;
  std::string load_balancing = "round_robin";
  /// Serve batches on connections of their own beside BASP (issue 16;
  /// cluster/transport/data_plane.hpp); never with TLS.
  bool data_plane = true;
  /// A peer's batch of more requests is served in chunks of this many, the
  /// answers of each leaving before the next is served, so the two nodes
  /// overlap (0: whole batches; actors/cluster/ingress/peer_ingress_serve.hpp).
  uint32_t serve_chunk = 32;
  /// Chunks only while the peer's batches do not come from the CPU that
  /// serves them, as when the nodes run on CPUs of their own
  /// (actors/cluster/ingress/cpu_share.hpp); false: always.
  bool serve_chunk_adaptive = true;
  /// After a busy round that followed a sleep shorter than a millisecond,
  /// the data plane's thread polls its sockets this long before it sleeps
  /// again, while the last bytes came from another CPU, so the next batch
  /// finds it awake (cluster/transport/plane_spin.hpp; 0: sleeps at once).
  uint32_t data_plane_spin_us = 100;
};

/// A built-in dispatcher declared in the config (record or forward).
struct dispatcher_decl {
  std::string id;
  std::string kind; ///< "record" or "forward"
  message_category category = message_category::event;
  std::set<std::string> message_types;
  size_t keep = 100;
  std::string forward_to;
  std::string dataset; ///< kind "emit": the events' dataset (empty: the topic)
};

struct topics_config {
  uint32_t dispatcher_timeout_ms = 5000;
  uint32_t max_output_depth = 4;
  size_t threads = 4;
  bool freeze = false;
  std::vector<dispatcher_decl> dispatchers;
  std::vector<topic_route> routes; ///< registered after the plug-ins
};

/// Durable tasks (seed 002): where they are stored and how they commit.
struct tasks_config {
  std::string jobs_dir;   ///< empty: no jobs, no task dispatcher
  std::string store;      ///< empty: <data_dir>/tasks-<node id>.db
  std::string synchronous = "full"; ///< SQLite: full, normal or off
  uint32_t group_commit_ms = 2;     ///< 0: when the mailbox is empty
  uint32_t group_commit_max = 1000; ///< changes per transaction, at most
  uint32_t tick_ms = 100;           ///< reaper, retries and pressure
  uint32_t done_retention_s = 604800; ///< done tasks kept (7 days); 0: forever
  nlohmann::json runtimes = nlohmann::json::object(); ///< name -> spec
};

/// Workflows (seed 003): where definitions are and how runs go.
struct workflows_config {
  std::string dir;                  ///< empty: no workflows, no runner
  uint32_t history = 1000;          ///< finished runs kept in the store
  uint32_t max_parallel = 8;        ///< steps of one run at once
  uint32_t step_timeout_ms = 30000; ///< a step that sets no timeout_ms
  std::string synchronous = "normal"; ///< SQLite: full, normal or off
};

/// The environment variable that carries the cluster secret.
inline constexpr const char* cluster_secret_env = "MESH_CLUSTER_SECRET";

/// The environment variable that carries the console token.
inline constexpr const char* console_token_env = "MESH_CONSOLE_TOKEN";

/// The dispatch pipeline's configuration: policies (pipeline/policy.hpp)
/// and the built-in audit hook's file.
struct pipeline_config {
  std::shared_ptr<const policy_set> policies
    = std::make_shared<const policy_set>();
  std::string audit_file; ///< empty: the "audit" logger
};

struct node_config {
  std::string id; ///< empty: derived from hostname and listen port
  host_port listen;
  host_port console;
  std::string console_token; ///< empty: none (loopback consoles only)
  /// The HTTP API (meshctl, curl, the dashboard, /metrics); its bearer
  /// token is the console token. nullopt: no HTTP listener.
  std::optional<host_port> http;
  /// The gRPC front door (grpc/front_door.hpp); its bearer token is the
  /// console token. nullopt: no gRPC listener.
  std::optional<host_port> grpc;
  grpc_keepalive_config grpc_keepalive; ///< grpc.keepalive
  /// The door's memory budget (gRPC's resource quota, grpc.memory_mb):
  /// past it gRPC closes idle connections and refuses new calls.
  uint32_t grpc_memory_mb = 256;
  std::optional<std::vector<std::string>> namespaces;
  /// Which registered handlers this node serves: patterns "ns",
  /// "ns/Service" or "ns/Service/Method", "*" for any one part. nullopt:
  /// every handler the plug-ins register.
  std::optional<std::vector<std::string>> handlers;
  std::vector<std::string> plugins;
  std::string manifests_dir; ///< empty: no process manifests
  std::string data_dir = "mesh-data"; ///< node state (bandit evidence)
  std::string log_level = "info";
  std::string log_format = "text"; ///< "text" or "json" (one object a line)
  size_t trace_capacity = 10000;   ///< traces kept for meshctl trace
  double trace_sample = 0.01; ///< share of untraced traffic recorded anyway
  limits_config limits;
  std::optional<std::vector<std::string>> allow_list;
  cluster_config cluster;
  scheduler_config scheduler;
  topics_config topics;
  tasks_config tasks;
  workflows_config workflows;
  pipeline_config pipeline;
  /// The file the configuration came from (empty: defaults and flags):
  /// where `meshctl policies reload` and SIGHUP read policies again.
  std::string source_file;
};

/// The embedded default configuration (config/default_node.json).
const nlohmann::json& default_node_config_json();

/// The embedded node schema (config/schemas/node.schema.json).
const nlohmann::json& node_config_schema_json();

/// The largest configuration, manifest, job or workflow file a node reads:
/// far beyond any real one, and a wrong path (a device, a log) fails fast
/// instead of filling the memory.
inline constexpr size_t max_json_file_bytes = 16 * 1024 * 1024;

/// Reads and parses a JSON file. Errors say which file and, for a syntax
/// error, the line and column: "cfg.json:3:14: syntax error ...".
/// Never throws: a file larger than max_json_file_bytes (not read past the
/// bound), a number out of range, invalid UTF-8 or nesting deeper than
/// `max_depth` is an error naming the file too.
caf::expected<nlohmann::json> read_json_file(const std::string& path,
                                             size_t max_depth = 64);

/// Checks one layer (file or flags) against the schema. Each problem is
/// returned as "<where>: <pointer>: <message>".
std::vector<std::string> check_config_layer(const nlohmann::json& layer,
                                            const std::string& where);

/// Overlays `layer` onto `base`: objects merge key by key, anything else
/// replaces.
void merge_json(nlohmann::json& base, const nlohmann::json& layer);

/// Converts a merged, schema-valid document. Checks what the schema cannot
/// (port ranges, allow-list patterns); errors name the JSON pointer.
caf::expected<node_config> to_node_config(const nlohmann::json& doc);

/// Reads the policies of the configuration file `path` again (schema and
/// rules). False with errors "path: /policies/...: message".
bool reload_policies_from(const std::string& path, policy_set& out,
                          std::vector<std::string>& errors);

/// Overrides the configured cluster secret with MESH_CLUSTER_SECRET, and the
/// console token with MESH_CONSOLE_TOKEN, when those are set (not empty).
void apply_secret_from_environment(node_config& cfg);

/// A layer whose "console" is a plain "host:port" gets it as
/// {"listen": ...}, so layers merge key by key (a token in one file and an
/// address in a flag both survive).
void normalize_layer(nlohmann::json& layer);

/// Why this configuration must not start, or an empty string: a console
/// reachable from other hosts without a token.
std::string check_console_exposure(const node_config& cfg);

/// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(std::string_view host);

/// CPUs this process may run on (its affinity mask): 1 under taskset -c 0.
size_t usable_cpus();

/// `configured`, or usable_cpus() when it is 0.
size_t effective_scheduler_threads(size_t configured);

/// The node id to use: `cfg.id`, or "<hostname>-<port>".
std::string effective_node_id(const node_config& cfg, uint16_t actual_port);

/// Whether `key` matches one of `patterns` (node_config::handlers); true
/// when there are none (nullopt).
bool handler_selected(const std::optional<std::vector<std::string>>& patterns,
                      const service_key& key);

/// True when the node's id is made from its process ("<hostname>-p<pid>":
/// no id and listen port 0, node/node.cpp): state kept under that id
/// cannot be found by the next process, so it is not kept past this one.
inline bool node_id_is_per_process(const node_config& cfg) {
  return cfg.id.empty() && cfg.listen.port == 0;
}

} // namespace mesh
