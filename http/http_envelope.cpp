#include "http/http_envelope.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include "actors/workflows/workflow_runner.hpp"
#include "protocol/json/safe_json.hpp"

namespace mesh {

namespace {

using nlohmann::json;

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool all_zero(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '0'; });
}

// The status an envelope names: its "status" if that is one of ours, else
// its "code"; nullopt when it names none.
std::optional<status_code> named_status(const json& doc) {
  if (auto i = doc.find("status"); i != doc.end() && i->is_string())
    if (auto code = status_code_from_string(i->get<std::string>()))
      return code;
  if (auto i = doc.find("code"); i != doc.end() && i->is_number_integer())
    return status_code_from_int(i->get<int>());
  return std::nullopt;
}

bool is_envelope_key(const std::string& key) {
  return key == "ok" || key == "status" || key == "code" || key == "result"
         || key == "error" || key == "unauthenticated";
}

} // namespace

int http_status(status_code code, bool unauthenticated) {
  if (code == status_code::permission_denied && unauthenticated)
    return 401;
  return http_code_of(code);
}

int http_status(const json& envelope) {
  if (!envelope.is_object())
    return 500;
  auto code = named_status(envelope);
  if (!code)
    return 500;
  bool unauthenticated = false;
  if (auto i = envelope.find("unauthenticated");
      i != envelope.end() && i->is_boolean())
    unauthenticated = i->get<bool>();
  return http_status(*code, unauthenticated);
}

json to_envelope(json reply) {
  auto ok_field = reply.is_object() ? reply.find("ok") : reply.end();
  if (!reply.is_object() || ok_field == reply.end() || !ok_field->is_boolean())
    return envelope_ok(std::move(reply));
  bool ok = ok_field->get<bool>();
  auto code = named_status(reply).value_or(ok ? status_code::ok
                                              : status_code::internal);
  // "ok" and the status must agree; a reply that contradicts itself is
  // taken at its "ok" (a failure that names no failing status: internal),
  // so the HTTP status never says the opposite of the body.
  if (ok != (code == status_code::ok))
    code = ok ? status_code::ok : status_code::internal;
  json out{{"ok", ok},
           {"status", to_string(code)},
           {"code", static_cast<int>(code)}};
  json extras = json::object();
  for (auto& [key, value] : reply.items())
    if (!is_envelope_key(key))
      extras[key] = std::move(value);
  if (auto i = reply.find("result"); i != reply.end()) {
    if (extras.empty() || i->is_object()) {
      for (auto& [key, value] : extras.items())
        if (!i->contains(key))
          (*i)[key] = std::move(value);
      out["result"] = std::move(*i);
    } else {
      extras["result"] = std::move(*i);
      out["result"] = std::move(extras);
    }
  } else if (!extras.empty()) {
    out["result"] = std::move(extras);
  } else if (ok) {
    out["result"] = nullptr;
  }
  if (!ok) {
    auto i = reply.find("error");
    out["error"] = i != reply.end() && i->is_string()
                       ? i->get<std::string>()
                       : "the node answered " + std::string{to_string(code)}
                             + " without saying why";
  }
  if (auto i = reply.find("unauthenticated");
      i != reply.end() && i->is_boolean() && i->get<bool>())
    out["unauthenticated"] = true;
  return out;
}

std::optional<trace_context> parse_traceparent(std::string_view header) {
  // Surrounding blanks are allowed in an HTTP header value, nothing else.
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t'))
    header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t'))
    header.remove_suffix(1);
  constexpr size_t length = 55; // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (header.size() < length)
    return std::nullopt;
  auto version = header.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff")
    return std::nullopt;
  // Version 00 is exactly 55 characters; later ones may add fields.
  if (version == "00" ? header.size() != length
                      : header.size() > length && header[length] != '-')
    return std::nullopt;
  if (header[2] != '-' || header[35] != '-' || header[52] != '-')
    return std::nullopt;
  auto trace = header.substr(3, 32);
  auto parent = header.substr(36, 16);
  auto flags = header.substr(53, 2);
  if (!is_trace_id(trace) || !is_lower_hex(parent) || all_zero(parent)
      || !is_lower_hex(flags))
    return std::nullopt;
  trace_context out;
  out.trace_id = std::string{trace};
  out.parent_id = std::string{parent};
  out.flags = static_cast<uint8_t>(std::stoi(std::string{flags}, nullptr, 16));
  return out;
}

