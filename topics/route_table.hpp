#pragma once

// The routes and dispatchers of one node (seed 004's registration phase).
//
// A route (id, topic pattern, category, dispatcher id, optional message
// type, enabled) sends matching messages to one dispatcher; a dispatcher
// (id, category, optional message types) takes only messages of its
// category and types. match() returns each matching dispatcher once, however
// many of its routes match, in the order of their first matching route.
// After freeze() every change is refused: the table is then immutable and
// can be shared and read from any thread without locks.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "topics/topic.hpp"
#include "topics/topic_trie.hpp"

namespace mesh {

struct topic_route {
  std::string id;
  std::string pattern;
  message_category category = message_category::event;
  std::string dispatcher_id;
  std::string message_type; ///< empty: any
  bool enabled = true;
};

struct dispatcher_info {
  std::string id;
  message_category category = message_category::event;
  std::set<std::string> message_types; ///< empty: any
  std::string kind; ///< "function", "actor", "record", "forward"
};

nlohmann::json to_json(const topic_route& r);

class route_table {
public:
  /// `check_dispatchers` false: a peer's table as we know it, whose routes
  /// name dispatchers we have never seen.
  explicit route_table(bool check_dispatchers = true)
    : check_dispatchers_(check_dispatchers) {}

  /// Each returns why the change was refused, or an empty string.
  std::string add_dispatcher(dispatcher_info d);
  std::string add_route(topic_route r);
  std::string remove_route(const std::string& id);
  std::string set_enabled(const std::string& id, bool enabled);

  void freeze() {
    frozen_ = true;
  }
  bool frozen() const {
    return frozen_;
  }

  /// The dispatchers for one message, each once (see above).
  std::vector<std::string> match(std::string_view topic,
                                 message_category category,
                                 std::string_view message_type) const;

  /// True when some enabled route matches (ignores dispatcher filters).
  bool any_route(std::string_view topic, message_category category,
                 std::string_view message_type) const;

  const std::vector<topic_route>& routes() const {
    return routes_;
  }
  const std::map<std::string, dispatcher_info, std::less<>>& dispatchers() const {
    return dispatchers_;
  }
  const dispatcher_info* dispatcher(std::string_view id) const;

  /// Grows with every change (peers use it to order updates).
  uint64_t version() const {
    return version_;
  }

private:
  std::string refuse_if_frozen(const char* what) const;
  bool route_accepts(const topic_route& r, message_category category,
                     std::string_view message_type) const;
  void rebuild();

  bool check_dispatchers_;
  bool frozen_ = false;
  uint64_t version_ = 0;
  std::vector<topic_route> routes_;
  std::map<std::string, size_t, std::less<>> by_id_; ///< index into routes_
  std::map<std::string, dispatcher_info, std::less<>> dispatchers_;
  topic_trie trie_; ///< pattern -> index into routes_
};

} // namespace mesh
