#define CAF_SUITE config.cluster_bounds
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// The numbers of `cluster` and `scheduler` that tune the transport and the
// workers (config/node_config.hpp): refused out of bounds, read within.

#include <string>
#include <tuple>
#include <vector>

#include "config/node_config.hpp"
#include "config_problems.hpp"

using namespace mesh;
using nlohmann::json;
using mesh::test::mentions;

CAF_TEST(the ring chunks and polling budgets take numbers within bounds) {
  std::vector<std::tuple<std::string, std::string, std::vector<json>>> bad{
    {"cluster", "monitors", {0, 65, -3, "three", 2.5}}, // one to 64
    {"cluster", "serve_chunk", {-1, 257, "32", 2.5}},   // zero to 256
    {"cluster", "serve_chunk_adaptive", {"yes", 1, nullptr}},
    {"cluster", "data_plane_spin_us", {-1, 10001, "100", 0.5, true}},
    {"scheduler", "worker_spin_us", {-1, 10001, "100", 0.5, true}}};
  for (const auto& [section, key, values] : bad)
    for (const auto& v : values)
      MESH_CHECK_MSG(mentions(check_config_layer(
                                json{{section, {{key, v}}}}, "cfg.json"),
                              "cfg.json: /" + section + "/" + key),
                     key << " " << v.dump() << " was not refused");
  auto doc = default_node_config_json();
  CAF_CHECK_EQUAL(doc["cluster"]["monitors"], 3);
  CAF_CHECK_EQUAL(doc["cluster"]["serve_chunk"], 32);
  CAF_CHECK_EQUAL(doc["cluster"]["serve_chunk_adaptive"], true);
  CAF_CHECK_EQUAL(doc["cluster"]["data_plane_spin_us"], 100);
  CAF_CHECK_EQUAL(doc["scheduler"]["worker_spin_us"], 100);
  auto defaults = to_node_config(doc);
  CAF_REQUIRE(defaults);
  CAF_CHECK_EQUAL(defaults->cluster.data_plane_spin_us, 100u);
  CAF_CHECK_EQUAL(defaults->scheduler.worker_spin_us, 100u);
  doc["cluster"]["monitors"] = 5;
  doc["cluster"]["serve_chunk"] = 16;
  doc["cluster"]["serve_chunk_adaptive"] = false;
  doc["cluster"]["data_plane_spin_us"] = 0;
  doc["scheduler"]["worker_spin_us"] = 7;
  auto cfg = to_node_config(doc);
  CAF_REQUIRE(cfg);
  CAF_CHECK_EQUAL(cfg->cluster.monitors, 5u);
  CAF_CHECK_EQUAL(cfg->cluster.serve_chunk, 16u);
  CAF_CHECK(!cfg->cluster.serve_chunk_adaptive);
  CAF_CHECK_EQUAL(cfg->cluster.data_plane_spin_us, 0u);
  CAF_CHECK_EQUAL(cfg->scheduler.worker_spin_us, 7u);
}
