#include "topics/route_table.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace mesh {

nlohmann::json to_json(const topic_route& r) {
  return {{"route_id", r.id},
          {"pattern", r.pattern},
          {"category", to_string(r.category)},
          {"dispatcher_id", r.dispatcher_id},
          {"message_type", r.message_type},
          {"enabled", r.enabled}};
}

std::string route_table::refuse_if_frozen(const char* what) const {
  if (!frozen_)
    return {};
  return std::string{"the route table is frozen: cannot "} + what;
}

std::string route_table::add_dispatcher(dispatcher_info d) {
  if (auto err = refuse_if_frozen("register a dispatcher"); !err.empty())
    return err;
  if (d.id.empty())
    return "a dispatcher needs an id";
  if (dispatchers_.count(d.id) > 0)
    return "dispatcher '" + d.id + "' is already registered";
  auto id = d.id;
  dispatchers_.emplace(std::move(id), std::move(d));
  ++version_;
  return {};
}

std::string route_table::add_route(topic_route r) {
  if (auto err = refuse_if_frozen("register a route"); !err.empty())
    return err;
  if (r.id.empty())
    return "a route needs an id";
  if (by_id_.count(r.id) > 0)
    return "route '" + r.id + "' is already registered";
  if (auto err = check_topic_pattern(r.pattern); !err.empty())
    return "route '" + r.id + "': " + err;
  if (check_dispatchers_) {
    auto* d = dispatcher(r.dispatcher_id);
    if (d == nullptr)
      return "route '" + r.id + "' names unknown dispatcher '"
             + r.dispatcher_id + "'";
    if (d->category != r.category)
      return "route '" + r.id + "' is for " + to_string(r.category)
             + " messages but dispatcher '" + d->id + "' takes "
             + to_string(d->category) + " messages";
  }
  trie_.insert(r.pattern, static_cast<uint32_t>(routes_.size()));
  by_id_.emplace(r.id, routes_.size());
  routes_.push_back(std::move(r));
  ++version_;
  return {};
}

std::string route_table::remove_route(const std::string& id) {
  if (auto err = refuse_if_frozen("remove a route"); !err.empty())
    return err;
  auto i = by_id_.find(id);
  if (i == by_id_.end())
    return "no route '" + id + "'";
  routes_.erase(routes_.begin() + static_cast<std::ptrdiff_t>(i->second));
  rebuild(); // indices moved; removals are rare
  ++version_;
  return {};
}

std::string route_table::set_enabled(const std::string& id, bool enabled) {
  if (auto err = refuse_if_frozen("change a route"); !err.empty())
    return err;
  auto i = by_id_.find(id);
  if (i == by_id_.end())
    return "no route '" + id + "'";
  routes_[i->second].enabled = enabled;
  ++version_;
  return {};
}

void route_table::rebuild() {
  trie_ = topic_trie{};
  by_id_.clear();
  for (size_t i = 0; i < routes_.size(); ++i) {
    trie_.insert(routes_[i].pattern, static_cast<uint32_t>(i));
    by_id_.emplace(routes_[i].id, i);
  }
}

const dispatcher_info* route_table::dispatcher(std::string_view id) const {
  auto i = dispatchers_.find(id);
  return i == dispatchers_.end() ? nullptr : &i->second;
}

bool route_table::route_accepts(const topic_route& r,
                                message_category category,
                                std::string_view message_type) const {
  return r.enabled && r.category == category
         && (r.message_type.empty() || r.message_type == message_type);
}

std::vector<std::string> route_table::match(std::string_view topic,
                                            message_category category,
                                            std::string_view message_type) const {
  thread_local std::vector<uint32_t> hits;
  hits.clear();
  trie_.match(topic, hits);
  std::sort(hits.begin(), hits.end()); // route order: deterministic
  std::vector<std::string> result;
  for (auto index : hits) {
    const auto& r = routes_[index];
    if (!route_accepts(r, category, message_type))
      continue;
    if (std::find(result.begin(), result.end(), r.dispatcher_id)
        != result.end())
      continue; // fan-out: each dispatcher once per message
    if (check_dispatchers_) {
      auto* d = dispatcher(r.dispatcher_id);
      if (d == nullptr || d->category != category
          || (!d->message_types.empty()
              && d->message_types.count(std::string{message_type}) == 0))
        continue;
    }
    result.push_back(r.dispatcher_id);
  }
  return result;
}

bool route_table::any_route(std::string_view topic, message_category category,
                            std::string_view message_type) const {
  thread_local std::vector<uint32_t> hits;
  hits.clear();
  trie_.match(topic, hits);
  for (auto index : hits)
    if (route_accepts(routes_[index], category, message_type))
      return true;
  return false;
}

} // namespace mesh