bool is_trace_id(std::string_view text) {
  return text.size() == 32 && is_lower_hex(text) && !all_zero(text);
}

std::string make_traceparent(std::string_view trace_id,
                             std::string_view span_id) {
  return "00-" + std::string{trace_id} + "-" + std::string{span_id} + "-01";
}

bool adopt_trace(json& args, const trace_context& trace) {
  if (!args.is_object() || args.contains("trace_id") || args.contains("trace"))
    return false;
  args["trace_id"] = trace.trace_id;
  args["trace"] = trace.trace_id;
  return true;
}

std::optional<std::string> reply_trace_id(const json& envelope) {
  if (!envelope.is_object())
    return std::nullopt;
  auto result = envelope.find("result");
  if (result == envelope.end() || !result->is_object())
    return std::nullopt;
  auto id = result->find("trace_id");
  if (id == result->end() || !id->is_string()
      || !is_trace_id(id->get_ref<const std::string&>()))
    return std::nullopt;
  return id->get<std::string>();
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size())
    return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return std::nullopt;
  auto rest = authorization.substr(scheme.size());
  if (rest.front() != ' ' && rest.front() != '\t')
    return std::nullopt;
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
    rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t'))
    rest.remove_suffix(1);
  return std::string{rest};
}

json query_args(const std::multimap<std::string, std::string>& params) {
  auto value_of = [](const std::string& text) {
    auto parsed = parse_json(text);
    return parsed ? std::move(*parsed) : json(text);
  };
  json args = json::object();
  for (auto i = params.begin(); i != params.end();) {
    // A multimap keeps equal keys in the order they were inserted: the
    // order of the query string.
    auto [first, last] = params.equal_range(i->first);
    if (std::next(first) == last) {
      args[first->first] = value_of(first->second);
    } else {
      json list = json::array();
      for (auto j = first; j != last; ++j)
        list.push_back(value_of(j->second));
      args[first->first] = std::move(list);
    }
    i = last;
  }
  return args;
}

std::chrono::milliseconds
reply_timeout(const json& command, std::chrono::milliseconds max_deadline) {
  using std::chrono::milliseconds;
  // What the console itself adds to a run's wait before giving up, plus
  // time for the answer to travel back to us.
  constexpr milliseconds margin{5000};
  auto timeout = max_deadline + margin;
  if (!command.is_object())
    return timeout;
  // Arguments of the wrong type are the console's to refuse: read them
  // without throwing.
  auto text = [&](const char* key) {
    auto i = command.find(key);
    return i != command.end() && i->is_string() ? i->get<std::string>()
                                                : std::string{};
  };
  auto async = command.find("async");
  bool is_async
      = async != command.end() && async->is_boolean() && async->get<bool>();
  bool waits_for_run = (text("cmd") == "workflow_run" && !is_async)
                       || (text("cmd") == "run" && text("action") == "cancel");
  if (!waits_for_run)
    return timeout;
  int64_t wait = run_wait::default_ms;
  if (auto i = command.find("wait_ms");
      i != command.end() && i->is_number_integer())
    wait = std::clamp<int64_t>(i->get<int64_t>(), 1, run_wait::max_ms);
  auto run = milliseconds{wait + run_wait::console_margin_ms} + margin;
  return std::max(timeout, run);
}

size_t max_body_bytes(size_t max_payload_bytes) {
  return 2 * max_payload_bytes + 64 * 1024;
}

} // namespace mesh
