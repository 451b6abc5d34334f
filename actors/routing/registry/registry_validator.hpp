#pragma once

// The registry_validator hook (seed 001's RegistryValidator): a check run on
// the node that would execute a request, exactly once per request, before
// the handler is looked up. A rejection is answered `not_found` ("... is not
// registered"). Validators must be fast and thread-safe: they run on the
// router's hot path, and one instance is shared by every snapshot.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/service_key.hpp"

namespace mesh {

class registry_validator {
public:
  virtual ~registry_validator() = default;

  /// Returns an empty string to accept, or why the method is rejected.
  virtual std::string validate(std::string_view ns, std::string_view service,
                               std::string_view method) const = 0;

  /// One line for meshctl: what this validator accepts.
  virtual std::string describe() const = 0;
};

using registry_validator_ptr = std::shared_ptr<const registry_validator>;

/// Accepts only methods matching one of its patterns. A pattern is
/// "namespace/Service/Method" where any part may be `*`.
class allow_list_validator : public registry_validator {
public:
  /// Fails (returns null, with `error` set) on a malformed pattern.
  static std::shared_ptr<allow_list_validator>
  make(const std::vector<std::string>& patterns, std::string& error);

  std::string validate(std::string_view ns, std::string_view service,
                       std::string_view method) const override;

  std::string describe() const override;

  const std::vector<std::string>& patterns() const { return patterns_; }

private:
  std::vector<std::string> patterns_;
  std::vector<service_pattern> entries_;
};

} // namespace mesh
