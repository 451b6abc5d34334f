#pragma once

// call_slots: the calls an actor without a mailbox has in flight, each
// under a request id that names its slot. A hash map did this before: a
// division and a bucket walk per look-up, a node moved in and out per
// call (BENCHMARKS.md). Here an id is the slot's index in its low bits and
// the slot's generation above them, so a look-up is an index and a compare,
// and an answer for a call that is gone (its slot reused since) is told
// from the new call's. Not synchronised: the owner locks around it.

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace mesh {

template <class T>
class call_slots {
  static_assert(std::is_nothrow_move_constructible_v<T>
                  && std::is_nothrow_move_assignable_v<T>,
                "a value moves in and out of its slot");

public:
  /// Index bits of an id; the generation takes the rest of `id_bits`.
  static constexpr int index_bits = 24;
  static constexpr uint64_t max_slots = uint64_t{1} << index_bits;

  /// `id_bits`: how many low bits an id may use (CAF's request ids: 60);
  /// `capacity`: how many values it keeps at most.
  explicit call_slots(int id_bits = 60, uint64_t capacity = max_slots)
    : max_generation_((uint64_t{1} << (id_bits - index_bits)) - 1),
      capacity_(capacity < max_slots ? capacity : max_slots) {
  }

  /// Keeps `value`; its id, never 0. Nothing when every slot is taken.
  /// If growing throws, `value` is left as it was and nothing changed.
  std::optional<uint64_t> put(T&& value) {
    uint64_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else if (slots_.size() < capacity_) {
      // Room on the free list first (growing as the slots do): giving a
      // slot back never allocates.
      if (free_.capacity() <= slots_.size())
        free_.reserve(2 * slots_.size() + 16);
      index = slots_.size();
      slots_.emplace_back();
    } else {
      return std::nullopt;
    }
    auto& s = slots_[index];
    s.value = std::move(value);
    s.used = true;
    ++size_;
    return (s.generation << index_bits) | index;
  }

  /// Takes the value kept under `id`; nothing if it was taken already.
  std::optional<T> take(uint64_t id) {
    auto index = id & (max_slots - 1);
    if (index >= slots_.size())
      return std::nullopt;
    auto& s = slots_[index];
    if (!s.used || s.generation != id >> index_bits)
      return std::nullopt;
    std::optional<T> out{std::move(s.value)};
    release(s, index);
    return out;
  }

  /// Hands every value still kept to `f` (as T&&), in no particular
  /// order, and forgets them. Allocates nothing.
  template <class F>
  void drain(F&& f) {
    for (uint64_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].used) {
        auto value = std::move(slots_[i].value);
        release(slots_[i], i);
        f(std::move(value));
      }
  }

  /// Exchanges the contents (allocates nothing): how an owner empties the
  /// table under its lock and drains it after.
  void swap(call_slots& other) noexcept {
    std::swap(max_generation_, other.max_generation_);
    std::swap(capacity_, other.capacity_);
    slots_.swap(other.slots_);
    free_.swap(other.free_);
    std::swap(size_, other.size_);
  }

  size_t size() const {
    return size_;
  }

private:
  struct slot {
    T value{};
    uint64_t generation = 1; // ids are never 0
    bool used = false;
  };

  // The slot keeps the value moved out of it (no reset: for the gate's
  // calls that cost more than the table itself) until it is reused; T's
  // move must leave nothing behind that matters (the gate's calls: null
  // pointers, empty strings).
  void release(slot& s, uint64_t index) noexcept {
    s.used = false;
    s.generation = s.generation == max_generation_ ? 1 : s.generation + 1;
    --size_;
    free_.push_back(index);
  }

  uint64_t max_generation_;
  uint64_t capacity_;
  std::vector<slot> slots_;
  std::vector<uint64_t> free_;
  size_t size_ = 0;
};

} // namespace mesh
