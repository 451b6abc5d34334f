#define CAF_SUITE telemetry.log_format
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// The JSON log format: one object a line, whatever the message holds, and
// std::cout taken over into the log (CAF's prints).

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "telemetry/log.hpp"
#include "temp_dir.hpp"

using namespace mesh;

namespace {

// Runs `fn` with stderr (the log's sink) going to a file; returns what was
// written there.
template<class F>
std::string capture_stderr(F fn) {
  test::temp_dir dir;
  auto path = dir.file("stderr");
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  auto* file = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(file), STDERR_FILENO);
  fn();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(file);
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> result;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    MESH_CHECK_MSG(doc.is_object(), "not one JSON object: " << line);
    result.push_back(doc);
  }
  return result;
}

struct fixture {
  ~fixture() {
    // Other suites of this binary log as tests do: off, as text.
    log::init("off", "text");
    log::set_node("");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(log_format_tests, fixture)

CAF_TEST(unknown level or format names are refused) {
  CAF_CHECK(!log::init("info", "xml"));
  CAF_CHECK(!log::init("loud", "json"));
  CAF_CHECK(log::is_format_name("json"));
  CAF_CHECK(!log::is_format_name("JSON"));
}

CAF_TEST(every json line is one object whatever the message holds) {
  CAF_REQUIRE(log::init("info", "json"));
  log::set_node("node-7");
  auto text = capture_stderr([] {
    auto lg = log::get("router");
    lg->info("a \"quoted\" name\nand a second line\tand a tab");
    lg->warn("bytes that are not UTF-8: \xff\xfe");
    lg->debug("below the level: not written");
    lg->flush();
  });
  auto lines = lines_of(text);
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  CAF_CHECK_EQUAL(lines[0]["msg"],
                  "a \"quoted\" name\nand a second line\tand a tab");
  CAF_CHECK_EQUAL(lines[0]["level"], "info");
  CAF_CHECK_EQUAL(lines[0]["logger"], "router");
  CAF_CHECK_EQUAL(lines[0]["node"], "node-7");
  auto time = lines[0]["time"].get<std::string>();
  CAF_CHECK_EQUAL(time.size(), 24u); // 2026-01-02T03:04:05.678Z
  CAF_CHECK_EQUAL(time.back(), 'Z');
  CAF_CHECK_EQUAL(lines[1]["level"], "warn");
}

CAF_TEST(back to text the lines are plain again) {
  CAF_REQUIRE(log::init("info", "json"));
  CAF_REQUIRE(log::init("info", "text"));
  auto text = capture_stderr([] {
    auto lg = log::get("router");
    lg->info("plain");
    lg->flush();
  });
  CAF_CHECK(text.find("[router] plain") != std::string::npos);
  CAF_CHECK(text.find('{') == std::string::npos);
}

CAF_TEST(a text line cannot be forged by what a message holds) {
  CAF_REQUIRE(log::init("info", "text"));
  auto text = capture_stderr([] {
    auto lg = log::get("dialer");
    // As an address or trace id from outside would arrive.
    lg->info("cannot connect to {}", "h:1\n2026-01-01T00:00:00.000 info  "
                                     "[router] forged\r\t\x1b[31m");
    lg->flush();
  });
  // One line, the controls written out.
  CAF_CHECK_EQUAL(std::count(text.begin(), text.end(), '\n'), 1);
  MESH_CHECK_MSG(text.find("h:1\\n2026-01-01T00:00:00.000 info  [router] "
                           "forged\\r\\t\\x1b[31m")
                   != std::string::npos,
                 text);
}

CAF_TEST_FIXTURE_SCOPE_END()
