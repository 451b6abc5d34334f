#define CAF_SUITE actors.strategy_evaluator
#include "check.hpp"
#include "fixtures.hpp"

#include <filesystem>

#include "actors/cluster/membership/peer_table.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "protocol/json/json_payload.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using nlohmann::json;
using test::code_of;

namespace {

// Stands in for the router: answers every dispatch with where it went, and
// counts them, so a test sees exactly what the evaluator dispatched.
struct router_log {
  std::vector<pb::DispatchRequest> seen;
};

caf::behavior fake_router(caf::event_based_actor*,
                          std::shared_ptr<router_log> log) {
  return {
    [log](const pb::DispatchRequest& req) {
      log->seen.push_back(req);
      pb::DispatchResponse r;
      r.mutable_status()->set_code(pb::StatusCode::OK);
      r.set_handled_by("node-b");
      r.set_trace_id(req.trace_id());
      auto args = any_to_json(req.payload());
      *r.mutable_payload() = json_to_any(
        {{"ran", to_string(to_service_key(req.ref()))},
         {"args", args ? *args : json()}});
      return r;
    },
  };
}

// Collects the evidence a peer's evaluator would get.
caf::behavior fake_peer(caf::event_based_actor*,
                        std::shared_ptr<std::vector<pb::BanditEvidence>> got) {
  return {
    [got](atom::evidence, const pb::BanditEvidence& e) { got->push_back(e); },
  };
}

const char* rollout_manifest = R"({
  "description": "quote", "owner": "pricing",
  "input_schema": {"type": "object", "required": ["sku", "quantity"],
                   "properties": {"sku": {"type": "string"},
                                  "quantity": {"type": "integer", "minimum": 1}}},
  "strategy": {"path": "percentage_rollout", "args": {"bucketing_key": "user_id"}},
  "variants": [{"id": "v1", "path": "pricing/PricingV1/Quote", "weight": 0.5},
               {"id": "v2", "path": "pricing/PricingV2/Quote", "weight": 0.5}]
})";

const char* bandit_manifest = R"({
  "description": "rank", "owner": "discovery", "input_schema": {},
  "strategy": {"path": "thompson_bandit", "args": {"floor": 0.05}},
  "variants": [{"id": "popular", "path": "recommend/Popular/Rank"},
               {"id": "personal", "path": "recommend/Personal/Rank"}]
})";

struct fixture : test::actor_fixture {
  test::temp_dir manifests;
  test::temp_dir data;
  std::shared_ptr<router_log> routed = std::make_shared<router_log>();
  caf::actor router;
  caf::actor evaluator;

  fixture() {
    manifests.write("price_quote.json", rollout_manifest);
    manifests.write("recommendations.json", bandit_manifest);
    router = sys.spawn(fake_router, routed);
    evaluator = spawn(data.path(), "node-a");
  }

  ~fixture() {
    stop({evaluator, router});
  }

  caf::actor spawn(const std::string& data_dir, const std::string& id,
                   bool keep_evidence = true) {
    strategy_evaluator_config cfg;
    cfg.node_id = id;
    cfg.manifests_dir = manifests.path();
    cfg.data_dir = data_dir;
    cfg.keep_evidence = keep_evidence;
    cfg.router = caf::actor_cast<router_actor>(router);
    cfg.seed = 1;
    auto result = caf::actor_cast<caf::actor>(spawn_strategy_evaluator(sys, cfg));
    run();
    return result;
  }

  pb::ProcessResponse process(const std::string& name, const json& context,
                              const json& args,
                              const std::string& trace = "t-1") {
    pb::ProcessRequest req;
    req.set_process_name(name);
    json_to_value(context, *req.mutable_user_context());
    json_to_value(args, *req.mutable_input_args());
    req.set_trace_id(trace);
    return ask<pb::ProcessResponse>(evaluator, std::move(req));
  }

  void outcome(const std::string& variant, bool success) {
    pb::OutcomeReport r;
    r.set_process_name("recommendations");
    r.set_variant_id(variant);
    r.set_success(success);
    ask<caf::ok_atom>(evaluator, atom::outcome_v, r);
  }

