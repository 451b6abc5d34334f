#include "process.hpp"

#include "check.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/test/unit_test.hpp>

namespace mesh::test {

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<char*> c_args(const std::vector<std::string>& argv) {
  std::vector<char*> result;
  for (const auto& a : argv)
    result.push_back(const_cast<char*>(a.c_str()));
  result.push_back(nullptr);
  return result;
}

// fork + exec; the child gets stdout/stderr as given, our environment plus
// `env` ("NAME=value"), and dies with us.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd,
            const std::vector<std::string>& env = {}) {
  auto args = c_args(argv);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  auto envp = c_args(env_strings);
  auto parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Signals blocked in the test binary must not stay blocked in the child.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for a child's exit on its pidfd: -2 when the deadline passes first.
int wait_exit(pid_t pid, clock_type::time_point deadline) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    int status = 0;
    auto r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) {
      if (pidfd >= 0)
        ::close(pidfd);
      if (r < 0)
        return -1;
      return WIFEXITED(status) ? WEXITSTATUS(status)
                               : 128 + WTERMSIG(status);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0 || pidfd < 0) {
      if (pidfd >= 0)
        ::close(pidfd);
      return -2;
    }
    pollfd fd{pidfd, POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(left.count()));
  }
}

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
  run_result result;
  int out[2], err[2];
  CAF_REQUIRE(::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0);
  auto start = clock_type::now();
  auto deadline = start + timeout;
  pid_t pid = spawn(argv, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0)
        continue;
      char buf[4096];
      auto n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0)
      ::close(f.fd);
  int code = wait_exit(pid, clock_type::now() + 10s);
  result.exit_code = result.timed_out ? -1 : code;
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - start);
  return result;
}

run_result meshctl(const std::string& console, std::vector<std::string> args,
                   bool human, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{bin("meshctl"), "--node", console};
  if (!human)
    argv.push_back("--json");
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, timeout);
}

nlohmann::json meshctl_json(const std::string& console,
                            std::vector<std::string> args, int expected_exit) {
  auto r = meshctl(console, args);
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

bool await_condition(const std::function<bool()>& probe,
                     std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  do {
    if (probe())
      return true;
  } while (clock_type::now() < deadline);
  return false;
}

nlohmann::json peers_of(const std::string& console) {
  auto r = meshctl(console, {"peers"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  auto result = nlohmann::json::object();
  if (doc.is_discarded() || !doc.value("ok", false))
    return result;
  for (const auto& p : doc["result"])
    result[p["id"].get<std::string>()] = p;
  return result;
}

bool sees(const std::string& console, const std::vector<std::string>& ids,
          const std::string& state) {
  auto view = peers_of(console);
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
  argv.insert(argv.end(), args.begin(), args.end());
  char path[] = "/tmp/mesh-node-log-XXXXXX";
  int log_fd = ::mkstemp(path);
  CAF_REQUIRE(log_fd >= 0);
  log_path_ = path;
  int out[2];
  CAF_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  pid_ = spawn(argv, out[1], log_fd, env);
  ::close(out[1]);
  ::close(log_fd);
  stdout_fd_ = out[0];
  // Wait for the one ready line.
  std::string line;
  auto deadline = clock_type::now() + ready_timeout;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0)
      break;
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[512];
    auto n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0)
      break; // exited before it was ready
    line.append(buf, static_cast<size_t>(n));
  }
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
  started_ = true;
}

node_process::~node_process() {
  kill_hard();
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
  if (!log_path_.empty())
    ::unlink(log_path_.c_str());
}

int node_process::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int code = wait_exit(pid_, clock_type::now() + timeout);
  if (code == -2) {
    kill_hard();
    return -1;
  }
  pid_ = -1;
  return code;
}

void node_process::kill_hard() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, clock_type::now() + 10s);
  pid_ = -1;
}

bool node_process::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string node_process::log() const {
  return read_file(log_path_);
}

} // namespace mesh::test
