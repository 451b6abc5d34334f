#include "pipeline/outlier_detector.hpp"

#include <algorithm>

namespace mesh {

const char* to_string(breaker_state s) {
  switch (s) {
    case breaker_state::closed: return "closed";
    case breaker_state::ejected: return "ejected";
    case breaker_state::probing: return "probing";
  }
  return "closed";
}

bool is_outlier_failure(status_code code) {
  // handler_error, invalid_argument and the like are answers from a working
  // peer: only "the peer could not serve" counts against it.
  return code == status_code::unavailable
         || code == status_code::deadline_exceeded
         || code == status_code::overloaded;
}

namespace {

/// base x times, capped at max, without overflowing on many ejections.
std::chrono::milliseconds ejection_time(const outlier_settings& cfg,
                                        uint32_t times) {
  auto base = std::max<int64_t>(cfg.base_ejection.count(), 0);
  auto cap = std::max<int64_t>(cfg.max_ejection.count(), 0);
  if (base == 0)
    return std::chrono::milliseconds{0};
  if (static_cast<int64_t>(times) > cap / base)
    return std::chrono::milliseconds{cap};
  return std::chrono::milliseconds{std::min(base * times, cap)};
}

} // namespace

void outlier_detector::settle(entry& e, clock::time_point now) const {
  if (e.state == breaker_state::ejected && now >= e.ejected_until) {
    e.state = breaker_state::probing;
    e.probe_out = false;
  }
  if (e.state == breaker_state::closed && e.times_ejected > 0
      && e.interval.count() > 0 && now > e.healthy_since) {
    // Forgive one ejection per full interval spent closed; the remainder
    // keeps counting towards the next one.
    auto intervals = (now - e.healthy_since) / e.interval;
    auto forgiven = static_cast<uint32_t>(
      std::min<int64_t>(intervals, e.times_ejected));
    e.times_ejected -= forgiven;
    e.healthy_since += forgiven * e.interval;
  }
}

outlier_detector::admission
outlier_detector::verdict(const entry& e) {
  switch (e.state) {
    case breaker_state::closed:
      return admission::allow;
    case breaker_state::ejected:
      return admission::skip;
    case breaker_state::probing:
      return e.probe_out ? admission::skip : admission::probe;
  }
  return admission::skip;
}

outlier_detector::admission
outlier_detector::admit(const std::string& peer, const std::string& service,
                        clock::time_point now) {
  auto i = entries_.find(key_view{peer, service});
  if (i == entries_.end())
    return admission::allow;
  auto& e = i->second;
  settle(e, now);
  auto result = verdict(e);
  if (result == admission::probe)
    e.probe_out = true; // the one probe is out
  return result;
}

outlier_detector::admission
outlier_detector::peek(const std::string& peer, const std::string& service,
                       clock::time_point now) const {
  auto i = entries_.find(key_view{peer, service});
  if (i == entries_.end())
    return admission::allow;
  auto e = i->second; // settled on a copy: peeking changes nothing
  settle(e, now);
  return verdict(e);
}

outlier_detector::entry&
outlier_detector::entry_of(const std::string& peer, const std::string& service,
                           clock::time_point now) {
  if (auto i = entries_.find(key_view{peer, service}); i != entries_.end())
    return i->second;
  auto& e = entries_[key{peer, service}];
  e.healthy_since = now;
  return e;
}

void outlier_detector::record_success(const std::string& peer,
                                      const std::string& service,
                                      clock::time_point now) {
  auto& e = entry_of(peer, service, now);
  settle(e, now);
  ++e.successes;
  e.streak = 0;
  if (e.state == breaker_state::probing) {
    e.state = breaker_state::closed;
    e.probe_out = false;
    e.healthy_since = now;
  }
  // A late success while still ejected (a request sent before the
  // ejection) does not cut the ejection short: the probe decides.
}

bool outlier_detector::record_failure(const std::string& peer,
                                      const std::string& service,
                                      clock::time_point now,
                                      const outlier_settings& cfg,
                                      size_t serving) {
  auto& e = entry_of(peer, service, now);
  e.interval = cfg.interval;
  settle(e, now);
  ++e.failures;
  auto eject = [&] {
    ++e.times_ejected;
    e.state = breaker_state::ejected;
    e.ejected_until = now + ejection_time(cfg, e.times_ejected);
    e.probe_out = false;
    e.streak = 0;
    return true;
  };
  switch (e.state) {
    case breaker_state::ejected:
      // A late failure of a request sent before the ejection: already out.
      return false;
    case breaker_state::probing:
      // The probe failed: out again at once, for longer. The cap does not
      // apply, the peer was out already. With detection switched off
      // (consecutive_failures 0) it closes instead of staying half-open.
      e.last_failure = now;
      if (cfg.consecutive_failures == 0) {
        e.state = breaker_state::closed;
        e.probe_out = false;
        e.healthy_since = now;
        e.streak = 1;
        return false;
      }
      return eject();
    case breaker_state::closed:
      break;
  }
  if (e.streak > 0 && now - e.last_failure > cfg.interval)
    e.streak = 0;
  ++e.streak;
  e.last_failure = now;
  if (cfg.consecutive_failures == 0 || e.streak < cfg.consecutive_failures
      || serving < 2)
    return false;
  auto out = ejected_count(service, now);
  auto pct_cap = static_cast<size_t>(cfg.max_ejected_percent) * serving / 100;
  auto cap = std::max<size_t>(1, pct_cap);
  if (out + 1 > cap || out + 1 >= serving)
    return false;
  return eject();
}

void outlier_detector::forget(const std::string& peer) {
  auto i = entries_.lower_bound(key_view{peer, std::string_view{}});
  while (i != entries_.end() && i->first.first == peer)
    i = entries_.erase(i);
}

std::vector<outlier_detector::row>
outlier_detector::snapshot(clock::time_point now) const {
  std::vector<row> result;
  result.reserve(entries_.size());
  for (const auto& [key, value] : entries_) {
    auto e = value;
    settle(e, now);
    row r;
    r.peer = key.first;
    r.service = key.second;
    r.state = e.state;
    // A streak whose last failure is older than the interval no longer
    // counts: show what the next failure would build on.
    bool stale = e.streak > 0 && now - e.last_failure > e.interval;
    r.consecutive_failures = stale ? 0 : e.streak;
    r.times_ejected = e.times_ejected;
    r.failures = e.failures;
    r.successes = e.successes;
    if (e.state == breaker_state::ejected)
      r.ejected_until = e.ejected_until;
    result.push_back(std::move(r));
  }
  return result;
}

size_t outlier_detector::ejected_count(const std::string& service,
                                       clock::time_point) const {
  // Ejected and probing peers are both out of normal rotation; the clock
  // cannot move one back to closed (only a recorded result does).
  size_t n = 0;
  for (const auto& [key, e] : entries_)
    if (key.second == service && e.state != breaker_state::closed)
      ++n;
  return n;
}

} // namespace mesh
