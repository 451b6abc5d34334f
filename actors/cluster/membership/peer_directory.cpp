#include "actors/cluster/membership/peer_directory.hpp"

#include <nlohmann/json.hpp>

#include "protocol/messaging/type_ids.hpp"

namespace mesh {

peer_record* peer_directory::find(std::string_view id) {
  auto i = records_.find(std::string{id});
  return i == records_.end() ? nullptr : &i->second;
}

peer_record* peer_directory::find_by_address(std::string_view address) {
  for (auto& [id, rec] : records_)
    if (rec.address == address)
      return &rec;
  return nullptr;
}

peer_record& peer_directory::get_or_add(const std::string& id) {
  auto i = records_.find(id);
  if (i == records_.end()) {
    i = records_.emplace(id, peer_record{timing_}).first;
    i->second.id = id;
  }
  return i->second;
}

void peer_directory::apply(peer_record& rec,
                           const pb::ServiceAnnouncement& services) {
  rec.services_version = services.version();
  rec.namespaces = {services.namespaces().begin(),
                    services.namespaces().end()};
  rec.methods.clear();
  for (const auto& m : services.methods())
    rec.methods.emplace(to_service_key(m.ref()), m.idempotent());
}

bool peer_directory::set_state(peer_record& rec, peer_state state,
                               clock::time_point now) {
  if (rec.state == state)
    return false;
  rec.state = state;
  rec.since = now;
  return true;
}

std::vector<std::string>
peer_directory::shared_with(const peer_record& rec) const {
  std::vector<std::string> result;
  for (const auto& ns : rec.namespaces)
    if (local_.count(ns) > 0)
      result.push_back(ns);
  return result;
}

std::vector<pb::Member> peer_directory::members() const {
  std::vector<pb::Member> result;
  for (const auto& [id, rec] : records_) {
    if (!is_routable(rec.state) || rec.address.empty())
      continue;
    pb::Member m;
    m.set_node_id(id);
    m.set_address(rec.address);
    m.set_incarnation(rec.incarnation);
    result.push_back(std::move(m));
  }
  return result;
}

uint64_t peer_directory::members_digest() const {
  // FNV-1a over what members() lists, in the same (sorted) order.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view x) {
    for (unsigned char c : x)
      h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull; // field separator
  };
  for (const auto& [id, rec] : records_) {
    if (!is_routable(rec.state) || rec.address.empty())
      continue;
    mix(id);
    mix(rec.address);
    mix(rec.incarnation);
  }
  return h == 0 ? 1 : h;
}

size_t peer_directory::routable() const {
  size_t n = 0;
  for (const auto& [id, rec] : records_)
    n += is_routable(rec.state) ? 1 : 0;
  return n;
}

peer_table_ptr peer_directory::snapshot() {
  auto t = std::make_shared<peer_table>();
  t->version = ++version_;
  for (const auto& [id, rec] : records_) {
    peer_route r;
    r.id = id;
    r.address = rec.address;
    r.connection_id = rec.connection_id;
    r.state = rec.state;
    r.peer = rec.remote;
    for (auto& ns : shared_with(rec))
      r.shared.insert(std::move(ns));
    r.methods = rec.methods;
    t->peers.emplace(id, std::move(r));
  }
  t->index();
  return t;
}

void peer_table::index() {
  by_method.clear();
  for (const auto& [id, peer] : peers)
    for (const auto& [key, idempotent] : peer.methods)
      if (peer.shares(key.ns))
        by_method[key].push_back(&peer);
}

nlohmann::json peer_directory::describe(clock::time_point now,
                                        const nlohmann::json& in_flight) const {
  auto list = nlohmann::json::array();
  for (const auto& [id, rec] : records_) {
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
      now - rec.detector.last_heard());
    auto in_state = std::chrono::duration_cast<std::chrono::milliseconds>(
      now - rec.since);
    list.push_back({{"id", id},
                    {"address", rec.address},
                    {"state", to_string(rec.state)},
                    {"state_for_ms", in_state.count()},
                    {"shared_namespaces", shared_with(rec)},
                    {"namespaces", rec.namespaces},
                    {"connection_id", rec.connection_id},
                    {"in_flight", in_flight.value(id, 0)},
                    {"last_heartbeat_ms", age.count()},
                    {"heartbeat_interval_ms", rec.detector.interval().count()},
                    {"watched", rec.watched},
                    {"reported", rec.reported},
                    {"dialer", rec.dialer}});
  }
  return list;
}

} // namespace mesh
