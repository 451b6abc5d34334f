#define CAF_SUITE topics
#include "check.hpp"

#include <random>

#include "topics/dispatch_status.hpp"
#include "topics/route_table.hpp"
#include "topics/topic.hpp"
#include "topics/topic_trie.hpp"

using namespace mesh;

namespace {

// The matching table: (pattern, topic, matches).
struct row {
  const char* pattern;
  const char* topic;
  bool matches;
};

const row table[] = {
  {"orders.*.created", "orders.eu.created", true},
  {"orders.*.created", "orders.eu.x.created", false},
  {"orders.*.created", "orders.created", false},
  {"orders.>", "orders", false},
  {"orders.>", "orders.eu", true},
  {"orders.>", "orders.eu.created", true},
  {"orders", "orders", true},
  {"orders", "orders.eu", false},
  {"*", "orders", true},
  {"*", "orders.eu", false},
  {">", "orders", true},
  {">", "orders.eu.created", true},
  {"*.*", "a.b", true},
  {"*.>", "a", false},
  {"*.>", "a.b.c", true},
  {"a.*.c.>", "a.b.c.d", true},
  {"a.*.c.>", "a.b.c", false},
  {"orders.eu.created", "orders.eu.created", true},
  {"orders.eu.created", "orders.us.created", false},
  {"Orders.eu", "orders.eu", false}, // case matters
};

std::vector<std::string> matches(const topic_trie& t, const std::string& topic,
                                 const std::vector<std::string>& patterns) {
  std::vector<uint32_t> hits;
  t.match(topic, hits);
  std::vector<std::string> out;
  for (auto h : hits)
    out.push_back(patterns[h]);
  std::sort(out.begin(), out.end());
  return out;
}

topic_route route(std::string id, std::string pattern, std::string dispatcher,
                  std::string type = {}, bool enabled = true,
                  message_category c = message_category::event) {
  return {std::move(id), std::move(pattern), c, std::move(dispatcher),
          std::move(type), enabled};
}

} // namespace

CAF_TEST(the matching table holds for the reference and the trie) {
  for (const auto& r : table) {
    MESH_CHECK_MSG(topic_matches(r.pattern, r.topic) == r.matches,
                   r.pattern << " vs " << r.topic);
    topic_trie t;
    t.insert(r.pattern, 7);
    std::vector<uint32_t> hits;
    t.match(r.topic, hits);
    MESH_CHECK_MSG(hits.empty() != r.matches, "trie: " << r.pattern << " vs "
                                                      << r.topic);
  }
}

CAF_TEST(patterns are validated) {
  for (const char* good : {"a", "a.b", "*", ">", "a.*", "a.>", "*.b.>"})
    MESH_CHECK_MSG(check_topic_pattern(good).empty(), good);
  for (const char* bad : {"", "a..b", ".a", "a.", "a.>.b", "a*", "a.b*.c",
                          ">a", "$SYS.>", "$x", "a b", "a.\t"})
    MESH_CHECK_MSG(!check_topic_pattern(bad).empty(), "'" << bad << "'");
  CAF_CHECK(check_topic_pattern("$SYS.x").find("reserved") != std::string::npos);
  CAF_CHECK(check_topic_pattern("a.>.b").find("last") != std::string::npos);
}

CAF_TEST(published topics may not hold wildcards empty tokens or dollars) {
  CAF_CHECK(check_topic("orders.eu.created").empty());
  for (const char* bad : {"", "orders.*", "orders.>", "a..b", ".a", "a.",
                          "$SYS.health", "a.b*", "a b"})
    MESH_CHECK_MSG(!check_topic(bad).empty(), "'" << bad << "'");
  CAF_CHECK(check_topic("orders.*").find("wildcard") != std::string::npos);
  CAF_CHECK(check_topic("$SYS.x").find("reserved") != std::string::npos);
  CAF_CHECK(check_topic("a..b").find("empty token") != std::string::npos);
}

CAF_TEST(the trie agrees with the reference on random patterns) {
  std::mt19937 rng{5};
  const char* words[] = {"a", "b", "c", "*"};
  std::vector<std::string> patterns;
  topic_trie t;
  for (uint32_t i = 0; i < 300; ++i) {
    std::string p;
    auto len = 1 + rng() % 4;
    for (size_t k = 0; k < len; ++k)
      p += (k == 0 ? "" : ".") + std::string{words[rng() % 4]};
    if (rng() % 4 == 0)
      p += ".>";
    patterns.push_back(p);
    t.insert(p, i);
  }
  for (int n = 0; n < 500; ++n) {
    std::string topic;
    auto len = 1 + rng() % 5;
    for (size_t k = 0; k < len; ++k)
      topic += (k == 0 ? "" : ".") + std::string{words[rng() % 3]};
    std::vector<std::string> expected;
    for (const auto& p : patterns)
      if (topic_matches(p, topic))
        expected.push_back(p);
    std::sort(expected.begin(), expected.end());
    auto got = matches(t, topic, patterns);
    MESH_CHECK_MSG(got == expected, "topic " << topic);
  }
  // Erasing takes exactly that entry away.
  CAF_CHECK(t.erase(patterns[0], 0));
  CAF_CHECK(!t.erase(patterns[0], 0));
  CAF_CHECK_EQUAL(t.size(), 299u);
}

