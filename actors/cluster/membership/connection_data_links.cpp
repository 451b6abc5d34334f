// Our data links to peers (issue 16): each side of a handshake dials the
// other's data port for its own requests, presenting a one-use token the
// other issued. A link can fail while the peer stays up (the peer stopped
// reading and the backlog overflowed, a reset connection): the requests
// then go by BASP, and we ask the peer's ingress for a new token
// ((atom::dial), answered by peer_ingress) and dial again, after 1 s, then
// with exponential backoff up to 30 s while dials keep failing.

#include "actors/cluster/data/data_plane_glue.hpp"
#include "actors/cluster/membership/connection_manager_state.hpp"

namespace mesh::detail {

namespace {

constexpr auto token_ask_timeout = std::chrono::seconds{5};

// The entry of `id` if it is still for the process `incarnation`, with its
// request marked answered; else null (forgotten or replaced meanwhile).
data_redial* answered(std::map<std::string, data_redial>& links,
                      const std::string& id, const std::string& incarnation) {
  auto i = links.find(id);
  if (i == links.end() || i->second.incarnation != incarnation)
    return nullptr;
  i->second.asking = false;
  return &i->second;
}

} // namespace

void connection_manager_state::dial_data(const peer_record& rec,
                                         const std::string& address,
                                         uint32_t port,
                                         const std::string& token) {
  if (!cfg.data)
    return;
  if (port == 0 || token.empty()) { // the peer has no data plane
    data_links.erase(rec.id);
    return;
  }
  dial_data_link(*cfg.data, rec.id, rec.incarnation, address, port, token);
  data_links[rec.id] = data_redial{rec.incarnation};
}

void connection_manager_state::redial_data_links(clock::time_point t) {
  if (!cfg.data)
    return;
  auto uniform = [this] {
    return std::uniform_real_distribution<double>{0.0, 1.0}(rng);
  };
  for (auto i = data_links.begin(); i != data_links.end();) {
    auto* rec = dir.find(i->first);
    if (rec == nullptr || rec->incarnation != i->second.incarnation) {
      // Forgotten, or a new process: its handshake offers a port again.
      i = data_links.erase(i);
      continue;
    }
    auto& d = (i++)->second;
    if (d.asking || !is_routable(rec->state))
      continue;
    if (cfg.data->has_link_to(rec->id)) { // open, or still connecting
      if (d.lost)
        log->info("data link to {} dialled again", rec->id);
      d.lost = false;
      d.wait.reset();
      continue;
    }
    if (!d.lost) {
      d.lost = true;
      auto delay = d.wait.next(uniform());
      d.next = t + delay;
      log->warn("data link to {} failed while the peer is up: requests to it "
                "go by BASP; asking it for a new link in {} ms",
                rec->id, delay.count());
      continue;
    }
    if (t < d.next)
      continue;
    d.asking = true;
    ++data_redials;
    auto id = rec->id;
    auto inc = rec->incarnation;
    self
      ->request(caf::actor_cast<peer_ingress_actor>(rec->remote),
                token_ask_timeout, atom::dial_v)
      .then(
        [this, id, inc, uniform](uint32_t port, std::string& token) {
          auto* d = answered(data_links, id, inc);
          auto* peer = dir.find(id);
          if (d == nullptr || peer == nullptr || !is_routable(peer->state))
            return;
          if (port == 0 || token.empty()) {
            log->info("peer {} has no data plane now: requests to it stay on "
                      "BASP", id);
            data_links.erase(id);
            return;
          }
          dial_data_link(*cfg.data, id, inc, peer->address, port, token);
          d->next = now() + d->wait.next(uniform()); // if this one fails
        },
        [this, id, inc, uniform](caf::error& err) {
          auto* d = answered(data_links, id, inc);
          if (d == nullptr)
            return;
          if (to_status_code(err) == status_code::invalid_argument) {
            // An older node: it does not take the request at all.
            log->info("peer {} cannot give a new data-link token ({}): "
                      "requests to it stay on BASP", id, error_text(err));
            data_links.erase(id);
            return;
          }
          auto delay = d->wait.next(uniform());
          d->next = now() + delay;
          log->warn("peer {} gave no new data-link token ({}): asking again "
                    "in {} ms", id, error_text(err), delay.count());
        });
  }
}

} // namespace mesh::detail
