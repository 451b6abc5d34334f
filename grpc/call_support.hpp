#pragma once

// What every gRPC call of the front door does before and after the node
// answers it (grpc/front_door.hpp): the bearer token, the trace id and the
// deadline from the call, Mesh's status as the seed's HTTP-style number
// and as a gRPC code, and the hop from a gRPC thread into CAF.
//
// gRPC's callback threads never block on CAF: every call asks the node's
// actor through the front door's bridge (grpc/bridge.hpp), which finishes it
// from the answer. Every call is finished exactly once: the ask is bounded
// by the request's deadline plus a margin (ask_timeout), so even an actor
// that never answers ends in `deadline_exceeded`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include "grpc/node_handles.hpp"
#include "protocol/status.hpp"

namespace mesh::grpc_door {

/// The seed's HTTP-style number of a status (200, 400, 403, 404, 429, 500,
/// 503, 504).
int32_t http_code(status_code code) noexcept;

/// The gRPC code carrying a status (handler errors and internal ones are
/// both INTERNAL; the message tells them apart).
grpc::StatusCode grpc_code(status_code code) noexcept;

/// The status of a call that answered `code`: OK, or the gRPC code with
/// `message` and, as the error details, a google.rpc.Status (the same code
/// and message) whose one `details` entry is the whole answer `body`
/// packed in an Any, so a client reading the gRPC status loses nothing of
/// the answer. Both travel as trailing metadata: a message over 512 bytes
/// is cut, a body over 3 KiB is left out of `details` (clients refuse
/// trailers past 8 KiB, encoded).
grpc::Status call_status(status_code code, const std::string& message,
                         const google::protobuf::Message& body);

/// The other way (a door's call to another door): the answer a failed
/// call's details carry into `answer`; false when there is none (refused
/// by gRPC itself, or left out as too large).
bool answer_in_details(const grpc::Status& status,
                       google::protobuf::Message& answer);

/// Checks an `authorization` header's `Bearer <token>` against the node's
/// `token` (empty: none needed); nullopt when it passes, else why not.
std::optional<std::string> token_refusal(std::string_view header,
                                         const std::string& token);

/// token_refusal for a call (reflection's streams check it again; the
/// door's auth filter checked it first): nullopt when it passes, else the
/// UNAUTHENTICATED status.
std::optional<grpc::Status> check_token(const grpc::CallbackServerContext& ctx,
                                        const std::string& token);

/// The trace id the caller sent (`x-mesh-trace-id`, or the trace id of a
/// W3C `traceparent`); empty when none.
std::string trace_id_of(const grpc::CallbackServerContext& ctx);

/// Milliseconds left until the call's deadline, at most `cap`; 0 when the
/// call has none, at least 1 when it has one.
uint32_t deadline_ms_of(const grpc::CallbackServerContext& ctx,
                        std::chrono::milliseconds cap);

/// How long to wait for an actor's answer: the request's own budget (or
/// the node's max deadline) and a margin, so the node's own deadline
/// answer arrives first.
std::chrono::milliseconds ask_timeout(uint32_t deadline_ms,
                          std::chrono::milliseconds max_deadline);

/// The door's methods, in the order call_counts counts them (a raw
/// method passes its own to begin()).
enum class door_method : size_t {
  collector_connect,
  collector_serve,
  collector_dispatch,
  mesh_dispatch,
  mesh_process,
  mesh_publish,
  mesh_emit,
  mesh_run_workflow,
  mesh_get_run,
  mesh_outcome,
  mesh_cancel_run,
  mesh_list_runs,
};

/// The door method served at gRPC `path` ("/mesh.v1.Mesh/Dispatch");
/// nullopt for any other path.
std::optional<door_method> door_method_of(std::string_view path);


/// Where a call's response goes on the wire (grpc/raw_unary.hpp): the
/// door reads and writes bodies itself, so the response is serialized
/// into gRPC's buffer just before the call is finished.
struct response_slot {
  virtual ~response_slot() = default;
  virtual void seal() = 0;
  /// Set by the first done(): a second one (a bug) must not touch gRPC's
  /// call again, which may be gone.
  std::atomic<bool> finished{false};
};

/// One call in flight: what finishing it needs. Copied into the bridge's
/// answer function; gRPC keeps ctx and reactor alive until it is finished.
struct call {
  grpc::CallbackServerContext* ctx = nullptr;
  grpc::ServerUnaryReactor* reactor = nullptr;
  std::string trace_id;
  /// The caller sent the trace id: it comes back in the trailing metadata.
  /// One the node made comes back only with a failed call (to look the
  /// failure up by): a unique header on every call cost gRPC's encoder and
  /// the client's parser 5-10 % of a local call (BENCHMARKS.md), and
  /// mesh.v1's answers carry it in their body anyway.
  bool trace_from_caller = false;
  bool finished = false;
  /// `x-mesh-status-in-body: 1`: seed-style clients read the outcome from
  /// the response's Status only, so a failed Mesh status ends as an OK call
  /// (the body, already filled, carries it).
  bool status_in_body = false;
  /// The request and response of the call (shared by every copy of the
  /// call: they live as long as one waits to finish it).
  std::shared_ptr<response_slot> slot;
  /// Where the call is counted when it is answered (null: nowhere); the
  /// door outlives its calls.
  call_counts* counts = nullptr;
  door_method method = door_method::mesh_dispatch;
  std::chrono::steady_clock::time_point began; ///< set when counted

  /// Finishes the call with `status` (serializing the response first when
  /// it succeeds), once: a second call is logged and dropped.
  void done(grpc::Status status) const;

  /// Finishes gRPC's call with `status`, the trace id in the trailing
  /// metadata when the caller sent it or the call `failed` (see above).
  void finish(grpc::Status status, bool failed) const;
};

/// Reads a request body into `out` (nested no deeper than gRPC's own
/// reader allows); on failure, what is wrong with it, in protobuf's words
/// where it gave any.
std::optional<std::string> parse_request(const grpc::ByteBuffer& in,
                                         google::protobuf::Message& out);

/// Empty when `value` nests no deeper than limits.max_json_depth (counted
/// as a JSON document: a scalar 0, an object or a list one more than its
/// deepest member), else the refusal naming `field`, as the console's JSON
/// parser refuses a deeper command.
std::string check_depth(const google::protobuf::Value& value,
                        const std::string& field);
std::string check_depth(const google::protobuf::Struct& value,
                        const std::string& field);

/// Sends what protobuf logs (a bad body's details, among others) to the
/// node's log instead of stderr; once per process.
void route_protobuf_log();

/// Starts a call of `method` (its token already checked by gRPC's auth
/// filter): counts it and reads the trace id (finishing the call when the
/// id is refused: `finished` is then true).
call begin(grpc::CallbackServerContext* ctx, const node_handles& node,
           door_method method);

/// Finishes a call that begin() started but done() does not end (no
/// response to seal: a refused token or trace id, a body that does not
/// parse), counting its answer.
void refuse(const call& c, grpc::Status status);

} // namespace mesh::grpc_door
