// mesh_stranger: a program that is not a member of the cluster and tries
// anyway, for the security tests (tests/cluster/strangers_test.cpp). It
// registers Mesh's types but knows no cluster secret and no console token,
// reaches the actor published on HOST:PORT and sends it one thing:
//
//   mesh_stranger HOST:PORT ACTION [ARG]
//     leave | connect ADDR | remove ID | update ADDR   (internal commands)
//     serve | dispatch                                  (requests)
//     hello                                             (a hello, no proof)
//     console TOKEN JSON | router TOKEN | drain         (console port)
//     guess N            (every actor id 1..N of the node: leave, connect,
//                         remove, update, serve, dispatch, hello-less
//                         heartbeat and leave in a member's name)
//
// Prints one JSON line: {"reached": bool, "answered": bool, "status": ...,
// "error": ..., "handle": bool}. "handle" is true when an actor handle came
// back (what a stranger must never get without the token or secret).

#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/scoped_execution_unit.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "cluster/security/handshake.hpp"
#include "protocol/address.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/register.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace {

struct config : caf::actor_system_config {
  config() {
    mesh::register_types(*this);
    load<caf::io::middleman>();
    set("scheduler.max-threads", 1);
  }
};

mesh::pb::ServiceRef echo_ref() {
  mesh::pb::ServiceRef ref;
  ref.set_namespace_("echo");
  ref.set_service("EchoService");
  ref.set_method("Echo");
  return ref;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: mesh_stranger HOST:PORT ACTION [ARG] [ARG]\n";
    return 2;
  }
  std::string address = argv[1], action = argv[2];
  std::string arg = argc > 3 ? argv[3] : "", arg2 = argc > 4 ? argv[4] : "";
  nlohmann::json out{{"reached", false}, {"answered", false},
                     {"handle", false}};
  config cfg;
  caf::actor_system sys{cfg};
  std::string error;
  auto hp = mesh::parse_host_port(address, error);
  if (!hp) {
    std::cerr << error << "\n";
    return 2;
  }
  caf::actor target;
  {
    caf::scoped_actor self{sys};
    self
      ->request(sys.middleman().actor_handle(), std::chrono::seconds{5},
                caf::connect_atom::value, hp->host, hp->port)
      .receive(
        [&](caf::node_id&, caf::strong_actor_ptr& ptr,
            std::set<std::string>&) {
          target = caf::actor_cast<caf::actor>(ptr);
        },
        [&](caf::error& err) { out["error"] = sys.render(err); });
  }
  if (!target) {
    std::cout << out.dump() << std::endl;
    return 0;
  }
  out["reached"] = true;
  caf::scoped_actor self{sys};
  auto timeout = std::chrono::seconds{3};
  auto on_error = [&](caf::error& err) {
    out["answered"] = true;
    out["status"] = mesh::to_string(mesh::to_status_code(err));
    out["error"] = mesh::error_text(err);
  };
  // Sends xs as a request; `on_value` takes the expected answer.
  auto ask_for = [&](auto on_value, auto... xs) {
    self->request(target, timeout, xs...).receive(on_value, on_error);
  };
  auto answered_ok = [&] {
    out["answered"] = true;
    out["status"] = "ok";
  };
  // Internal commands answer ok_atom, JSON or nothing when obeyed.
  auto ask = [&](auto... xs) {
    self->request(target, timeout, xs...)
      .receive([&](caf::ok_atom) { answered_ok(); }, on_error);
  };
  if (action == "guess") {
    // A handle for each id, made by deserializing (id, node) the way a
    // peer's handle arrives: what a stranger who guesses ids can do.
    auto node = caf::actor_cast<caf::strong_actor_ptr>(target)->node();
    // The proxies must belong to the BASP broker that holds the connection;
    // a program of one's own may reach into its own middleman for that.
    auto bb = sys.middleman().named_broker<caf::io::basp_broker>(
      caf::atom("BASP"));
    auto* broker = static_cast<caf::io::basp_broker*>(
      caf::actor_cast<caf::abstract_actor*>(bb));
    caf::scoped_execution_unit ctx{&sys};
    ctx.proxy_registry_ptr(broker->proxy_registry_ptr());
    size_t answered_ok = 0, refused_by_actor = 0;
    auto n = static_cast<caf::actor_id>(std::stoul(arg.empty() ? "100" : arg));
    for (caf::actor_id aid = 1; aid <= n; ++aid) {
      std::vector<char> buf;
      caf::binary_serializer sink{sys, buf};
      if (sink(aid, node))
        continue;
      caf::strong_actor_ptr ptr;
      caf::binary_deserializer source{&ctx, buf};
      if (source(ptr) || !ptr)
        continue;
      auto guessed = caf::actor_cast<caf::actor>(ptr);
      mesh::pb::ServeRequest serve;
      *serve.mutable_ref() = echo_ref();
      mesh::pb::DispatchRequest dispatch;
      *dispatch.mutable_ref() = echo_ref();
      mesh::pb::Leave bye;
      bye.set_node_id(arg2);
      caf::anon_send(guessed, mesh::atom::leave_v);
      caf::anon_send(guessed, mesh::atom::leave_v, bye);
      caf::anon_send(guessed, mesh::atom::update_v, std::string{"127.0.0.1:9"});
      // An answer that is not an error means the guessed actor obeyed; a
      // permission_denied means it was reached, and refused.
      auto ignore = [&](caf::error& err) {
        if (mesh::to_status_code(err) == mesh::status_code::permission_denied)
          ++refused_by_actor;
      };
      self->send(guessed, mesh::atom::leave_v);
      self->send(guessed, mesh::atom::leave_v, bye);
      self->send(guessed, mesh::atom::remove_v, arg2);
      self->send(guessed, mesh::atom::connect_v, std::string{"127.0.0.1:9"});
      self->send(guessed, mesh::atom::drain_v);
      self->request(guessed, std::chrono::milliseconds{50}, serve)
        .receive([&](mesh::pb::ServeResponse&) { ++answered_ok; }, ignore);
      self->request(guessed, std::chrono::milliseconds{50}, dispatch)
        .receive([&](mesh::pb::DispatchResponse&) { ++answered_ok; }, ignore);
      self->request(guessed, std::chrono::milliseconds{50}, mesh::atom::stats_v)
        .receive([&](nlohmann::json&) { ++answered_ok; }, ignore);
    }
    out["answered"] = true;
    out["status"] = answered_ok == 0 ? "permission_denied" : "ok";
    out["answered_ok"] = answered_ok;
    out["refused_by_actor"] = refused_by_actor;
  } else if (action == "leave") {
    caf::anon_send(target, mesh::atom::leave_v); // as in the report
    ask(mesh::atom::leave_v);
  } else if (action == "connect") {
    ask_for([&](nlohmann::json&) { answered_ok(); }, mesh::atom::connect_v,
            arg);
  } else if (action == "remove") {
    ask(mesh::atom::remove_v, arg);
  } else if (action == "update") {
    caf::anon_send(target, mesh::atom::update_v, arg);
    ask(mesh::atom::update_v, arg);
  } else if (action == "serve") {
    mesh::pb::ServeRequest req;
    *req.mutable_ref() = echo_ref();
    ask_for([&](mesh::pb::ServeResponse&) { answered_ok(); }, req);
  } else if (action == "dispatch") {
    mesh::pb::DispatchRequest req;
    *req.mutable_ref() = echo_ref();
    ask_for([&](mesh::pb::DispatchResponse&) { answered_ok(); }, req);
  } else if (action == "hello") {
    mesh::pb::ConnectRequest req;
    req.set_node_id("stranger");
    req.set_address("127.0.0.1:1");
    req.set_protocol_version(mesh::protocol_version);
    req.set_incarnation("x");
    req.set_nonce("n");
    auto me = caf::actor_cast<mesh::peer_actor>(self);
    ask_for(
      [&](mesh::pb::ConnectResponse&, mesh::peer_actor& theirs) {
        answered_ok();
        out["handle"] = static_cast<bool>(theirs);
      },
      mesh::atom::hello_v, req, me);
  } else if (action == "console") {
    ask_for(
      [&](std::string& text) {
        out["answered"] = true;
        auto reply = nlohmann::json::parse(text, nullptr, false);
        out["status"] = reply.is_object() ? reply.value("status", "") : "";
      },
      mesh::atom::console_v, arg, arg2);
  } else if (action == "router") {
    ask_for(
      [&](caf::actor& x) {
        answered_ok();
        out["handle"] = static_cast<bool>(x);
      },
      mesh::atom::router_v, arg);
  } else if (action == "drain") {
    ask(mesh::atom::drain_v);
  } else {
    std::cerr << "unknown action " << action << "\n";
    return 2;
  }
  std::cout << out.dump() << std::endl;
  return 0;
}
