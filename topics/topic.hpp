#pragma once

// Topics and topic patterns (seed 004, with NATS semantics).
//
// A topic is dot-separated tokens: "orders.eu.created". A pattern may use
// `*` for exactly one token and `>` (last token only) for one or more
// trailing tokens: "orders.*.created", "orders.>" ("orders.>" does not match
// "orders"). Topics whose first token starts with `$` are reserved for the
// system: they can be neither published nor subscribed to. Empty tokens
// ("a..b", ".a", "a.") and white space are invalid everywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mesh {

/// The kind of message (seed 004's EnumMessageCategory).
enum class message_category : uint8_t { event, command, intent };

const char* to_string(message_category x);

/// Parses "event", "command" or "intent".
std::optional<message_category> parse_message_category(std::string_view x);

/// Why `pattern` cannot be registered, or an empty string.
std::string check_topic_pattern(std::string_view pattern);

/// Why `topic` cannot be published (a wildcard, a reserved `$` topic, an
/// empty token, ...), or an empty string.
std::string check_topic(std::string_view topic);

/// True when the valid `pattern` matches the valid `topic`. The reference
/// semantics; the trie (topic_trie.hpp) must agree with it.
bool topic_matches(std::string_view pattern, std::string_view topic);

/// Calls f(token) for each dot-separated token of `text`, without copying.
template <class F>
void for_each_token(std::string_view text, F&& f) {
  size_t start = 0;
  for (;;) {
    auto dot = text.find('.', start);
    if (dot == std::string_view::npos) {
      f(text.substr(start));
      return;
    }
    f(text.substr(start, dot - start));
    start = dot + 1;
  }
}

} // namespace mesh