CAF_TEST(each dispatcher runs once however many of its routes match) {
  route_table rt;
  CAF_REQUIRE(rt.add_dispatcher({"audit", message_category::event, {}, "f"}).empty());
  CAF_REQUIRE(rt.add_dispatcher({"notify", message_category::event, {}, "f"}).empty());
  CAF_REQUIRE(rt.add_route(route("r1", "orders.>", "audit")).empty());
  CAF_REQUIRE(rt.add_route(route("r2", "orders.*.created", "audit")).empty());
  CAF_REQUIRE(rt.add_route(route("r3", "orders.*.created", "notify")).empty());
  auto got = rt.match("orders.eu.created", message_category::event, "");
  CAF_CHECK_EQUAL(got, (std::vector<std::string>{"audit", "notify"}));
  CAF_CHECK_EQUAL(rt.match("orders.eu", message_category::event, "").size(), 1u);
}

CAF_TEST(category type and enabled filter the routes) {
  route_table rt;
  rt.add_dispatcher({"typed", message_category::event, {"OrderCreated"}, "f"});
  rt.add_dispatcher({"cmd", message_category::command, {}, "f"});
  rt.add_dispatcher({"any", message_category::event, {}, "f"});
  CAF_REQUIRE(rt.add_route(route("t", "orders.>", "typed")).empty());
  CAF_REQUIRE(rt.add_route(route("c", "orders.>", "cmd", "", true,
                                 message_category::command)).empty());
  CAF_REQUIRE(rt.add_route(route("x", "orders.>", "any", "OrderPaid")).empty());
  CAF_REQUIRE(rt.add_route(route("off", "orders.>", "any", "", false)).empty());
  using v = std::vector<std::string>;
  CAF_CHECK_EQUAL(rt.match("orders.1", message_category::event, "OrderCreated"),
                  v{"typed"});
  CAF_CHECK_EQUAL(rt.match("orders.1", message_category::event, "OrderPaid"),
                  v{"any"});
  CAF_CHECK_EQUAL(rt.match("orders.1", message_category::command, "OrderPaid"),
                  v{"cmd"});
  CAF_CHECK(rt.match("orders.1", message_category::intent, "").empty());
  CAF_CHECK(rt.match("orders.1", message_category::event, "Other").empty());
  CAF_REQUIRE(rt.set_enabled("off", true).empty());
  CAF_CHECK_EQUAL(rt.match("orders.1", message_category::event, "Other"),
                  v{"any"});
}

CAF_TEST(bad registrations are refused with a reason) {
  route_table rt;
  rt.add_dispatcher({"audit", message_category::event, {}, "f"});
  CAF_CHECK(!rt.add_dispatcher({"audit", message_category::event, {}, "f"}).empty());
  CAF_CHECK(rt.add_route(route("r", "orders.>", "nobody")).find("unknown dispatcher")
            != std::string::npos);
  CAF_CHECK(rt.add_route(route("r", "orders.>.x", "audit")).find("last")
            != std::string::npos);
  CAF_CHECK(rt.add_route(route("r", "orders.>", "audit", "", true,
                               message_category::command))
              .find("takes event") != std::string::npos);
  CAF_REQUIRE(rt.add_route(route("r", "orders.>", "audit")).empty());
  CAF_CHECK(rt.add_route(route("r", "x", "audit")).find("already")
            != std::string::npos);
  CAF_CHECK(!rt.remove_route("nope").empty());
  CAF_CHECK(rt.remove_route("r").empty());
  CAF_CHECK(rt.match("orders.x", message_category::event, "").empty());
}

CAF_TEST(a frozen table refuses every change and still matches) {
  route_table rt;
  rt.add_dispatcher({"audit", message_category::event, {}, "f"});
  rt.add_route(route("r", "orders.>", "audit"));
  rt.freeze();
  CAF_CHECK(rt.add_route(route("r2", "x", "audit")).find("frozen")
            != std::string::npos);
  CAF_CHECK(rt.add_dispatcher({"d2", message_category::event, {}, "f"}).find("frozen")
            != std::string::npos);
  CAF_CHECK(!rt.set_enabled("r", false).empty());
  CAF_CHECK(!rt.remove_route("r").empty());
  CAF_CHECK_EQUAL(rt.match("orders.1", message_category::event, "").size(), 1u);
}

CAF_TEST(dispatch statuses follow seed 004) {
  using s = dispatch_status;
  for (auto x : {s::success, s::routed, s::no_dispatcher, s::dispatcher_error,
                 s::timeout, s::invalid_message, s::publish_failed, s::skipped}) {
    CAF_CHECK(parse_dispatch_status(to_string(x)) == x);
    CAF_CHECK_EQUAL(is_terminal(x), x != s::routed);
    CAF_CHECK_EQUAL(is_successful(x), x == s::success);
  }
  CAF_CHECK(is_error(s::no_dispatcher) && is_error(s::publish_failed));
  CAF_CHECK(!is_error(s::skipped) && !is_error(s::success));
  CAF_CHECK(requires_retry(s::timeout) && requires_retry(s::publish_failed));
  CAF_CHECK(!requires_retry(s::dispatcher_error));
}
