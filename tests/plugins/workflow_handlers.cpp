// Handlers for the workflow process tests (tests/cluster/workflows_test.cpp,
// workflows_crash_test.cpp), namespace "wf". MESH_TEST_WF chooses what a
// node serves (comma-separated "Service" or "Service/Method"; default:
// everything), so that the steps of one workflow run on different nodes:
//
//   wf/Orders/Create   not idempotent; {"sku", "qty", "customer"?} ->
//                      {"order_id", "items": [{"sku", "qty"}], "node"}
//   wf/Orders/Confirm  not idempotent; answers its params plus
//                      {"confirmed": true, "node"}
//   wf/Orders/Cancel   compensation of Create; {"order_id"} -> {"cancelled"}
//   wf/Stock/Reserve   idempotent; {"order_id", "sku"} -> {"reservation",
//                      "sku", "node"}
//   wf/Stock/Release   idempotent compensation; {"reservation"} ->
//                      {"released"}
//   wf/Pay/Charge      not idempotent; {"order_id", "amount"} ->
//                      {"charge_id", "amount", "node"}
//   wf/Pay/Refund      compensation; {"charge_id"} -> {"refunded"}
//   wf/Ship/Label      idempotent; {"order_id", "reservation", "ms"?}: sleeps
//                      ms (0 by default), then -> {"label", "node"}
//   wf/Fail/Always     not idempotent; always fails (handler_error)
//   wf/Slow/Wait       idempotent; sleeps {"ms"}, then -> {"slept_ms", "node"}
//   wf/Slow/Hold       not idempotent; the same
//
// Every call appends one JSON line {"method": "Service/Method", "node",
// "trace", "params"} to the file MESH_TEST_WF_LOG (when set) as it starts:
// one write(2) of the whole line to a file opened O_APPEND, so lines from
// several nodes sharing the file stay whole and in call order, and a line
// survives the node's kill -9. The tests count calls per method with it.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "node/plugin_api.hpp"

namespace {

using nlohmann::json;

/// The services and methods to serve; empty: all.
std::set<std::string> selection() {
  std::set<std::string> out;
  const char* env = std::getenv("MESH_TEST_WF");
  std::stringstream in{env != nullptr ? env : ""};
  for (std::string s; std::getline(in, s, ',');)
    if (!s.empty())
      out.insert(s);
  return out;
}

/// Appends one line to MESH_TEST_WF_LOG (nothing when unset).
void log_call(const std::string& method, const mesh::call_context& ctx,
              const json& params) {
  const char* path = std::getenv("MESH_TEST_WF_LOG");
  if (path == nullptr || *path == '\0')
    return;
  auto line = json{{"method", method},
                   {"node", ctx.node_id},
                   {"trace", ctx.trace_id},
                   {"params", params}}
                .dump()
              + "\n";
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw mesh::handler_failure(mesh::status_code::internal,
                                std::string{"cannot open the call log "} + path);
  auto n = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size()))
    throw mesh::handler_failure(mesh::status_code::internal,
                                std::string{"cannot write the call log "}
                                  + path);
}

std::string text(const json& in, const char* key) {
  if (!in.is_object() || !in.contains(key))
    return "";
  const auto& v = in[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void sleep_ms(const json& in) {
  int64_t ms = 0;
  if (in.is_object() && in.contains("ms") && in["ms"].is_number_integer())
    ms = in["ms"].get<int64_t>();
  if (ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
}

uint64_t next_order() {
  static std::atomic<uint64_t> n{0};
  return ++n;
}

using body = json (*)(const mesh::call_context&, const json&);

struct method_spec {
  const char* service;
  const char* method;
  bool idempotent;
  body fn;
};

json create(const mesh::call_context& ctx, const json& in) {
  auto sku = text(in, "sku");
  auto qty = in.is_object() ? in.value("qty", json(1)) : json(1);
  auto id = "ord-" + std::to_string(next_order()) + "-" + ctx.trace_id;
  return {{"order_id", id},
          {"items", json::array({json{{"sku", sku}, {"qty", qty}}})},
          {"node", ctx.node_id}};
}

json confirm(const mesh::call_context& ctx, const json& in) {
  json out = in.is_object() ? in : json{{"params", in}};
  out["confirmed"] = true;
  out["node"] = ctx.node_id;
  return out;
}

json cancel(const mesh::call_context& ctx, const json& in) {
  return {{"cancelled", text(in, "order_id")}, {"node", ctx.node_id}};
}

json reserve(const mesh::call_context& ctx, const json& in) {
  return {{"reservation", "res-" + text(in, "order_id")},
          {"sku", text(in, "sku")},
          {"node", ctx.node_id}};
}

json release(const mesh::call_context& ctx, const json& in) {
  return {{"released", text(in, "reservation")}, {"node", ctx.node_id}};
}

json charge(const mesh::call_context& ctx, const json& in) {
  return {{"charge_id", "ch-" + text(in, "order_id")},
          {"amount", in.is_object() ? in.value("amount", json(0)) : json(0)},
          {"node", ctx.node_id}};
}

json refund(const mesh::call_context& ctx, const json& in) {
  return {{"refunded", text(in, "charge_id")}, {"node", ctx.node_id}};
}

json label(const mesh::call_context& ctx, const json& in) {
  sleep_ms(in);
  return {{"label", "lbl-" + text(in, "reservation")}, {"node", ctx.node_id}};
}

json fail(const mesh::call_context& ctx, const json&) {
  throw mesh::handler_failure(mesh::status_code::handler_error,
                              "wf/Fail/Always failed on purpose on "
                                + ctx.node_id);
}

json wait(const mesh::call_context& ctx, const json& in) {
  sleep_ms(in);
  return {{"slept_ms", in.is_object() ? in.value("ms", json(0)) : json(0)},
          {"node", ctx.node_id}};
}

const method_spec methods[] = {
  {"Orders", "Create", false, create},  {"Orders", "Confirm", false, confirm},
  {"Orders", "Cancel", true, cancel},   {"Stock", "Reserve", true, reserve},
  {"Stock", "Release", true, release},  {"Pay", "Charge", false, charge},
  {"Pay", "Refund", false, refund},     {"Ship", "Label", true, label},
  {"Fail", "Always", false, fail},      {"Slow", "Wait", true, wait},
  {"Slow", "Hold", false, wait},
};

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  auto chosen = selection();
  for (const auto& m : methods) {
    std::string service = m.service;
    std::string path = service + "/" + m.method;
    if (!chosen.empty() && chosen.count(service) == 0
        && chosen.count(path) == 0)
      continue;
    mesh::handler_options opts;
    opts.idempotent = m.idempotent;
    auto fn = m.fn;
    registrar.add_json({"wf", m.service, m.method},
                       [fn, path](const mesh::call_context& ctx,
                                  const json& in) {
                         log_call(path, ctx, in);
                         return fn(ctx, in);
                       },
                       opts);
  }
  return 0;
}
