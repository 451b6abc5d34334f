#define CAF_SUITE cluster.dashboard
#include "check.hpp"

#include <filesystem>
#include <fstream>

#include <httplib.h>

#include "process.hpp"
#include "protocol/address.hpp"
#include "task_cluster.hpp"
#include "temp_dir.hpp"

// The web dashboard (GET /) in a real browser: headless Chromium (Debian's
// `chromium`) opens the page of one node of a 3-node cluster whose console
// has a token, runs its JavaScript against the node's /v1 API, and the test
// reads the DOM it built: the node count, a handler row with the calls made,
// a link per peer in state up. A screenshot is kept as a test artefact
// (build/test-artifacts/dashboard.png).

using namespace mesh::test;
using nlohmann::json;

// A requirement that prints what was seen when it fails.
#ifndef MESH_REQUIRE_MSG
#  define MESH_REQUIRE_MSG(cond, msg)                                          \
    do {                                                                       \
      MESH_CHECK_MSG(cond, msg);                                               \
      CAF_REQUIRE(cond);                                                       \
    } while (false)
#endif

namespace {

const std::string token = "dashboard-token";
const std::string chromium = "/usr/bin/chromium";
const std::string echo = "echo/EchoService/Echo";

// The node's /v1 API with the token: the envelope it answers.
json api(const std::string& address, const std::string& path,
         const std::string& body = {}) {
  std::string error;
  auto hp = mesh::parse_host_port(address, error);
  if (!hp)
    return json::object();
  httplib::Client cli{hp->host, hp->port};
  cli.set_read_timeout(30, 0);
  httplib::Headers auth{{"Authorization", "Bearer " + token}};
  auto r = body.empty() ? cli.Get(path.c_str(), auth)
                        : cli.Post(path.c_str(), auth, body, "application/json");
  if (!r)
    return json::object();
  return json::parse(r->body, nullptr, false);
}

// True when `n` sees every node of `others` up.
bool sees_up(const node_process& n, const std::vector<const node_process*>& others) {
  auto peers = api(n.http(), "/v1/peers");
  if (!peers.is_object() || !peers.value("ok", false))
    return false;
  for (const auto* o : others) {
    bool up = false;
    for (const auto& p : peers["result"])
      up = up || (p.value("id", "") == o->id() && p.value("state", "") == "up");
    if (!up)
      return false;
  }
  return true;
}

// Runs headless Chromium on `url` with `extra` flags (--dump-dom or
// --screenshot=...). Virtual time runs 8 s (four refreshes of the page) and
// stops while a fetch is pending, so every answer of the node is drawn.
mesh::completed_run browse(const temp_dir& dir, const std::string& url,
                           std::vector<std::string> extra) {
  std::vector<std::string> argv{chromium, "--headless=new", "--no-sandbox",
                                "--disable-gpu", "--no-first-run",
                                "--user-data-dir=" + dir.file("chromium"),
                                "--virtual-time-budget=8000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  // Chromium writes below HOME: the test's own folder, never the user's.
  return mesh::run_to_completion(
    mesh::spawn_options{argv, {"HOME=" + dir.path()}, {}, false}, 90s);
}

// The start tags `<TAG ...>` of `dom` that carry every attribute of
// `attrs` (name="value", exactly), each with the text up to its end tag.
std::vector<std::string> elements(const std::string& dom, const std::string& tag,
                                  const std::vector<std::pair<std::string, std::string>>& attrs) {
  std::vector<std::string> found;
  for (auto at = dom.find("<" + tag + " "); at != std::string::npos;
       at = dom.find("<" + tag + " ", at + 1)) {
    auto end = dom.find('>', at);
    auto start_tag = dom.substr(at, end - at);
    bool all = true;
    for (const auto& [name, value] : attrs)
      all = all && start_tag.find(" " + name + "=\"" + value + "\"") != std::string::npos;
    if (all) {
      auto close = dom.find("</" + tag + ">", end);
      found.push_back(dom.substr(at, close == std::string::npos ? std::string::npos
                                                                 : close - at));
    }
  }
  return found;
}

// The text of the element with id `id` (no nested elements).
std::string text_of(const std::string& dom, const std::string& id) {
  auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos)
    return "<no element #" + id + ">";
  auto start = dom.find('>', at) + 1;
  return dom.substr(start, dom.find('<', start) - start);
}

std::string artifacts_dir() {
  auto dir = (std::filesystem::path{MESH_BIN_DIR} / ".." / "test-artifacts")
               .lexically_normal();
  std::filesystem::create_directories(dir);
  return dir.string();
}

} // namespace

