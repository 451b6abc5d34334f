#define CAF_SUITE actors.heartbeat_ring
#include "net_fixture.hpp"

#include "check.hpp"

// The heartbeat ring, deterministically: three simulated nodes with one
// monitor each. Sorted, the ring is earth -> jupiter -> mars -> earth: each
// beats the next and watches the one before (earth watches mars, jupiter
// watches earth, mars watches jupiter), so every node has one peer it does
// not watch and whose state it takes from the others' reports.

using namespace mesh;
using namespace mesh::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct fixture : net_fixture {
  fixture() {
    monitors = 1;
    start(earth, {"users"});
    start(mars, {"users"});
    start(jupiter, {"users"});
    prepare_link(mars, earth);
    prepare_link(jupiter, earth);
    prepare_link(jupiter, mars);
    prepare_link(mars, jupiter);
    CAF_REQUIRE(connect(mars, earth));
    CAF_REQUIRE(connect(jupiter, earth));
    run_for(300ms); // member lists spread, the ring forms
  }

  json peer(planet& from, const std::string& id) {
    auto view = peers(from);
    return view.contains(id) ? view[id] : json::object();
  }

  std::string state_of(planet& from, const std::string& id) {
    return peer(from, id).value("state", "");
  }

  // Every node sees both others up.
  void check_all_up() {
    for (auto* p : planets) {
      auto view = peers(*p);
      CAF_CHECK_EQUAL(view.size(), 2u);
      for (auto& [id, row] : view.items())
        MESH_CHECK_MSG(row.value("state", "") == "up",
                       p->id << " sees " << id << " as " << row["state"]);
    }
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(heartbeat_ring_tests, fixture)

CAF_TEST(each node watches the one before it and trusts reports on the other) {
  CAF_CHECK_EQUAL(peer(earth, "mars").value("watched", false), true);
  CAF_CHECK_EQUAL(peer(earth, "jupiter").value("watched", true), false);
  CAF_CHECK_EQUAL(peer(jupiter, "earth").value("watched", false), true);
  CAF_CHECK_EQUAL(peer(mars, "jupiter").value("watched", false), true);
  // A second of beats: nobody hears from the peer it does not watch, and
  // nobody takes that silence for a failure.
  run_for(1s);
  check_all_up();
}

CAF_TEST(the verdict of a watcher reaches the node that does not watch the peer) {
  mars.frozen = true;
  run_for(300ms); // 300 ms of silence: suspect (at 200 ms) for earth
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "suspect");
  CAF_CHECK_EQUAL(state_of(jupiter, "mars"), "suspect");
  CAF_CHECK_EQUAL(peer(jupiter, "mars").value("reported", false), true);
  CAF_CHECK_EQUAL(peer(earth, "mars").value("reported", true), false);
  run_for(200ms); // 500 ms > 100 ms x 4: down
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "down");
  CAF_CHECK_EQUAL(state_of(jupiter, "mars"), "down");
  // The ring closes over the gap: earth now watches jupiter, and jupiter,
  // no longer beating mars, beats earth.
  run_for(300ms);
  CAF_CHECK_EQUAL(peer(earth, "jupiter").value("watched", false), true);
  CAF_CHECK_EQUAL(state_of(earth, "jupiter"), "up");
  CAF_CHECK_EQUAL(state_of(jupiter, "earth"), "up");
}

CAF_TEST(a node that thaws is up again and takes nobody for down) {
  mars.frozen = true;
  run_for(800ms); // down for both (as above); mars's timers pile up
  CAF_REQUIRE_EQUAL(state_of(earth, "mars"), "down");
  CAF_REQUIRE_EQUAL(state_of(jupiter, "mars"), "down");
  mars.frozen = false;
  // Its first tick is 800 ms late: mars stood still, so it judges nobody
  // on that tick (else it would find jupiter, the peer it watches, silent
  // for 800 ms and report it down to earth, which trusts reports on it).
  exhaust();
  // Up all along: not down and up again when jupiter's next beat came.
  auto jupiter_at_mars = peer(mars, "jupiter");
  CAF_CHECK_EQUAL(jupiter_at_mars.value("state", ""), "up");
  CAF_CHECK_GREATER_OR_EQUAL(jupiter_at_mars.value("state_for_ms", 0), 800);
  CAF_CHECK_EQUAL(state_of(earth, "jupiter"), "up");
  run_for(50ms); // its beats bring it back for the others
  CAF_CHECK_EQUAL(state_of(earth, "jupiter"), "up");
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "up");
  run_for(400ms);
  check_all_up();
}

CAF_TEST_FIXTURE_SCOPE_END()
