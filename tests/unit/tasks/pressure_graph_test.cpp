#define CAF_SUITE tasks.pressure
#include "check.hpp"

#include "tasks/jobs/pressure_graph.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

using job_map = std::map<std::string, job_ptr, std::less<>>;
using names = std::vector<std::string>;

job_ptr make_job(const std::string& id, names inputs, names outputs,
                 size_t max_depth = 0,
                 std::chrono::milliseconds max_age = 0ms) {
  auto j = std::make_shared<job_definition>();
  j->id = id;
  j->inputs = std::move(inputs);
  j->outputs = std::move(outputs);
  j->max_queue_depth = max_depth;
  j->max_queue_age = max_age;
  return j;
}

// A -> B -> C through datasets a and b; C has a depth limit of 100.
job_map chain() {
  return {{"A", make_job("A", {"in"}, {"a"})},
          {"B", make_job("B", {"a"}, {"b"})},
          {"C", make_job("C", {"b"}, {}, 100)}};
}

queue_level depth(size_t n) {
  return {n, 0};
}

} // namespace

CAF_TEST(edges follow outputs to inputs) {
  pressure_graph g;
  g.set_jobs(chain());
  CAF_CHECK_EQUAL(g.upstream("B"), std::set<std::string>{"A"});
  CAF_CHECK_EQUAL(g.upstream("C"), std::set<std::string>{"B"});
  CAF_CHECK(g.upstream("A").empty());
  CAF_CHECK(g.upstream("nobody").empty());
  CAF_CHECK(!g.any());
}

CAF_TEST(a pressured job pauses everything upstream but not itself) {
  pressure_graph g;
  g.set_jobs(chain());
  CAF_CHECK(!g.update("C", depth(100))); // at the limit is not over it
  CAF_CHECK(g.update("C", depth(101)));
  CAF_CHECK(g.pressured("C"));
  CAF_CHECK(g.any());
  CAF_CHECK_EQUAL(g.paused_by("B"), names{"C"});
  CAF_CHECK_EQUAL(g.paused_by("A"), names{"C"}); // recursively
  CAF_CHECK(g.paused_by("C").empty());
  CAF_CHECK(!g.update("C", depth(150))); // no change
  CAF_CHECK(!g.update("unknown", depth(1000)));
  CAF_CHECK(!g.pressured("unknown"));
}

CAF_TEST(pressure clears only below eighty percent) {
  pressure_graph g;
  g.set_jobs(chain());
  CAF_CHECK(g.update("C", depth(101)));
  CAF_CHECK(!g.update("C", depth(85)));
  CAF_CHECK(g.pressured("C"));
  CAF_CHECK(!g.update("C", depth(80))); // 80 % is not below 80 %
  CAF_CHECK(g.pressured("C"));
  CAF_CHECK(g.update("C", depth(79)));
  CAF_CHECK(!g.pressured("C"));
  CAF_CHECK(g.paused_by("A").empty());
  CAF_CHECK(!g.any());
  // Below the limit again, it does not come back until it is over.
  CAF_CHECK(!g.update("C", depth(95)));
  CAF_CHECK(!g.pressured("C"));
}

CAF_TEST(an old queue is pressure too) {
  pressure_graph g;
  g.set_jobs({{"A", make_job("A", {"in"}, {"a"})},
              {"B", make_job("B", {"a"}, {}, 0, 10000ms)}});
  CAF_CHECK(!g.update("B", {5000, 10000})); // no depth limit; age at limit
  CAF_CHECK(g.update("B", {1, 10001}));
  CAF_CHECK_EQUAL(g.paused_by("A"), names{"B"});
  CAF_CHECK(!g.update("B", {1, 9000}));
  CAF_CHECK(g.update("B", {1, 7999}));
  CAF_CHECK(g.paused_by("A").empty());
}

CAF_TEST(with both limits pressure clears when both are below) {
  pressure_graph g;
  g.set_jobs({{"B", make_job("B", {"a"}, {}, 100, 10000ms)}});
  CAF_CHECK(g.update("B", {101, 0}));    // by depth
  CAF_CHECK(!g.update("B", {10, 9000})); // depth fine, age at 90 %
  CAF_CHECK(g.pressured("B"));
  CAF_CHECK(g.update("B", {10, 100}));
  CAF_CHECK(g.update("B", {1, 20000})); // by age
  CAF_CHECK(!g.update("B", {90, 100})); // age fine, depth at 90 %
  CAF_CHECK(g.update("B", {0, 0}));
}

CAF_TEST(cycles do not loop and a job never pauses itself) {
  pressure_graph g;
  // A -> B -> C -> A, and C -> D.
  g.set_jobs({{"A", make_job("A", {"c"}, {"a"}, 10)},
              {"B", make_job("B", {"a"}, {"b"}, 10)},
              {"C", make_job("C", {"b"}, {"c", "d"}, 10)},
              {"D", make_job("D", {"d"}, {}, 10)}});
  CAF_CHECK(g.update("A", depth(11)));
  CAF_CHECK(g.paused_by("A").empty()); // its own cycle comes back to it
  CAF_CHECK_EQUAL(g.paused_by("B"), names{"A"});
  CAF_CHECK_EQUAL(g.paused_by("C"), names{"A"});
  CAF_CHECK(g.paused_by("D").empty());
  CAF_CHECK(g.update("D", depth(11)));
  CAF_CHECK_EQUAL(g.paused_by("A"), names{"D"});
  CAF_CHECK_EQUAL(g.paused_by("B"), (names{"A", "D"}));
}

CAF_TEST(two pressured downstream jobs are both named) {
  pressure_graph g;
  // A feeds B and C.
  g.set_jobs({{"A", make_job("A", {"in"}, {"a"})},
              {"B", make_job("B", {"a"}, {}, 10)},
              {"C", make_job("C", {"a"}, {}, 10)}});
  CAF_CHECK_EQUAL(g.upstream("C"), std::set<std::string>{"A"});
  CAF_CHECK(g.update("B", depth(11)));
  CAF_CHECK(g.update("C", depth(11)));
  CAF_CHECK_EQUAL(g.paused_by("A"), (names{"B", "C"}));
  CAF_CHECK(g.update("B", depth(0)));
  CAF_CHECK_EQUAL(g.paused_by("A"), names{"C"});
  CAF_CHECK(g.paused_by("B").empty()); // siblings do not pause each other
}

CAF_TEST(set jobs keeps pressure of remaining jobs and drops removed ones) {
  pressure_graph g;
  g.set_jobs(chain());
  auto jobs = chain();
  jobs["B"] = make_job("B", {"a"}, {"b"}, 10);
  g.set_jobs(jobs);
  CAF_CHECK(g.update("C", depth(101)));
  CAF_CHECK(g.update("B", depth(11)));
  jobs.erase("C");
  g.set_jobs(jobs);
  CAF_CHECK(!g.pressured("C"));
  CAF_CHECK(g.pressured("B"));
  CAF_CHECK_EQUAL(g.paused_by("A"), names{"B"});
  CAF_CHECK(g.upstream("C").empty());
  // A job added downstream of B: the edges are rebuilt, the pressure stays.
  jobs["E"] = make_job("E", {"b"}, {});
  g.set_jobs(jobs);
  CAF_CHECK(g.pressured("B"));
  CAF_CHECK_EQUAL(g.upstream("E"), std::set<std::string>{"B"});
  CAF_CHECK_EQUAL(g.paused_by("A"), names{"B"});
}
