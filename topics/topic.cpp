#include "topics/topic.hpp"

#include <cctype>
#include <vector>

namespace mesh {

const char* to_string(message_category x) {
  switch (x) {
    case message_category::event:
      return "event";
    case message_category::command:
      return "command";
    case message_category::intent:
      return "intent";
  }
  return "event";
}

std::optional<message_category> parse_message_category(std::string_view x) {
  if (x == "event")
    return message_category::event;
  if (x == "command")
    return message_category::command;
  if (x == "intent")
    return message_category::intent;
  return std::nullopt;
}

namespace {

// Checks what topics and patterns share; `what` names the thing.
std::string check_tokens(std::string_view text, const char* what,
                         bool wildcards) {
  if (text.empty())
    return std::string{what} + " is empty";
  if (text.front() == '$')
    return std::string{what} + " '" + std::string{text}
           + "' is reserved (topics starting with '$' belong to the system)";
  std::string error;
  size_t index = 0, count = 0;
  for_each_token(text, [&](std::string_view) { ++count; });
  for_each_token(text, [&](std::string_view token) {
    auto pos = index++;
    if (!error.empty())
      return;
    if (token.empty()) {
      error = std::string{what} + " '" + std::string{text}
              + "' has an empty token";
      return;
    }
    for (char c : token)
      if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
        error = std::string{what} + " '" + std::string{text}
                + "' contains white space";
        return;
      }
    bool has_wild = token.find_first_of("*>") != std::string_view::npos;
    if (!has_wild)
      return;
    if (!wildcards) {
      error = std::string{what} + " '" + std::string{text}
              + "' contains a wildcard ('*' or '>'); only routes may";
      return;
    }
    if (token == "*")
      return;
    if (token == ">") {
      if (pos + 1 != count)
        error = std::string{what} + " '" + std::string{text}
                + "': '>' may only be the last token";
      return;
    }
    error = std::string{what} + " '" + std::string{text}
            + "': a wildcard must be a whole token ('*' or '>'), not '"
            + std::string{token} + "'";
  });
  return error;
}

} // namespace

std::string check_topic_pattern(std::string_view pattern) {
  return check_tokens(pattern, "pattern", true);
}

std::string check_topic(std::string_view topic) {
  return check_tokens(topic, "topic", false);
}

bool topic_matches(std::string_view pattern, std::string_view topic) {
  std::vector<std::string_view> p, t;
  for_each_token(pattern, [&](std::string_view x) { p.push_back(x); });
  for_each_token(topic, [&](std::string_view x) { t.push_back(x); });
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">")
      return t.size() > i; // one or more tokens left
    if (i >= t.size())
      return false;
    if (p[i] != "*" && p[i] != t[i])
      return false;
  }
  return p.size() == t.size();
}

} // namespace mesh
