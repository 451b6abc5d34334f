// mesh::node's durable tasks: emit, the functions plug-ins register, and
// the checks made at start.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>

#include <caf/scoped_actor.hpp>

#include "actors/node_actors.hpp"
#include "actors/topics/topic_handler.hpp"
#include "node/node_impl.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

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
  return ask_and_wait(sys, tasks, std::forward<Ts>(xs)...);
}

} // namespace

caf::error check_folder_and_store(
  const std::string& folder, const char* what, const std::string& path,
  const std::function<void(const std::string&)>& open) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    return make_error(status_code::invalid_argument,
                      std::string{"the "} + what + " folder " + folder
                        + " does not exist or is not a folder");
  try {
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty())
      std::filesystem::create_directories(dir, ec);
    open(path);
  } catch (const std::exception& e) {
    return make_error(status_code::unavailable, e.what());
  }
  return caf::none;
}

caf::error check_task_store(const node_config& cfg, const std::string& id) {
  if (cfg.tasks.jobs_dir.empty())
    return caf::none;
  auto sync = sync_mode_of(cfg.tasks.synchronous);
  return check_folder_and_store(cfg.tasks.jobs_dir, "jobs",
                                task_store_path(cfg, id),
                                [sync](const std::string& path) {
                                  open_sqlite_task_store(path, sync);
                                });
}

dispatcher_spec node::emit_dispatcher(const dispatcher_decl& decl) {
  // The cursor is the message's "cursor" when it has an integer one, else
  // a number that grows with every message of this node (microseconds).
  auto last = std::make_shared<std::atomic<int64_t>>(0);
  auto fn = [this, dataset = decl.dataset, last](const topic_message& m) {
    nlohmann::json ev{{"dataset", dataset.empty() ? m.topic : dataset},
                      {"payload", m.payload}};
    const auto& p = m.payload;
    if (p.is_object() && p.contains("cursor") && p["cursor"].is_number_integer()) {
      ev["cursor"] = p["cursor"];
    } else {
      auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
      auto prev = last->load();
      while (!last->compare_exchange_weak(prev, std::max(prev + 1, now))) {
      }
      ev["cursor"] = std::max(prev + 1, now);
    }
    if (p.is_object() && p.contains("partition") && p["partition"].is_string())
      ev["partition"] = p["partition"];
    auto r = emit(ev);
    if (!r)
      throw std::runtime_error("emit to dataset " + ev["dataset"].get<std::string>()
                               + ": " + error_text(r.error()));
    return std::vector<std::string>{};
  };
  return make_function_dispatcher(decl.id, decl.category, std::move(fn),
                                  decl.message_types);
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
