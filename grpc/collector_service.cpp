// collector.CollectiveDispatcher (seed 001) on a Mesh node. The seed's
// collectors are Mesh nodes: a collector id is a node id, Dispatch routes
// through the router (local handler first, then peers, with the pipeline's
// policies and hooks), Serve runs a handler of this node only (through
// the same pipeline), Connect joins this node to another (meshctl
// connect), given its peer address or, as in the seed, its gRPC address
// (grpc/connect_back.hpp). Status.code is the seed's HTTP-style number;
// the call's gRPC status carries the same outcome.

#include <algorithm>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "grpc/connect_back.hpp"
#include "grpc/raw_unary.hpp"
#include "protocol/address.hpp"
#include "grpc/services.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/messaging/type_ids.hpp"
#include "protocol/request_checks.hpp"

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

// The status of the seed's HTTP-style number (500: internal).
status_code code_of_http(int32_t code) {
  for (auto x : all_status_codes)
    if (http_code(x) == code && x != status_code::handler_error)
      return x;
  return status_code::internal;
}

// The status of a gRPC code (UNAUTHENTICATED: permission denied).
status_code code_of_grpc(grpc::StatusCode code) {
  if (code == grpc::StatusCode::UNAUTHENTICATED)
    return status_code::permission_denied;
  for (auto x : all_status_codes)
    if (grpc_code(x) == code && x != status_code::handler_error)
      return x;
  return status_code::internal;
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
           "listener or gRPC front door");
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
    connect_call cc;
    cc.c = c;
    cc.out = out;
    cc.address = in->address();
    cc.wanted.insert(in->namespaces().begin(), in->namespaces().end());
    cc.timeout = ask_timeout(deadline_ms_of(*ctx, node_.max_deadline),
                             node_.max_deadline);
    const auto& md = ctx->client_metadata();
    if (auto i = md.find("authorization"); i != md.end())
      cc.authorization.assign(i->second.data(), i->second.size());
    // A door connecting back does not try the same in turn.
    cc.may_connect_back = md.find(connect_back_key) == md.end();
    hop_->ask(ptr_of(cluster), "cluster manager",
              expect<nlohmann::json>(
                [cc](nlohmann::json& r) { connected(cc, r); },
                [this, cc](caf::error& err) { not_dialled(cc, err); }),
              cc.timeout, true, atom::connect_v, in->address());
  }

  struct connect_call {
    call c;
    collector::ConnectResponse* out = nullptr;
    std::string address;
    std::set<std::string> wanted; ///< the caller's; empty: every one shared
    std::chrono::milliseconds timeout{0};
    std::string authorization;
    bool may_connect_back = false;
  };

  // `peer`: the connection as the cluster manager describes it.
  static void connected(const connect_call& cc, const nlohmann::json& peer) {
    auto* out = cc.out;
    out->mutable_status()->set_code(http_code(status_code::ok));
    out->mutable_status()->set_message("connected");
    out->set_connection_id(peer.value("connection_id", ""));
    out->set_target_collector_id(peer.value("peer", ""));
    if (auto i = peer.find("shared_namespaces");
        i != peer.end() && i->is_array())
      for (auto& ns : *i)
        if (ns.is_string()
            && (cc.wanted.empty() || cc.wanted.count(ns.get<std::string>())))
          out->add_shared_namespaces(ns.get<std::string>());
    cc.c.done(grpc::Status::OK);
  }

  // The peer port did not answer at the address: perhaps it is a node's
  // gRPC front door, as in the seed (grpc/connect_back.hpp). Only a dial
  // that failed (the dialer's "cannot reach ..."): not a stopping bridge
  // or a cluster manager gone.
  void not_dialled(const connect_call& cc, const caf::error& err) {
    auto code = to_status_code(err);
    auto why = error_text(err);
    std::string bad;
    auto door = parse_host_port(cc.address, bad);
    if (!cc.may_connect_back || code != status_code::unavailable
        || why.rfind("cannot reach ", 0) != 0 || !door) {
      fail(cc.c, cc.out, code, why);
      return;
    }
    if (auto wild = wildcard_listen(); !wild.empty()) {
      fail(cc.c, cc.out, code, why + "; " + wild);
      return;
    }
    connect_back_request req;
    req.parent = cc.c.ctx;
    req.door = *door;
    req.our_address = node_.listen;
    req.our_id = node_.node_id;
    req.authorization = cc.authorization;
    req.namespaces.assign(cc.wanted.begin(), cc.wanted.end());
    req.timeout = cc.timeout;
    req.tls = node_.tls;
    connect_back(std::move(req), [this, cc, why](
                                   const grpc::Status& st,
                                   collector::ConnectResponse& back) {
      // A refusal carries the other door's answer in its details.
      static_cast<void>(answer_in_details(st, back));
      if (st.ok() && back.status().code() == http_code(status_code::ok)) {
        find_connection(cc, back.connection_id());
      } else if (st.ok() || back.status().code() != 0
                 || st.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        // A door, which said no.
        auto code = back.status().code() != 0
                      ? code_of_http(back.status().code())
                      : code_of_grpc(st.error_code());
        auto text = back.status().code() != 0 ? back.status().message()
                                              : st.error_message();
        fail(cc.c, cc.out, code,
             "the gRPC front door at " + cc.address + " could not connect "
               "its node to this one: " + text);
      } else {
        fail(cc.c, cc.out, status_code::unavailable,
             why + "; nor does a gRPC front door answer there ("
               + st.error_message() + ")");
      }
    });
  }

  // Why the other node could not dial this one back (empty: it can): a
  // wildcard listen address names no host to dial.
  std::string wildcard_listen() const {
    std::string bad;
    auto hp = parse_host_port(node_.listen, bad);
    if (hp && hp->host != "0.0.0.0" && hp->host != "::" && !hp->host.empty())
      return {};
    return "a gRPC front door there could not dial this node back: it "
           "listens on " + node_.listen + ", which names no host";
  }

  // The other node dialled this one: its connection, as this node sees it.
  void find_connection(const connect_call& cc, const std::string& id) {
    auto cluster = node_.cluster.get();
    auto lost = [cc](const std::string& why) {
      fail(cc.c, cc.out, status_code::unavailable,
           "the node at " + cc.address + " connected, but " + why);
    };
    hop_->ask(ptr_of(cluster), "cluster manager",
              expect<nlohmann::json>(
                [cc, id, lost](nlohmann::json& peers) {
                  for (const auto& p : peers)
                    if (p.value("connection_id", "") == id) {
                      auto peer = p;
                      peer["peer"] = p.value("id", "");
                      connected(cc, peer);
                      return;
                    }
                  lost("its connection " + id + " is not among the peers");
                },
                [lost](caf::error& err) { lost(error_text(err)); }),
              cc.timeout, true, atom::peers_v, nlohmann::json::object());
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
    // Made here, not by the router, when the caller sent none: a failure
    // the router never answered (its deadline, a restart) still names it.
    if (c.trace_id.empty())
      c.trace_id = make_trace_id();
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