  json stats(const caf::actor& who, const std::string& process) {
    return ask<json>(who, atom::stats_v, process);
  }
};

json variant_row(const json& stats, const std::string& id) {
  for (const auto& row : stats.at("variants"))
    if (row.at("variant") == id)
      return row;
  return nullptr;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(strategy_evaluator_tests, fixture)

CAF_TEST(a process runs the chosen variant through the router) {
  auto r = process("price_quote", {{"user_id", "u-1"}},
                   {{"sku", "sku-1"}, {"quantity", 2}});
  CAF_CHECK_EQUAL(code_of(r.status()), status_code::ok);
  CAF_REQUIRE_EQUAL(routed->seen.size(), 1u);
  const auto& sent = routed->seen.front();
  CAF_CHECK_EQUAL(sent.trace_id(), "t-1");
  auto path = to_string(to_service_key(sent.ref()));
  CAF_CHECK_EQUAL(path, r.variant_path());
  CAF_CHECK_EQUAL(r.strategy(), "percentage_rollout");
  CAF_CHECK(r.reason().find("bucket") != std::string::npos);
  CAF_CHECK_EQUAL(r.handled_by(), "node-b");
  CAF_CHECK_EQUAL(r.trace_id(), "t-1");
  auto payload = any_to_json(r.payload());
  CAF_REQUIRE(payload);
  auto args = payload->at("args");
  CAF_CHECK_EQUAL(args.value("quantity", 0), 2);
  // The same user gets the same variant every time.
  for (int i = 0; i < 5; ++i) {
    auto again = process("price_quote", {{"user_id", "u-1"}},
                         {{"sku", "s"}, {"quantity", 1}});
    CAF_CHECK_EQUAL(again.variant_id(), r.variant_id());
  }
}

CAF_TEST(invalid input lists every violation and runs nothing) {
  auto r = process("price_quote", {{"user_id", "u-1"}},
                   {{"sku", 5}, {"quantity", 0}});
  CAF_CHECK_EQUAL(code_of(r.status()), status_code::invalid_argument);
  const auto& msg = r.status().message();
  CAF_CHECK(msg.find("/sku") != std::string::npos);
  CAF_CHECK(msg.find("/quantity") != std::string::npos);
  CAF_CHECK(routed->seen.empty());
  CAF_CHECK(r.variant_id().empty());
}

CAF_TEST(unknown process missing trace and missing key are refused) {
  auto unknown = process("nope", json::object(), json::object());
  CAF_CHECK_EQUAL(code_of(unknown.status()), status_code::not_found);
  CAF_CHECK(unknown.status().message().find("nope") != std::string::npos);
  auto no_trace = process("price_quote", {{"user_id", "u"}},
                          {{"sku", "s"}, {"quantity", 1}}, "");
  CAF_CHECK_EQUAL(code_of(no_trace.status()), status_code::invalid_argument);
  CAF_CHECK(no_trace.status().message().find("trace") != std::string::npos);
  auto no_key = process("price_quote", {{"region", "EU"}},
                        {{"sku", "s"}, {"quantity", 1}});
  CAF_CHECK_EQUAL(code_of(no_key.status()), status_code::invalid_argument);
  CAF_CHECK(no_key.status().message().find("user_id") != std::string::npos);
  auto bad_context = process("price_quote", json::array({1}),
                             {{"sku", "s"}, {"quantity", 1}});
  CAF_CHECK_EQUAL(code_of(bad_context.status()),
                  status_code::invalid_argument);
  CAF_CHECK(routed->seen.empty());
}

CAF_TEST(outcomes reach the stats and unknown variants are not found) {
  outcome("personal", true);
  outcome("personal", true);
  outcome("popular", false);
  auto s = stats(evaluator, "recommendations");
  auto personal = variant_row(s, "personal");
  CAF_CHECK_EQUAL(personal.value("successes", 0), 2);
  CAF_CHECK_EQUAL(variant_row(s, "popular").value("failures", 0), 1);
  CAF_CHECK_EQUAL(personal.value("posterior_mean", 0.0), 0.75);
  pb::OutcomeReport bad;
  bad.set_process_name("recommendations");
  bad.set_variant_id("nope");
  auto err = ask_error(evaluator, atom::outcome_v, bad);
  CAF_CHECK_EQUAL(to_status_code(err), status_code::not_found);
}

CAF_TEST(evidence goes to peers and merges without double counting) {
  auto got = std::make_shared<std::vector<pb::BanditEvidence>>();
  auto peer = sys.spawn(fake_peer, got);
  auto table = std::make_shared<peer_table>();
  peer_route route;
  route.id = "node-b";
  route.state = peer_state::up;
  route.peer = caf::actor_cast<peer_actor>(peer);
  table->peers.emplace("node-b", route);
  self->send(evaluator, atom::update_v, peer_table_ptr{table});
  run();
  outcome("personal", true);
  sched.trigger_timeouts(); // the flush delay
  run();
  CAF_REQUIRE(!got->empty());
  const auto& sent = got->back();
  CAF_REQUIRE_EQUAL(sent.nodes_size(), 1);
  CAF_CHECK_EQUAL(sent.nodes(0).node_id(), "node-a");
  // Node b's evidence arrives twice: it counts once.
  pb::BanditEvidence from_b;
  auto* n = from_b.add_nodes();
  n->set_node_id("node-b");
  auto* p = n->add_processes();
  p->set_process_name("recommendations");
  auto* v = p->add_variants();
  v->set_variant_id("personal");
  v->set_successes(3);
  v->set_failures(1);
  self->send(evaluator, atom::evidence_v, from_b);
  self->send(evaluator, atom::evidence_v, from_b);
  run();
  auto row = variant_row(stats(evaluator, "recommendations"), "personal");
  CAF_CHECK_EQUAL(row.value("successes", 0), 4);
  CAF_CHECK_EQUAL(row.value("failures", 0), 1);
  stop({peer});
}

CAF_TEST(evidence survives a restart through the data directory) {
  // Nothing learned, nothing written: not even the folder.
  ask<caf::ok_atom>(evaluator, atom::drain_v);
  CAF_CHECK(std::filesystem::is_empty(data.path()));
  outcome("popular", true);
  outcome("popular", false);
  ask<caf::ok_atom>(evaluator, atom::drain_v);
  CAF_CHECK(std::filesystem::exists(data.file("node-a.bandit-evidence.json")));
  // The same node starts from what it kept...
  auto again = spawn(data.path(), "node-a");
  auto row = variant_row(stats(again, "recommendations"), "popular");
  CAF_CHECK_EQUAL(row.value("successes", 0), 1);
  CAF_CHECK_EQUAL(row.value("failures", 0), 1);
  // ...and another node in the same folder does not inherit it.
  auto other = spawn(data.path(), "node-b");
  row = variant_row(stats(other, "recommendations"), "popular");
  CAF_CHECK_EQUAL(row.value("successes", 0), 0);
  CAF_CHECK_EQUAL(row.value("failures", 0), 0);
  stop({again, other});
}

CAF_TEST(a per-process node keeps its evidence for its own life only) {
  auto sub = data.file("state");
  auto short_lived = spawn(sub, "host-p123", false);
  pb::OutcomeReport r;
  r.set_process_name("recommendations");
  r.set_variant_id("personal");
  r.set_success(true);
  ask<caf::ok_atom>(short_lived, atom::outcome_v, r);
  // A restarted evaluator of the same process still finds it...
  sched.trigger_timeouts(); // the flush timer
  run();
  CAF_CHECK(std::filesystem::exists(sub + "/host-p123.bandit-evidence.json"));
  auto restarted = spawn(sub, "host-p123", false);
  auto row = variant_row(stats(restarted, "recommendations"), "personal");
  CAF_CHECK_EQUAL(row.value("successes", 0), 1);
  // ...and at shutdown the file and the folder it made are gone.
  ask<caf::ok_atom>(short_lived, atom::drain_v);
  CAF_CHECK(!std::filesystem::exists(sub));
  stop({short_lived, restarted});
}

CAF_TEST(manifests list show and reload keep the last good version) {
  auto list = ask<json>(evaluator, atom::manifests_v);
  CAF_CHECK_EQUAL(list.size(), 2u);
  auto shown = ask<json>(evaluator, atom::manifests_v, "price_quote");
  CAF_CHECK_EQUAL(shown.value("strategy", ""), "percentage_rollout");
  auto missing = ask_error<json>(evaluator, atom::manifests_v, "nope");
  CAF_CHECK_EQUAL(to_status_code(missing), status_code::not_found);
  manifests.write("price_quote.json", "{\"description\": 1}");
  auto report = ask<json>(evaluator, atom::reload_v);
  CAF_CHECK_EQUAL(report["kept"], json::array({"price_quote"}));
  // Still served by the last good version.
  auto r = process("price_quote", {{"user_id", "u-1"}},
                   {{"sku", "s"}, {"quantity", 1}});
  CAF_CHECK_EQUAL(code_of(r.status()), status_code::ok);
}

CAF_TEST(a call waiting on the router is answered when the evaluator stops) {
  // A router that takes the dispatch and never answers.
  auto silent = sys.spawn([](caf::event_based_actor* s) -> caf::behavior {
    return {[s](const pb::DispatchRequest&) {
      return s->make_response_promise<pb::DispatchResponse>();
    }};
  });
  strategy_evaluator_config cfg;
  cfg.node_id = "node-s";
  cfg.manifests_dir = manifests.path();
  cfg.router = caf::actor_cast<router_actor>(silent);
  cfg.seed = 1;
  auto ev = caf::actor_cast<caf::actor>(spawn_strategy_evaluator(sys, cfg));
  run();
  pb::ProcessRequest req;
  req.set_process_name("price_quote");
  json_to_value({{"user_id", "u-1"}}, *req.mutable_user_context());
  json_to_value({{"sku", "s"}, {"quantity", 1}}, *req.mutable_input_args());
  req.set_trace_id("t-stop");
  auto handle = self->request(ev, caf::infinite, std::move(req));
  run();
  self->send_exit(ev, caf::exit_reason::unhandled_exception);
  run();
  caf::error got;
  handle.receive([](pb::ProcessResponse&) { CAF_FAIL("expected an error"); },
                 [&](caf::error& err) { got = std::move(err); });
  CAF_CHECK_EQUAL(to_status_code(got), status_code::unavailable);
  CAF_CHECK(error_text(got).find("the strategy evaluator of node node-s "
                                 "stopped before answering")
            != std::string::npos);
  // Dead now: a new request is refused at once, not left waiting.
  auto late = ask_error<pb::ProcessResponse>(ev, pb::ProcessRequest{});
  CAF_CHECK(late != caf::none);
  stop({silent});
}

CAF_TEST(an outcome sent without waiting counts for the next decision) {
  pb::OutcomeReport r;
  r.set_process_name("recommendations");
  r.set_variant_id("personal");
  r.set_success(true);
  self->send(evaluator, atom::outcome_v, r);
  auto row = variant_row(stats(evaluator, "recommendations"), "personal");
  CAF_CHECK_EQUAL(row.value("successes", 0), 1);
}

CAF_TEST(the reason is the explanation of the strategy) {
  auto r = process("price_quote", {{"user_id", 42}},
                   {{"sku", "s"}, {"quantity", 1}});
  CAF_CHECK_EQUAL(code_of(r.status()), status_code::ok);
  // "bucket N of user_id is in [lo, hi): variant", as explain() says.
  CAF_CHECK(r.reason().rfind("bucket ", 0) == 0);
  CAF_CHECK(r.reason().find(" of user_id is in [") != std::string::npos);
  CAF_CHECK(r.reason().find("): " + r.variant_id()) != std::string::npos);
  auto b = process("recommendations", json::object(), json::object());
  CAF_CHECK_EQUAL(code_of(b.status()), status_code::ok);
  CAF_CHECK(b.reason().find(b.variant_id()) != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
