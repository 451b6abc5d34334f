// Fuzz target: topic names and patterns (and the trie that matches them),
// service paths ("namespace/Service/Method"), trace ids, HTTP paths as
// the HTTP API's request counts label them, Content-Encoding headers,
// what the gRPC door's token check reads (a call's path and its
// authorization header), and node addresses (host:port).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/call_support.hpp"
#include "http/http_counter.hpp"
#include "http/http_guard.hpp"
#include "protocol/address.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/service_key.hpp"
#include "topics/topic.hpp"
#include "topics/topic_trie.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  (void) mesh::parse_service_path(text);
  // A trace id the check passes is at most 128 bytes of A-Za-z0-9._:- (it
  // goes into logs, HTTP headers and gRPC metadata as it is; an empty one
  // passes: the node makes one up).
  if (mesh::check_trace_id(text).empty()) {
    if (text.size() > 128)
      __builtin_trap();
    for (unsigned char c : text)
      if (!std::isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
        __builtin_trap();
  }
  // An HTTP path gets a route from a fixed set: "other", a pattern, or the
  // path itself when it is a route (a made-up path never becomes a label).
  static const mesh::http_counter counter{{"status", "dispatch"}};
  for (const char* verb : {"GET", "POST"}) {
    auto route = counter.route_of(verb, std::string{text});
    if (route != "other" && route != text
        && route.find('{') == std::string::npos)
      __builtin_trap();
    if (route.size() > 24)
      __builtin_trap();
  }
  // A Content-Encoding passes only as "identity" (any case, blanks around)
  // or none; the refusal never echoes the header.
  auto encoding = mesh::check_content_encoding(std::string{text});
  if (encoding.http_status == 0) {
    std::string word;
    for (unsigned char c : text)
      if (c != ' ' && c != '\t')
        word += static_cast<char>(std::tolower(c));
    if (!word.empty() && word != "identity")
      __builtin_trap();
  } else if (encoding.http_status != 415 || encoding.reason.size() > 100) {
    __builtin_trap();
  }
  // A gRPC path names a door method only as "/Service/Method" exactly; an
  // authorization header passes only as "Bearer <token>" (the scheme in
  // any case), and a refusal never echoes it.
  if (auto method = mesh::grpc_door::door_method_of(text)) {
    if (text.size() < 4 || text[0] != '/' || text.find('/', 1) == text.npos
        || static_cast<size_t>(*method) >= 12)
      __builtin_trap();
  }
  const std::string token = "s3cret-token";
  auto refusal = mesh::grpc_door::token_refusal(text, token);
  bool bearer = text.size() == 7 + token.size() && text.substr(7) == token;
  for (size_t i = 0; bearer && i < 7; ++i)
    bearer = std::tolower(static_cast<unsigned char>(text[i]))
             == "bearer "[i];
  if (bearer == refusal.has_value())
    __builtin_trap();
  if (refusal && refusal->size() > 100)
    __builtin_trap();
  if (mesh::grpc_door::token_refusal(text, "")) // no token: none needed
    __builtin_trap();
  // A node address (config, flags, member lists, the gRPC door's Connect):
  // what parses prints back as text that parses to the same, and a
  // refusal says why.
  std::string address_error;
  if (auto hp = mesh::parse_host_port(text, address_error)) {
    std::string again_error;
    auto again = mesh::parse_host_port(mesh::to_string(*hp), again_error);
    if (!again || again->host != hp->host || again->port != hp->port)
      __builtin_trap();
  } else if (address_error.empty()) {
    __builtin_trap();
  }
  // "pattern\ntopic": a valid pattern goes into a trie, a valid topic is
  // matched against it and against topic_matches: both must agree.
  auto nl = text.find('\n');
  auto pattern = text.substr(0, nl);
  auto topic = nl == std::string_view::npos ? text : text.substr(nl + 1);
  bool pattern_ok = mesh::check_topic_pattern(pattern).empty();
  bool topic_ok = mesh::check_topic(topic).empty();
  if (pattern_ok && topic_ok) {
    mesh::topic_trie trie;
    trie.insert(pattern, 7);
    std::vector<mesh::topic_trie::value_type> hits;
    trie.match(topic, hits);
    if (hits.empty() == mesh::topic_matches(pattern, topic))
      __builtin_trap(); // the trie and the reference matcher disagree
  }
  return 0;
}
