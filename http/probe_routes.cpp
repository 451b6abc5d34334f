// The HTTP API's own routes beside the commands: the probes (/healthz,
// /readyz), Prometheus' /metrics and the dashboard page.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "http/http_envelope.hpp"
#include "http/http_guard.hpp"
#include "http/http_routes.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/prometheus/prometheus.hpp"
#include "web/dashboard.hpp"

namespace mesh {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

/// /readyz: how long the console has to answer `status`.
constexpr milliseconds ready_timeout{2000};

/// /metrics: how long each source command may take (the console's own
/// bound on asking an actor, plus the way back).
constexpr milliseconds metrics_timeout
    = std::chrono::duration_cast<milliseconds>(console_ask_timeout)
      + milliseconds{2000};
} // namespace

void probe_routes(httplib::Server& srv, http_context& ctx) {
  srv.Get("/healthz", [&ctx](const httplib::Request&, httplib::Response& res) {
    send_envelope(res, envelope_ok({{"node", ctx.cfg.node_id}}));
  });
  srv.Get("/readyz", [&ctx](const httplib::Request&, httplib::Response& res) {
    const auto& node = ctx.cfg.node_id;
    if (ctx.draining) {
      send_envelope(res, envelope_error(status_code::unavailable,
                                        "node " + node + " is shutting down"));
      return;
    }
    // The server's own token: readiness is about the node, not the caller.
    auto status
        = ask_console(ctx, ctx.cfg.token, {{"cmd", "status"}}, ready_timeout);
    if (status.value("ok", false))
      send_envelope(res, envelope_ok({{"node", node}, {"ready", true}}));
    else
      send_envelope(res, envelope_error(status_code::unavailable,
                                        "node " + node + " is not ready: "
                                            + status.value("error", "")));
  });
  srv.Get("/metrics", [&ctx](const httplib::Request& req,
                             httplib::Response& res) {
    if (ctx.cfg.token.empty()
        && !loopback_host_header(req.get_header_value("Host"))) {
      // As /v1/ without a token: a rebound DNS name is not the node's.
      send_envelope(res, envelope_error(status_code::permission_denied,
                                        "Host '" + req.get_header_value("Host")
                                          + "' is refused: without a console "
                                            "token /metrics answers only a "
                                            "loopback name"));
      res.status = 403;
      return;
    }
    // The token was checked before routing (http_routes.cpp).
    // Every source asked at once, under one deadline: a scrape takes as
    // long as its slowest part (at most metrics_timeout), and a part that
    // does not answer is left out.
    json results = json::object();
    if (auto console = ctx.cfg.console.get()) {
      caf::scoped_actor self{ctx.sys};
      std::vector<std::pair<std::string, decltype(self->request(
                                            console, metrics_timeout,
                                            atom::console_v, std::string{},
                                            std::string{}))>>
          asked;
      for (const auto& cmd : metrics_sources())
        asked.emplace_back(cmd, self->request(console, metrics_timeout,
                                              atom::console_v, ctx.cfg.token,
                                              dump_json({{"cmd", cmd}})));
      for (auto& [cmd, handle] : asked)
        handle.receive(
            [&, name = cmd](std::string& text) {
              auto reply = parse_json(text, max_json_depth() + 8);
              results[name] = reply && reply->value("ok", false)
                                  ? (*reply)["result"]
                                  : json{};
            },
            [&, name = cmd](caf::error&) { results[name] = json{}; });
    }
    res.set_content(render_prometheus(results, ctx.cfg.node_id),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string{dashboard_html()}, "text/html; charset=utf-8");
  });
}

} // namespace mesh
