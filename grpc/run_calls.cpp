// mesh.v1.Mesh's workflow calls, answered by the workflow runner as the
// console's run, runs and run commands are (actors/console/commands/
// console_workflows.cpp), without the JSON envelope.

#include "grpc/run_calls.hpp"

#include <algorithm>
#include <string>

#include "actors/workflows/workflow_runner.hpp"
#include "grpc/mesh_calls.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/status.hpp"

namespace mesh::grpc_door {

using nlohmann::json;

namespace {

/// How long to wait for a run to end: `asked` (wait_ms), else what is left
/// of the call's deadline less a little (so the answer that the run goes
/// on still reaches the client), else the console's default; at most the
/// console's maximum.
int64_t run_wait_ms(const grpc::CallbackServerContext& ctx, int64_t asked) {
  if (asked == 0) {
    int64_t left
      = deadline_ms_of(ctx, std::chrono::milliseconds{run_wait::max_ms});
    asked = left == 0 ? run_wait::default_ms
                      : left - std::min<int64_t>(left / 2, 200);
  }
  return std::min(asked, run_wait::max_ms);
}

} // namespace

google::protobuf::Struct to_struct(const nlohmann::json& j) {
  google::protobuf::Value v;
  json_to_value(j, v);
  return v.struct_value();
}

nlohmann::json struct_json(const google::protobuf::Struct& s) {
  google::protobuf::Value v;
  *v.mutable_struct_value() = s;
  return value_to_json(v);
}

void fill_run(const nlohmann::json& r, mesh::v1::Run* out) {
  out->mutable_status()->set_code(
    static_cast<pb::StatusCode>(status_code::ok));
  out->mutable_status()->clear_message();
  out->set_run_id(r.contains("run_id") ? r.value("run_id", "")
                                       : r.value("id", ""));
  out->set_workflow(r.value("workflow", ""));
  out->set_run_status(r.value("status", ""));
  out->set_trace_id(r.value("trace_id", ""));
  out->set_error(r.value("error", ""));
  if (auto i = r.find("output"); i != r.end())
    json_to_value(*i, *out->mutable_output());
  if (r.is_object())
    *out->mutable_detail() = to_struct(r);
}


void run_workflow(bridge& hop, const node_handles& node, call c,
                  mesh::v1::RunWorkflowRequest* in, mesh::v1::Run* out) {
  auto* ctx = c.ctx;
  if (in->workflow().empty() == !in->has_definition()) {
    fail(c, out, status_code::invalid_argument,
         "RunWorkflow needs \"workflow\" (a name) or \"definition\" (a "
         "workflow document), one of them");
    return;
  }
  for (auto bad : {check_depth(in->definition(), "definition"),
                   check_depth(in->input(), "input"),
                   check_depth(in->context(), "context")})
    if (!bad.empty())
      return fail(c, out, status_code::invalid_argument, bad);
  json request = json::object();
  if (!in->workflow().empty())
    request["workflow"] = in->workflow();
  else
    request["definition"] = struct_json(in->definition());
  if (in->has_input())
    request["input"] = value_to_json(in->input());
  if (in->has_context())
    request["context"] = struct_json(in->context());
  // A run we stop waiting for can still be found by its trace id.
  auto trace = !in->trace_id().empty() ? in->trace_id()
               : !c.trace_id.empty()   ? c.trace_id
                                       : make_trace_id();
  c.trace_id = trace;
  request["trace_id"] = trace;
  request["async"] = in->async();
  auto wait = run_wait_ms(*ctx, in->wait_ms());
  auto timeout = std::chrono::milliseconds{wait + run_wait::console_margin_ms};
  auto runner = node.workflows.get();
  if (!runner) {
    fail(c, out, status_code::unavailable,
         "node " + node.node_id + " has no " + no_runner);
    return;
  }
  hop.ask(ptr_of(runner), no_runner,
            expect<json>(
                [c, out](json& r) {
                  fill_run(r, out);
                  c.done(grpc::Status::OK);
                },
                [c, out, wait](caf::error& err) {
                  if (err != caf::sec::request_timeout) {
                    fail(c, out, to_status_code(err), error_text(err));
                    return;
                  }
                  fail(c, out, status_code::deadline_exceeded,
                       "the workflow did not finish within "
                           + std::to_string(wait)
                           + " ms (wait_ms); the run goes on: trace id "
                           + c.trace_id);
                }),
            timeout, true, atom::run_v, std::move(request));
}

void get_run(bridge& hop, const node_handles& node, call c,
             mesh::v1::GetRunRequest* in, mesh::v1::Run* out) {
  if (in->run_id().empty())
    return fail(c, out, status_code::invalid_argument,
                "GetRun needs \"run_id\"");
  ask<json>(
    hop, node, c, out, node.workflows.get(), no_runner,
    ask_timeout(deadline_ms_of(*c.ctx, node.max_deadline), node.max_deadline),
    [c, out](json& r) {
      fill_run(r, out);
      c.done(grpc::Status::OK);
    },
    atom::runs_v, in->run_id());
}

void cancel_run(bridge& hop, const node_handles& node, call c,
                mesh::v1::CancelRunRequest* in, mesh::v1::Run* out) {
  if (in->run_id().empty())
    return fail(c, out, status_code::invalid_argument,
                "CancelRun needs \"run_id\"");
  auto runner = node.workflows.get();
  if (!runner)
    return fail(c, out, status_code::unavailable,
                "node " + node.node_id + " has no " + no_runner);
  auto wait = run_wait_ms(*c.ctx, in->wait_ms());
  auto id = in->run_id();
  hop.ask(ptr_of(runner), no_runner,
          expect<json>(
            [c, out](json& r) {
              fill_run(r, out);
              c.done(grpc::Status::OK);
            },
            [c, out, wait, id](caf::error& err) {
              if (err != caf::sec::request_timeout)
                return fail(c, out, to_status_code(err), error_text(err));
              out->set_run_id(id);
              fail(c, out, status_code::deadline_exceeded,
                   "run " + id + " did not end within " + std::to_string(wait)
                     + " ms (wait_ms); it is still being cancelled (GetRun "
                       "shows it)");
            }),
          std::chrono::milliseconds{wait + run_wait::console_margin_ms}, true,
          atom::cancel_v, id);
}

void list_runs(bridge& hop, const node_handles& node, call c,
               mesh::v1::ListRunsRequest* in,
               mesh::v1::ListRunsResponse* out) {
  // The runner checks the values (a status it does not know, a limit
  // past 10000) and names what is wrong.
  json query = json::object();
  if (!in->workflow().empty())
    query["workflow"] = in->workflow();
  if (!in->run_status().empty())
    query["status"] = in->run_status();
  if (in->limit() != 0)
    query["limit"] = in->limit();
  ask<json>(
    hop, node, c, out, node.workflows.get(), no_runner,
    ask_timeout(deadline_ms_of(*c.ctx, node.max_deadline), node.max_deadline),
    [c, out](json& r) {
      set_status(out->mutable_status(), status_code::ok, "");
      if (auto i = r.find("runs"); i != r.end() && i->is_array())
        for (const auto& run : *i)
          fill_run(run, out->add_runs());
      c.done(grpc::Status::OK);
    },
    atom::runs_v, std::move(query));
}

} // namespace mesh::grpc_door
