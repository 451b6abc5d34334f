#include "telemetry/call_counts.hpp"

#include <new>

#include <nlohmann/json.hpp>

namespace mesh {

call_counts::call_counts(std::vector<method_name> methods,
                         std::vector<std::string> codes,
                         std::pair<std::string, std::string> keys)
  : methods_(std::move(methods)),
    codes_(std::move(codes)),
    keys_(std::move(keys)),
    started_(new std::atomic<uint64_t>[methods_.size()]),
    handled_(new std::atomic<uint64_t>[methods_.size() * codes_.size()]),
    took_(new durations[methods_.size()]) {
  for (size_t i = 0; i < methods_.size(); ++i)
    started_[i].store(0, std::memory_order_relaxed);
  for (size_t i = 0; i < methods_.size() * codes_.size(); ++i)
    handled_[i].store(0, std::memory_order_relaxed);
}

void call_counts::started(size_t method) noexcept {
  if (method < methods_.size())
    started_[method].fetch_add(1, std::memory_order_relaxed);
}

void call_counts::handled(size_t method, size_t code,
                          std::chrono::nanoseconds took) noexcept {
  if (method >= methods_.size() || code >= codes_.size())
    return;
  handled_[method * codes_.size() + code].fetch_add(1,
                                                    std::memory_order_relaxed);
  auto nanos = took.count() > 0 ? static_cast<uint64_t>(took.count()) : 0;
  std::lock_guard<std::mutex> guard{took_[method].mtx};
  auto& hist = took_[method].hist;
  if (!hist) // its first answer (out of memory: the count above stands)
    hist.reset(new (std::nothrow) latency_histogram{});
  if (hist)
    hist->record(nanos);
}

nlohmann::json call_counts::to_json(bool only_used) const {
  auto out = nlohmann::json::array();
  for (size_t m = 0; m < methods_.size(); ++m) {
    // Answers read first: a call answered between the two reads then
    // counts as started too, so in_flight does not go below 0 from it.
    auto handled = nlohmann::json::object();
    uint64_t answered = 0;
    for (size_t c = 0; c < codes_.size(); ++c) {
      auto n = handled_[m * codes_.size() + c].load(std::memory_order_relaxed);
      answered += n;
      if (n > 0)
        handled[codes_[c]] = n;
    }
    auto started = started_[m].load(std::memory_order_relaxed);
    if (only_used && started == 0 && answered == 0)
      continue;
    latency_histogram took;
    {
      std::lock_guard<std::mutex> guard{took_[m].mtx};
      if (took_[m].hist)
        took = *took_[m].hist;
    }
    out.push_back({{keys_.first, methods_[m].service},
                   {keys_.second, methods_[m].method},
                   {"started", started},
                   {"in_flight", started > answered ? started - answered : 0},
                   {"handled", std::move(handled)},
                   {"latency", took.to_json()}});
  }
  return out;
}

} // namespace mesh
