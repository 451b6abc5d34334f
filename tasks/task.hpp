#pragma once

// Durable tasks (seed 002): the task model and its state machine, free of
// CAF and of storage so that it can be tested on its own.
//
// An event {dataset, cursor, partition, payload} creates one task per job
// whose inputs name the dataset. A task moves:
//
//   held ──(pressure cleared)──> queued ──(delivered)──> leased
//   leased ──(success)──> done
//   leased ──(failure, timeout, lost node, expired lease)──> queued (backoff)
//                                                          or dead (attempts
//                                                          used up)
//   dead ──(dead-letter retry)──> queued (attempts start again)
//
// `held` is an event that arrived while its job was paused by backpressure:
// kept (durably, with its cursor) and turned into a queued task once the
// pressure clears, so nothing is dropped.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mesh {

enum class task_state : uint8_t { held, queued, leased, done, dead };

const char* to_string(task_state x) noexcept;

/// Parses "held", "queued", ...; nullopt for anything else.
std::optional<task_state> task_state_from_string(const std::string& x);

/// One upstream event.
struct task_event {
  std::string dataset;
  int64_t cursor = 0;
  std::string partition; ///< empty: none
  nlohmann::json payload; ///< null: none
};

/// What one delivery attempt ended with (kept for dead letters).
struct attempt_record {
  uint32_t attempt = 0;
  std::string status; ///< a status name ("handler_error", "lease_expired", ...)
  std::string error;
  std::string node;   ///< the node that ran it (empty: unknown)
  int64_t at_ms = 0;  ///< wall clock, milliseconds since the epoch
};

struct task_record {
  std::string id;  ///< job:dataset:partition:cursor, the idempotency key
  std::string job;
  task_event event;
  task_state state = task_state::queued;
  uint32_t attempts = 0;     ///< deliveries started so far
  int64_t created_ms = 0;    ///< wall clock
  /// queued: not before this time (backoff); leased: the lease deadline;
  /// done: when it finished (retention counts from it).
  int64_t due_ms = 0;
  std::vector<attempt_record> history;
};

/// The task id of `job` for `event`: the same event always gives the same id.
std::string make_task_id(const std::string& job, const task_event& event);

/// The transitions, each returning false (and changing nothing) when `t`
/// is not in a state that allows it.
namespace task_machine {

/// held -> queued.
bool release(task_record& t, int64_t now_ms);

/// queued -> leased: attempts + 1, due = now + lease.
bool lease(task_record& t, int64_t now_ms, int64_t lease_ms);

/// leased -> leased with due = now + lease, only for the current attempt.
bool extend(task_record& t, uint32_t attempt, int64_t now_ms,
            int64_t lease_ms);

/// leased -> done, only for the current attempt.
bool complete(task_record& t, uint32_t attempt, int64_t now_ms);

/// leased -> queued (due = now + backoff) or dead when `max_attempts` are
/// used up; the failure is appended to the history. Only for the current
/// attempt. Returns the new state, or nullopt when refused.
std::optional<task_state> fail(task_record& t, uint32_t attempt,
                               attempt_record failure, uint32_t max_attempts,
                               int64_t backoff_ms, int64_t now_ms);

/// dead -> queued with attempts reset to 0 (the history is kept).
bool revive(task_record& t, int64_t now_ms);

/// leased -> queued after a crash: the attempt counts as failed
/// ("interrupted"), and the next delivery is attempt + 1.
bool recover(task_record& t, int64_t now_ms);

} // namespace task_machine

} // namespace mesh
