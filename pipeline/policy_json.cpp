// parse_policies: the config's `policies` list into a policy_set. Every
// problem is reported (one line each, at the JSON pointer of the offending
// value) so a user fixes a file in one pass instead of one error per run.

#include <algorithm>
#include <initializer_list>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/policy.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/text.hpp"

namespace mesh {

namespace {

using nlohmann::json;

// Durations are capped so that adding them to a steady_clock time point in
// nanoseconds (and multiplying ejection times) can never overflow.
constexpr int64_t max_duration_ms = std::numeric_limits<int32_t>::max();
constexpr int64_t max_u32 = std::numeric_limits<uint32_t>::max();
constexpr double no_limit = std::numeric_limits<double>::infinity();

bool is_name(std::string_view x, size_t max_len) {
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  };
  return !x.empty() && x.size() <= max_len
         && std::all_of(x.begin(), x.end(), name_char);
}

bool is_match(std::string_view x) {
  for (int i = 0; i < 3; ++i) {
    auto slash = x.find('/');
    // The last segment must end the string, the others at a slash.
    if ((i < 2) == (slash == std::string_view::npos))
      return false;
    auto seg = x.substr(0, slash);
    if (seg != "*" && !is_name(seg, x.size()))
      return false;
    x.remove_prefix(i < 2 ? slash + 1 : x.size());
  }
  return true;
}

/// A value as JSON text for a message (never throws on bad UTF-8).
std::string text(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string range_text(double lo, double hi) {
  std::ostringstream os;
  // Enough digits to print every integer bound exactly.
  os << std::setprecision(15);
  if (hi == no_limit)
    os << ">= " << lo;
  else
    os << "from " << lo << " to " << hi;
  return os.str();
}

/// Reads one policy list, collecting every problem into `errors`.
class policy_parser {
public:
  policy_parser(const std::string& file, std::vector<std::string>& errors)
    : file_(file), errors_(errors) {
  }

  size_t problems() const {
    return problems_;
  }

  void error(const std::string& pointer, const std::string& message) {
    ++problems_;
    errors_.push_back(file_ + ": " + pointer + ": " + message);
  }

  /// Checks that `j` is an object with only `valid` keys.
  bool object(const json& j, const std::string& ptr,
              std::initializer_list<const char*> valid) {
    if (!j.is_object()) {
      error(ptr, "must be an object");
      return false;
    }
    std::vector<std::string> names(valid.begin(), valid.end());
    for (auto i = j.begin(); i != j.end(); ++i)
      if (std::find(names.begin(), names.end(), i.key()) == names.end())
        error(ptr + "/" + json_pointer_token(i.key()),
              "unknown key " + text(i.key()) + " (valid keys: " + join(names)
                + ")");
    return true;
  }

  /// A numeric member in [lo, hi] (an integer when `integral`); nullopt
  /// when absent or wrong (with an error for the latter). Every bound fits
  /// a double exactly.
  std::optional<double> numeric(const json& obj, const char* key,
                                const std::string& ptr, double lo, double hi,
                                bool integral) {
    auto i = obj.find(key);
    if (i == obj.end())
      return std::nullopt;
    auto what = std::string{integral ? "an integer " : "a number "}
                + range_text(lo, hi);
    if (integral ? !i->is_number_integer() : !i->is_number()) {
      error(ptr + "/" + key, "must be " + what);
      return std::nullopt;
    }
    auto x = i->get<double>();
    if (!(x >= lo && x <= hi)) {
      error(ptr + "/" + key, "must be " + what + ", got " + text(*i));
      return std::nullopt;
    }
    return x;
  }

  std::optional<int64_t> integer(const json& obj, const char* key,
                                 const std::string& ptr, int64_t lo,
                                 int64_t hi) {
    auto x = numeric(obj, key, ptr, static_cast<double>(lo),
                     static_cast<double>(hi), true);
    return x ? std::optional<int64_t>{static_cast<int64_t>(*x)} : std::nullopt;
  }

  std::optional<std::chrono::milliseconds>
  duration(const json& obj, const char* key, const std::string& ptr,
           int64_t lo) {
    if (auto x = integer(obj, key, ptr, lo, max_duration_ms))
      return std::chrono::milliseconds{*x};
    return std::nullopt;
  }

  std::optional<double> number(const json& obj, const char* key,
                               const std::string& ptr, double lo, double hi) {
    return numeric(obj, key, ptr, lo, hi, false);
  }

  std::optional<bool> boolean(const json& obj, const char* key,
                              const std::string& ptr) {
    auto i = obj.find(key);
    if (i == obj.end())
      return std::nullopt;
    if (!i->is_boolean()) {
      error(ptr + "/" + key, "must be true or false");
      return std::nullopt;
    }
    return i->get<bool>();
  }

  std::optional<policy> parse(const json& j, const std::string& ptr);

private:
  void parse_retry(const json& j, const std::string& ptr,
                   retry_settings& r) {
    if (!object(j, ptr,
                {"max_attempts", "per_try_timeout_ms", "initial_ms",
                 "multiplier", "max_ms", "jitter", "retry_on"}))
      return;
    if (auto x = integer(j, "max_attempts", ptr, 1, 10))
      r.max_attempts = static_cast<uint32_t>(*x);
    if (auto x = duration(j, "per_try_timeout_ms", ptr, 0))
      r.per_try_timeout = *x;
    auto initial = duration(j, "initial_ms", ptr, 0);
    if (initial)
      r.initial = *initial;
    if (auto x = number(j, "multiplier", ptr, 1, no_limit))
      r.multiplier = *x;
    auto max = duration(j, "max_ms", ptr, 0);
    if (max)
      r.max = *max;
    if (auto x = number(j, "jitter", ptr, 0, 1))
      r.jitter = *x;
    if (auto i = j.find("retry_on"); i != j.end())
      parse_retry_on(*i, ptr + "/retry_on", r.retry_on);
    // Only compare values that parsed (or are defaults): a broken one already
    // has its own error.
    bool initial_ok = initial || !j.contains("initial_ms");
    bool max_ok = max || !j.contains("max_ms");
    if (initial_ok && max_ok && r.initial > r.max)
      error(ptr + (j.contains("initial_ms") ? "/initial_ms" : "/max_ms"),
            "initial_ms (" + std::to_string(r.initial.count())
              + ") must not exceed max_ms (" + std::to_string(r.max.count())
              + ")");
  }

  void parse_retry_on(const json& j, const std::string& ptr,
                      std::vector<status_code>& out) {
    // "ok" is no failure: retrying on it would resend answered requests.
    std::vector<std::string> valid;
    for (auto code : all_status_codes)
      if (code != status_code::ok)
        valid.emplace_back(to_string(code));
    if (!j.is_array()) {
      error(ptr, "must be an array of status names (" + join(valid) + ")");
      return;
    }
    std::vector<status_code> result;
    bool ok = true;
    for (size_t i = 0; i < j.size(); ++i) {
      auto where = ptr + "/" + std::to_string(i);
      std::optional<status_code> code;
      if (j[i].is_string())
        code = status_code_from_string(j[i].get<std::string>());
      if (!code || *code == status_code::ok) {
        error(where, "unknown status " + text(j[i]) + " (valid: "
                       + join(valid) + ")");
        ok = false;
        continue;
      }
      result.push_back(*code);
    }
    if (ok)
      out = std::move(result);
  }

  void parse_budget(const json& j, const std::string& ptr,
                    budget_settings& b) {
    if (!object(j, ptr, {"percent", "min_concurrency"}))
      return;
    if (auto x = number(j, "percent", ptr, 0, 100))
      b.percent = *x;
    if (auto x = integer(j, "min_concurrency", ptr, 0, max_u32))
      b.min_concurrency = static_cast<uint32_t>(*x);
  }

  void parse_outlier(const json& j, const std::string& ptr,
                     outlier_settings& o) {
    if (!object(j, ptr,
                {"consecutive_failures", "interval_ms", "base_ejection_ms",
                 "max_ejection_ms", "max_ejected_percent"}))
      return;
    if (auto x = integer(j, "consecutive_failures", ptr, 0, max_u32))
      o.consecutive_failures = static_cast<uint32_t>(*x);
    if (auto x = duration(j, "interval_ms", ptr, 1))
      o.interval = *x;
    auto base = duration(j, "base_ejection_ms", ptr, 1);
    if (base)
      o.base_ejection = *base;
    auto max = duration(j, "max_ejection_ms", ptr, 1);
    if (max)
      o.max_ejection = *max;
    if (auto x = integer(j, "max_ejected_percent", ptr, 0, 100))
      o.max_ejected_percent = static_cast<uint32_t>(*x);
    bool base_ok = base || !j.contains("base_ejection_ms");
    bool max_ok = max || !j.contains("max_ejection_ms");
    if (base_ok && max_ok && o.base_ejection > o.max_ejection)
      error(ptr
              + (j.contains("base_ejection_ms") ? "/base_ejection_ms"
                                                : "/max_ejection_ms"),
            "base_ejection_ms (" + std::to_string(o.base_ejection.count())
              + ") must not exceed max_ejection_ms ("
              + std::to_string(o.max_ejection.count()) + ")");
  }

  void parse_hedging(const json& j, const std::string& ptr,
                     hedging_settings& h) {
    if (!object(j, ptr, {"delay_ms", "adaptive"}))
      return;
    // The object's presence is what turns hedging on.
    h.enabled = true;
    auto delay = duration(j, "delay_ms", ptr, 0);
    if (delay)
      h.delay = *delay;
    auto adaptive = boolean(j, "adaptive", ptr);
    if (adaptive)
      h.adaptive = *adaptive;
    bool delay_ok = delay || !j.contains("delay_ms");
    bool adaptive_ok = adaptive || !j.contains("adaptive");
    if (delay_ok && adaptive_ok && !h.adaptive && h.delay.count() == 0)
      error(ptr + (j.contains("delay_ms") ? "/delay_ms" : ""),
            "delay_ms must be greater than 0 unless adaptive is true");
  }

  void parse_hooks(const json& j, const std::string& ptr,
                   std::vector<std::string>& out) {
    if (!j.is_array()) {
      error(ptr, "must be an array of hook names");
      return;
    }
    std::vector<std::string> result;
    for (size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string() || !is_name(j[i].get<std::string>(), 64)) {
        error(ptr + "/" + std::to_string(i),
              "must be a hook name (1 to 64 letters, digits, '_', '.' or '-')");
        continue;
      }
      result.push_back(j[i].get<std::string>());
    }
    out = std::move(result);
  }

  void parse_rate_limit(const json& j, const std::string& ptr,
                        rate_limit_settings& r) {
    if (!object(j, ptr, {"per_second", "burst"}))
      return;
    if (auto x = number(j, "per_second", ptr, 0, no_limit))
      r.per_second = *x;
    if (auto x = integer(j, "burst", ptr, 0, max_u32))
      r.burst = static_cast<uint32_t>(*x);
  }

  const std::string& file_;
  std::vector<std::string>& errors_;
  size_t problems_ = 0;
};

std::optional<policy> policy_parser::parse(const json& j,
                                           const std::string& ptr) {
  if (!object(j, ptr,
              {"name", "match", "timeout_ms", "retry", "retry_budget",
               "outlier", "hedging", "hooks", "rate_limit"}))
    return std::nullopt;
  auto before = problems_;
  policy result;
  if (auto i = j.find("name"); i == j.end())
    error(ptr, "missing required key \"name\"");
  else if (!i->is_string() || i->get_ref<const std::string&>().empty())
    error(ptr + "/name", "must be a non-empty string");
  else
    result.name = i->get<std::string>();
  if (auto i = j.find("match"); i != j.end()) {
    if (!i->is_string() || !is_match(i->get<std::string>()))
      error(ptr + "/match",
            "must be \"namespace/Service/Method\": three non-empty segments, "
            "each * or a name of letters, digits, '_', '.' and '-'");
    else
      result.match = i->get<std::string>();
  }
  if (auto x = duration(j, "timeout_ms", ptr, 1))
    result.timeout = *x;
  if (auto i = j.find("retry"); i != j.end())
    parse_retry(*i, ptr + "/retry", result.retry);
  if (auto i = j.find("retry_budget"); i != j.end())
    parse_budget(*i, ptr + "/retry_budget", result.retry_budget);
  if (auto i = j.find("outlier"); i != j.end())
    parse_outlier(*i, ptr + "/outlier", result.outlier);
  if (auto i = j.find("hedging"); i != j.end())
    parse_hedging(*i, ptr + "/hedging", result.hedging);
  if (auto i = j.find("hooks"); i != j.end())
    parse_hooks(*i, ptr + "/hooks", result.hooks);
  if (auto i = j.find("rate_limit"); i != j.end())
    parse_rate_limit(*i, ptr + "/rate_limit", result.rate_limit);
  if (problems_ != before)
    return std::nullopt;
  return result;
}

} // namespace

bool parse_policies(const nlohmann::json& list, const std::string& file,
                    policy_set& out, std::vector<std::string>& errors) {
  policy_parser parser{file, errors};
  if (!list.is_array()) {
    parser.error("/policies", "must be an array of policies");
    return false;
  }
  std::vector<policy> result;
  std::map<std::string, size_t> seen; // name -> index of its first use
  for (size_t i = 0; i < list.size(); ++i) {
    auto ptr = "/policies/" + std::to_string(i);
    // A policy with other problems still claims its name, so a duplicate is
    // reported even when the first one is broken.
    if (list[i].is_object())
      if (auto n = list[i].find("name"); n != list[i].end() && n->is_string()
                                         && !n->get<std::string>().empty()) {
        auto [pos, added] = seen.emplace(n->get<std::string>(), i);
        if (!added)
          parser.error(ptr + "/name", "duplicate policy name " + text(*n)
                                        + " (also /policies/"
                                        + std::to_string(pos->second) + ")");
      }
    if (auto p = parser.parse(list[i], ptr))
      result.push_back(std::move(*p));
  }
  if (parser.problems() > 0)
    return false;
  out = policy_set{std::move(result)};
  return true;
}

} // namespace mesh
