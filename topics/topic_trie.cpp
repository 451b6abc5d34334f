#include "topics/topic_trie.hpp"

#include <algorithm>

#include "topics/topic.hpp"

namespace mesh {

struct topic_trie::node {
  std::map<std::string, std::unique_ptr<node>, std::less<>> children;
  std::unique_ptr<node> star;
  std::vector<value_type> here; ///< patterns that end at this node
  std::vector<value_type> rest; ///< patterns ending with '>' here

  std::unique_ptr<node> clone() const {
    auto n = std::make_unique<node>();
    for (const auto& [k, v] : children)
      n->children.emplace(k, v->clone());
    if (star)
      n->star = star->clone();
    n->here = here;
    n->rest = rest;
    return n;
  }

  bool empty() const {
    return children.empty() && !star && here.empty() && rest.empty();
  }
};

topic_trie::topic_trie() : root_(std::make_unique<node>()) {}
topic_trie::~topic_trie() = default;
topic_trie::topic_trie(topic_trie&&) noexcept = default;
topic_trie& topic_trie::operator=(topic_trie&&) noexcept = default;

topic_trie::topic_trie(const topic_trie& other)
  : root_(other.root_->clone()), size_(other.size_) {}

topic_trie& topic_trie::operator=(const topic_trie& other) {
  if (this != &other) {
    root_ = other.root_->clone();
    size_ = other.size_;
  }
  return *this;
}

void topic_trie::insert(std::string_view pattern, value_type value) {
  node* n = root_.get();
  bool tail = false;
  for_each_token(pattern, [&](std::string_view token) {
    if (token == ">") {
      tail = true;
      return;
    }
    std::unique_ptr<node>* slot;
    if (token == "*") {
      slot = &n->star;
    } else {
      auto i = n->children.find(token);
      if (i == n->children.end())
        i = n->children.emplace(std::string{token}, nullptr).first;
      slot = &i->second;
    }
    if (!*slot)
      *slot = std::make_unique<node>();
    n = slot->get();
  });
  (tail ? n->rest : n->here).push_back(value);
  ++size_;
}

namespace {

template <class Node>
bool erase_at(Node* n, std::vector<std::string_view>& tokens, size_t i,
              uint32_t value) {
  if (i == tokens.size() || tokens[i] == ">") {
    auto& list = i == tokens.size() ? n->here : n->rest;
    auto it = std::find(list.begin(), list.end(), value);
    if (it == list.end())
      return false;
    list.erase(it);
    return true;
  }
  if (tokens[i] == "*") {
    if (!n->star || !erase_at(n->star.get(), tokens, i + 1, value))
      return false;
    if (n->star->empty())
      n->star.reset();
    return true;
  }
  auto c = n->children.find(tokens[i]);
  if (c == n->children.end() || !erase_at(c->second.get(), tokens, i + 1, value))
    return false;
  if (c->second->empty())
    n->children.erase(c);
  return true;
}

template <class Node>
void match_at(const Node* n, const std::vector<std::string_view>& tokens,
              size_t i, std::vector<uint32_t>& out) {
  if (i == tokens.size()) {
    out.insert(out.end(), n->here.begin(), n->here.end());
    return;
  }
  // '>' here takes the remaining tokens (there is at least one).
  out.insert(out.end(), n->rest.begin(), n->rest.end());
  if (auto c = n->children.find(tokens[i]); c != n->children.end())
    match_at(c->second.get(), tokens, i + 1, out);
  if (n->star)
    match_at(n->star.get(), tokens, i + 1, out);
}

// Tokens of a topic; topics are short, so a small reusable buffer avoids
// allocating on every match.
std::vector<std::string_view>& split(std::string_view topic) {
  thread_local std::vector<std::string_view> tokens;
  tokens.clear();
  for_each_token(topic, [](std::string_view t) { tokens.push_back(t); });
  return tokens;
}

} // namespace

bool topic_trie::erase(std::string_view pattern, value_type value) {
  std::vector<std::string_view> tokens;
  for_each_token(pattern, [&](std::string_view t) { tokens.push_back(t); });
  if (!erase_at(root_.get(), tokens, 0, value))
    return false;
  --size_;
  return true;
}

void topic_trie::match(std::string_view topic,
                       std::vector<value_type>& out) const {
  match_at(root_.get(), split(topic), 0, out);
}

} // namespace mesh
