// The example plug-in: realistic handlers in all three forms, loaded by a
// meshnode started with no arguments.
//
//   echo/EchoService/Echo           function handler: answers with its payload
//   users/UserService/GetUser       JSON: {"id": "u-1"} -> the user
//   users/UserService/CreateUser    JSON: {"name", "email"} -> the new user
//   orders/OrderService/CreateOrder JSON: {"user_id", "items": [{"sku",
//                                   "quantity", "unit_price"}]} -> the order
//   orders/OrderService/GetOrder    JSON: {"id": "o-1"} -> the order
//   inventory/StockService/Reserve  actor handler: {"sku", "quantity"} ->
//                                   remaining stock (state kept in the actor)
//   pricing/, notify/, recommend/   the variants of examples/manifests/
//                                   (process_variants.cpp)
// and topic dispatchers for order events (order_dispatchers.cpp), and the
// task function "audit-order" (examples/jobs/).

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "examples/handlers/order_dispatchers.hpp"
#include "examples/handlers/process_variants.hpp"
#include "node/plugin_api.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace {

using nlohmann::json;
using mesh::call_context;
using mesh::handler_failure;
using mesh::status_code;

const std::string& require_string(const json& in, const char* field) {
  auto i = in.find(field);
  if (!in.is_object() || i == in.end() || !i->is_string() || i->empty())
    throw handler_failure(status_code::invalid_argument,
                          std::string{"field '"} + field
                            + "' must be a non-empty string");
  return i->get_ref<const std::string&>();
}

// A tiny in-memory user store; handlers run on several threads at once.
class user_store {
public:
  user_store() {
    users_["u-1"] = {{"id", "u-1"}, {"name", "Ada Lovelace"},
                     {"email", "ada@example.org"}};
    users_["u-2"] = {{"id", "u-2"}, {"name", "Alan Turing"},
                     {"email", "alan@example.org"}};
  }

  json get(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = users_.find(id);
    if (i == users_.end())
      throw handler_failure(status_code::not_found, "no user '" + id + "'");
    return i->second;
  }

  json create(const std::string& name, const std::string& email) {
    if (email.find('@') == std::string::npos)
      throw handler_failure(status_code::invalid_argument,
                            "email '" + email + "' is not an address");
    std::lock_guard<std::mutex> guard{mtx_};
    auto id = "u-" + std::to_string(users_.size() + 1);
    users_[id] = {{"id", id}, {"name", name}, {"email", email}};
    return users_[id];
  }

private:
  std::mutex mtx_;
  std::map<std::string, json> users_;
};

