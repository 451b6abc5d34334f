// percentage_rollout: a deterministic split by the bucket of one user_context
// value (the seed's percentage_rollout.py), hashed as rollout_bucket pins it.

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "strategies/builtin.hpp"
#include "strategies/json_path.hpp"

namespace mesh::detail {

namespace {

class percentage_rollout : public strategy {
public:
  const char* name() const noexcept override {
    return "percentage_rollout";
  }

  std::vector<manifest_problem> prepare(const nlohmann::json& args,
                                        const std::vector<variant>& variants,
                                        const std::string& process) override {
    std::vector<manifest_problem> problems;
    auto add = [&](std::string pointer, std::string message) {
      problems.push_back({std::move(pointer), std::move(message)});
    };
    if (!args.is_object()) {
      add("/strategy/args", "percentage_rollout needs args {bucketing_key, "
                            "salt (optional)}");
      return problems;
    }
    for (auto i = args.begin(); i != args.end(); ++i)
      if (i.key() != "bucketing_key" && i.key() != "salt")
        add("/strategy/args/" + i.key(), "unknown argument of "
                                         "percentage_rollout");
    auto key = args.find("bucketing_key");
    if (key == args.end() || !key->is_string() || key->empty())
      add("/strategy/args/bucketing_key", "must be a non-empty string");
    else
      key_ = json_path{key->get<std::string>(), "user_context"};
    salt_ = process;
    if (auto salt = args.find("salt"); salt != args.end()) {
      if (!salt->is_string())
        add("/strategy/args/salt", "must be a string");
      else
        salt_ = salt->get<std::string>();
    }
    double sum = 0;
    thresholds_.clear();
    for (size_t i = 0; i < variants.size(); ++i) {
      if (!variants[i].has_weight) {
        add("/variants/" + std::to_string(i) + "/weight",
            "percentage_rollout needs a weight on every variant");
        continue;
      }
      sum += variants[i].weight;
      thresholds_.push_back(static_cast<uint32_t>(std::lround(sum * 10000)));
    }
    if (variants.empty())
      add("/variants", "percentage_rollout needs at least one variant");
    else if (std::fabs(sum - 1.0) > 1e-9)
      add("/variants", "weights sum to " + std::to_string(sum)
                         + "; percentage_rollout needs exactly 1");
    if (!thresholds_.empty())
      thresholds_.back() = 10000;
    return problems;
  }

  decision choose(const decision_input& in) const override {
    const auto* value = key_.find(in.user_context);
    if (value == nullptr || value->is_null())
      return {0, decision_kind::bucket, 0,
              "user_context has no '" + key_.text()
                + "' (the bucketing key)"};
    char buf[32];
    std::string_view text;
    std::string dumped;
    if (value->is_string()) {
      text = value->get_ref<const std::string&>();
    } else if (value->is_number_integer()) {
      auto r = std::to_chars(buf, buf + sizeof(buf), value->get<int64_t>());
      text = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
    } else {
      dumped = value->dump();
      text = dumped;
    }
    auto bucket = rollout_bucket(salt_, text);
    size_t i = 0;
    while (i + 1 < thresholds_.size() && bucket >= thresholds_[i])
      ++i;
    return {i, decision_kind::bucket, bucket, {}};
  }

  std::string explain(const decision& d,
                      const std::vector<variant>& variants) const override {
    auto low = d.index == 0 ? 0u : thresholds_[d.index - 1];
    return "bucket " + std::to_string(d.detail) + " of " + key_.text()
           + " is in [" + std::to_string(low) + ", "
           + std::to_string(thresholds_[d.index]) + "): "
           + variants.at(d.index).id;
  }

private:
  json_path key_;
  std::string salt_;
  std::vector<uint32_t> thresholds_; ///< cumulative bucket bounds
};

} // namespace

std::unique_ptr<strategy> make_percentage_rollout() {
  return std::make_unique<percentage_rollout>();
}

} // namespace mesh::detail
