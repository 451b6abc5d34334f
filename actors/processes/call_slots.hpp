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
#include <utility>
#include <vector>

namespace mesh {

template <class T>
class call_slots {
public:
  /// Index bits of an id; the generation takes the rest of `id_bits`.
  static constexpr int index_bits = 24;
  static constexpr uint64_t max_slots = uint64_t{1} << index_bits;

  /// `id_bits`: how many low bits an id may use (CAF's request ids: 60).
  explicit call_slots(int id_bits = 60)
    : max_generation_((uint64_t{1} << (id_bits - index_bits)) - 1) {
  }

  /// Keeps `value`; its id, never 0. Nothing when every slot is taken.
  std::optional<uint64_t> put(T&& value) {
    uint64_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else if (slots_.size() < max_slots) {
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

  /// Takes every value still kept, in no particular order.
  std::vector<T> take_all() {
    std::vector<T> out;
    out.reserve(size_);
    for (uint64_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].used) {
        out.push_back(std::move(slots_[i].value));
        release(slots_[i], i);
      }
    return out;
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
  // calls that cost more than the table itself) until it is reused.
  void release(slot& s, uint64_t index) {
    s.used = false;
    s.generation = s.generation == max_generation_ ? 1 : s.generation + 1;
    --size_;
    free_.push_back(index);
  }

  uint64_t max_generation_;
  std::vector<slot> slots_;
  std::vector<uint64_t> free_;
  size_t size_ = 0;
};

} // namespace mesh
