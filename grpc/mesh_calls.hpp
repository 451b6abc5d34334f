#pragma once

// What the methods of mesh.v1.Mesh share (mesh_service.cpp, run_calls.cpp):
// finishing a call with a failed status, and asking one of the node's
// actors through the bridge.

#include <chrono>
#include <string>
#include <type_traits>
#include <utility>

#include "grpc/bridge.hpp"
#include "grpc/call_support.hpp"
#include "grpc/node_handles.hpp"
#include "grpc/services.hpp"
#include "protocol/grpc/mesh_service.pb.h"
#include "protocol/mesh.pb.h"
#include "protocol/status.hpp"

namespace mesh::grpc_door {

inline void set_status(pb::Status* st, status_code code,
                       const std::string& text) {
  st->set_code(static_cast<pb::StatusCode>(code));
  st->set_message(text);
}

template<class Out, class = void>
struct has_trace_id : std::false_type {};

template<class Out>
struct has_trace_id<Out, std::void_t<decltype(std::declval<Out&>().set_trace_id(
                           std::string{}))>> : std::true_type {};

/// The call's trace id in an answer that has none (a failure no actor
/// answered): the answer names the id the trailer does.
template<class Out>
void adopt_trace_id(const call& c, Out* out) {
  if constexpr (has_trace_id<Out>::value)
    if (out->trace_id().empty())
      out->set_trace_id(c.trace_id);
}

template<class Out>
void fail(const call& c, Out* out, status_code code, const std::string& text) {
  set_status(out->mutable_status(), code, text);
  adopt_trace_id(c, out);
  c.done(call_status(code, text, *out));
}

inline void fail(const call& c, pb::PublishResponse* out, status_code code,
                 const std::string& text) {
  out->set_error_message(text);
  adopt_trace_id(c, out);
  c.done(call_status(code, text, *out));
}

inline status_code code_of(const pb::Status& st) {
  return status_code_from_int(st.code()).value_or(status_code::internal);
}

/// Asks `actor` (a slot's handle) through the bridge for the answer to
/// `xs...` (an `Answer`); `on_answer` takes it and finishes the call;
/// failures finish it with their status. `missing`: why the node has no
/// such actor. A timer of its own, so a late answer comes at the timeout,
/// not at the next sweep; but not for Process, Publish and Outcome, which
/// clients call at high rates: a timer stays in CAF's clock (holding the
/// bridge) until it fires, answered or not, and their actors answer by the
/// deadline themselves (the sweep is the safety net).
template<class Answer, class Out, class Handle, class OnAnswer, class... Ts>
void ask(bridge& hop, const node_handles& node, const call& c, Out* out,
         const Handle& actor, const char* missing,
         std::chrono::milliseconds timeout, OnAnswer on_answer, Ts&&... xs) {
  if (!actor) {
    fail(c, out, status_code::unavailable,
         "node " + node.node_id + " has no " + missing);
    return;
  }
  constexpr bool hot = std::is_same_v<Answer, pb::ProcessResponse>
                       || std::is_same_v<Answer, pb::PublishResponse>
                       || std::is_same_v<Answer, caf::atom_value>; // Outcome
  hop.ask(ptr_of(actor), missing,
          expect<Answer>(std::move(on_answer),
                         [c, out](caf::error& err) {
                           fail(c, out, to_status_code(err), error_text(err));
                         }),
          timeout, !hot, std::forward<Ts>(xs)...);
}

constexpr const char* no_router = "router (restarting?)";
constexpr const char* no_evaluator
    = "strategy evaluator (start it with --manifests DIR)";
constexpr const char* no_topics = "topic dispatcher";
constexpr const char* no_tasks = "task dispatcher (start it with --jobs DIR)";
constexpr const char* no_runner
    = "workflow runner (start it with --workflows DIR)";

} // namespace mesh::grpc_door
