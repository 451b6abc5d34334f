#include "protocol/json/safe_json.hpp"
#include "node/net/console_client.hpp"

#include <future>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "protocol/address.hpp"
#include "protocol/messaging/peer_actors.hpp"
#include "protocol/messaging/register.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

// A typed actor at the address is not a console: when it is a node's gate
// (its peer port), the gate itself says so, naming its node. Empty when it
// is not a gate either.
std::string explain_peer_port(caf::actor_system& sys, const std::string& host,
                              uint16_t port) {
  auto gate = sys.middleman().remote_actor<gate_actor>(host, port);
  if (!gate)
    return {};
  std::string why;
  caf::scoped_actor self{sys};
  self
    ->request(caf::actor_cast<caf::actor>(*gate), std::chrono::seconds{5},
              atom::console_v, std::string{}, std::string{"{}"})
    .receive([](std::string&) {}, // a gate never answers this
             [&](caf::error& err) { why = error_text(err); });
  return why;
}

} // namespace

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

void console_client::set_token(std::string token) {
  token_ = std::move(token);
}

caf::expected<std::unique_ptr<console_client>>
console_client::connect(const std::string& address) {
  return connect(address, [](caf::actor_system_config&) {});
}

caf::expected<std::unique_ptr<console_client>>
console_client::connect(
  const std::string& address,
  const std::function<void(caf::actor_system_config&)>& configure) {
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
  configure(st->cfg);
  st->sys = std::make_unique<caf::actor_system>(st->cfg);
  auto console = st->sys->middleman().remote_actor(hp->host, hp->port);
  if (!console
      && console.error() == caf::sec::unexpected_actor_messaging_interface)
    if (auto why = explain_peer_port(*st->sys, hp->host, hp->port);
        !why.empty())
      return make_error(status_code::unavailable,
                        address + " is not a Mesh console: " + why);
  if (!console)
    return make_error(status_code::unavailable,
                      "cannot reach a Mesh console at " + address + ": "
                        + error_text(console.error()));
  st->console = std::move(*console);
  std::unique_ptr<console_client> result{new console_client(std::move(st))};
  result->address_ = address;
  return result;
}

caf::expected<caf::actor>
console_client::router(std::chrono::milliseconds timeout) {
  caf::scoped_actor self{*impl_->sys};
  caf::expected<caf::actor> result
    = make_error(status_code::internal, "no reply from the console");
  self->request(impl_->console, timeout, atom::router_v, token_)
    .receive([&](caf::actor& x) { result = std::move(x); },
             [&](caf::error& err) {
               result = make_error(to_status_code(err),
                                   error_text(err));
             });
  return result;
}

caf::actor_system& console_client::system() {
  return *impl_->sys;
}

caf::expected<nlohmann::json>
console_client::call(const nlohmann::json& command,
                     std::chrono::milliseconds timeout) {
  // A helper actor waits for the reply *or* the loss of the connection, so a
  // node that goes away mid-request is reported at once, not at the timeout.
  using result_type = caf::expected<nlohmann::json>;
  auto outcome = std::make_shared<std::promise<result_type>>();
  auto done = std::make_shared<bool>(false);
  auto finish = [outcome, done](result_type x) {
    if (!*done) {
      *done = true;
      outcome->set_value(std::move(x));
    }
  };
  auto text = mesh::dump_json(command);
  auto node = address_;
  auto token = token_;
  impl_->sys->spawn([=, console = impl_->console](caf::event_based_actor* self) {
    self->monitor(console);
    self->set_down_handler([=](caf::down_msg&) {
      finish(make_error(status_code::unavailable,
                        "node " + node
                          + " closed the connection before answering"));
      self->quit();
    });
    self->request(console, timeout, atom::console_v, token, text)
      .then(
        [=](std::string& reply) {
          auto doc = nlohmann::json::parse(reply, nullptr, false);
          if (doc.is_discarded())
            finish(make_error(status_code::internal,
                              "console sent a reply that is not JSON"));
          else
            finish(std::move(doc));
          self->quit();
        },
        [=](caf::error& err) {
          if (err == caf::sec::request_timeout)
            finish(make_error(status_code::deadline_exceeded,
                              "no reply from the console within "
                                + std::to_string(timeout.count()) + " ms"));
          else if (err == caf::sec::request_receiver_down)
            finish(make_error(status_code::unavailable,
                              "node " + node + " stopped before answering"));
          else
            finish(make_error(to_status_code(err),
                              error_text(err)));
          self->quit();
        });
  });
  return outcome->get_future().get();
}

} // namespace mesh
