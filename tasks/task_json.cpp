#include "tasks/task_json.hpp"

namespace mesh {

nlohmann::json history_to_json(const std::vector<attempt_record>& history) {
  auto list = nlohmann::json::array();
  for (const auto& r : history)
    list.push_back({{"attempt", r.attempt},
                    {"status", r.status},
                    {"error", r.error},
                    {"node", r.node},
                    {"at_ms", r.at_ms}});
  return list;
}

std::vector<attempt_record> history_from_json(const nlohmann::json& doc) {
  if (!doc.is_array())
    throw nlohmann::json::type_error::create(302, "history is not a JSON array",
                                             &doc);
  std::vector<attempt_record> out;
  for (const auto& h : doc)
    out.push_back({h.at("attempt").get<uint32_t>(),
                   h.at("status").get<std::string>(),
                   h.at("error").get<std::string>(),
                   h.at("node").get<std::string>(),
                   h.at("at_ms").get<int64_t>()});
  return out;
}

std::string dump_lenient(const nlohmann::json& x) {
  return x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace mesh
