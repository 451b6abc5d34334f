#include "telemetry/prometheus/prometheus_text.hpp"

#include <charconv>
#include <cmath>

namespace mesh {

std::string prom_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string prom_number(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  // Counters are integers: print them as such (to_chars would say 1e+20
  // for large ones, which parses but reads badly).
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<long long>(value));
  // 15 significant digits: measurements converted to seconds keep their
  // digits (245.759 us is 0.000245759, not 0.00024575899999999996). to_chars
  // ignores the locale, as the format requires.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value,
                           std::chars_format::general, 15);
  return std::string(buf, res.ptr);
}

void prom_writer::add(const prom_family& family, const prom_labels& labels,
                      double value, std::string_view suffix) {
  auto i = index_.find(std::string_view{family.name});
  if (i == index_.end()) {
    i = index_.emplace(family.name, families_.size()).first;
    families_.push_back(family_text{family, {}, {}});
  }
  auto& f = families_[i->second];
  std::string series{family.name};
  series += suffix;
  if (!labels.empty()) {
    series += '{';
    for (size_t k = 0; k < labels.size(); ++k) {
      if (k > 0)
        series += ',';
      series += labels[k].first;
      series += "=\"";
      series += prom_escape(labels[k].second);
      series += '"';
    }
    series += '}';
  }
  if (!f.series.insert(series).second)
    return;
  f.samples += series;
  f.samples += ' ';
  f.samples += prom_number(value);
  f.samples += '\n';
}

std::string prom_writer::str() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f.def.name;
    out += ' ';
    // HELP text escapes backslash and line feed (not quotes).
    for (char c : std::string_view{f.def.help}) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += "\n# TYPE ";
    out += f.def.name;
    out += ' ';
    out += f.def.type;
    out += '\n';
    out += f.samples;
  }
  return out;
}

} // namespace mesh
