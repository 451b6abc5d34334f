#define CAF_SUITE tasks.events
#include "check.hpp"

#include "tasks/event_json.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

// The refusal of `doc` (fails the test if it is read).
std::string refusal(const json& doc) {
  std::vector<task_event> out;
  auto err = parse_events(doc, out);
  CAF_CHECK(!err.empty());
  CAF_CHECK(out.empty());
  return err;
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(one event with every field) {
  std::vector<task_event> out;
  auto err = parse_events(json{{"dataset", "orders.eu"}, {"cursor", 42},
                               {"partition", "p1"}, {"payload", {{"a", 1}}}},
                          out);
  CAF_CHECK_EQUAL(err, "");
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].dataset, "orders.eu");
  CAF_CHECK_EQUAL(out[0].cursor, 42);
  CAF_CHECK_EQUAL(out[0].partition, "p1");
  CAF_CHECK_EQUAL(out[0].payload["a"].get<int>(), 1);
}

CAF_TEST(a bulk is read whole or not at all) {
  std::vector<task_event> out;
  json ok{{"events", {{{"dataset", "d"}, {"cursor", 1}},
                      {{"dataset", "d"}, {"cursor", 2}, {"partition", nullptr}}}}};
  CAF_CHECK_EQUAL(parse_events(ok, out), "");
  CAF_CHECK_EQUAL(out.size(), 2u);
  json bad{{"events", {{{"dataset", "d"}, {"cursor", 1}},
                       {{"dataset", "d"}, {"cursor", "2"}}}}};
  CAF_CHECK(mentions(refusal(bad), "event 1: bad event: \"cursor\""));
  CAF_CHECK(mentions(refusal(json{{"events", json::array()}}), "1 to 100000"));
  CAF_CHECK(mentions(refusal(json{{"events", "x"}}), "must be an array"));
}

CAF_TEST(bad fields are named) {
  CAF_CHECK(mentions(refusal(json::array()), "expected an object"));
  CAF_CHECK(mentions(refusal(json{{"cursor", 1}}), "\"dataset\""));
  CAF_CHECK(mentions(refusal(json{{"dataset", "a/b"}, {"cursor", 1}}),
                     "\"dataset\""));
  CAF_CHECK(mentions(refusal(json{{"dataset", std::string(129, 'a')},
                                  {"cursor", 1}}),
                     "\"dataset\""));
  CAF_CHECK(mentions(refusal(json{{"dataset", "d"}}), "\"cursor\""));
  CAF_CHECK(mentions(refusal(json{{"dataset", "d"}, {"cursor", 1.5}}),
                     "\"cursor\" must be an integer"));
  CAF_CHECK(mentions(refusal(json{{"dataset", "d"},
                                  {"cursor", uint64_t{1} << 63}}),
                     "out of range"));
  CAF_CHECK(mentions(refusal(json{{"dataset", "d"}, {"cursor", 1},
                                  {"partition", 7}}),
                     "\"partition\""));
  CAF_CHECK(mentions(refusal(json{{"dataset", "d"}, {"cursor", 1},
                                  {"partition", std::string(257, 'p')}}),
                     "256 bytes"));
}
