#include "process.hpp"

#include "check.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <caf/test/unit_test.hpp>
#include <httplib.h>

#include "protocol/address.hpp"

namespace mesh::test {

namespace {

using clock_type = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

std::string bin(const std::string& name) {
  return std::string{MESH_BIN_DIR} + "/" + name;
}

run_result run_program(const std::vector<std::string>& argv,
                       std::chrono::milliseconds timeout) {
  return run_to_completion(mesh::spawn_options{argv, {}, {}, false}, timeout);
}

run_result meshctl(const std::string& http, std::vector<std::string> args,
                   bool human, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{bin("meshctl"), "--node", http};
  if (!human)
    argv.push_back("--json");
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, timeout);
}

nlohmann::json meshctl_json(const std::string& http,
                            std::vector<std::string> args, int expected_exit) {
  auto r = meshctl(http, args);
  std::string cmd;
  for (const auto& a : args)
    cmd += a + " ";
  MESH_CHECK_MSG(r.exit_code == expected_exit,
                 "meshctl " << cmd << "exited " << r.exit_code << ", expected "
                            << expected_exit << ": " << r.out << r.err);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (doc.is_discarded())
    CAF_FAIL("meshctl printed no JSON: out='" << r.out << "' err='" << r.err
                                              << "'");
  return doc;
}

nlohmann::json result_of(const nlohmann::json& envelope) {
  if (!envelope.is_object())
    return nlohmann::json::object();
  auto i = envelope.find("result");
  return i != envelope.end() && i->is_object() ? *i : nlohmann::json::object();
}

bool await_condition(const std::function<bool()>& probe,
                     std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  do {
    if (probe())
      return true;
    // A pause between probes, not a wait for the condition: a probe may
    // run a program or read a log, and CI has two cores.
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  } while (clock_type::now() < deadline);
  return probe();
}

nlohmann::json ask_node(const std::string& http,
                        const nlohmann::json& command) {
  std::string error;
  auto hp = mesh::parse_host_port(http, error);
  if (!hp)
    return nullptr;
  httplib::Client client{hp->host, hp->port};
  client.set_connection_timeout(10s);
  client.set_read_timeout(60s);
  // As meshctl: the console token from MESH_TOKEN, the command in the path.
  httplib::Headers headers;
  if (const char* token = std::getenv("MESH_TOKEN"))
    headers.emplace("Authorization", std::string{"Bearer "} + token);
  auto body = command;
  body.erase("cmd");
  auto res = client.Post("/v1/" + command.value("cmd", ""), headers,
                         body.dump(), "application/json");
  if (!res)
    return nullptr;
  auto doc = nlohmann::json::parse(res->body, nullptr, false);
  return doc.is_discarded() ? nlohmann::json{} : doc;
}

nlohmann::json peers_of(const std::string& http) {
  auto doc = ask_node(http, {{"cmd", "peers"}});
  auto result = nlohmann::json::object();
  if (!doc.is_object() || !doc.value("ok", false))
    return result;
  for (const auto& p : doc["result"])
    result[p["id"].get<std::string>()] = p;
  return result;
}

bool sees(const std::string& http, const std::vector<std::string>& ids,
          const std::string& state) {
  auto view = peers_of(http);
  for (const auto& id : ids)
    if (!view.contains(id) || view[id].value("state", "") != state)
      return false;
  return true;
}

node_process::node_process(std::vector<std::string> args,
                           std::chrono::milliseconds ready_timeout,
                           bool add_addresses, std::vector<std::string> env) {
  std::vector<std::string> argv{bin("meshnode")};
  auto has = [&](const std::string& flag) {
    for (const auto& a : args)
      if (a == flag)
        return true;
    return false;
  };
  if (add_addresses && !has("--listen") && !has("--config")) {
    argv.push_back("--listen");
    argv.push_back("127.0.0.1:0");
  }
  if (add_addresses && !has("--console") && !has("--config")) {
    argv.push_back("--console");
    argv.push_back("127.0.0.1:0");
  }
  if (add_addresses && !has("--http")) {
    argv.push_back("--http");
    argv.push_back("127.0.0.1:0");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  char path[] = "/tmp/mesh-node-log-XXXXXX";
  int log_fd = ::mkstemp(path);
  // Say why: a start that fails here (once, under the sanitizers beside
  // cluster.strangers) said nothing more than the condition.
  MESH_CHECK_MSG(log_fd >= 0, "mkstemp " << path << ": "
                                         << std::strerror(errno));
  CAF_REQUIRE(log_fd >= 0);
  ::close(log_fd);
  log_path_ = path;
  auto child = mesh::child_process::spawn({argv, env, log_path_, false});
  MESH_CHECK_MSG(child,
                 "cannot start " << argv[0] << ": "
                   << (child ? std::string{} : to_string(child.error())));
  CAF_REQUIRE(child);
  child_ = std::move(*child);
  // Wait for the one ready line.
  auto line = child_.read_line(ready_timeout).value_or("");
  auto ready = nlohmann::json::parse(line, nullptr, false);
  if (ready.is_discarded() || ready.value("event", "") != "ready") {
    auto err = log();
    kill_hard();
    CAF_FAIL("meshnode did not become ready; stdout='" << line << "' log:\n"
                                                       << err);
  }
  id_ = ready["id"];
  listen_ = ready["listen"];
  console_ = ready["console"];
  http_ = ready.value("http", "");
  grpc_ = ready.value("grpc", "");
  data_plane_ = ready.value("data_plane", "");
  started_ = true;
}

node_process::~node_process() {
  kill_hard();
  if (!log_path_.empty())
    ::unlink(log_path_.c_str());
}

int node_process::wait_exit(std::chrono::milliseconds timeout) {
  auto code = child_.wait(timeout);
  if (!code) {
    kill_hard();
    return -1;
  }
  return *code;
}

int node_process::terminate(std::chrono::milliseconds timeout) {
  auto code = child_.signal_and_wait(SIGTERM, timeout);
  if (!code) {
    kill_hard();
    return -1;
  }
  return *code;
}

void node_process::kill_hard() {
  child_.kill_hard();
}

bool node_process::running() {
  return child_.running();
}

std::string node_process::log() const {
  return read_file(log_path_);
}

size_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string key;
  while (in >> key) {
    if (key == field + ":") {
      size_t kib = 0;
      in >> kib;
      return kib;
    }
    std::getline(in, key);
  }
  return 0;
}

} // namespace mesh::test
