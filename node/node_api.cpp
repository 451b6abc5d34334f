// mesh::node's blocking calls: handlers, dispatch, processes, topics. Each
// asks one of the node's actors from a scoped actor and waits.

#include <caf/scoped_actor.hpp>

#include "actors/topics/topic_handler.hpp"
#include "node/node_impl.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

// Asks `dest` and waits for its ok_atom; its error otherwise.
template <class Handle, class... Ts>
caf::error ask_ok(caf::actor_system& sys, const Handle& dest,
                  Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::error result;
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  return result;
}

} // namespace

caf::error node::add_handler(handler_spec spec) {
  if (!handler_selected(impl_->cfg.handlers, spec.key)) {
    // Not an error: a plug-in offers more than this node is set to serve.
    impl_->log->debug("handler {} not served here (config handlers)",
                      to_string(spec.key));
    return {};
  }
  return ask_ok(*impl_->sys, impl_->registry.get(), atom::add_v, std::move(spec));
}

namespace {

void throw_if(caf::error err) {
  if (!err)
    return;
  throw std::invalid_argument(error_text(err));
}

} // namespace

void node::add(service_key key, any_handler fn, handler_options opts) {
  throw_if(add_handler(make_function_handler(std::move(key), std::move(fn),
                                             std::move(opts))));
}

void node::add_json(service_key key, json_handler fn, handler_options opts) {
  throw_if(add_handler(make_json_handler(std::move(key), std::move(fn),
                                         std::move(opts))));
}

void node::add_actor(service_key key, caf::actor handler,
                     handler_options opts) {
  throw_if(add_handler(make_actor_handler(std::move(key), std::move(handler),
                                          std::move(opts))));
}

caf::error node::remove_handler(const std::string& path) {
  return ask_ok(*impl_->sys, impl_->registry.get(), atom::remove_v, path);
}

caf::error node::set_validator(std::shared_ptr<const registry_validator> v) {
  return ask_ok(*impl_->sys, impl_->registry.get(), atom::validator_v, std::move(v));
}

pb::DispatchResponse node::dispatch(pb::DispatchRequest req) {
  caf::scoped_actor self{*impl_->sys};
  pb::DispatchResponse result;
  self->request(impl_->router.get(), caf::infinite, std::move(req))
    .receive([&](pb::DispatchResponse& r) { result = std::move(r); },
             [&](caf::error& err) {
               result.mutable_status()->set_code(
                 static_cast<pb::StatusCode>(to_status_code(err)));
               result.mutable_status()->set_message(error_text(err));
             });
  return result;
}

pb::ProcessResponse node::process(pb::ProcessRequest req) {
  caf::scoped_actor self{*impl_->sys};
  pb::ProcessResponse result;
  self->request(impl_->strategies.get(), caf::infinite, std::move(req))
    .receive([&](pb::ProcessResponse& r) { result = std::move(r); },
             [&](caf::error& err) {
               result.mutable_status()->set_code(
                 static_cast<pb::StatusCode>(to_status_code(err)));
               result.mutable_status()->set_message(error_text(err));
             });
  return result;
}

caf::error node::report_outcome(const std::string& process,
                                const std::string& variant_id, bool success) {
  pb::OutcomeReport report;
  report.set_process_name(process);
  report.set_variant_id(variant_id);
  report.set_success(success);
  return ask_ok(*impl_->sys, impl_->strategies.get(), atom::outcome_v,
                std::move(report));
}

