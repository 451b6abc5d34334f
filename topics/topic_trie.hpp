#pragma once

// A token trie of topic patterns: a match walks the topic's tokens once,
// following the literal child, the `*` child and collecting `>` entries on
// the way, so its cost grows with the topic's length and the number of
// wildcard branches, not with the number of routes (100,000 routes match
// in well under a microsecond; bench/micro/micro_topics.cpp).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mesh {

class topic_trie {
public:
  using value_type = uint32_t;

  topic_trie();
  ~topic_trie();
  topic_trie(topic_trie&&) noexcept;
  topic_trie& operator=(topic_trie&&) noexcept;
  topic_trie(const topic_trie&);
  topic_trie& operator=(const topic_trie&);

  /// Adds `value` under the valid pattern `pattern`.
  void insert(std::string_view pattern, value_type value);

  /// Removes `value` from `pattern`; false if it was not there.
  bool erase(std::string_view pattern, value_type value);

  /// Appends the values of every pattern that matches the valid `topic`
  /// (a value under several matching patterns appears once per pattern).
  void match(std::string_view topic, std::vector<value_type>& out) const;

  size_t size() const {
    return size_;
  }

private:
  struct node;
  std::unique_ptr<node> root_;
  size_t size_ = 0;
};

} // namespace mesh
