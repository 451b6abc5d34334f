// mesh::node's workflows: the checks made at start and the blocking calls
// for code outside the actor world.

#include "actors/node_actors.hpp"
#include "node/node_impl.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "workflows/runs/run_store.hpp"

namespace mesh {

namespace {

caf::error no_workflows(const std::string& id) {
  return make_error(status_code::unavailable,
                    "node " + id
                      + " has no workflows (start it with --workflows DIR)");
}

} // namespace

caf::error check_workflow_store(const node_config& cfg, const std::string& id) {
  if (cfg.workflows.dir.empty())
    return caf::none;
  auto sync = sync_mode_of(cfg.workflows.synchronous);
  return check_folder_and_store(cfg.workflows.dir, "workflows",
                                task_store_path(cfg, id),
                                [sync](const std::string& path) {
                                  open_sqlite_run_store(path, sync);
                                });
}

caf::expected<nlohmann::json> node::run_workflow(const std::string& name,
                                                 const nlohmann::json& input) {
  return run_workflow(nlohmann::json{{"workflow", name}, {"input", input}});
}

caf::expected<nlohmann::json>
node::run_workflow(const nlohmann::json& request) {
  auto runner = impl_->workflows.get();
  if (!runner)
    return no_workflows(impl_->id);
  return ask_and_wait(*impl_->sys, runner, atom::run_v, request);
}

caf::expected<nlohmann::json> node::workflow_run(const std::string& run_id) {
  auto runner = impl_->workflows.get();
  if (!runner)
    return no_workflows(impl_->id);
  return ask_and_wait(*impl_->sys, runner, atom::runs_v, run_id);
}

caf::expected<nlohmann::json>
node::cancel_workflow_run(const std::string& run_id) {
  auto runner = impl_->workflows.get();
  if (!runner)
    return no_workflows(impl_->id);
  return ask_and_wait(*impl_->sys, runner, atom::cancel_v, run_id);
}

caf::expected<nlohmann::json> node::reload_workflows() {
  auto runner = impl_->workflows.get();
  if (!runner)
    return no_workflows(impl_->id);
  return ask_and_wait(*impl_->sys, runner, atom::reload_v);
}

workflows_actor node::workflows() const {
  return impl_->workflows.get();
}

} // namespace mesh
