// The task dispatcher's start: the store is opened and what it holds is
// loaded (cursors, done counts, paused jobs, open tasks). A task leased when
// the node stopped is delivered again; a row that cannot be read is left in
// the store, counted per job and logged, and every other task loads.

#include <filesystem>

#include "actors/tasks/task_dispatcher_state.hpp"
#include "protocol/status.hpp"

namespace mesh {

caf::error task_dispatcher_state::open_store() {
  try {
    auto dir = std::filesystem::path(cfg.store_path).parent_path();
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
    }
    store = open_sqlite_task_store(cfg.store_path, cfg.sync,
                                   cfg.max_payload_bytes);
    cursors.load(store->load_cursors());
    auto done = store->count_done();
    for (auto& [job, n] : done)
      per_job[job].done = n;
    for (auto& [job, paused] : store->load_paused())
      per_job[job].operator_paused = paused;
    auto now = now_ms();
    size_t recovered = 0;
    std::vector<unreadable_task> unreadable;
    for (auto& t : store->load_open(&unreadable)) {
      // A task leased when the node stopped is delivered again (attempt + 1).
      if (t.state == task_state::leased && task_machine::recover(t, now)) {
        ++recovered;
        dirty.insert(t.id);
      }
      add_task(std::move(t));
    }
    for (const auto& u : unreadable) { // left in the store, as they are
      ++per_job[u.job].unreadable;
      log->error("{}; it is left in the store and not delivered until its "
                 "row is mended or deleted", u.why);
    }
    log->info("task store {}: {} open tasks ({} leased at the last stop are "
              "delivered again, {} unreadable)",
              store->location(), open.size(), recovered, unreadable.size());
    return {};
  } catch (const std::exception& e) {
    return make_error(status_code::unavailable, e.what());
  }
}

} // namespace mesh
