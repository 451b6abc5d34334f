// direct: always the first variant (the seed's direct.py).

#include <nlohmann/json.hpp>

#include "strategies/builtin.hpp"

namespace mesh::detail {

namespace {

class direct : public strategy {
public:
  const char* name() const noexcept override {
    return "direct";
  }

  std::vector<manifest_problem> prepare(const nlohmann::json& args,
                                        const std::vector<variant>& variants,
                                        const std::string&) override {
    std::vector<manifest_problem> problems;
    if (!args.is_null() && !(args.is_object() && args.empty()))
      problems.push_back({"/strategy/args", "direct takes no args"});
    if (variants.empty())
      problems.push_back({"/variants", "direct needs at least one variant"});
    return problems;
  }

  decision choose(const decision_input&) const override {
    return {0, decision_kind::first, 0, {}};
  }

  bool reads_context_value() const noexcept override {
    return true; // reads no context
  }

  std::string explain(const decision&,
                      const std::vector<variant>& variants) const override {
    return "direct: the first variant (" + variants.at(0).id + ")";
  }
};

} // namespace

std::unique_ptr<strategy> make_direct() {
  return std::make_unique<direct>();
}

} // namespace mesh::detail
