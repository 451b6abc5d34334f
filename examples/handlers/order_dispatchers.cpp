// Topic dispatchers and routes of the example plug-in, so a node started
// from the README has routes to publish to:
//
//   order-audit         every order event ("orders.>")        -> no outputs
//   order-notifier      OrderCreated events ("orders.*.created")
//                       -> "notifications.email.requested"
//   notification-outbox every notification ("notifications.>") -> no outputs
//
//   meshctl publish orders.eu.created --type OrderCreated
//     --payload '{"order_id":"o-1","user_id":"u-1"}'  (one command line)
// runs the auditor and the notifier, then (the notifier's output) the
// outbox: three dispatchers, wherever in the cluster they are registered.

#include <atomic>
#include <memory>

#include "examples/handlers/order_dispatchers.hpp"

namespace {

using mesh::message_category;
using mesh::topic_message;

} // namespace

void add_order_dispatchers(mesh::handler_registrar& registrar) {
  auto audited = std::make_shared<std::atomic<uint64_t>>(0);
  registrar.add_dispatcher(
    "order-audit", message_category::event,
    [audited](const topic_message& m) {
      if (!m.payload.is_object())
        throw std::invalid_argument("an order event carries a JSON object");
      ++*audited;
      return std::vector<std::string>{};
    });
  registrar.add_dispatcher(
    "order-notifier", message_category::event,
    [](const topic_message& m) {
      if (m.payload.value("user_id", "").empty())
        throw std::invalid_argument("OrderCreated without a user_id");
      return std::vector<std::string>{"notifications.email.requested"};
    },
    {"OrderCreated"});
  auto sent = std::make_shared<std::atomic<uint64_t>>(0);
  registrar.add_dispatcher("notification-outbox", message_category::event,
                           [sent](const topic_message&) {
                             ++*sent;
                             return std::vector<std::string>{};
                           });
  registrar.add_topic_route({"orders-audit", "orders.>",
                             message_category::event, "order-audit", "", true});
  registrar.add_topic_route({"orders-created-notify", "orders.*.created",
                             message_category::event, "order-notifier",
                             "OrderCreated", true});
  registrar.add_topic_route({"notifications-outbox", "notifications.>",
                             message_category::event, "notification-outbox",
                             "", true});
}