CAF_TEST(the dashboard shows the cluster in a real browser) {
  MESH_REQUIRE_MSG(std::filesystem::exists(chromium),
                   chromium << " is missing: scripts/install-deps.sh --tests "
                               "installs Debian's chromium");
  temp_dir dir;
  std::ofstream{dir.file("token")} << token << "\n";
  auto args = [&](const std::string& id, std::vector<std::string> more = {}) {
    std::vector<std::string> a{"--id", id, "--data-dir", dir.file("data-" + id),
                               "--console-token-file", dir.file("token"),
                               "--heartbeat-interval-ms", "100",
                               "--heartbeat-misses", "5"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  // Node a also runs the example processes: the traffic share chart.
  node_process a{args("a", {"--manifests",
                            std::string{MESH_SOURCE_DIR} + "/examples/manifests"})};
  node_process b{args("b", {"--seeds", a.listen()})};
  node_process c{args("c", {"--seeds", a.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees_up(a, {&b, &c}); }));
  // Five calls of the echo handler on node a itself (serve: no routing).
  for (int i = 0; i < 5; ++i) {
    auto r = api(a.http(), "/v1/serve",
                 R"({"namespace":"echo","service":"EchoService","method":"Echo",)"
                 R"("payload":{"i":)" + std::to_string(i) + "}}");
    MESH_REQUIRE_MSG(r.value("ok", false), r.dump());
  }
  for (int i = 0; i < 10; ++i) {
    auto r = api(a.http(), "/v1/process",
                 R"({"process":"price_quote","context":{"user_id":"u)"
                   + std::to_string(i) + R"("},"args":{"sku":"sku-1","quantity":1}})");
    MESH_REQUIRE_MSG(r.value("ok", false), r.dump());
  }
  auto url = "http://" + a.http() + "/";

  // The token comes in the URL fragment, as the README says.
  auto run = browse(dir, url + "#token=" + token, {"--dump-dom"});
  MESH_REQUIRE_MSG(run.exit_code == 0 && !run.timed_out,
                   "chromium exit " << run.exit_code << ": " << run.err);
  const auto& dom = run.out;
  MESH_CHECK_MSG(text_of(dom, "node-count") == "3", dom.substr(0, 4000));
  CAF_CHECK_EQUAL(text_of(dom, "node-id"), "a");
  CAF_CHECK_EQUAL(elements(dom, "div", {{"id", "banner"}, {"data-errors", "0"}}).size(), 1u);
  auto rows = elements(dom, "tr", {{"class", "handler-row"}, {"data-handler", echo}});
  MESH_REQUIRE_MSG(rows.size() == 1u, dom.substr(0, 4000));
  // handler, kind, then the calls made above.
  MESH_CHECK_MSG(rows[0].find("<td class=\"num\">5</td>") != std::string::npos, rows[0]);
  // The rate comes from the counters' change between two refreshes.
  CAF_CHECK(rows[0].find("data-rate=\"0.000\"") != std::string::npos);
  for (const auto* peer : {&b, &c})
    MESH_CHECK_MSG(elements(dom, "line", {{"class", "link"}, {"data-peer", peer->id()},
                                          {"data-state", "up"}})
                       .size() == 1u,
                   "no link to " << peer->id() << " in state up");
  // Its topic routes (the example plug-in's) on all three nodes.
  CAF_CHECK_EQUAL(elements(dom, "tr", {{"class", "route-row"}, {"data-route", "orders-audit"}})
                    .size(), 3u);
  // The share of each variant of a process, drawn from the page's memory.
  CAF_CHECK_EQUAL(elements(dom, "svg", {{"class", "share-chart"}, {"data-process", "price_quote"}})
                    .size(), 1u);
  CAF_CHECK_EQUAL(elements(dom, "path", {{"class", "share-area"}, {"data-variant", "list_price_v1"}})
                    .size(), 1u);
  // The front doors: the serves above went through the HTTP API, and so do
  // the page's own asks.
  auto serves = elements(dom, "tr", {{"class", "door-row"}, {"data-door", "http"},
                                     {"data-request", "POST /v1/serve"}});
  MESH_REQUIRE_MSG(serves.size() == 1u, dom.substr(0, 4000));
  MESH_CHECK_MSG(serves[0].find("<td class=\"num\">5</td>") != std::string::npos, serves[0]);
  CAF_CHECK_EQUAL(elements(dom, "tr", {{"class", "door-row"},
                                       {"data-request", "GET /v1/status"}}).size(),
                  1u);
  // Sections a node does not run say so.
  CAF_CHECK(dom.find("no jobs configured") != std::string::npos);

  // Without the token the page says why it shows nothing.
  temp_dir other;
  auto refused = browse(other, url, {"--dump-dom"});
  CAF_REQUIRE_EQUAL(refused.exit_code, 0);
  MESH_CHECK_MSG(refused.out.find("401 unauthenticated") != std::string::npos,
                 refused.out.substr(0, 4000));
  CAF_CHECK_EQUAL(text_of(refused.out, "node-count"), "0");

  auto png = artifacts_dir() + "/dashboard.png";
  std::filesystem::remove(png);
  auto shot = browse(dir, url + "#token=" + token,
                     {"--hide-scrollbars", "--window-size=1400,1000", "--screenshot=" + png});
  MESH_REQUIRE_MSG(shot.exit_code == 0, "chromium exit " << shot.exit_code << ": " << shot.err);
  MESH_REQUIRE_MSG(std::filesystem::exists(png), "no screenshot at " << png);
  // A blank 1400x1000 page compresses to a few kilobytes; ours has text,
  // tables and the cluster map.
  MESH_CHECK_MSG(std::filesystem::file_size(png) > 40000,
                 png << " is only " << std::filesystem::file_size(png) << " bytes");
  std::ifstream in{png, std::ios::binary};
  std::string magic(8, '\0');
  in.read(magic.data(), 8);
  CAF_CHECK_EQUAL(magic, std::string("\x89PNG\r\n\x1a\n", 8));
}

CAF_TEST(the dashboard marks a job whose stored tasks cannot be read) {
  MESH_REQUIRE_MSG(std::filesystem::exists(chromium), chromium << " is missing");
  temp_dir dir;
  auto node = start_node_with_damaged_task(dir);
  auto run = browse(dir, "http://" + node->http() + "/", {"--dump-dom"});
  MESH_REQUIRE_MSG(run.exit_code == 0 && !run.timed_out,
                   "chromium exit " << run.exit_code << ": " << run.err);
  auto rows = elements(run.out, "tr", {{"class", "job-row"}, {"data-job", "A"}});
  MESH_REQUIRE_MSG(rows.size() == 1u, run.out.substr(0, 4000));
  MESH_CHECK_MSG(rows[0].find("1 unreadable") != std::string::npos, rows[0]);
}
