#include "telemetry/trace_ring.hpp"

#include <algorithm>

namespace mesh {

nlohmann::json trace_record::to_json() const {
  return {{"node", node},         {"time_us", time_us},
          {"step", step},         {"decision", decision},
          {"detail", detail},     {"duration_us", duration_us}};
}

trace_ring::trace_ring(std::string node_id, size_t capacity, size_t per_trace)
  : node_id_(std::move(node_id)), capacity_(capacity),
    per_trace_(per_trace == 0 ? 1 : per_trace) {
  // Not reserved up front: a node with little traffic keeps little.
}

int64_t trace_ring::now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
    .count();
}

void trace_ring::add(std::string_view trace_id, trace_record rec) {
  if (!enabled() || trace_id.empty())
    return;
  // Evicted traces are destroyed after the lock is released: freeing their
  // records is the larger part of an eviction, and other threads record
  // meanwhile.
  std::vector<entry> evicted;
  std::lock_guard<std::mutex> guard{mtx_};
  // One key string per lookup: std::unordered_map<std::string> has no
  // heterogeneous find in C++17.
  std::string key{trace_id};
  auto i = traces_.find(key);
  if (i == traces_.end()) {
    // Whole traces go, oldest first: beyond the trace count, or beyond the
    // record budget (callers choose trace ids, so long traces must not add
    // up to capacity * per_trace records).
    while (!order_.empty()
           && (traces_.size() >= capacity_
               || records_ >= capacity_ * records_per_trace_budget)) {
      evict_oldest(evicted);
    }
    order_.push_back(key);
    i = traces_.emplace(std::move(key), entry{}).first;
    // A request's trace has about five records on a node (pipeline, route,
    // serve, execute, result): one allocation, not four.
    i->second.records.reserve(std::min(per_trace_, initial_records));
  }
  auto& e = i->second;
  if (e.records.size() >= per_trace_) {
    ++e.dropped;
    return;
  }
  e.records.push_back(std::move(rec));
  ++records_;
}

void trace_ring::evict_oldest(std::vector<entry>& out) {
  auto i = traces_.find(order_.front());
  if (i != traces_.end()) {
    records_ -= i->second.records.size();
    out.push_back(std::move(i->second));
    traces_.erase(i);
  }
  order_.pop_front();
}

void trace_ring::record(std::string_view trace_id, std::string step,
                        std::string decision, nlohmann::json detail,
                        std::chrono::microseconds duration) {
  if (!enabled() || trace_id.empty())
    return;
  trace_record rec;
  rec.node = node_id_;
  rec.time_us = now_us();
  rec.step = std::move(step);
  rec.decision = std::move(decision);
  rec.detail = detail.is_null() ? nlohmann::json::object() : std::move(detail);
  rec.duration_us = duration.count();
  add(trace_id, std::move(rec));
}

std::vector<trace_record> trace_ring::find(std::string_view trace_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = traces_.find(std::string{trace_id});
  if (i == traces_.end())
    return {};
  return i->second.records;
}

size_t trace_ring::dropped(std::string_view trace_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = traces_.find(std::string{trace_id});
  return i == traces_.end() ? 0 : i->second.dropped;
}

nlohmann::json trace_ring::to_json(std::string_view trace_id) const {
  auto out = nlohmann::json::array();
  for (const auto& r : find(trace_id))
    out.push_back(r.to_json());
  return out;
}

size_t trace_ring::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return traces_.size();
}

} // namespace mesh
