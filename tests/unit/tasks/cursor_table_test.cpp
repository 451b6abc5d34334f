#define CAF_SUITE tasks.cursors
#include "check.hpp"

#include "tasks/store/cursor_table.hpp"

using namespace mesh;

namespace {

struct fixture {
  cursor_table table;
  std::map<cursor_key, int64_t> changes;
  cursor_key key{"job", "orders", "eu"};

  bool outside(int64_t cursor, const cursor_key& k) {
    return table.admit(k, cursor, true, changes);
  }
  bool outside(int64_t cursor) {
    return outside(cursor, key);
  }
  bool output(int64_t cursor) {
    return table.admit(key, cursor, false, changes);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cursor_table_tests, fixture)

CAF_TEST(outside events must move the cursor forward) {
  CAF_CHECK(outside(5));
  CAF_CHECK(!outside(5)); // the same event twice
  CAF_CHECK(!outside(3)); // too late
  CAF_CHECK(outside(6));
  CAF_REQUIRE(table.find(key) != nullptr);
  CAF_CHECK_EQUAL(*table.find(key), 6);
  CAF_CHECK_EQUAL(changes[key], 6);
}

CAF_TEST(cursors are per job dataset and partition) {
  CAF_CHECK(outside(5));
  CAF_CHECK(outside(5, {"job", "orders", "us"}));
  CAF_CHECK(outside(5, {"job", "refunds", "eu"}));
  CAF_CHECK(outside(5, {"other", "orders", "eu"}));
  CAF_CHECK(outside(1, {"job", "orders", ""}));
  CAF_CHECK_EQUAL(changes.size(), 5u);
}

CAF_TEST(outputs of tasks are taken in any order and move the cursor) {
  CAF_CHECK(output(7));
  CAF_CHECK(output(3)); // finished later, still taken
  CAF_CHECK_EQUAL(*table.find(key), 7);
  CAF_CHECK(!outside(7)); // an outside event behind the cursor is not
}

CAF_TEST(loading the committed cursors restores the dedupe) {
  table.load({{key, 10}});
  CAF_CHECK(!outside(10));
  CAF_CHECK(changes.empty());
  CAF_CHECK(outside(11));
  CAF_CHECK_EQUAL(changes[key], 11);
}

CAF_TEST(negative and extreme cursors compare as numbers) {
  CAF_CHECK(outside(-5));
  CAF_CHECK(!outside(-6));
  CAF_CHECK(outside(INT64_MAX));
  CAF_CHECK(!outside(INT64_MAX));
}

CAF_TEST_FIXTURE_SCOPE_END()
