#include "tasks/task.hpp"

#include <utility>

namespace mesh {

const char* to_string(task_state x) noexcept {
  switch (x) {
    case task_state::held:
      return "held";
    case task_state::queued:
      return "queued";
    case task_state::leased:
      return "leased";
    case task_state::done:
      return "done";
    case task_state::dead:
      return "dead";
  }
  return "unknown";
}

std::optional<task_state> task_state_from_string(const std::string& x) {
  for (auto s : {task_state::held, task_state::queued, task_state::leased,
                 task_state::done, task_state::dead})
    if (x == to_string(s))
      return s;
  return std::nullopt;
}

std::string make_task_id(const std::string& job, const task_event& event) {
  return job + ":" + event.dataset + ":" + event.partition + ":"
         + std::to_string(event.cursor);
}

namespace task_machine {

namespace {

// A reply about attempt n is only taken while n is the running attempt: a
// late answer from an earlier, already expired lease must not finish or
// fail the current one.
bool current(const task_record& t, uint32_t attempt) {
  return t.state == task_state::leased && attempt == t.attempts;
}

} // namespace

bool release(task_record& t, int64_t now_ms) {
  if (t.state != task_state::held)
    return false;
  t.state = task_state::queued;
  t.due_ms = now_ms;
  return true;
}

bool lease(task_record& t, int64_t now_ms, int64_t lease_ms) {
  if (t.state != task_state::queued)
    return false;
  t.state = task_state::leased;
  ++t.attempts;
  t.due_ms = now_ms + lease_ms;
  return true;
}

bool extend(task_record& t, uint32_t attempt, int64_t now_ms,
            int64_t lease_ms) {
  if (!current(t, attempt))
    return false;
  t.due_ms = now_ms + lease_ms;
  return true;
}

bool complete(task_record& t, uint32_t attempt, int64_t now_ms) {
  if (!current(t, attempt))
    return false;
  t.state = task_state::done;
  t.due_ms = now_ms;
  return true;
}

std::optional<task_state> fail(task_record& t, uint32_t attempt,
                               attempt_record failure, uint32_t max_attempts,
                               int64_t backoff_ms, int64_t now_ms) {
  if (!current(t, attempt))
    return std::nullopt;
  failure.attempt = attempt;
  if (failure.at_ms == 0)
    failure.at_ms = now_ms;
  t.history.push_back(std::move(failure));
  if (t.attempts >= max_attempts) {
    t.state = task_state::dead;
    t.due_ms = now_ms;
  } else {
    t.state = task_state::queued;
    t.due_ms = now_ms + backoff_ms;
  }
  return t.state;
}

bool revive(task_record& t, int64_t now_ms) {
  if (t.state != task_state::dead)
    return false;
  t.state = task_state::queued;
  t.attempts = 0;
  t.due_ms = now_ms;
  return true;
}

bool recover(task_record& t, int64_t now_ms) {
  if (t.state != task_state::leased)
    return false;
  t.history.push_back(
      {t.attempts, "interrupted",
       "the node holding the queue stopped while the task was leased", "",
       now_ms});
  // Always queued again, even with the attempts used up: the task did not
  // fail on its own, and lease() counts the next delivery as attempt + 1.
  t.state = task_state::queued;
  t.due_ms = now_ms;
  return true;
}

} // namespace task_machine

} // namespace mesh
