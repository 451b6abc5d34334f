#pragma once

// A writer of the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): what
// render_prometheus (telemetry/prometheus/prometheus.hpp) builds its page with.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh {

/// Label name and value pairs of one series, in the order they are printed.
using prom_labels = std::vector<std::pair<std::string, std::string>>;

/// One metric family: a snake_case name (counters end in `_total`), its type
/// ("counter", "gauge", "summary") and a one-line help text.
struct prom_family {
  const char* name;
  const char* type;
  const char* help;
};

/// Collects samples grouped by family and prints them: `# HELP` and `# TYPE`
/// once per family, before its samples, families in the order of their first
/// sample. Guarantees the page stays valid whatever it is fed: a series
/// (name with suffix, and labels) added twice keeps its first value.
class prom_writer {
public:
  /// Adds one sample of `family`. `suffix` is "" or a summary's "_sum" or
  /// "_count"; label values are escaped here.
  void add(const prom_family& family, const prom_labels& labels, double value,
           std::string_view suffix = {});

  /// The page: every family with at least one sample.
  std::string str() const;

private:
  struct family_text {
    prom_family def;
    std::string samples;
    std::set<std::string> series;
  };
  std::vector<family_text> families_;
  std::map<std::string, size_t, std::less<>> index_;
};

/// A label value as the format wants it: backslash, double quote and line
/// feed escaped as `\\`, `\"` and `\n`.
std::string prom_escape(std::string_view value);

/// A sample value: integers without a fraction, others with up to 15
/// significant digits; `NaN`, `+Inf`, `-Inf` as the format spells them.
std::string prom_number(double value);

} // namespace mesh
