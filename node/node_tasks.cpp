// mesh::node's durable tasks: emit, the functions plug-ins register, and
// the checks made at start.

#include <filesystem>

#include <caf/scoped_actor.hpp>

#include "actors/node_actors.hpp"
#include "node/node_impl.hpp"
#include "protocol/local_types.hpp"
#include "protocol/type_ids.hpp"

namespace mesh {

namespace {

caf::error no_tasks(const std::string& id) {
  return make_error(status_code::unavailable,
                    "node " + id + " has no jobs (start it with --jobs DIR)");
}

// Asks the task dispatcher and waits for its JSON answer.
template <class... Ts>
caf::expected<nlohmann::json> ask_tasks(caf::actor_system& sys,
                                        const tasks_actor& tasks,
                                        const std::string& id, Ts&&... xs) {
  if (!tasks)
    return no_tasks(id);
  caf::scoped_actor self{sys};
  caf::expected<nlohmann::json> result{nlohmann::json{}};
  self->request(tasks, caf::infinite, std::forward<Ts>(xs)...)
    .receive([&](nlohmann::json& r) { result = std::move(r); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::error check_task_store(const node_config& cfg, const std::string& id) {
  if (cfg.tasks.jobs_dir.empty())
    return caf::none;
  std::error_code ec;
  if (!std::filesystem::is_directory(cfg.tasks.jobs_dir, ec))
    return make_error(status_code::invalid_argument,
                      "the jobs folder " + cfg.tasks.jobs_dir
                        + " does not exist or is not a folder");
  try {
    auto path = task_store_path(cfg, id);
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty())
      std::filesystem::create_directories(dir, ec);
    open_sqlite_task_store(path, sync_mode_of(cfg.tasks.synchronous));
  } catch (const std::exception& e) {
    return make_error(status_code::unavailable, e.what());
  }
  return caf::none;
}

caf::error node::start_tasks() {
  if (!impl_->tasks.get())
    return caf::none;
  auto report = reload_jobs();
  if (!report)
    return make_error(status_code::unavailable,
                      "durable tasks: " + error_text(report.error()));
  return caf::none;
}

caf::expected<nlohmann::json> node::emit(const nlohmann::json& event) {
  return ask_tasks(*impl_->sys, impl_->tasks.get(), impl_->id, atom::emit_v, event);
}

caf::expected<nlohmann::json> node::reload_jobs() {
  return ask_tasks(*impl_->sys, impl_->tasks.get(), impl_->id, atom::reload_v);
}

tasks_actor node::tasks() const {
  return impl_->tasks.get();
}

void node::add_task_dispatcher(std::string name, task_function fn) {
  impl_->task_functions->add_dispatcher(name, std::move(fn));
}

void node::add_task_kind(std::string kind, task_function fn) {
  impl_->task_functions->add_kind(kind, std::move(fn));
}

} // namespace mesh
