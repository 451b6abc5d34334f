// The serving side of the request router: a Serve from a peer (serve(),
// its steps shared with the batch), and a peer's whole batch (issue 16).
//
// A batch: the peer's ingress hands over a whole ServeBatch in one message
// instead of one request per envelope, so the two local messages a request
// cost (ingress -> router -> ingress) are paid once per batch. Every request
// with an inline handler (route->fast) runs here, in this one activation,
// and every refusal (admission, unknown method) is answered here too; the
// answers go back together, tagged as the batch tagged them.
//
// A request that needs its executor (a blocking handler) is not run here:
// it goes back to the ingress untouched, in the reply's second part, and
// the ingress asks for it alone as before (serve()). So each of them still
// has one request/response of its own: if the router or the executor dies,
// the ingress learns of it for that request and answers it, and a slow
// handler holds back nothing but itself.
//
// Exactly one answer per request: every request of the batch ends in
// exactly one of the two parts (the ingress checks the counts add up).

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"

namespace mesh::detail {

pb::ServeResponse router_state::refuse_serve(const pb::ServeRequest& req,
                                             const request_problem& p) {
  ++rejected;
  log->debug("trace={} serve rejected: {}", req.trace_id(), p.message);
  pb::ServeResponse r;
  r.mutable_status()->set_code(static_cast<pb::StatusCode>(p.code));
  r.mutable_status()->set_message(p.message);
  r.set_trace_id(req.trace_id());
  return r;
}

pb::ServeResponse router_state::serve_inline(inline_call& fast,
                                             const pb::ServeRequest& req) {
  ++served;
  if (log->should_log(spdlog::level::debug)) // path_of allocates
    log->debug("trace={} serve {} locally (from {})", req.trace_id(),
               path_of(req.ref()), req.origin_node());
  trace_serve(req, true);
  if (!req.traced() || !tracing(cfg.traces))
    return fast.run<pb::ServeResponse>(req);
  auto started = now();
  auto r = fast.run<pb::ServeResponse>(req);
  trace_inline(req.trace_id(), req.ref(), r.status().code(),
               std::chrono::duration_cast<std::chrono::microseconds>(
                 read_clock() - started));
  return r;
}

caf::result<pb::ServeResponse> router_state::serve(pb::ServeRequest& req) {
  request_problem p;
  auto* route = serve_route(req, p);
  if (route == nullptr)
    return refuse_serve(req, p);
  if (auto* fast = route->inline_path()) // taken once: it may demote
    return serve_inline(*fast, req);
  ++served;
  if (log->should_log(spdlog::level::debug)) // path_of allocates
    log->debug("trace={} serve {} locally (from {})", req.trace_id(),
               path_of(req.ref()), req.origin_node());
  trace_serve(req, false);
  self->delegate(route->executor, std::move(req));
  return caf::delegated<pb::ServeResponse>{};
}

void router_state::serve_batch(pb::ServeBatch& in, pb::ServeReplies& out,
                               pb::ServeBatch& rest) {
  auto n = std::min(in.requests_size(), in.tags_size()); // equal: checked
  out.mutable_responses()->Reserve(n);
  out.mutable_tags()->Reserve(n);
  for (int i = 0; i < n; ++i) {
    auto& req = *in.mutable_requests(i);
    auto tag = in.tags(i);
    request_problem p;
    auto* route = serve_route(req, p);
    auto* fast = route != nullptr ? route->inline_path() : nullptr;
    if (route != nullptr && fast == nullptr) {
      // The executor's: the ingress sends it alone (see above). Counted
      // and traced by serve() when it arrives.
      *rest.add_requests() = std::move(req);
      rest.add_tags(tag);
      continue;
    }
    auto* r = out.add_responses();
    *r = route == nullptr ? refuse_serve(req, p) : serve_inline(*fast, req);
    out.add_tags(tag);
  }
}

} // namespace mesh::detail
