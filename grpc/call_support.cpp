#include "grpc/call_support.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include "actors/console/console.hpp"
#include "http/http_envelope.hpp"
#include "protocol/grpc/google/rpc/status.pb.h"
#include "protocol/json/json_payload.hpp"
#include "protocol/request_checks.hpp"
#include "telemetry/log.hpp"

namespace mesh::grpc_door {

namespace {

std::string metadata(const grpc::CallbackServerContext& ctx, const char* key) {
  const auto& md = ctx.client_metadata();
  auto i = md.find(key);
  if (i == md.end())
    return {};
  return std::string{i->second.data(), i->second.size()};
}

/// The most of a failed call's message and details that travel, in raw
/// bytes: on the wire the message is percent-encoded (up to 3x) and the
/// details base64 (4/3x), together well under a client's 8 KiB.
constexpr size_t max_status_text = 512;
constexpr size_t max_status_details = 3072;

/// The first bytes of `text`, at most `n`, not cutting a UTF-8 sequence.
std::string utf8_prefix(const std::string& text, size_t n) {
  while (n > 0 && n < text.size()
         && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
    --n;
  return text.substr(0, n);
}

} // namespace

int32_t http_code(status_code code) noexcept {
  return http_code_of(code);
}

grpc::StatusCode grpc_code(status_code code) noexcept {
  switch (code) {
    case status_code::ok:
      return grpc::StatusCode::OK;
    case status_code::invalid_argument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case status_code::permission_denied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case status_code::not_found:
      return grpc::StatusCode::NOT_FOUND;
    case status_code::overloaded:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case status_code::unavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case status_code::deadline_exceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case status_code::handler_error:
    case status_code::internal:
      break;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status call_status(status_code code, const std::string& message,
                         const google::protobuf::Message& body) {
  if (code == status_code::ok)
    return grpc::Status::OK;
  // Both are INTERNAL on the wire: the prefix keeps a handler's failure
  // apart from Mesh's own.
  auto text = code == status_code::handler_error ? "handler error: " + message
                                                 : message;
  // Both travel as trailing metadata, which clients cap (8 KiB by default):
  // past it they would see a transport error instead of Mesh's status.
  if (text.size() > max_status_text)
    text = utf8_prefix(text, max_status_text) + "...";
  // The details are a google.rpc.Status, as gRPC libraries decode them
  // (grpc-go refuses anything else), the answer packed in it.
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(grpc_code(code)));
  details.set_message(text);
  if (body.ByteSizeLong() <= max_status_details)
    details.add_details()->PackFrom(body);
  return {grpc_code(code), text, details.SerializeAsString()};
}

bool answer_in_details(const grpc::Status& status,
                       google::protobuf::Message& answer) {
  google::rpc::Status details;
  return !status.ok() && details.ParseFromString(status.error_details())
         && details.details_size() == 1 && details.details(0).UnpackTo(&answer);
}

std::optional<std::string> token_refusal(std::string_view header,
                                         const std::string& token) {
  if (token.empty())
    return std::nullopt;
  // The scheme is case-insensitive (RFC 6750), the token is not.
  constexpr std::string_view bearer = "bearer ";
  bool scheme = header.size() >= bearer.size()
                && std::equal(bearer.begin(), bearer.end(), header.begin(),
                              [](char a, char b) {
                                return a == std::tolower(
                                         static_cast<unsigned char>(b));
                              });
  if (scheme && token_accepted(token, header.substr(bearer.size())))
    return std::nullopt;
  return header.empty() ? "this node needs the console token as metadata "
                          "'authorization: Bearer <token>'"
                        : "wrong console token";
}

std::optional<grpc::Status> check_token(const grpc::CallbackServerContext& ctx,
                                        const std::string& token) {
  if (auto why = token_refusal(metadata(ctx, "authorization"), token))
    return grpc::Status{grpc::StatusCode::UNAUTHENTICATED, std::move(*why)};
  return std::nullopt;
}

std::string trace_id_of(const grpc::CallbackServerContext& ctx) {
  if (auto id = metadata(ctx, "x-mesh-trace-id"); !id.empty())
    return id;
  if (auto tp = parse_traceparent(metadata(ctx, "traceparent")))
    return tp->trace_id;
  return {};
}

uint32_t deadline_ms_of(const grpc::CallbackServerContext& ctx,
                        std::chrono::milliseconds cap) {
  auto deadline = ctx.deadline();
  if (deadline == std::chrono::system_clock::time_point::max())
    return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - std::chrono::system_clock::now());
  auto ms = std::clamp<int64_t>(left.count(), 1,
                                std::max<int64_t>(cap.count(), 1));
  return static_cast<uint32_t>(ms);
}

std::chrono::milliseconds ask_timeout(uint32_t deadline_ms,
                          std::chrono::milliseconds max_deadline) {
  auto budget = deadline_ms != 0 ? std::chrono::milliseconds{deadline_ms}
                                 : max_deadline;
  return budget + std::chrono::milliseconds{2000};
}

void call::finish(grpc::Status status, bool failed) const {
  // Only a well-formed id: gRPC aborts the process on a metadata value
  // outside printable ASCII, and ids can come from request bodies.
  if ((trace_from_caller || failed) && !trace_id.empty()
      && check_trace_id(trace_id).empty())
    ctx->AddTrailingMetadata("x-mesh-trace-id", trace_id);
  reactor->Finish(std::move(status));
}

namespace {

// What protobuf logs while this thread parses a request (null: not now).
thread_local std::string* protobuf_said = nullptr;

void on_protobuf_log(google::protobuf::LogLevel level, const char* file,
                     int line, const std::string& message) {
  if (protobuf_said != nullptr) {
    if (!protobuf_said->empty())
      *protobuf_said += "; ";
    auto end = message.find_last_not_of(' ');
    *protobuf_said += message.substr(0, end == std::string::npos ? 0 : end + 1);
  }
  // A client's bad body is the client's to hear about (debug here).
  auto out = log::get("protobuf");
  auto lvl = level >= google::protobuf::LOGLEVEL_ERROR && !protobuf_said
                 ? spdlog::level::warn
                 : spdlog::level::debug;
  out->log(lvl, "{} ({}:{})", message, file != nullptr ? file : "?", line);
}

} // namespace

void route_protobuf_log() {
  static std::once_flag once;
  std::call_once(once,
                 [] { google::protobuf::SetLogHandler(on_protobuf_log); });
}

std::optional<std::string> parse_request(const grpc::ByteBuffer& in,
                                         google::protobuf::Message& out) {
  std::string said;
  // Reset however the parse ends (an allocation can throw).
  struct capture {
    explicit capture(std::string* x) {
      protobuf_said = x;
    }
    ~capture() {
      protobuf_said = nullptr;
    }
  } scope{&said};
  if (!in.Valid()) // a client that half-closed without sending one
    return std::string{"the call carried no request message"};
  // gRPC's reader takes a mutable buffer; reading leaves it as it was.
  grpc::ProtoBufferReader reader{const_cast<grpc::ByteBuffer*>(&in)};
  if (!reader.status().ok())
    return "the body cannot be read: " + reader.status().error_message();
  google::protobuf::io::CodedInputStream stream{&reader};
  if (out.ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage())
    return std::nullopt;
  return said.empty() ? std::string{"malformed protobuf bytes, or nested "
                                    "deeper than 100 messages"}
                      : said;
}

namespace {

// Recursion is bounded: gRPC's parser refuses more than 100 nested
// messages (about 33 JSON levels) before a handler sees the value.
size_t depth_of(const google::protobuf::Value& v);

size_t depth_of(const google::protobuf::Struct& s) {
  size_t deepest = 0;
  for (const auto& [key, member] : s.fields())
    deepest = std::max(deepest, depth_of(member));
  return deepest + 1;
}

size_t depth_of(const google::protobuf::Value& v) {
  if (v.has_struct_value())
    return depth_of(v.struct_value());
  if (!v.has_list_value())
    return 0;
  size_t deepest = 0;
  for (const auto& member : v.list_value().values())
    deepest = std::max(deepest, depth_of(member));
  return deepest + 1;
}

std::string depth_refusal(size_t depth, const std::string& field) {
  if (depth <= max_json_depth())
    return {};
  return field + " nests deeper than " + std::to_string(max_json_depth())
         + " levels (limits.max_json_depth)";
}

} // namespace

std::string check_depth(const google::protobuf::Value& value,
                        const std::string& field) {
  return depth_refusal(depth_of(value), field);
}

std::string check_depth(const google::protobuf::Struct& value,
                        const std::string& field) {
  return depth_refusal(depth_of(value), field);
}

namespace {

/// gRPC's names of its codes, by number (grpc::StatusCode).
const std::vector<std::string>& code_names() {
  static const std::vector<std::string> names{
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return names;
}

void count(const call& c, grpc::StatusCode code) noexcept {
  if (c.counts != nullptr)
    c.counts->handled(static_cast<size_t>(c.method), static_cast<size_t>(code),
                      std::chrono::steady_clock::now() - c.began);
}

/// The door's methods in door_method's order.
const std::vector<call_counts::method_name>& door_methods() {
  const std::string seed = "collector.CollectiveDispatcher";
  const std::string own = "mesh.v1.Mesh";
  static const std::vector<call_counts::method_name> names{
    {seed, "Connect"}, {seed, "Serve"}, {seed, "Dispatch"},
    {own, "Dispatch"}, {own, "Process"}, {own, "Publish"}, {own, "Emit"},
    {own, "RunWorkflow"}, {own, "GetRun"}, {own, "Outcome"},
    {own, "CancelRun"}, {own, "ListRuns"}};
  return names;
}

} // namespace

std::optional<door_method> door_method_of(std::string_view path) {
  const auto& names = door_methods();
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& service = names[i].service;
    const auto& method = names[i].method;
    if (path.size() == service.size() + method.size() + 2
        && path[0] == '/' && path.substr(1, service.size()) == service
        && path[service.size() + 1] == '/'
        && path.substr(service.size() + 2) == method)
      return static_cast<door_method>(i);
  }
  return std::nullopt;
}

std::shared_ptr<call_counts> make_call_counts() {
  return std::make_shared<call_counts>(door_methods(), code_names());
}

void call::done(grpc::Status status) const {
  if (slot && slot->finished.exchange(true)) {
    log::get("grpc")->warn("a call was finished twice (trace={}): the "
                           "second answer was dropped",
                           trace_id);
    return;
  }
  // Every failed status here comes from call_status, with the body filled
  // (its details may have been left out for size).
  bool failed = !status.ok();
  if (status_in_body && failed)
    status = grpc::Status::OK;
  try {
    if (slot && status.ok())
      slot->seal();
    count(*this, status.error_code());
    finish(std::move(status), failed);
  } catch (const std::exception& e) {
    // The flag is set: nobody else will finish it (out of memory, say).
    count(*this, grpc::StatusCode::INTERNAL);
    reactor->Finish({grpc::StatusCode::INTERNAL,
                     std::string{"the node could not send its answer: "}
                       + e.what()});
  }
}

void refuse(const call& c, grpc::Status status) {
  count(c, status.error_code());
  bool failed = !status.ok();
  c.finish(std::move(status), failed);
}

call begin(grpc::CallbackServerContext* ctx, const node_handles& node,
           door_method method) {
  call c;
  c.ctx = ctx;
  c.reactor = ctx->DefaultReactor();
  c.counts = node.counts.get();
  c.method = method;
  if (c.counts != nullptr) {
    c.counts->started(static_cast<size_t>(method));
    c.began = std::chrono::steady_clock::now();
  }
  // The token was checked on the call's headers, before its message was
  // read (door_credentials.hpp): a call without it never gets here.
  auto trace_id = trace_id_of(*ctx);
  if (auto bad = check_trace_id(trace_id); !bad.empty()) {
    // Not echoed: a refused id is not one to send back.
    refuse(c, {grpc::StatusCode::INVALID_ARGUMENT, "x-mesh-trace-id: " + bad});
    c.finished = true;
    return c;
  }
  c.trace_from_caller = !trace_id.empty();
  c.trace_id = std::move(trace_id);
  c.status_in_body = metadata(*ctx, "x-mesh-status-in-body") == "1";
  return c;
}

} // namespace mesh::grpc_door
