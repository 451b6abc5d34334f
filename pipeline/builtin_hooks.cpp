// The built-in post-hooks: "audit" (one JSON line per request) and "metrics"
// (requests, statuses and latency per path).

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "pipeline/hooks.hpp"
#include "telemetry/latency_histogram.hpp"
#include "telemetry/log.hpp"

namespace mesh {

struct path_metrics::entry {
  uint64_t requests = 0;
  std::map<std::string, uint64_t> statuses;
  latency_histogram latency;
};

void path_metrics::record(const hook_call& call) {
  auto nanos = call.duration.count() > 0
                 ? static_cast<uint64_t>(call.duration.count()) * 1000
                 : uint64_t{0};
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = paths_[call.path];
  if (!e)
    e = std::make_shared<entry>();
  ++e->requests;
  ++e->statuses[to_string(call.status)];
  e->latency.record(nanos);
}

nlohmann::json path_metrics::to_json() const {
  auto result = nlohmann::json::object();
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& [path, e] : paths_)
    result[path] = {{"requests", e->requests},
                    {"statuses", e->statuses},
                    {"latency", e->latency.to_json()}};
  return result;
}

namespace {

/// The audit file, written by a thread of its own: hooks run on the router's
/// thread, which must never wait for a disk. Lines are appended and flushed
/// one by one, so a crash loses at most what is still queued. Destroying the
/// writer (with the last copy of the hook) drains the queue first.
class audit_writer {
public:
  explicit audit_writer(const std::string& path) : path_(path) {
    out_.open(path, std::ios::out | std::ios::app);
    if (!out_.is_open())
      throw std::runtime_error("cannot open audit file '" + path
                               + "' for appending: " + std::strerror(errno));
    thread_ = std::thread{[this] { loop(); }};
  }

  ~audit_writer() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  audit_writer(const audit_writer&) = delete;
  audit_writer& operator=(const audit_writer&) = delete;

  void push(std::string line) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      // A disk slower than the request rate must not grow memory forever:
      // beyond the bound, lines are dropped and counted.
      if (queue_.size() >= max_queued) {
        ++dropped_;
        return;
      }
      queue_.push_back(std::move(line));
    }
    cv_.notify_one();
  }

private:
  static constexpr size_t max_queued = 65536;

  void loop() {
    auto lg = log::get("audit");
    std::unique_lock<std::mutex> guard{mtx_};
    for (;;) {
      cv_.wait(guard, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopped and drained
      auto batch = std::exchange(queue_, {});
      auto dropped = std::exchange(dropped_, 0);
      guard.unlock();
      for (const auto& line : batch) {
        out_ << line << '\n';
        out_.flush();
      }
      if (dropped > 0)
        lg->warn("{} audit lines dropped: '{}' is not keeping up", dropped,
                 path_);
      if (!out_ && !failing_) {
        lg->error("cannot write audit file '{}': {}", path_,
                  std::strerror(errno));
        failing_ = true;
      } else if (out_) {
        failing_ = false;
      }
      out_.clear(); // try again with the next lines
      guard.lock();
    }
  }

  std::string path_;
  std::ofstream out_;
  bool failing_ = false; // reported once until a write succeeds again
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread thread_; // joined before the members it uses are destroyed
};

std::string audit_line(const hook_call& call) {
  nlohmann::json line{{"trace_id", call.trace_id},
                      {"path", call.path},
                      {"caller", call.caller},
                      {"node", call.node},
                      {"policy", call.policy},
                      {"status", to_string(call.status)},
                      {"message", call.message},
                      {"duration_us", call.duration.count()},
                      {"attempts", call.attempts},
                      {"handled_by", call.handled_by}};
  // Request fields come from the network: invalid UTF-8 is replaced rather
  // than thrown on.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

void add_builtin_hooks(hook_table& table, const audit_settings& audit,
                       path_metrics_ptr metrics) {
  if (!metrics)
    throw std::invalid_argument("add_builtin_hooks: no path_metrics given");
  // Open the file before adding anything: a failure leaves the table as is.
  std::shared_ptr<audit_writer> writer;
  if (!audit.file.empty())
    writer = std::make_shared<audit_writer>(audit.file);
  auto lg = log::get("audit");
  table.add(
    "audit", hook_stage::post,
    [writer, lg](hook_call& call) {
      if (writer)
        writer->push(audit_line(call));
      else if (lg->should_log(spdlog::level::info))
        lg->info("{}", audit_line(call));
      return hook_verdict::pass();
    },
    true);
  table.add(
    "metrics", hook_stage::post,
    [metrics](hook_call& call) {
      metrics->record(call);
      return hook_verdict::pass();
    },
    true);
}

} // namespace mesh
