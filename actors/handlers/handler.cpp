#include "actors/handlers/handler.hpp"

#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/redact.hpp"

namespace mesh {

std::chrono::milliseconds call_context::remaining() const {
  auto left = deadline - std::chrono::steady_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(left);
}

const char* to_string(handler_kind x) noexcept {
  switch (x) {
    case handler_kind::function: return "function";
    case handler_kind::json: return "json";
    case handler_kind::actor: return "actor";
  }
  return "function";
}

handler_spec make_function_handler(service_key key, any_handler fn,
                                   handler_options opts) {
  return {std::move(key), handler_kind::function, std::move(fn), {},
          std::move(opts)};
}

handler_spec make_json_handler(service_key key, json_handler fn,
                               handler_options opts) {
  auto wrapped = [fn = std::move(fn)](const call_context& ctx,
                                      const google::protobuf::Any& payload)
    -> caf::expected<google::protobuf::Any> {
    auto input = any_to_json(payload);
    if (!input)
      return std::move(input.error());
    return json_to_any(fn(ctx, *input));
  };
  return {std::move(key), handler_kind::json, std::move(wrapped), {},
          std::move(opts)};
}

handler_spec make_actor_handler(service_key key, caf::actor actor,
                                handler_options opts) {
  return {std::move(key), handler_kind::actor, {}, std::move(actor),
          std::move(opts)};
}

namespace {

std::string failure_text(const call_context& ctx, std::string_view detail) {
  return "handler " + to_string(ctx.key) + " on " + ctx.node_id
         + " failed: " + redact_secrets(detail);
}

} // namespace

handler_outcome outcome_from_error(const caf::error& err,
                                   const call_context& ctx) {
  if (err.category() == status_category) {
    auto code = to_status_code(err);
    std::string detail;
    if (err.context().match_elements<std::string>())
      detail = err.context().get_as<std::string>(0);
    if (code == status_code::handler_error)
      return {code, failure_text(ctx, detail), {}};
    // A status the handler chose on purpose (e.g. not_found for an unknown
    // user) keeps its code; its text is still redacted.
    return {code, redact_secrets(detail), {}};
  }
  return {status_code::handler_error, failure_text(ctx, caf::to_string(err)),
          {}};
}

handler_outcome run_handler(const any_handler& fn, const call_context& ctx,
                            const google::protobuf::Any& payload) {
  try {
    auto result = fn(ctx, payload);
    if (!result)
      return outcome_from_error(result.error(), ctx);
    return {status_code::ok, {}, std::move(*result)};
  } catch (const handler_failure& e) {
    if (e.code() == status_code::handler_error
        || e.code() == status_code::ok)
      return {status_code::handler_error, failure_text(ctx, e.what()), {}};
    return {e.code(), redact_secrets(e.what()), {}};
  } catch (const std::exception& e) {
    return {status_code::handler_error, failure_text(ctx, e.what()), {}};
  } catch (...) {
    return {status_code::handler_error,
            failure_text(ctx, "unknown exception"), {}};
  }
}

} // namespace mesh
