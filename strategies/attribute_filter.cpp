// attribute_filter: the first rule whose attribute matches picks the variant
// (the seed's attribute_filter.py); `is` compares one value, `in` a list; a
// missing attribute matches nothing.

#include <nlohmann/json.hpp>

#include "strategies/builtin.hpp"
#include "strategies/json_path.hpp"

namespace mesh::detail {

namespace {

struct rule {
  json_path attribute;
  std::vector<nlohmann::json> accepted; ///< `is` is a list of one
  bool list = false;
  size_t variant = 0;
};

class attribute_filter : public strategy {
public:
  const char* name() const noexcept override {
    return "attribute_filter";
  }

  std::vector<manifest_problem> prepare(const nlohmann::json& args,
                                        const std::vector<variant>& variants,
                                        const std::string&) override {
    std::vector<manifest_problem> problems;
    auto add = [&](std::string pointer, std::string message) {
      problems.push_back({std::move(pointer), std::move(message)});
    };
    auto variant_index = [&](const nlohmann::json& id, const std::string& ptr,
                             size_t& out) {
      if (!id.is_string()) {
        add(ptr, "must be a variant id (string)");
        return;
      }
      for (size_t i = 0; i < variants.size(); ++i)
        if (variants[i].id == id.get_ref<const std::string&>()) {
          out = i;
          return;
        }
      add(ptr, "names no variant of this manifest: '"
                 + id.get<std::string>() + "'");
    };
    if (!args.is_object()) {
      add("/strategy/args", "attribute_filter needs args {rules, "
                            "default_variant_id}");
      return problems;
    }
    auto rules = args.find("rules");
    if (rules == args.end() || !rules->is_array())
      add("/strategy/args/rules", "must be a list of rules");
    auto def = args.find("default_variant_id");
    if (def == args.end())
      add("/strategy/args/default_variant_id", "is required");
    else
      variant_index(*def, "/strategy/args/default_variant_id", default_);
    for (auto i = args.begin(); i != args.end(); ++i)
      if (i.key() != "rules" && i.key() != "default_variant_id")
        add("/strategy/args/" + i.key(), "unknown argument of "
                                         "attribute_filter");
    if (rules == args.end() || !rules->is_array())
      return problems;
    rules_.clear();
    for (size_t n = 0; n < rules->size(); ++n) {
      const auto& r = (*rules)[n];
      auto ptr = "/strategy/args/rules/" + std::to_string(n);
      if (!r.is_object()) {
        add(ptr, "must be an object {attribute, is|in, variant_id}");
        continue;
      }
      rule compiled;
      auto attr = r.find("attribute");
      if (attr == r.end() || !attr->is_string() || attr->empty())
        add(ptr + "/attribute", "must be a path like user_context.region");
      else
        compiled.attribute = json_path{attr->get<std::string>(),
                                       "user_context"};
      bool has_is = r.contains("is"), has_in = r.contains("in");
      if (has_is == has_in)
        add(ptr, "needs exactly one of 'is' and 'in'");
      else if (has_in && !r["in"].is_array())
        add(ptr + "/in", "must be a list of values");
      else if (has_in)
        compiled.accepted = r["in"].get<std::vector<nlohmann::json>>();
      else
        compiled.accepted.push_back(r["is"]);
      compiled.list = has_in;
      variant_index(r.value("variant_id", nlohmann::json{}),
                    ptr + "/variant_id", compiled.variant);
      rules_.push_back(std::move(compiled));
    }
    return problems;
  }

  decision choose(const decision_input& in) const override {
    for (size_t n = 0; n < rules_.size(); ++n) {
      const auto* value = rules_[n].attribute.find(in.user_context);
      if (value == nullptr)
        continue; // a missing attribute matches nothing
      for (const auto& accepted : rules_[n].accepted)
        if (*value == accepted)
          return {rules_[n].variant, decision_kind::rule, n, {}};
    }
    return {default_, decision_kind::fallback, 0, {}};
  }

  std::string explain(const decision& d,
                      const std::vector<variant>& variants) const override {
    if (d.kind == decision_kind::fallback)
      return "no rule matched: default variant " + variants.at(d.index).id;
    const auto& r = rules_.at(d.detail);
    return "rule " + std::to_string(d.detail) + " matched ("
           + r.attribute.text() + (r.list ? " in " : " is ")
           + (r.list ? nlohmann::json(r.accepted).dump()
                     : r.accepted.front().dump())
           + "): " + variants.at(d.index).id;
  }

private:
  std::vector<rule> rules_;
  size_t default_ = 0;
};

} // namespace

std::unique_ptr<strategy> make_attribute_filter() {
  return std::make_unique<attribute_filter>();
}

} // namespace mesh::detail
