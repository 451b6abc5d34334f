// percentage_rollout: a deterministic split by the bucket of one user_context
// value (the seed's percentage_rollout.py), hashed as rollout_bucket pins it.

#include <charconv>
#include <cmath>

#include <google/protobuf/struct.pb.h>
#include <nlohmann/json.hpp>

#include "protocol/json/json_payload.hpp"
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
    // The reason's constant part per variant, for explain_to.
    suffixes_.clear();
    if (problems.empty())
      for (size_t i = 0; i < variants.size(); ++i)
        suffixes_.push_back(" of " + key_.text() + " is in ["
                            + std::to_string(i == 0 ? 0u : thresholds_[i - 1])
                            + ", " + std::to_string(thresholds_[i])
                            + "): " + variants[i].id);
    return problems;
  }

  decision choose(const decision_input& in) const override {
    if (in.context_value != nullptr)
      return choose_value(*in.context_value);
    const auto* value = key_.find(in.user_context);
    if (value == nullptr || value->is_null())
      return missing_key();
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

  bool reads_context_value() const noexcept override {
    return true;
  }

  void explain_to(const decision& d, const std::vector<variant>& variants,
                  std::string& out) const override {
    if (suffixes_.size() != variants.size() || d.index >= suffixes_.size()) {
      out += explain(d, variants);
      return;
    }
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof(buf), d.detail);
    const auto& suffix = suffixes_[d.index];
    out.reserve(out.size() + 7 + static_cast<size_t>(r.ptr - buf)
                + suffix.size());
    out.append("bucket ")
      .append(buf, static_cast<size_t>(r.ptr - buf))
      .append(suffix);
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
  decision missing_key() const {
    return {0, decision_kind::bucket, 0,
            "user_context has no '" + key_.text() + "' (the bucketing key)"};
  }

  size_t variant_of(uint32_t bucket) const {
    size_t i = 0;
    while (i + 1 < thresholds_.size() && bucket >= thresholds_[i])
      ++i;
    return i;
  }

  // The same decision from the protobuf form of the context, with the key
  // written as its JSON form would be (value_to_json: integral numbers up
  // to 2^53 are integers), so both forms hash alike.
  decision choose_value(const google::protobuf::Value& root) const {
    using google::protobuf::Value;
    const Value* cur = &root;
    for (const auto& part : key_.parts()) {
      if (cur->kind_case() != Value::kStructValue)
        return missing_key();
      const auto& fields = cur->struct_value().fields();
      auto i = fields.find(part);
      if (i == fields.end())
        return missing_key();
      cur = &i->second;
    }
    char buf[32];
    std::string_view text;
    std::string dumped;
    switch (cur->kind_case()) {
      case Value::kNullValue:
      case Value::KIND_NOT_SET:
        return missing_key();
      case Value::kStringValue:
        text = cur->string_value();
        break;
      case Value::kNumberValue: {
        auto x = cur->number_value();
        constexpr double max_exact = 9007199254740992.0; // 2^53
        if (std::isfinite(x) && std::trunc(x) == x
            && std::fabs(x) <= max_exact) {
          auto r = std::to_chars(buf, buf + sizeof(buf),
                                 static_cast<int64_t>(x));
          text = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
          break;
        }
        [[fallthrough]];
      }
      default:
        dumped = value_to_json(*cur).dump();
        text = dumped;
    }
    auto bucket = rollout_bucket(salt_, text);
    return {variant_of(bucket), decision_kind::bucket, bucket, {}};
  }

  json_path key_;
  std::vector<std::string> suffixes_; ///< explain_to's text per variant
  std::string salt_;
  std::vector<uint32_t> thresholds_; ///< cumulative bucket bounds
};

} // namespace

std::unique_ptr<strategy> make_percentage_rollout() {
  return std::make_unique<percentage_rollout>();
}

} // namespace mesh::detail
