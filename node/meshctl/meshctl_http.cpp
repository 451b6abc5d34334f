#include "node/meshctl/meshctl_http.hpp"

#include <cctype>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "node/meshctl/meshctl_options.hpp"
#include "protocol/address.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"

namespace mesh::meshctl {

namespace {

using clock_type = std::chrono::steady_clock;

// A read that fails this close to the read timeout is the timeout (cpp-
// httplib 0.11 reports both as Error::Read); earlier, the other side
// closed or answered something that is not HTTP.
constexpr auto timeout_slack = std::chrono::milliseconds{50};

// Letters, digits, '.', '-', '_' (names and IPv4); ':' and hex inside [].
bool plausible_host(const std::string& h, bool bracketed) {
  if (h.empty())
    return false;
  for (char c : h) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == '_'
          || (bracketed && c == ':')))
      return false;
  }
  return true;
}

bool is_envelope(const nlohmann::json& doc) {
  if (!doc.is_object())
    return false;
  auto ok = doc.find("ok");
  auto status = doc.find("status");
  return ok != doc.end() && ok->is_boolean() && status != doc.end()
         && status->is_string();
}

// True when whatever listens at `node` sends bytes before it is asked
// anything: CAF's ports (the node's peer port, its console) open with a
// handshake, an HTTP server never speaks first.
bool speaks_first(const node_address& node, std::chrono::milliseconds wait) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto port = std::to_string(node.port);
  if (::getaddrinfo(node.host.c_str(), port.c_str(), &hints, &found) != 0)
    return false;
  bool spoke = false;
  int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    pollfd p{fd, POLLIN, 0};
    char byte = 0;
    spoke = ::poll(&p, 1, static_cast<int>(wait.count())) == 1
            && ::recv(fd, &byte, 1, 0) == 1;
  }
  if (fd >= 0)
    ::close(fd);
  ::freeaddrinfo(found);
  return spoke;
}

// The text for a connection that ended without an HTTP answer.
std::string no_answer(const node_address& node) {
  if (speaks_first(node, std::chrono::milliseconds{500}))
    return node.text
           + " did not answer HTTP: is it the node's peer port? meshctl "
             "needs the node's HTTP address (the ready line's \"http\")";
  return "the connection to " + node.text
         + " closed before an answer (is the node shutting down?)";
}

} // namespace

std::optional<node_address> parse_node_address(const std::string& text) {
  auto rest = text;
  if (rest.rfind("http://", 0) == 0)
    rest = rest.substr(7);
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  std::string error;
  auto hp = parse_host_port(rest, error);
  bool bracketed = !rest.empty() && rest.front() == '[';
  if (!hp || hp->port == 0 || !plausible_host(hp->host, bracketed))
    return std::nullopt;
  return node_address{hp->host, hp->port, text};
}

call_outcome call_node(const node_address& node, const std::string& token,
                       const nlohmann::json& command,
                       std::chrono::milliseconds timeout) {
  auto name = command.value("cmd", "");
  auto body = command;
  body.erase("cmd"); // the path names the command
  httplib::Client client{node.host, node.port};
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_keep_alive(false);
  httplib::Headers headers;
  if (!token.empty())
    headers.emplace("Authorization", "Bearer " + token);
  auto started = clock_type::now();
  auto res = client.Post(("/v1/" + name).c_str(), headers, dump_json(body),
                         "application/json");
  auto waited = clock_type::now() - started;
  if (!res) {
    auto err = res.error();
    auto ms = std::to_string(timeout.count());
    if (err == httplib::Error::Read && waited + timeout_slack >= timeout)
      return {envelope_error(status_code::deadline_exceeded,
                              "no answer from " + node.text + " within " + ms
                                  + " ms (--timeout-ms)"),
              exit_code::timeout};
    std::string text;
    switch (err) {
      case httplib::Error::Connection:
        text = "cannot connect to " + node.text
               + ": is meshnode running there, and is it the node's HTTP "
                 "address (the ready line's \"http\", default "
               + default_node + ")?";
        break;
      case httplib::Error::ConnectionTimeout:
        text = "cannot connect to " + node.text + " within " + ms
               + " ms (--timeout-ms)";
        break;
      case httplib::Error::Read:
      case httplib::Error::Write:
        text = no_answer(node);
        break;
      default:
        text
            = "request to " + node.text + " failed: " + httplib::to_string(err);
    }
    auto code = status_code::unavailable;
    return {envelope_error(code,
                            std::move(text)),
            exit_code::unreachable};
  }
  // The node checks depth on the way in; this bound only keeps meshctl safe.
  auto doc = parse_json(res->body, 1024);
  if (!doc || !is_envelope(*doc)) {
    auto code = status_code::unavailable;
    return {envelope_error(code,
                            node.text + " answered HTTP "
                                + std::to_string(res->status)
                                + " without a Mesh reply: is it a Mesh "
                                  "node's HTTP address?"),
            exit_code::unreachable};
  }
  call_outcome out{std::move(*doc), exit_code::ok};
  if (!out.envelope["ok"].get<bool>())
    out.exit_code
        = res->status == 401 || out.envelope.value("unauthenticated", false)
              ? exit_code::unauthenticated
              : exit_code::failed;
  return out;
}

} // namespace mesh::meshctl
