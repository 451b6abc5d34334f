#define CAF_SUITE processes.call_slots
#include "check.hpp"

#include <memory>
#include <set>
#include <string>

#include "actors/processes/call_slots.hpp"

using mesh::call_slots;

CAF_TEST(a value is taken once under its id) {
  call_slots<std::string> slots;
  auto a = slots.put("a");
  auto b = slots.put("b");
  CAF_REQUIRE(a && b);
  CAF_CHECK_NOT_EQUAL(*a, 0u);
  CAF_CHECK_NOT_EQUAL(*a, *b);
  CAF_CHECK_EQUAL(slots.size(), 2u);
  CAF_CHECK_EQUAL(slots.take(*b).value_or("none"), "b");
  CAF_CHECK(!slots.take(*b));
  CAF_CHECK_EQUAL(slots.take(*a).value_or("none"), "a");
  CAF_CHECK_EQUAL(slots.size(), 0u);
}

CAF_TEST(an id of a slot reused since finds nothing) {
  call_slots<std::string> slots;
  auto old_id = *slots.put("first");
  CAF_CHECK(slots.take(old_id));
  auto new_id = *slots.put("second");
  // The same slot, a new generation: the late answer is not the new call's.
  CAF_CHECK_EQUAL(new_id & (call_slots<std::string>::max_slots - 1),
                  old_id & (call_slots<std::string>::max_slots - 1));
  CAF_CHECK_NOT_EQUAL(new_id, old_id);
  CAF_CHECK(!slots.take(old_id));
  CAF_CHECK_EQUAL(slots.take(new_id).value_or("none"), "second");
}

CAF_TEST(ids from elsewhere find nothing) {
  call_slots<std::string> slots;
  auto id = *slots.put("x");
  CAF_CHECK(!slots.take(0));
  CAF_CHECK(!slots.take(id + 1));                 // a slot never used
  CAF_CHECK(!slots.take(id + (uint64_t{5} << 24))); // another generation
  CAF_CHECK(!slots.take(~uint64_t{0}));
  CAF_CHECK_EQUAL(slots.size(), 1u);
}

CAF_TEST(ids stay within the bits they may use and wrap past zero) {
  // 26 bits: 24 for the slot, generations 1 to 3.
  call_slots<int> slots{26};
  std::set<uint64_t> ids;
  for (int i = 0; i < 7; ++i) {
    auto id = *slots.put(int{i});
    CAF_CHECK_LESS(id, uint64_t{1} << 26);
    CAF_CHECK_NOT_EQUAL(id >> 24, 0u);
    ids.insert(id);
    CAF_CHECK_EQUAL(slots.take(id).value_or(-1), i);
  }
  CAF_CHECK_EQUAL(ids.size(), 3u); // generations 1, 2, 3 of slot 0, again
}

CAF_TEST(drain empties the table and releases what it held) {
  call_slots<std::shared_ptr<int>> slots;
  auto held = std::make_shared<int>(1);
  std::set<uint64_t> ids;
  for (int i = 0; i < 100; ++i)
    ids.insert(*slots.put(std::shared_ptr<int>{held}));
  CAF_CHECK_EQUAL(held.use_count(), 101);
  CAF_CHECK(slots.take(*ids.begin()));
  CAF_CHECK_EQUAL(held.use_count(), 100);
  // As the gate closes: swapped out under its lock, drained after.
  call_slots<std::shared_ptr<int>> left;
  left.swap(slots);
  CAF_CHECK_EQUAL(slots.size(), 0u);
  size_t drained = 0;
  left.drain([&](std::shared_ptr<int>&& p) {
    drained += p == held ? 1 : 0;
  });
  CAF_CHECK_EQUAL(drained, 99u);
  CAF_CHECK_EQUAL(left.size(), 0u);
  CAF_CHECK_EQUAL(held.use_count(), 1);
  for (auto id : ids) {
    CAF_CHECK(!slots.take(id));
    CAF_CHECK(!left.take(id));
  }
}

CAF_TEST(a full table refuses a value and leaves it as it was) {
  call_slots<std::string> slots{60, 2};
  auto a = slots.put("a");
  auto b = slots.put("b");
  CAF_REQUIRE(a && b);
  std::string c = "c";
  CAF_CHECK(!slots.put(std::move(c)));
  CAF_CHECK_EQUAL(c, "c"); // not moved from
  CAF_CHECK_EQUAL(slots.size(), 2u);
  CAF_CHECK(slots.take(*a));
  auto again = slots.put(std::move(c));
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(slots.take(*again).value_or("none"), "c");
}
