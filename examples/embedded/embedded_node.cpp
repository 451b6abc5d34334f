// Embeds a Mesh node in a program through the library API: starts a node on
// free ports, registers a typed protobuf handler and a JSON handler, then
// dispatches to both and prints the answers. Exits non-zero if any answer is
// not what it should be, so it doubles as a test (examples.embedded).

#include <iostream>

#include <google/protobuf/wrappers.pb.h>

#include "node/node.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

int main() {
  mesh::log::init("warn");
  auto doc = mesh::default_node_config_json();
  doc["id"] = "embedded-1";
  doc["listen"] = "127.0.0.1:0";
  doc["console"] = "127.0.0.1:0";
  doc["http"] = "127.0.0.1:0";
  doc["plugins"] = nlohmann::json::array(); // only our own handlers
  auto cfg = mesh::to_node_config(doc);
  if (!cfg) {
    std::cerr << "bad config: " << mesh::error_text(cfg.error()) << "\n";
    return 1;
  }
  auto started = mesh::node::start(*cfg);
  if (!started) {
    std::cerr << "cannot start: " << mesh::error_text(started.error()) << "\n";
    return 1;
  }
  auto& node = **started;

  // A typed handler: google.protobuf.StringValue in, StringValue out.
  node.add({"greet", "Greeter", "Hello"},
           [](const mesh::call_context& ctx, const google::protobuf::Any& in)
             -> caf::expected<google::protobuf::Any> {
             google::protobuf::StringValue name;
             if (!in.UnpackTo(&name))
               return mesh::make_error(mesh::status_code::invalid_argument,
                                       "expected a StringValue");
             google::protobuf::StringValue greeting;
             greeting.set_value("hello, " + name.value() + " (from "
                                + ctx.node_id + ")");
             google::protobuf::Any out;
             out.PackFrom(greeting);
             return out;
           });
  // A JSON handler.
  node.add_json({"math", "Calculator", "Add"},
                [](const mesh::call_context&, const nlohmann::json& in) {
                  return nlohmann::json{
                    {"sum", in.at("a").get<double>() + in.at("b").get<double>()}};
                });

  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    failures += ok ? 0 : 1;
  };

  mesh::pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_("greet");
  req.mutable_ref()->set_service("Greeter");
  req.mutable_ref()->set_method("Hello");
  google::protobuf::StringValue name;
  name.set_value("world");
  req.mutable_payload()->PackFrom(name);
  auto r1 = node.dispatch(req);
  google::protobuf::StringValue greeting;
  r1.payload().UnpackTo(&greeting);
  check(r1.status().code() == mesh::pb::OK
          && greeting.value() == "hello, world (from embedded-1)",
        "typed handler: " + greeting.value());

  req.mutable_ref()->set_namespace_("math");
  req.mutable_ref()->set_service("Calculator");
  req.mutable_ref()->set_method("Add");
  *req.mutable_payload() = mesh::json_to_any({{"a", 2}, {"b", 40}});
  auto r2 = node.dispatch(req);
  auto sum = mesh::any_to_json(r2.payload());
  check(r2.status().code() == mesh::pb::OK && sum && (*sum)["sum"] == 42,
        "JSON handler: " + (sum ? sum->dump() : "no JSON"));
  check(r2.handled_by() == "embedded-1" && r2.trace_id().size() == 32,
        "reply names the node and carries a generated trace id");

  req.mutable_ref()->set_method("Subtract");
  auto r3 = node.dispatch(req);
  check(r3.status().code() == mesh::pb::NOT_FOUND,
        "unknown method: " + r3.status().message());

  node.shutdown();
  return failures == 0 ? 0 : 1;
}
