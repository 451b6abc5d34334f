// Handlers that are the versioned variants of the example process manifests
// (examples/manifests/): two pricing models, two welcome channels, two
// recommenders. Each answer says which variant produced it, so a user can
// see the strategy's choice in the payload too.
//
//   pricing/PricingV1/Quote         {"sku", "quantity"} -> list price
//   pricing/PricingV2/Quote         same input; volume discount
//   notify/WelcomeEmail/Send        {"user_id", "name"} -> the e-mail sent
//   notify/WelcomeSms/Send          same input; the SMS sent
//   recommend/Popular/Rank          {"user_id", "limit"} -> best sellers
//   recommend/Personal/Rank         same input; picks for the user

#include <algorithm>
#include <functional>
#include <string>

#include "examples/handlers/process_variants.hpp"
#include "protocol/status.hpp"

namespace {

using nlohmann::json;
using mesh::call_context;

double list_price(const std::string& sku) {
  // A stable made-up price per sku: 5.00 to 104.99.
  return 5.0 + static_cast<double>(std::hash<std::string>{}(sku) % 10000)
                 / 100.0;
}

json quote(const json& in, const char* model, double discount) {
  auto sku = in.value("sku", std::string{});
  auto qty = in.value("quantity", int64_t{1});
  if (sku.empty() || qty <= 0)
    throw mesh::handler_failure(mesh::status_code::invalid_argument,
                                "a quote needs a sku and a positive quantity");
  auto unit = list_price(sku) * (1.0 - discount);
  return {{"sku", sku},       {"quantity", qty},
          {"unit_price", unit}, {"total", unit * static_cast<double>(qty)},
          {"model", model}};
}

json welcome(const json& in, const char* channel) {
  auto user = in.value("user_id", std::string{});
  auto name = in.value("name", std::string{"there"});
  return {{"user_id", user},
          {"channel", channel},
          {"message", "Welcome aboard, " + name + "!"}};
}

json rank(const json& in, const char* model, bool personal) {
  static const char* catalogue[] = {"sku-1", "sku-2", "sku-3", "sku-4",
                                    "sku-5", "sku-6", "sku-7", "sku-8"};
  auto limit = static_cast<size_t>(
    std::clamp<int64_t>(in.value("limit", int64_t{3}), 1, 8));
  auto user = in.value("user_id", std::string{});
  // The "personal" model rotates the catalogue by the user, so two users
  // see different picks; "popular" shows everyone the same best sellers.
  size_t offset = personal ? std::hash<std::string>{}(user) % 8 : 0;
  auto items = json::array();
  for (size_t i = 0; i < limit; ++i)
    items.push_back(catalogue[(offset + i) % 8]);
  return {{"user_id", user}, {"items", items}, {"model", model}};
}

} // namespace

void add_process_variants(mesh::handler_registrar& registrar) {
  mesh::handler_options pure;
  pure.idempotent = true;
  pure.non_blocking = true; // plain computation: no thread hop needed
  auto add = [&](mesh::service_key key, mesh::json_handler fn) {
    registrar.add_json(std::move(key), std::move(fn), pure);
  };
  add({"pricing", "PricingV1", "Quote"},
      [](const call_context&, const json& in) {
        return quote(in, "list-price-v1", 0.0);
      });
  add({"pricing", "PricingV2", "Quote"},
      [](const call_context&, const json& in) {
        auto qty = in.value("quantity", int64_t{1});
        return quote(in, "volume-discount-v2", qty >= 10 ? 0.1 : 0.02);
      });
  add({"notify", "WelcomeEmail", "Send"},
      [](const call_context&, const json& in) { return welcome(in, "email"); });
  add({"notify", "WelcomeSms", "Send"},
      [](const call_context&, const json& in) { return welcome(in, "sms"); });
  add({"recommend", "Popular", "Rank"},
      [](const call_context&, const json& in) {
        return rank(in, "popular", false);
      });
  add({"recommend", "Personal", "Rank"},
      [](const call_context&, const json& in) {
        return rank(in, "personal", true);
      });
}