caf::expected<nlohmann::json> node::reload_manifests() {
  caf::scoped_actor self{*impl_->sys};
  caf::expected<nlohmann::json> result{nlohmann::json{}};
  self->request(impl_->strategies.get(), caf::infinite, atom::reload_v)
    .receive([&](nlohmann::json& report) { result = std::move(report); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

// -- topics -------------------------------------------------------------------

caf::error node::add_dispatcher(dispatcher_spec spec) {
  return ask_ok(*impl_->sys, impl_->topics.get(), atom::dispatcher_v, std::move(spec));
}

caf::error node::add_route(topic_route route) {
  return ask_ok(*impl_->sys, impl_->topics.get(), atom::route_v, std::move(route));
}

void node::add_dispatcher(std::string id, message_category category,
                          topic_handler fn,
                          std::set<std::string> message_types) {
  throw_if(add_dispatcher(make_function_dispatcher(
    std::move(id), category, std::move(fn), std::move(message_types))));
}

void node::add_topic_route(topic_route route) {
  throw_if(add_route(std::move(route)));
}

caf::error node::freeze_routes() {
  return ask_ok(*impl_->sys, impl_->topics.get(), atom::freeze_v);
}

caf::error node::add_configured_topics() {
  const auto& t = impl_->cfg.topics;
  for (const auto& d : t.dispatchers) {
    if (d.kind == "emit") {
      // Topics to tasks: each message becomes an event (node_tasks.cpp).
      if (auto err = add_dispatcher(emit_dispatcher(d)))
        return make_error(status_code::invalid_argument,
                          "config /topics/dispatchers: " + error_text(err));
      continue;
    }
    dispatcher_spec spec;
    spec.info = {d.id, d.category, d.message_types, d.kind};
    spec.keep = d.keep;
    spec.forward_to = d.forward_to;
    if (auto err = add_dispatcher(std::move(spec)))
      return make_error(status_code::invalid_argument,
                        "config /topics/dispatchers: " + error_text(err));
  }
  for (const auto& r : t.routes)
    if (auto err = add_route(r))
      return make_error(status_code::invalid_argument,
                        "config /topics/routes: " + error_text(err));
  if (t.freeze)
    return freeze_routes();
  return caf::none;
}

pb::PublishResponse node::publish(pb::PublishRequest req) {
  caf::scoped_actor self{*impl_->sys};
  pb::PublishResponse result;
  self->request(impl_->topics.get(), caf::infinite, std::move(req))
    .receive([&](pb::PublishResponse& r) { result = std::move(r); },
             [&](caf::error& err) {
               result.set_status("publish_failed");
               result.set_error_message(error_text(err));
             });
  return result;
}

} // namespace mesh

namespace mesh {

caf::error setup_pipeline(pipeline_memory& mem, const node_config& cfg) {
  mem.set(cfg.pipeline.policies);
  // The pipeline's benchmark baseline (bench/pipeline_cost.sh) only.
  if (const char* env = std::getenv("MESH_PIPELINE_BYPASS");
      env != nullptr && std::string{env} == "1") {
    mem.bypass = true;
    log::get("node")->warn("MESH_PIPELINE_BYPASS=1: no policies, hooks, "
                           "limits or explanations (benchmark baseline)");
  }
  if (!cfg.source_file.empty())
    mem.load = [file = cfg.source_file](policy_set& out,
                                        std::vector<std::string>& errors) {
      return reload_policies_from(file, out, errors);
    };
  try {
    add_builtin_hooks(*mem.hooks, {cfg.pipeline.audit_file}, mem.metrics);
  } catch (const std::exception& e) {
    return make_error(status_code::invalid_argument,
                      std::string{"/audit/file: "} + e.what());
  }
  return caf::none;
}

caf::error check_policy_hooks(const pipeline_memory& mem) {
  auto set = mem.policies;
  std::vector<const policy*> all;
  for (const auto& p : set->list())
    all.push_back(&p);
  all.push_back(&set->default_policy());
  for (const auto* p : all)
    for (const auto& h : p->hooks)
      if (mem.hooks->find(h) == nullptr) {
        std::string known;
        for (const auto& e : mem.hooks->all())
          known += (known.empty() ? "" : ", ") + e->name;
        return make_error(status_code::invalid_argument,
                          "policy '" + p->name + "' names hook '" + h
                            + "', which is neither built in nor registered "
                              "by a plug-in (known: "
                            + known + ")");
      }
  return caf::none;
}

void node::add_hook(std::string name, hook_stage stage, hook_fn fn) {
  impl_->pipeline->hooks->add(std::move(name), stage, std::move(fn));
}

nlohmann::json node::reload_policies() {
  caf::scoped_actor self{*impl_->sys};
  nlohmann::json out;
  self->request(impl_->router.get(), std::chrono::seconds{10}, atom::reload_v)
    .receive([&](nlohmann::json& r) { out = std::move(r); },
             [&](caf::error& err) {
               out = {{"ok", false}, {"errors", {error_text(err)}}};
             });
  return out;
}

} // namespace mesh
