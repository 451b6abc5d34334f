// thompson_bandit: Beta-Bernoulli Thompson sampling over the variants (the
// seed's multi_armed_bandit.py), with a floor: each variant always gets at
// least `floor` of the traffic, so evidence keeps coming for every arm.

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "strategies/beta_sampler.hpp"
#include "strategies/builtin.hpp"

namespace mesh::detail {

namespace {

class thompson_bandit : public strategy {
public:
  const char* name() const noexcept override {
    return "thompson_bandit";
  }

  std::vector<manifest_problem> prepare(const nlohmann::json& args,
                                        const std::vector<variant>& variants,
                                        const std::string&) override {
    std::vector<manifest_problem> problems;
    auto add = [&](std::string pointer, std::string message) {
      problems.push_back({std::move(pointer), std::move(message)});
    };
    variants_ = variants.size();
    if (variants.empty())
      add("/variants", "thompson_bandit needs at least one variant");
    if (args.is_null())
      return problems;
    if (!args.is_object()) {
      add("/strategy/args", "thompson_bandit takes {floor, prior_alpha, "
                            "prior_beta}");
      return problems;
    }
    auto number = [&](const char* key, double lo, double hi, double& out) {
      auto i = args.find(key);
      if (i == args.end())
        return;
      if (!i->is_number() || i->get<double>() < lo || i->get<double>() > hi)
        add(std::string{"/strategy/args/"} + key,
            "must be a number in [" + std::to_string(lo) + ", "
              + std::to_string(hi) + "]");
      else
        out = i->get<double>();
    };
    number("floor", 0.0, 1.0, floor_);
    number("prior_alpha", 1e-6, 1e6, alpha_);
    number("prior_beta", 1e-6, 1e6, beta_);
    for (auto i = args.begin(); i != args.end(); ++i)
      if (i.key() != "floor" && i.key() != "prior_alpha"
          && i.key() != "prior_beta")
        add("/strategy/args/" + i.key(), "unknown argument of "
                                         "thompson_bandit");
    if (floor_ * static_cast<double>(variants_) > 1.0)
      add("/strategy/args/floor",
          "floor x " + std::to_string(variants_)
            + " variants exceeds all the traffic");
    return problems;
  }

  decision choose(const decision_input& in) const override {
    auto u = open_uniform(in.rng);
    auto n = static_cast<double>(variants_);
    if (u < floor_ * n) // the floor: uniform exploration
      return {std::min(variants_ - 1, static_cast<size_t>(u / floor_)),
              decision_kind::explored, 0, {}};
    size_t best = 0;
    double best_sample = -1;
    for (size_t i = 0; i < variants_; ++i) {
      outcome_counts c;
      if (in.evidence != nullptr && i < in.evidence->size())
        c = (*in.evidence)[i];
      auto sample = beta_draw(in.rng, alpha_ + static_cast<double>(c.successes),
                              beta_ + static_cast<double>(c.failures));
      if (sample > best_sample) {
        best_sample = sample;
        best = i;
      }
    }
    return {best, decision_kind::sampled,
            static_cast<uint64_t>(best_sample * 1e6), {}};
  }

  std::string explain(const decision& d,
                      const std::vector<variant>& variants) const override {
    std::string out;
    explain_to(d, variants, out);
    return out;
  }

  void explain_to(const decision& d, const std::vector<variant>& variants,
                  std::string& out) const override {
    const auto& id = variants.at(d.index).id;
    if (d.kind == decision_kind::explored) {
      out.append("floor share (exploration): ").append(id);
      return;
    }
    out.reserve(out.size() + 32 + id.size());
    out.append("highest posterior sample (");
    append_sample(d.detail, out);
    out.append("): ").append(id);
  }

  // The sample (detail / 1e6) as "%.3f" writes it. Only a detail that ends
  // in exactly 500 lies on a rounding boundary, where the double's binary
  // value decides: to_chars does that. Every other one is rounded here in
  // integers, without a floating-point conversion (2 % of a process
  // dispatch in a profile).
  static void append_sample(uint64_t detail, std::string& out) {
    char text[32];
    char* end;
    if (detail % 1000 == 500) {
      end = std::to_chars(text, text + sizeof(text),
                          static_cast<double>(detail) / 1e6,
                          std::chars_format::fixed, 3)
              .ptr;
    } else {
      auto thousandths = detail / 1000 + (detail % 1000 > 500 ? 1 : 0);
      end = std::to_chars(text, text + sizeof(text) - 4, thousandths / 1000)
              .ptr;
      auto frac = thousandths % 1000;
      *end++ = '.';
      *end++ = static_cast<char>('0' + frac / 100);
      *end++ = static_cast<char>('0' + frac / 10 % 10);
      *end++ = static_cast<char>('0' + frac % 10);
    }
    out.append(text, static_cast<size_t>(end - text));
  }

  bool reads_context_value() const noexcept override {
    return true; // reads no context
  }

private:
  size_t variants_ = 0;
  double floor_ = 0.05;
  double alpha_ = 1.0;
  double beta_ = 1.0;
};

} // namespace

std::unique_ptr<strategy> make_thompson_bandit() {
  return std::make_unique<thompson_bandit>();
}

} // namespace mesh::detail
