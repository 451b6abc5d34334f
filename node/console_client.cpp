#include "node/console_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "protocol/address.hpp"
#include "protocol/register.hpp"
#include "protocol/status.hpp"
#include "protocol/type_ids.hpp"

namespace mesh {

struct console_client::impl {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor console;
};

console_client::console_client(std::unique_ptr<impl> ptr)
  : impl_(std::move(ptr)) {}

console_client::~console_client() {
  impl_->console = nullptr;
}

caf::expected<std::unique_ptr<console_client>>
console_client::connect(const std::string& address) {
  std::string error;
  auto hp = parse_host_port(address, error);
  if (!hp)
    return make_error(status_code::invalid_argument, error);
  auto st = std::make_unique<impl>();
  register_types(st->cfg);
  st->cfg.load<caf::io::middleman>();
  st->cfg.set("scheduler.policy", caf::atom("sharing"));
  st->cfg.set("scheduler.max-threads", size_t{1});
  st->cfg.set("middleman.workers", size_t{0});
  // Nodes close BASP connections that stay silent (middleman.connection-
  // timeout); heartbeats keep ours open while a slow request runs.
  st->cfg.set("middleman.heartbeat-interval",
              caf::timespan{std::chrono::milliseconds{100}});
  st->sys = std::make_unique<caf::actor_system>(st->cfg);
  auto console = st->sys->middleman().remote_actor(hp->host, hp->port);
  if (!console)
    return make_error(status_code::unavailable,
                      "cannot reach a Mesh console at " + address + ": "
                        + st->sys->render(console.error()));
  st->console = std::move(*console);
  return std::unique_ptr<console_client>{new console_client(std::move(st))};
}

caf::expected<nlohmann::json>
console_client::call(const nlohmann::json& command,
                     std::chrono::milliseconds timeout) {
  caf::scoped_actor self{*impl_->sys};
  caf::expected<nlohmann::json> result
    = make_error(status_code::internal, "no reply from the console");
  self->request(impl_->console, timeout, atom::console_v, command.dump())
    .receive(
      [&](std::string& text) {
        auto doc = nlohmann::json::parse(text, nullptr, false);
        if (doc.is_discarded())
          result = make_error(status_code::internal,
                              "console sent a reply that is not JSON");
        else
          result = std::move(doc);
      },
      [&](caf::error& err) {
        if (err == caf::sec::request_timeout)
          result = make_error(status_code::deadline_exceeded,
                              "no reply from the console within "
                                + std::to_string(timeout.count()) + " ms");
        else
          result = make_error(to_status_code(err), impl_->sys->render(err));
      });
  return result;
}

} // namespace mesh
