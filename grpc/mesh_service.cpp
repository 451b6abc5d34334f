// mesh.v1.Mesh: Mesh's own API over gRPC, in Mesh's messages. Each call asks
// the node's actor that serves it, as the console does (one hop fewer: no
// JSON envelope): Dispatch the router (its whole pipeline), Process and
// Outcome the strategy evaluator, Publish the topic dispatcher, Emit the
// task dispatcher, the workflow calls (run_calls.cpp) the workflow runner.

#include <type_traits>

#include <nlohmann/json.hpp>

#include "grpc/mesh_calls.hpp"
#include "grpc/raw_unary.hpp"
#include "grpc/run_calls.hpp"
#include "grpc/services.hpp"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "protocol/request_checks.hpp"
#include "topics/dispatch_status.hpp"

namespace mesh::grpc_door {

namespace {

using nlohmann::json;

// Every method reads its body itself (grpc/raw_unary.hpp).
using raw_mesh = mesh::v1::Mesh;
using raw_mesh_base = raw_mesh::WithRawCallbackMethod_Dispatch<
    raw_mesh::WithRawCallbackMethod_Process<
        raw_mesh::WithRawCallbackMethod_Publish<
            raw_mesh::WithRawCallbackMethod_Emit<
                raw_mesh::WithRawCallbackMethod_RunWorkflow<
                    raw_mesh::WithRawCallbackMethod_GetRun<
                        raw_mesh::WithRawCallbackMethod_CancelRun<
                            raw_mesh::WithRawCallbackMethod_ListRuns<
                                raw_mesh::WithRawCallbackMethod_Outcome<
                                    raw_mesh::Service>>>>>>>>>;

class mesh_service final : public raw_mesh_base {
public:
  mesh_service(node_handles node, std::shared_ptr<bridge> hop)
      : node_(std::move(node)), hop_(std::move(hop)) {}

  using ctx_ptr = grpc::CallbackServerContext*;
  using body = const grpc::ByteBuffer*;
  using reactor_ptr = grpc::ServerUnaryReactor*;

  reactor_ptr Dispatch(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return raw_method(this, &mesh_service::dispatch,
                      door_method::mesh_dispatch, ctx, node_, in, out);
  }
  reactor_ptr Process(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return raw_method(this, &mesh_service::process,
                      door_method::mesh_process, ctx, node_, in, out);
  }
  reactor_ptr Publish(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return raw_method(this, &mesh_service::publish,
                      door_method::mesh_publish, ctx, node_, in, out);
  }
  reactor_ptr Emit(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return raw_method(this, &mesh_service::emit,
                      door_method::mesh_emit, ctx, node_, in, out);
  }
  reactor_ptr RunWorkflow(ctx_ptr ctx, body in,
                          grpc::ByteBuffer* out) override {
    return runs(&run_workflow, door_method::mesh_run_workflow, ctx, in, out);
  }
  reactor_ptr GetRun(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return runs(&get_run, door_method::mesh_get_run, ctx, in, out);
  }
  reactor_ptr CancelRun(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return runs(&cancel_run, door_method::mesh_cancel_run, ctx, in, out);
  }
  reactor_ptr ListRuns(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return runs(&list_runs, door_method::mesh_list_runs, ctx, in, out);
  }
  reactor_ptr Outcome(ctx_ptr ctx, body in, grpc::ByteBuffer* out) override {
    return raw_method(this, &mesh_service::outcome,
                      door_method::mesh_outcome, ctx, node_, in, out);
  }

private:
  void dispatch(call c, pb::DispatchRequest* in, pb::DispatchResponse* out) {
    auto* ctx = c.ctx;
    auto req = std::move(*in); // ours (raw_unary): moved, not copied
    // What only nodes set (the hooks' caller, hops, pre-hooks' context, a
    // task's delivery) is not the client's to say.
    req.clear_origin_node();
    req.clear_hops();
    req.clear_context();
    req.clear_task();
    adopt(*ctx, c, req);
    auto on_answer = [c, out](pb::DispatchResponse& r) mutable {
      out->Swap(&r);
      c.trace_id = out->trace_id();
      c.done(
          call_status(code_of(out->status()), out->status().message(), *out));
    };
    // No timer per call: the router answers by the deadline, the bridge's
    // sweep is the safety net. The router's budget: directives first.
    auto t = timeout(req.directives().timeout_ms() > 0
                         ? req.directives().timeout_ms()
                         : req.deadline_ms());
    hop_->ask(ptr_of(node_.router.get()), "router",
              expect<pb::DispatchResponse>(std::move(on_answer),
                                           [c, out](caf::error& err) {
                                             fail(c, out, to_status_code(err),
                                                  error_text(err));
                                           }),
              t, false, std::move(req));
  }

  void process(call c, pb::ProcessRequest* in, pb::ProcessResponse* out) {
    auto* ctx = c.ctx;
    auto req = std::move(*in);
    for (auto bad : {check_depth(req.input_args(), "input_args"),
                     check_depth(req.user_context(), "user_context")})
      if (!bad.empty())
        return fail(c, out, status_code::invalid_argument, bad);
    // The library API insists on a trace id (as the seed does): adopt
    // makes one up for a client that sent none, as meshctl does.
    adopt(*ctx, c, req);
    ask<pb::ProcessResponse>(
        *hop_, node_, c, out, node_.strategies.get(), no_evaluator,
        timeout(req.deadline_ms()),
        [c, out](pb::ProcessResponse& r) {
          out->Swap(&r);
          c.done(call_status(code_of(out->status()), out->status().message(),
                             *out));
        },
        std::move(req));
  }

