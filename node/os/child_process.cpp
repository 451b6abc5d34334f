#include "node/os/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/status.hpp"

extern char** environ;

namespace mesh {

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<char*> c_strings(const std::vector<std::string>& xs) {
  std::vector<char*> result;
  for (const auto& x : xs)
    result.push_back(const_cast<char*>(x.c_str()));
  result.push_back(nullptr);
  return result;
}

// Everything the child needs is prepared before fork: after it, only
// async-signal-safe calls until execve.
pid_t fork_exec(const spawn_options& opts, int out_fd, int err_fd) {
  auto args = c_strings(opts.argv);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), opts.env.begin(), opts.env.end());
  auto envp = c_strings(env_strings);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  bool pin = opts.pin_cpu >= 0 && opts.pin_cpu < CPU_SETSIZE;
  if (pin)
    CPU_SET(opts.pin_cpu, &cpus);
  auto parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0)
    return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(127);
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(devnull, 0);
  ::dup2(out_fd >= 0 ? out_fd : devnull, 1);
  ::dup2(err_fd >= 0 ? err_fd : devnull, 2);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (pin)
    ::sched_setaffinity(0, sizeof(cpus), &cpus);
  ::execve(args[0], args.data(), envp.data());
  ::_exit(127);
}

// Waits for a child's exit on its pidfd; nullopt when the deadline passes.
std::optional<int> wait_exit(pid_t pid, clock_type::time_point deadline) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  std::optional<int> result;
  for (;;) {
    int status = 0;
    auto r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (r < 0) {
      result = -1;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0 || pidfd < 0)
      break;
    pollfd fd{pidfd, POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(left.count()));
  }
  if (pidfd >= 0)
    ::close(pidfd);
  return result;
}

int open_stderr(const std::string& path) {
  if (path.empty())
    return -1;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

} // namespace

child_process::child_process(child_process&& other) noexcept
  : pid_(other.pid_),
    stdout_fd_(other.stdout_fd_),
    buffered_(std::move(other.buffered_)) {
  other.pid_ = -1;
  other.stdout_fd_ = -1;
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    kill_hard();
    if (stdout_fd_ >= 0)
      ::close(stdout_fd_);
    pid_ = other.pid_;
    stdout_fd_ = other.stdout_fd_;
    buffered_ = std::move(other.buffered_);
    other.pid_ = -1;
    other.stdout_fd_ = -1;
  }
  return *this;
}

child_process::~child_process() {
  kill_hard();
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

caf::expected<child_process> child_process::spawn(const spawn_options& opts) {
  if (opts.argv.empty())
    return make_error(status_code::invalid_argument, "no program to run");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return make_error(status_code::internal,
                      std::string{"pipe: "} + std::strerror(errno));
  int err_fd = open_stderr(opts.stderr_path);
  child_process result;
  result.pid_ = fork_exec(opts, out[1], err_fd);
  ::close(out[1]);
  if (err_fd >= 0)
    ::close(err_fd);
  result.stdout_fd_ = out[0];
  if (result.pid_ < 0)
    return make_error(status_code::internal,
                      std::string{"fork: "} + std::strerror(errno));
  return result;
}

std::optional<std::string>
child_process::read_line(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      auto line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0 || stdout_fd_ < 0)
      return std::nullopt;
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[1024];
    auto n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0)
      return std::nullopt; // EOF: the child closed stdout (or exited)
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<int> child_process::signal_and_wait(int sig,
                                                  std::chrono::milliseconds t) {
  if (pid_ <= 0)
    return std::nullopt;
  ::kill(pid_, sig);
  return wait(t);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return std::nullopt;
  auto code = wait_exit(pid_, clock_type::now() + timeout);
  if (code)
    pid_ = -1;
  return code;
}

void child_process::kill_hard() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, clock_type::now() + std::chrono::seconds{10});
  pid_ = -1;
}

bool child_process::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

completed_run run_to_completion(const spawn_options& opts,
                                std::chrono::milliseconds timeout) {
  completed_run result;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return result;
  auto start = clock_type::now();
  auto deadline = start + timeout;
  pid_t pid = fork_exec(opts, out[1], err[1]);
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
  auto code = wait_exit(pid, clock_type::now() + std::chrono::seconds{10});
  result.exit_code = result.timed_out || !code ? -1 : *code;
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - start);
  return result;
}

} // namespace mesh
