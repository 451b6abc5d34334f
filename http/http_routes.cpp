// The routes of the HTTP API (http_server.hpp has the list): each turns a
// request into a console command (the probes, /metrics and the dashboard
// page: probe_routes.cpp); the handlers of what httplib refuses itself.
// Every handler answers with an envelope; nothing they throw leaves them
// (the exception handler answers 500).

#include "http/http_routes.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "http/bounded_server.hpp"
#include "http/http_envelope.hpp"
#include "http/http_guard.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

using nlohmann::json;
using std::chrono::milliseconds;

void send_envelope(httplib::Response& res, const json& envelope) {
  res.status = http_status(envelope);
  res.set_content(dump_json(envelope), "application/json");
  auto i = envelope.find("unauthenticated");
  if (i != envelope.end() && i->is_boolean() && i->get<bool>())
    res.set_header("WWW-Authenticate", "Bearer realm=\"mesh\"");
}

namespace {

std::string request_token(const httplib::Request& req) {
  return bearer_token(req.get_header_value("Authorization")).value_or("");
}

} // namespace

json ask_console(http_context& ctx, const std::string& token,
                 const json& command, milliseconds timeout) {
  const auto& node = ctx.cfg.node_id;
  auto console = ctx.cfg.console.get();
  if (!console)
    return envelope_error(status_code::unavailable,
                          "node " + node + " has no console running");
  caf::scoped_actor self{ctx.sys};
  json out;
  self->request(console, timeout, atom::console_v, token, dump_json(command))
      .receive(
          [&](std::string& text) {
            // The console's answer nests the payload (max_json_depth) a few
            // levels deep.
            auto parsed = parse_json(text, max_json_depth() + 8);
            if (parsed)
              out = to_envelope(std::move(*parsed));
            else
              out = envelope_error(status_code::internal,
                                   "the console of node " + node
                                       + " answered malformed JSON: "
                                       + error_text(parsed.error()));
          },
          [&](caf::error& err) {
            if (err == caf::sec::request_timeout)
              out = envelope_error(
                  status_code::deadline_exceeded,
                  "the console of node " + node + " did not answer '"
                      + command.value("cmd", std::string{}) + "' within "
                      + std::to_string(timeout.count()) + " ms");
            else
              out = envelope_error(to_status_code(err), "the console of node "
                                                            + node + ": "
                                                            + error_text(err));
          });
  return out;
}

