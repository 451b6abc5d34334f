#pragma once

// cpu_share: whether a peer's batches come from a thread on the CPU that
// serves them (issue 16; cluster.serve_chunk_adaptive).
//
// A batch served in chunks lets the calling node work on the first answers
// while this node serves the rest: a gain when the two nodes run on CPUs of
// their own (two machines, processes pinned apart, or unpinned on a host
// with CPUs to spare), a frame more per round and no overlap when they take
// turns on one CPU (BENCHMARKS.md). A sender on this host says in each
// batch the CPU its thread ran on (ServeBatch.sender_cpu); the serving
// node compares it with its own. Reading the serving thread's involuntary
// context switches instead was tried: a caller that never blocks, woken
// by the answers, does not preempt the serving thread, so two nodes on
// one CPU looked like two apart.
//
// Thread safety: a gauge belongs to one ingress; the functions read the
// calling thread's CPU.

#include <cstdint>

namespace mesh {

/// Counts a peer's batches by whether they came from this CPU, in windows.
/// The peer shares it from a window with more than 3/4 of them from here
/// (pinned together: all) until one with fewer than 1/4 (apart: none;
/// unpinned on two CPUs, measured: about 1/8), so a peer in between does
/// not flip the choice at every window. Shared until a window says
/// otherwise: whole batches, the choice that never costs a frame.
class cpu_share_gauge {
public:
  /// Batches per reading.
  static constexpr uint32_t window = 64;
  /// More than this many from here: shared.
  static constexpr uint32_t shared_above = window * 3 / 4;
  /// Fewer than this many from here: apart.
  static constexpr uint32_t apart_below = window / 4;

  /// One batch; `same_cpu`: it came from the CPU this thread runs on.
  /// Whether the peer shares this node's CPU, as of the last whole window.
  bool batch(bool same_cpu) noexcept {
    same_ += same_cpu ? 1 : 0;
    if (++batches_ == window) {
      if (same_ > shared_above)
        shared_ = true;
      else if (same_ < apart_below)
        shared_ = false;
      batches_ = 0;
      same_ = 0;
    }
    return shared_;
  }

private:
  uint32_t batches_ = 0;
  uint32_t same_ = 0;
  bool shared_ = true;
};

/// ServeBatch.sender_cpu for a batch sent from the calling thread: its CPU
/// plus one (0 when the system does not say).
uint32_t sender_cpu_tag() noexcept;

/// Whether a batch whose sender_cpu is `tag` came from the CPU the calling
/// thread runs on (0: not said, never).
bool sent_from_this_cpu(uint32_t tag) noexcept;

} // namespace mesh