class order_store {
public:
  json create(const json& in, const call_context& ctx) {
    const auto& user = require_string(in, "user_id");
    auto items = in.find("items");
    if (items == in.end() || !items->is_array() || items->empty())
      throw handler_failure(status_code::invalid_argument,
                            "field 'items' must be a non-empty list");
    double total = 0;
    for (const auto& item : *items) {
      require_string(item, "sku");
      auto qty = item.value("quantity", 0);
      auto price = item.value("unit_price", -1.0);
      if (qty <= 0 || price < 0)
        throw handler_failure(status_code::invalid_argument,
                              "each item needs quantity > 0 and "
                              "unit_price >= 0");
      total += qty * price;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    auto id = "o-" + std::to_string(++next_);
    orders_[id] = {{"id", id},         {"user_id", user},
                   {"items", *items},  {"total", total},
                   {"status", "created"}, {"created_on", ctx.node_id},
                   {"trace_id", ctx.trace_id}};
    return orders_[id];
  }

  // Undoes create (a workflow's compensation): the order stays, cancelled.
  json cancel(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = orders_.find(id);
    if (i == orders_.end())
      throw handler_failure(status_code::not_found, "no order '" + id + "'");
    i->second["status"] = "cancelled";
    return i->second;
  }

  json get(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = orders_.find(id);
    if (i == orders_.end())
      throw handler_failure(status_code::not_found, "no order '" + id + "'");
    return i->second;
  }

private:
  std::mutex mtx_;
  uint64_t next_ = 0;
  std::map<std::string, json> orders_;
};

// The actor form: state lives in the actor, so no locks are needed. One
// actor serves Reserve and Release (a workflow's compensation of Reserve).
caf::behavior stock_keeper(caf::event_based_actor* self) {
  auto stock = std::make_shared<std::map<std::string, int64_t>>(
    std::map<std::string, int64_t>{{"sku-1", 100}, {"sku-2", 5}});
  return {
    [self, stock](mesh::atom::handle, const mesh::pb::ServeRequest& req)
      -> caf::result<google::protobuf::Any> {
      auto in = mesh::any_to_json(req.payload());
      if (!in)
        return in.error();
      auto sku = in->value("sku", "");
      auto qty = in->value("quantity", int64_t{0});
      auto i = stock->find(sku);
      if (i == stock->end())
        return mesh::make_error(status_code::not_found,
                                "unknown sku '" + sku + "'");
      if (req.ref().method() == "Release") {
        if (qty <= 0)
          return mesh::make_error(status_code::invalid_argument,
                                  "cannot release " + std::to_string(qty));
        i->second += qty;
        return mesh::json_to_any({{"sku", sku}, {"released", qty},
                                  {"remaining", i->second}});
      }
      if (qty <= 0 || qty > i->second)
        return mesh::make_error(status_code::invalid_argument,
                                "cannot reserve " + std::to_string(qty)
                                  + " of " + sku + ": "
                                  + std::to_string(i->second) + " left");
      i->second -= qty;
      return mesh::json_to_any({{"sku", sku}, {"reserved", qty},
                                {"remaining", i->second}});
    },
  };
}

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  auto users = std::make_shared<user_store>();
  auto orders = std::make_shared<order_store>();
  mesh::handler_options idempotent;
  idempotent.idempotent = true;
  // Echo never blocks: it runs on its executor, without a thread hop.
  mesh::handler_options echo_opts = idempotent;
  echo_opts.non_blocking = true;

  registrar.add({"echo", "EchoService", "Echo"},
                [](const call_context&, const google::protobuf::Any& in)
                  -> caf::expected<google::protobuf::Any> { return in; },
                echo_opts);
  registrar.add_json({"users", "UserService", "GetUser"},
                     [users](const call_context&, const json& in) {
                       return users->get(require_string(in, "id"));
                     },
                     idempotent);
  registrar.add_json({"users", "UserService", "CreateUser"},
                     [users](const call_context&, const json& in) {
                       return users->create(require_string(in, "name"),
                                            require_string(in, "email"));
                     });
  registrar.add_json({"orders", "OrderService", "CreateOrder"},
                     [orders](const call_context& ctx, const json& in) {
                       return orders->create(in, ctx);
                     });
  registrar.add_json({"orders", "OrderService", "GetOrder"},
                     [orders](const call_context&, const json& in) {
                       return orders->get(require_string(in, "id"));
                     },
                     idempotent);
  registrar.add_json({"orders", "OrderService", "CancelOrder"},
                     [orders](const call_context&, const json& in) {
                       return orders->cancel(require_string(in, "id"));
                     },
                     idempotent);
  auto stock = registrar.system().spawn(stock_keeper);
  registrar.add_actor({"inventory", "StockService", "Reserve"}, stock);
  registrar.add_actor({"inventory", "StockService", "Release"}, stock);
  add_process_variants(registrar);
  add_order_dispatchers(registrar);
  // A task function (examples/jobs/audit-order.json): runs on worker
  // threads; what it returns would feed the job's outputs.
  registrar.add_task_dispatcher(
    "audit-order", [](const mesh::task_call& task, const json& order) {
      std::cerr << "audit: order " << order.value("id", "?") << " (task "
                << task.task_id << ", attempt " << task.attempt << ")\n";
      return json{{"audited", order.value("id", "")}};
    });
  return 0;
}
