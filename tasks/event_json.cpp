#include "tasks/event_json.hpp"

#include <cstdint>

#include "tasks/jobs/job.hpp"

namespace mesh {

namespace {

std::string parse_one(const nlohmann::json& doc, task_event& ev) {
  if (!doc.is_object())
    return "bad event: expected an object";
  auto ds = doc.find("dataset");
  if (ds == doc.end() || !ds->is_string()
      || !valid_dataset_name(ds->get<std::string>()))
    return "bad event: \"dataset\" must be a name of 1 to 128 characters "
           "A-Z a-z 0-9 . _ -";
  ev.dataset = ds->get<std::string>();
  auto cur = doc.find("cursor");
  if (cur == doc.end() || !cur->is_number_integer())
    return "bad event: \"cursor\" must be an integer";
  if (cur->is_number_unsigned()
      && cur->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return "bad event: \"cursor\" is out of range";
  ev.cursor = cur->get<int64_t>();
  if (auto p = doc.find("partition"); p != doc.end() && !p->is_null()) {
    if (!p->is_string() || p->get<std::string>().size() > 256)
      return "bad event: \"partition\" must be a string of at most 256 bytes";
    ev.partition = p->get<std::string>();
  }
  if (auto p = doc.find("payload"); p != doc.end())
    ev.payload = *p;
  return {};
}

} // namespace

std::string parse_events(const nlohmann::json& doc,
                         std::vector<task_event>& out) {
  std::vector<task_event> events;
  auto list = doc.is_object() ? doc.find("events") : doc.end();
  if (doc.is_object() && list != doc.end()) {
    if (!list->is_array() || list->empty() || list->size() > max_bulk_events)
      return "bad event: \"events\" must be an array of 1 to "
             + std::to_string(max_bulk_events) + " events";
    events.resize(list->size());
    for (size_t i = 0; i < list->size(); ++i)
      if (auto err = parse_one((*list)[i], events[i]); !err.empty())
        return "event " + std::to_string(i) + ": " + err;
  } else {
    events.resize(1);
    if (auto err = parse_one(doc, events[0]); !err.empty())
      return err;
  }
  out = std::move(events);
  return {};
}

} // namespace mesh
