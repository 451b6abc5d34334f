#pragma once

// Callers that promise never to block (issue 16). The data plane's thread
// runs the router when answers from another node arrive; the router hands
// each answer to its caller, and a caller CAF's workers run costs a thread
// switch per round trip (the plane's thread wakes a worker). A caller
// declared here runs on the plane's thread too, right after the router, as
// the ingresses do: its next requests go out from there.
//
// The price is the plane's: while such a caller runs, no frame on any data
// link is read. One that blocks there (a lock, a disk, a sleep, a
// scoped_actor waiting for an answer, which would never come) stalls the
// node's remote traffic. A turn of 100 ms or more on the plane's thread
// (up to the scheduler's max-throughput messages of one actor) is logged
// and counted, and a declared caller's second one within a minute of its
// first ends its declaration for good (data_plane_glue.cpp's
// watch_plane_job; one alone may be the host's, a virtual machine's pause:
// actors/handlers/stall_counter.hpp). Declare only event-based actors that
// handle each message quickly; the rest stay on CAF's workers, as by
// default.
//
// Thread safety: every function may be called from any thread.

#include <chrono>
#include <cstddef>

#include <caf/fwd.hpp>

namespace mesh {

/// How many callers may be declared at once.
inline constexpr size_t max_non_blocking_callers = 64;

/// Declares `caller` (an event-based actor) a non-blocking caller until it
/// ends. False, and nothing changes, when `caller` is null, its
/// declaration was revoked (it stalled the plane twice), or
/// max_non_blocking_callers others are declared: it then runs on CAF's
/// workers as any actor. Declaring it again is no error.
bool declare_non_blocking_caller(const caf::actor& caller);

/// Whether `job` is an actor declared so that has not ended and was not
/// revoked.
bool is_non_blocking_caller(caf::resumable* job) noexcept;

/// Counts a stall of `job` at `now` (it held the plane's thread too long);
/// at a second within stall_window of the first its declaration ends for
/// good (true then): from then on it runs on CAF's workers. False for any
/// other job.
bool non_blocking_caller_stalled(
  caf::resumable* job,
  std::chrono::steady_clock::time_point now
  = std::chrono::steady_clock::now()) noexcept;

/// Callers declared now, not revoked (tests).
size_t non_blocking_callers();

} // namespace mesh
