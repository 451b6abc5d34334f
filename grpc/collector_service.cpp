// collector.CollectiveDispatcher (seed 001) on a Mesh node. The seed's
// collectors are Mesh nodes: a collector id is a node id, Dispatch routes
// through the router (local handler first, then peers, with the pipeline's
// policies and hooks), Serve runs a handler of this node only (through
// the same pipeline), Connect
// joins this node to another (meshctl connect). Status.code is the seed's
// HTTP-style number; the call's gRPC status carries the same outcome.

#include <algorithm>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "grpc/raw_unary.hpp"
#include "grpc/services.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/messaging/type_ids.hpp"

namespace mesh::grpc_door {

namespace {

template<class Out>
void fail(const call& c, Out* out, status_code code, const std::string& text) {
  out->mutable_status()->set_code(http_code(code));
  out->mutable_status()->set_message(text);
  c.done(call_status(code, text, *out));
}

/// The ref of a seed request: namespace, service, method.
template<class In>
pb::ServiceRef ref_of(const In& in) {
  pb::ServiceRef ref;
  ref.set_namespace_(in.namespace_());
  ref.set_service(in.service().service_name());
  ref.set_method(in.method_name());
  return ref;
}

status_code code_of(const pb::Status& st) {
  return status_code_from_int(st.code()).value_or(status_code::internal);
}

// Every method reads its body itself (grpc/raw_unary.hpp).
using seed = collector::CollectiveDispatcher;
using raw_seed_base
    = seed::WithRawCallbackMethod_Dispatch<seed::WithRawCallbackMethod_Serve<
        seed::WithRawCallbackMethod_Connect<seed::Service>>>;

class collector_service final : public raw_seed_base {
public:
  collector_service(node_handles node, std::shared_ptr<bridge> hop)
      : node_(std::move(node)), hop_(std::move(hop)) {}

  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* ctx,
                                     const grpc::ByteBuffer* in,
                                     grpc::ByteBuffer* out) override {
    return raw_method(this, &collector_service::dispatch,
                      door_method::collector_dispatch, ctx, node_, in, out);
  }

  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx,
                                  const grpc::ByteBuffer* in,
                                  grpc::ByteBuffer* out) override {
    return raw_method(this, &collector_service::serve,
                      door_method::collector_serve, ctx, node_, in, out);
  }

  grpc::ServerUnaryReactor* Connect(grpc::CallbackServerContext* ctx,
                                    const grpc::ByteBuffer* in,
                                    grpc::ByteBuffer* out) override {
    return raw_method(this, &collector_service::connect,
                      door_method::collector_connect, ctx, node_, in, out);
  }

private:
  void dispatch(call c, collector::DispatchRequest* in,
                collector::DispatchResponse* out) {
    auto target = in->target_collector_id();
    bridged(std::move(c), *in, out, std::move(target));
  }

  // A Serve is a Dispatch aimed at this node: the pipeline (policies,
  // rate limits, hooks) guards it as any request from outside. (The
  // router's own Serve is the peers' side of a Dispatch that already
  // passed the pipeline on its first node.)
  void serve(call c, collector::ServeRequest* in,
             collector::ServeResponse* out) {
    bridged(std::move(c), *in, out, node_.node_id);
  }

  void connect(call c, collector::ConnectRequest* in,
               collector::ConnectResponse* out) {
    auto* ctx = c.ctx;
    if (in->address().empty()) {
      fail(c, out, status_code::invalid_argument,
           "Connect needs \"address\": the host:port of a Mesh node's peer "
           "listener");
      return;
    }
    auto cluster = node_.cluster.get();
    if (!cluster) {
      fail(c, out, status_code::unavailable,
           "node " + node_.node_id + " has no cluster manager");
      return;
    }
    // The seed intersects both sides' namespaces: the caller's, when it
    // names any, narrow what the two nodes share.
    std::set<std::string> wanted(in->namespaces().begin(),
                                 in->namespaces().end());
    auto timeout = ask_timeout(deadline_ms_of(*ctx, node_.max_deadline),
                               node_.max_deadline);
    hop_->ask(ptr_of(cluster), "cluster manager",
              expect<nlohmann::json>(
                  [c, out, wanted](nlohmann::json& r) {
                    out->mutable_status()->set_code(http_code(status_code::ok));
                    out->mutable_status()->set_message("connected");
                    out->set_connection_id(r.value("connection_id", ""));
                    out->set_target_collector_id(r.value("peer", ""));
                    if (auto i = r.find("shared_namespaces");
                        i != r.end() && i->is_array())
                      for (auto& ns : *i)
                        if (ns.is_string()
                            && (wanted.empty()
                                || wanted.count(ns.get<std::string>())))
                          out->add_shared_namespaces(ns.get<std::string>());
                    c.done(grpc::Status::OK);
                  },
                  [c, out](caf::error& err) {
                    fail(c, out, to_status_code(err), error_text(err));
                  }),
              timeout, true, atom::connect_v, in->address());
  }

  // Dispatch and Serve: the seed's request to the router through the
  // bridge (which answers `unavailable` itself while the router restarts),
  // the router's answer into the seed's response.
  template<class In, class Out>
  void bridged(call c, In& in, Out* out, std::string target) {
    auto* ctx = c.ctx;
    pb::DispatchRequest req;
    *req.mutable_ref() = ref_of(in);
    if (in.has_input()) // ours (raw_unary): moved, not copied
      req.mutable_payload()->Swap(in.mutable_input());
    req.set_target_node_id(std::move(target));
    req.set_trace_id(c.trace_id);
    req.set_deadline_ms(deadline_ms_of(*ctx, node_.max_deadline));
    auto timeout = ask_timeout(req.deadline_ms(), node_.max_deadline);
    auto on_answer = [c, out](pb::DispatchResponse& r) mutable {
      c.trace_id = r.trace_id();
      auto code = code_of(r.status());
      out->mutable_status()->set_code(http_code(code));
      out->mutable_status()->set_message(r.status().message());
      if (r.has_payload())
        out->mutable_output()->Swap(r.mutable_payload());
      if constexpr (std::is_same_v<Out, collector::DispatchResponse>)
        out->set_handled_by_collector_id(r.handled_by());
      else
        out->set_executor_id(r.handled_by());
      c.done(call_status(code, r.status().message(), *out));
    };
    // No timer per call: the router answers by the deadline, the bridge's
    // sweep is the safety net.
    auto done = expect<pb::DispatchResponse>(
      std::move(on_answer), [c, out](caf::error& err) {
        fail(c, out, to_status_code(err), error_text(err));
      });
    hop_->ask(ptr_of(node_.router.get()), "router", std::move(done), timeout,
              false, std::move(req));
  }

  node_handles node_;
  std::shared_ptr<bridge> hop_;
};

} // namespace

std::unique_ptr<grpc::Service>
make_collector_service(node_handles node, std::shared_ptr<bridge> hop) {
  return std::make_unique<collector_service>(std::move(node), std::move(hop));
}

} // namespace mesh::grpc_door
