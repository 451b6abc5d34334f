// grpc_bench: a closed-loop gRPC client of CollectiveDispatcher.Dispatch,
// measuring several servers in one run (issue 17, section 5).
//
//   grpc_bench --target bare=127.0.0.1:P0 --target local=127.0.0.1:P1
//              --target remote=127.0.0.1:P2 [--in-flight 1,64] [--json FILE]
//
// The first target is the baseline (scripts/bench-grpc.sh: the bare gRPC
// echo server); every other target's p50, mean and throughput are printed
// as a ratio to it. For each in-flight count the targets alternate `--repeat`
// times (so a slow spell of the machine hits all of them) and the run with
// the median throughput of each is reported, as meshbench does. Each run: a
// fresh closed loop with N calls in flight on one channel, `--warmup-ms`
// not counted, then `--measure-ms` counted; the request is the seed's
// DispatchRequest with a 100-byte google.protobuf.StringValue in the Any
// (meshbench's payload), sent to `--method` (echo/EchoService/Echo).
// A call that fails or answers other than 200 counts as an error; a run
// with errors is reported with them and makes the exit code 1.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <google/protobuf/wrappers.pb.h>
#include <grpcpp/grpcpp.h>

#include "bench/median.hpp"
#include "collector.grpc.pb.h"

namespace {

using clock_type = std::chrono::steady_clock;
using collector::CollectiveDispatcher;

struct target {
  std::string name, address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<CollectiveDispatcher::Stub> stub;
};

struct run_result {
  double rps = 0, p50_us = 0, p99_us = 0, mean_us = 0;
  uint64_t count = 0, errors = 0;
  std::string first_error;
};

// One closed loop: `n` slots, each with one call in flight at a time; a
// slot's callback records the latency and starts the slot's next call.
class closed_loop {
public:
  closed_loop(CollectiveDispatcher::Stub& stub,
              const collector::DispatchRequest& req, size_t n)
    : stub_(stub), req_(req), slots_(n) {
  }

  run_result run(std::chrono::milliseconds warmup,
                 std::chrono::milliseconds measure) {
    begin_ = clock_type::now() + warmup;
    end_ = begin_ + measure;
    running_ = slots_.size();
    for (auto& s : slots_)
      issue(s);
    {
      std::unique_lock<std::mutex> guard{mtx_};
      done_.wait(guard, [this] { return running_ == 0; });
    }
    run_result r;
    std::vector<int64_t> all;
    for (auto& s : slots_) {
      all.insert(all.end(), s.latencies_ns.begin(), s.latencies_ns.end());
      r.errors += s.errors;
      if (r.first_error.empty())
        r.first_error = s.first_error;
    }
    r.count = all.size();
    r.rps = static_cast<double>(all.size())
            / std::chrono::duration<double>(measure).count();
    if (!all.empty()) {
      // At n in flight the mean is n / throughput (Little's law); the p50
      // also shows the shape of the distribution (issue 17's target).
      r.mean_us = static_cast<double>(std::accumulate(all.begin(), all.end(),
                                                      int64_t{0}))
                  / static_cast<double>(all.size()) / 1000.0;
      auto pct = [&all](double q) {
        auto k = static_cast<size_t>(q * static_cast<double>(all.size() - 1));
        std::nth_element(all.begin(), all.begin() + static_cast<long>(k),
                         all.end());
        return static_cast<double>(all[k]) / 1000.0;
      };
      r.p50_us = pct(0.50);
      r.p99_us = pct(0.99);
    }
    return r;
  }

private:
  struct slot {
    std::unique_ptr<grpc::ClientContext> ctx;
    collector::DispatchResponse resp;
    clock_type::time_point started;
    std::vector<int64_t> latencies_ns;
    uint64_t errors = 0;
    std::string first_error;
  };

  void issue(slot& s) {
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.resp.Clear();
    s.started = clock_type::now();
    stub_.async()->Dispatch(s.ctx.get(), &req_, &s.resp,
                            [this, &s](grpc::Status st) { on_reply(s, st); });
  }