  void publish(call c, pb::PublishRequest* in, pb::PublishResponse* out) {
    auto* ctx = c.ctx;
    auto req = std::move(*in);
    if (auto bad = check_depth(req.payload(), "payload"); !bad.empty())
      return fail(c, out, status_code::invalid_argument, bad);
    // Set by nodes for outputs and parts, not by clients.
    req.clear_dispatch_id();
    req.clear_depth();
    req.clear_local_only();
    adopt(*ctx, c, req);
    if (req.category().empty())
      req.set_category("event");
    ask<pb::PublishResponse>(
        *hop_, node_, c, out, node_.topics.get(), no_topics,
        timeout(req.deadline_ms()),
        [c, out](pb::PublishResponse& r) mutable {
          out->Swap(&r);
          c.trace_id = out->trace_id();
          auto code = publish_status_code(out->status());
          auto text
              = out->error_message().empty()
                    ? "publish of '" + out->topic() + "': " + out->status()
                    : out->error_message();
          c.done(call_status(code, text, *out));
        },
        std::move(req));
  }

  void emit(call c, mesh::v1::EmitRequest* in, mesh::v1::EmitResponse* out) {
    auto* ctx = c.ctx;
    if (in->events().empty()) {
      fail(c, out, status_code::invalid_argument, "Emit needs an event");
      return;
    }
    auto events = json::array();
    for (const auto& e : in->events()) {
      if (auto bad = check_depth(e.payload(), "an event's payload");
          !bad.empty())
        return fail(c, out, status_code::invalid_argument, bad);
      json ev{{"dataset", e.dataset()}, {"cursor", e.cursor()}};
      if (!e.partition().empty())
        ev["partition"] = e.partition();
      if (e.has_payload())
        ev["payload"] = value_to_json(e.payload());
      events.push_back(std::move(ev));
    }
    auto event = events.size() == 1 ? std::move(events[0])
                                    : json{{"events", std::move(events)}};
    ask<json>(
        *hop_, node_, c, out, node_.tasks.get(), no_tasks,
        timeout(deadline_ms_of(*ctx, node_.max_deadline)),
        [c, out](json& r) {
          set_status(out->mutable_status(), status_code::ok, "");
          out->set_created(r.value("created", uint64_t{0}));
          out->set_skipped(r.value("skipped", uint64_t{0}));
          out->set_held(r.value("held", uint64_t{0}));
          if (auto i = r.find("tasks"); i != r.end() && i->is_array())
            for (auto& id : *i)
              if (id.is_string())
                out->add_task_ids(id.get<std::string>());
          c.done(grpc::Status::OK);
        },
        atom::emit_v, std::move(event));
  }

  void outcome(call c, pb::OutcomeReport* in, mesh::v1::OutcomeResponse* out) {
    auto* ctx = c.ctx;
    ask<caf::atom_value>(
        *hop_, node_, c, out, node_.strategies.get(), no_evaluator,
        timeout(deadline_ms_of(*ctx, node_.max_deadline)),
        [c, out](caf::atom_value) {
          set_status(out->mutable_status(), status_code::ok, "");
          c.done(grpc::Status::OK);
        },
        atom::outcome_v, std::move(*in));
  }

private:
  /// The call's trace id (one made here when the caller sent none, so a
  /// failure the actor never answered still names one) and deadline,
  /// where the request has none; the call keeps the request's id.
  template<class Request>
  void adopt(const grpc::CallbackServerContext& ctx, call& c,
             Request& req) const {
    if (req.trace_id().empty())
      req.set_trace_id(c.trace_id.empty() ? make_trace_id() : c.trace_id);
    c.trace_id = req.trace_id();
    if (req.deadline_ms() == 0)
      req.set_deadline_ms(deadline_ms_of(ctx, node_.max_deadline));
  }

  /// A workflow call of run_calls.hpp.
  template<class Request, class Response>
  reactor_ptr runs(void (*fn)(bridge&, const node_handles&, call, Request*,
                              Response*),
                   door_method which, ctx_ptr ctx, body in,
                   grpc::ByteBuffer* out) {
    return raw_unary<Request, Response>(
      ctx, node_, in, out, which,
      [this, fn](call c, Request* req, Response* res) {
        fn(*hop_, node_, std::move(c), req, res);
      });
  }

  std::chrono::milliseconds timeout(uint32_t deadline_ms) const {
    return ask_timeout(deadline_ms, node_.max_deadline);
  }

  node_handles node_;
  std::shared_ptr<bridge> hop_;
};

} // namespace

std::unique_ptr<grpc::Service> make_mesh_service(node_handles node,
                                                 std::shared_ptr<bridge> hop) {
  return std::make_unique<mesh_service>(std::move(node), std::move(hop));
}

} // namespace mesh::grpc_door
