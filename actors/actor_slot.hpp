#pragma once

// actor_slot: where the node's actors find one of their own that the
// supervisor may restart (router, registry, strategy evaluator, topic
// dispatcher). A CAF handle names one actor for good; a restarted actor is a
// new one. Every copy of a slot shares one cell, so whoever holds the slot
// reaches the current actor after a restart, without being told.
//
// get() takes a lock held for one handle copy; the supervisor is the only
// writer. An empty slot yields a null handle.

#include <memory>
#include <mutex>
#include <utility>

namespace mesh {

template <class Handle>
class actor_slot {
public:
  actor_slot() = default;

  /// A slot holding `h` (tests hand actors over directly).
  actor_slot(Handle h) // NOLINT: implicit on purpose
    : cell_(std::make_shared<cell>()) {
    cell_->handle = std::move(h);
  }

  /// The current actor, or a null handle.
  Handle get() const {
    if (!cell_)
      return Handle{};
    std::lock_guard<std::mutex> guard{cell_->mtx};
    return cell_->handle;
  }

  /// Installs `h`: every copy of this slot now reaches it.
  void set(Handle h) {
    if (!cell_)
      cell_ = std::make_shared<cell>();
    std::lock_guard<std::mutex> guard{cell_->mtx};
    cell_->handle = std::move(h);
  }

  explicit operator bool() const {
    return static_cast<bool>(get());
  }

private:
  struct cell {
    std::mutex mtx;
    Handle handle;
  };
  std::shared_ptr<cell> cell_;
};

} // namespace mesh
