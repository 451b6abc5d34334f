#include "telemetry/redact.hpp"

#include <regex>
#include <vector>

namespace mesh {

namespace {

struct rule {
  std::regex pattern;
  const char* replacement;
};

const std::vector<rule>& rules() {
  using std::regex;
  constexpr auto flags = regex::ECMAScript | regex::icase | regex::optimize;
  static const std::vector<rule> instance = {
    // PEM blocks, possibly spanning lines.
    {regex(R"(-----BEGIN [A-Z ]*-----[\s\S]*?(-----END [A-Z ]*-----|$))", flags),
     "[redacted]"},
    // URLs and connection strings: anything scheme://... or jdbc:...
    {regex(R"(\b[a-z][a-z0-9+.\-]*://[^\s'"<>]+)", flags), "[redacted-url]"},
    {regex(R"(\bjdbc:[^\s'"<>]+)", flags), "[redacted-url]"},
    // Authorization header values.
    {regex(R"(\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+)", flags), "$1 [redacted]"},
    // key=value, key: value, "key": "value" for sensitive keys (the key may
    // carry a prefix or suffix, e.g. db_password, secretKey, X-Auth-Token).
    {regex(R"re(([A-Za-z0-9_\-]*(pass(word|wd)?|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|auth(orization)?|connection[_\-]?string|conn[_\-]?str|dsn)[A-Za-z0-9_\-]*"?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&]+))re",
           flags),
     "$1[redacted]"},
    // JSON web tokens.
    {regex(R"(\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)", flags),
     "[redacted]"},
    // AWS access key ids.
    {regex(R"(\b(AKIA|ASIA)[0-9A-Z]{16}\b)"), "[redacted]"},
    // Long key-like runs: 32+ characters of base64 or hex with a digit.
    {regex(R"(\b(?=[A-Za-z0-9+/_\-]*[0-9])[A-Za-z0-9+/_\-]{32,}={0,2})"),
     "[redacted]"},
  };
  return instance;
}

} // namespace

std::string redact_secrets(std::string_view text, size_t max_length) {
  // Bound the input first: regexes over megabytes of text would be slow.
  std::string result{text.substr(0, std::min(text.size(), max_length * 4))};
  for (const auto& r : rules())
    result = std::regex_replace(result, r.pattern, r.replacement);
  if (result.size() > max_length) {
    result.resize(max_length);
    result += "...";
  }
  return result;
}

} // namespace mesh