namespace {

/// True when `req` carries the console token (any, with none configured);
/// compared in constant time, as the console does.
bool token_ok(const http_context& ctx, const httplib::Request& req) {
  return token_accepted(ctx.cfg.token, request_token(req));
}

/// Refuses, before httplib reads a body (which may be large, packed or
/// slow, and would hold a request thread while it comes): a compressed
/// body, a body sent with anything but a POST, and /v1/ and /metrics
/// without the node's token (the console checks /v1/ again). The
/// connection is closed after the answer: what is left of the body is not
/// read. True when it refused.
bool refused_before_body(const http_context& ctx, const httplib::Request& req,
                         httplib::Response& res) {
  auto packed
    = check_content_encoding(req.get_header_value("Content-Encoding"));
  auto length = req.get_header_value("Content-Length");
  bool body = req.has_header("Transfer-Encoding")
              || length.find_first_not_of('0') != std::string::npos;
  if (packed.http_status != 0) {
    send_envelope(res, envelope_error(status_code::invalid_argument,
                                      packed.reason));
    res.status = packed.http_status;
  } else if (body && req.method != "POST") {
    send_envelope(res, envelope_error(status_code::invalid_argument,
                                      req.method + " takes no body: "
                                        "arguments go in the query, or "
                                        "POST them as JSON"));
  } else if ((req.path.rfind("/v1/", 0) == 0 || req.path == "/metrics")
             && !token_ok(ctx, req)) {
    auto refusal = envelope_error(status_code::permission_denied,
                                  req.path + " of node " + ctx.cfg.node_id
                                    + " needs a valid token "
                                      "(Authorization: Bearer TOKEN)");
    refusal["unauthenticated"] = true;
    send_envelope(res, refusal);
  } else {
    return false;
  }
  res.set_header("Connection", "close");
  bounded_server::close_after_answer();
  return true;
}

/// The arguments of a request: its query string and, for a POST, its JSON
/// object body (which wins). nullopt, after answering 400, when the body is
/// not a JSON object.
std::optional<json> request_args(const httplib::Request& req,
                                 httplib::Response& res) {
  // From the target, not req.params: httplib also puts a form-encoded body
  // there (curl -d sends one by default).
  httplib::Params query;
  if (auto pos = req.target.find('?'); pos != std::string::npos)
    httplib::detail::parse_query_text(req.target.substr(pos + 1), query);
  auto args = query_args(query);
  if (req.method != "POST"
      || req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return args;
  auto where = "the body of POST " + req.path;
  auto body = parse_json(req.body, max_json_depth() + 2);
  if (!body) {
    send_envelope(res, envelope_error(status_code::invalid_argument,
                                      where + " is not JSON: "
                                          + error_text(body.error())
                                          + "; payloads may nest "
                                          + std::to_string(max_json_depth())
                                          + " levels "
                                            "(limits.max_json_depth)"));
    return std::nullopt;
  }
  if (!body->is_object()) {
    send_envelope(res, envelope_error(status_code::invalid_argument,
                                      where
                                          + " must be a JSON object: the "
                                            "command's arguments"));
    return std::nullopt;
  }
  for (auto& [key, value] : body->items())
    args[key] = std::move(value);
  return args;
}

/// Runs console command `cmd` with `args` and answers with its envelope; a
/// traceparent header gives the command its trace, and an answer with a
/// trace id carries it back in a traceparent header.
void run_command(http_context& ctx, const httplib::Request& req,
                 httplib::Response& res, const std::string& cmd, json args) {
  auto verdict = check_browser_rules(
    {req.method, cmd, req.get_header_value("Host"),
     req.get_header_value("Origin"), req.get_header_value("Content-Type"),
     !ctx.cfg.token.empty()},
    args);
  if (verdict.http_status != 0) {
    send_envelope(res, envelope_error(verdict.http_status == 405
                                        ? status_code::invalid_argument
                                        : status_code::permission_denied,
                                      std::move(verdict.reason)));
    res.status = verdict.http_status;
    if (verdict.http_status == 405)
      res.set_header("Allow", "POST");
    return;
  }
  args["cmd"] = cmd;
  if (auto trace = parse_traceparent(req.get_header_value("traceparent")))
    adopt_trace(args, *trace);
  auto envelope = ask_console(ctx, request_token(req), args,
                              reply_timeout(args, ctx.cfg.max_deadline));
  if (auto id = reply_trace_id(envelope))
    res.set_header("traceparent",
                   make_traceparent(*id, make_trace_id().substr(0, 16)));
  send_envelope(res, envelope);
}

/// A route for a resource alias: command `cmd` with the path's one capture
/// as argument `key` (and `extra` arguments), after the query's.
httplib::Server::Handler alias(http_context& ctx, std::string cmd,
                               std::string key, json extra = json::object()) {
  return [&ctx, cmd, key, extra](const httplib::Request& req,
                                 httplib::Response& res) {
    auto args = request_args(req, res);
    if (!args)
      return;
    (*args)[key] = req.matches[1].str();
    for (auto& [k, v] : extra.items())
      (*args)[k] = v;
    run_command(ctx, req, res, cmd, std::move(*args));
  };
}

void command_routes(httplib::Server& srv, http_context& ctx) {
  auto generic = [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto args = request_args(req, res);
    if (args)
      run_command(ctx, req, res, req.matches[1].str(), std::move(*args));
  };
  // Aliases first: a route matches the whole path, so the generic pattern
  // never takes "/v1/workflows/NAME".
  srv.Get(R"(/v1/workflows/([^/]+))", alias(ctx, "workflow", "name"));
  srv.Get(R"(/v1/runs/([^/]+))", alias(ctx, "run", "id"));
  srv.Get(R"(/v1/jobs/([^/]+))", alias(ctx, "job", "id"));
  srv.Get(R"(/v1/traces/([^/]+))", alias(ctx, "trace", "id"));
  srv.Get(R"(/v1/([A-Za-z0-9_]+))", generic);
  struct post_route {
    std::regex regex;
    httplib::Server::Handler handler;
  };
  auto posts = std::make_shared<std::vector<post_route>>();
  auto post = [&](std::string pattern, httplib::Server::Handler handler) {
    srv.Post(pattern, handler);
    posts->push_back({std::regex{pattern}, std::move(handler)});
  };
  post(R"(/v1/runs/([^/]+)/cancel)",
       alias(ctx, "run", "id", {{"action", "cancel"}}));
  post(R"(/v1/([A-Za-z0-9_]+))", generic);
  // A POST with neither Content-Length nor chunked encoding has no body
  // (RFC 9112; `curl -X POST URL` sends such), but httplib would read until
  // the connection closes and answer 400: route it here, with no body.
  srv.set_pre_routing_handler(
      [posts, &ctx](const httplib::Request& req, httplib::Response& res) {
        if (ctx.cfg.counter)
          ctx.cfg.counter->started(req.method, req.path);
        if (refused_before_body(ctx, req, res))
          return httplib::Server::HandlerResponse::Handled;
        if (req.method != "POST" || req.has_header("Content-Length")
            || req.has_header("Transfer-Encoding"))
          return httplib::Server::HandlerResponse::Unhandled;
        httplib::Request bodiless = req;
        for (const auto& route : *posts)
          if (std::regex_match(bodiless.path, bodiless.matches, route.regex)) {
            route.handler(bodiless, res);
            return httplib::Server::HandlerResponse::Handled;
          }
        send_envelope(res,
                      envelope_error(status_code::not_found,
                                     "no resource at POST " + req.path
                                         + " (commands are at /v1/<command>)"));
        return httplib::Server::HandlerResponse::Handled;
      });
}

} // namespace

void install_routes(httplib::Server& srv, http_context& ctx) {
  command_routes(srv, ctx);
  probe_routes(srv, ctx);
  // Whatever httplib refuses itself (no route, a body over the limit, a
  // malformed request) still answers with an envelope.
  srv.set_error_handler([&ctx](const httplib::Request& req,
                               httplib::Response& res) {
    if (!res.body.empty())
      return; // a route answered already
    auto http = res.status;
    json envelope;
    auto cut = bounded_server::last_refusal(); // the rest is not read
    // No method: the request line did not parse, so what follows on the
    // connection is no request either (it was read as one, and held the
    // connection 12 s).
    if (cut.status != 0 || req.method.empty()) {
      res.set_header("Connection", "close");
      bounded_server::close_after_answer();
    }
    if (cut.status == 413)
      http = 413; // a chunked body: said as for one with a length
    if (cut.status != 0 && cut.status != 413) {
      envelope = envelope_error(status_code::invalid_argument, cut.reason);
      http = cut.status; // 431 or 408
    } else if (http == 404)
      envelope = envelope_error(status_code::not_found,
                                "no resource at " + req.method + " " + req.path
                                    + " (commands are at /v1/<command>)");
    else if (http == 413)
      envelope = envelope_error(
          status_code::invalid_argument,
          "the request body exceeds "
              + std::to_string(max_body_bytes(ctx.cfg.max_payload_bytes))
              + " bytes (twice limits.max_payload_bytes, "
              + std::to_string(ctx.cfg.max_payload_bytes) + ", plus 64 KiB)");
    else if (req.method.empty())
      envelope = envelope_error(status_code::invalid_argument,
                                "the request line is not HTTP/1.1's");
    else
      envelope = envelope_error(http < 500 ? status_code::invalid_argument
                                           : status_code::internal,
                                "HTTP " + std::to_string(http) + " for "
                                    + req.method + " " + req.path);
    send_envelope(res, envelope);
    res.status = http; // 413 stays 413, 405 stays 405
  });
  srv.set_exception_handler([&ctx](const httplib::Request& req,
                                   httplib::Response& res,
                                   std::exception_ptr ep) {
    std::string what = "an unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    ctx.log->error("HTTP {} {} failed: {}", req.method, req.path, what);
    send_envelope(res, envelope_error(status_code::internal,
                                      "node " + ctx.cfg.node_id
                                          + " failed to answer " + req.method
                                          + " " + req.path + ": " + what));
  });
  // Counted just before the answer is written (httplib's logger runs once
  // it is): a client that has read an answer finds it counted.
  srv.set_post_routing_handler(
      [&ctx](const httplib::Request& req, httplib::Response& res) {
        if (ctx.cfg.counter)
          ctx.cfg.counter->answered(req.method, req.path, res.status);
      });
  srv.set_logger(
      [&ctx](const httplib::Request& req, const httplib::Response& res) {
        if (ctx.log->should_log(spdlog::level::debug))
          ctx.log->debug("HTTP {} {} from {} -> {}", req.method, req.path,
                         req.remote_addr, res.status);
      });
}

} // namespace mesh