  void on_reply(slot& s, const grpc::Status& st) {
    auto now = clock_type::now();
    if (now >= begin_ && now < end_) {
      if (!st.ok() || s.resp.status().code() != 200) {
        if (s.errors++ == 0)
          s.first_error = st.ok() ? "status " + std::to_string(
                                      s.resp.status().code())
                                      + ": " + s.resp.status().message()
                                  : "gRPC " + std::to_string(st.error_code())
                                      + ": " + st.error_message();
      } else {
        s.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.started)
            .count());
      }
    }
    if (now < end_) {
      issue(s);
      return;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    if (--running_ == 0)
      done_.notify_all();
  }

  CollectiveDispatcher::Stub& stub_;
  const collector::DispatchRequest& req_;
  std::vector<slot> slots_;
  clock_type::time_point begin_, end_;
  std::mutex mtx_;
  std::condition_variable done_;
  size_t running_ = 0;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in{s};
  for (std::string part; std::getline(in, part, sep);)
    if (!part.empty())
      out.push_back(part);
  return out;
}

std::string fmt(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"grpc_bench: closed-loop gRPC Dispatch against several "
               "servers, ratios to the first"};
  std::vector<std::string> target_args;
  std::string method = "echo/EchoService/Echo", in_flight = "1,64", json_out;
  int warmup_ms = 500, measure_ms = 2000, repeat = 3, payload_bytes = 100;
  app.add_option("--target", target_args,
                 "NAME=HOST:PORT (repeatable; the first is the baseline)")
    ->required();
  app.add_option("--method", method, "namespace/Service/Method");
  app.add_option("--in-flight", in_flight, "comma-separated counts");
  app.add_option("--warmup-ms", warmup_ms, "not counted, per run");
  app.add_option("--measure-ms", measure_ms, "counted, per run");
  app.add_option("--repeat", repeat, "runs per target; the median is kept")
    ->check(CLI::Range(1, 1000));
  app.add_option("--payload-bytes", payload_bytes, "size of the payload");
  app.add_option("--json", json_out, "also write the results to FILE");
  CLI11_PARSE(app, argc, argv);

  auto path = split(method, '/');
  if (path.size() != 3) {
    std::cerr << "grpc_bench: --method must be namespace/Service/Method\n";
    return 2;
  }
  collector::DispatchRequest req;
  req.set_namespace_(path[0]);
  req.mutable_service()->set_service_name(path[1]);
  req.set_method_name(path[2]);
  google::protobuf::StringValue payload;
  payload.set_value(std::string(static_cast<size_t>(payload_bytes), 'x'));
  req.mutable_input()->PackFrom(payload);

  std::vector<target> targets;
  for (const auto& t : target_args) {
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      std::cerr << "grpc_bench: --target wants NAME=HOST:PORT, not " << t
                << "\n";
      return 2;
    }
    target x;
    x.name = t.substr(0, eq);
    x.address = t.substr(eq + 1);
    x.channel = grpc::CreateChannel(x.address,
                                    grpc::InsecureChannelCredentials());
    x.stub = CollectiveDispatcher::NewStub(x.channel);
    targets.push_back(std::move(x));
  }

  bool any_errors = false;
  std::ostringstream json;
  json << "{\"method\":\"" << method << "\",\"payload_bytes\":"
       << payload_bytes << ",\"results\":[";
  bool first_json = true;
  std::ostringstream pairwise_lines; // printed below the table
  std::cout << "| target | in flight | req/s | p50 us | p99 us | mean us"
               " | req/s ratio | p50 ratio | mean ratio |\n"
               "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& n_text : split(in_flight, ',')) {
    auto n = static_cast<size_t>(std::stoul(n_text));
    std::vector<std::vector<run_result>> runs(targets.size());
    for (int rep = 0; rep < repeat; ++rep)
      for (size_t i = 0; i < targets.size(); ++i) {
        closed_loop loop{*targets[i].stub, req, n};
        runs[i].push_back(loop.run(std::chrono::milliseconds{warmup_ms},
                                   std::chrono::milliseconds{measure_ms}));
      }
    std::vector<run_result> median(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) {
      auto v = runs[i];
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return a.rps < b.rps;
      });
      median[i] = v[v.size() / 2];
      for (const auto& r : runs[i])
        if (r.errors > 0) {
          any_errors = true;
          std::cerr << "grpc_bench: " << targets[i].name << " (" << n
                    << " in flight): " << r.errors << " errors, first: "
                    << r.first_error << "\n";
        }
    }
    const auto& base = median[0];
    // Each run's ratio to the baseline's run of the same round, and their
    // median: neighbours in time share the VM's speed of the moment, the
    // medians of two series need not (BENCHMARKS.md).
    auto pairwise = [&](size_t i, auto field) {
      std::vector<double> xs;
      for (int rep = 0; rep < repeat; ++rep)
        if (auto b = field(runs[0][rep]); b > 0)
          xs.push_back(field(runs[i][rep]) / b);
      return mesh::bench::median(std::move(xs));
    };
    auto rps_of = [](const run_result& r) { return r.rps; };
    auto p50_of = [](const run_result& r) { return r.p50_us; };
    std::ostringstream pairs;
    for (size_t i = 0; i < targets.size(); ++i) {
      const auto& r = median[i];
      auto rps_pairwise = pairwise(i, rps_of);
      auto p50_pairwise = pairwise(i, p50_of);
      if (i > 0)
        pairs << (i > 1 ? "; " : "") << targets[i].name << " req/s "
              << fmt(rps_pairwise, 2) << ", p50 " << fmt(p50_pairwise, 2);
      auto rps_ratio = base.rps > 0 ? r.rps / base.rps : 0;
      auto p50_ratio = base.p50_us > 0 ? r.p50_us / base.p50_us : 0;
      auto mean_ratio = base.mean_us > 0 ? r.mean_us / base.mean_us : 0;
      std::cout << "| " << targets[i].name << " | " << n << " | "
                << fmt(r.rps, 0) << " | " << fmt(r.p50_us) << " | "
                << fmt(r.p99_us) << " | " << fmt(r.mean_us) << " | "
                << fmt(rps_ratio, 2) << " | " << fmt(p50_ratio, 2) << " | "
                << fmt(mean_ratio, 2) << " |" << std::endl;
      json << (first_json ? "" : ",") << "{\"target\":\"" << targets[i].name
           << "\",\"address\":\"" << targets[i].address
           << "\",\"in_flight\":" << n << ",\"rps\":" << fmt(r.rps, 1)
           << ",\"p50_us\":" << fmt(r.p50_us) << ",\"p99_us\":"
           << fmt(r.p99_us) << ",\"mean_us\":" << fmt(r.mean_us)
           << ",\"rps_ratio\":" << fmt(rps_ratio, 3) << ",\"p50_ratio\":"
           << fmt(p50_ratio, 3) << ",\"mean_ratio\":" << fmt(mean_ratio, 3)
           << ",\"rps_ratio_pairwise\":" << fmt(rps_pairwise, 3)
           << ",\"p50_ratio_pairwise\":" << fmt(p50_pairwise, 3)
           << ",\"errors\":"
           << r.errors << "}";
      first_json = false;
    }
    if (targets.size() > 1 && repeat > 1)
      pairwise_lines << n << " in flight, median of " << repeat
                     << " same-round ratios to " << targets[0].name << ": "
                     << pairs.str() << "\n";
  }
  if (!pairwise_lines.str().empty())
    std::cout << "\n" << pairwise_lines.str();
  json << "]}\n";
  if (!json_out.empty())
    std::ofstream{json_out} << json.str();
  return any_errors ? 1 : 0;
}
