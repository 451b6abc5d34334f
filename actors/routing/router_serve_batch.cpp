// The serving side of a peer's batch (issue 16), in the request router: the
// peer's ingress hands over a whole ServeBatch in one message instead of
// one request per envelope, so the two local messages a request cost
// (ingress -> router -> ingress) are paid once per batch. Every request
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
    if (route != nullptr && !route->fast) {
      // The executor's: the ingress sends it alone (see above). Counted
      // and traced by serve() when it arrives.
      *rest.add_requests() = std::move(req);
      rest.add_tags(tag);
      continue;
    }
    auto* r = out.add_responses();
    *r = route == nullptr ? refuse_serve(req, p) : serve_inline(*route, req);
    out.add_tags(tag);
  }
}

} // namespace mesh::detail
