#pragma once

// For tests that hand messages to actors from threads of their own (the
// inline unit's, the data plane's): waiting until an actor has finished
// starting up on a CAF worker, so the next message finds it idle.

#include <chrono>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>

#include "process.hpp"

namespace mesh::test {

/// True once `a` waits for mail (within 10 s).
inline bool idle(const caf::actor& a) {
  auto* ptr = static_cast<caf::scheduled_actor*>(
    caf::actor_cast<caf::abstract_actor*>(a));
  return await_condition([ptr] { return ptr->mailbox().blocked(); },
                         std::chrono::seconds{10});
}

} // namespace mesh::test
