// Misbehaving handlers for the process tests.
//   test/Faults/Throw   throws, with secrets in the message
//   test/Faults/Sleep   sleeps {"ms": N} then answers {"slept_ms": N}
//   test/Tight/Sleep    the same, with one slot and a queue of one
//   test/Faults/Echo    answers with its payload (idempotent)
//   test/Faults/Big     answers {"blob": "xxx..."} of {"bytes": N} bytes
// and topic dispatchers (routes come from the tests' configs):
//   test-sleep          event; says "test-sleep started" on stderr, then
//                       sleeps {"ms": N}
//   test-throw          event; throws with a password in the message

#include <iostream>

#include <thread>

#include "node/plugin_api.hpp"

namespace {

using nlohmann::json;

json sleep_for(const json& in) {
  auto ms = in.value("ms", 0);
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return {{"slept_ms", ms}};
}

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  registrar.add_json({"test", "Faults", "Throw"},
                     [](const mesh::call_context&, const json&) -> json {
                       throw std::runtime_error(
                         "cannot open postgres://app:s3cret@db:5432/orders "
                         "with password=hunter2");
                     });
  registrar.add_json({"test", "Faults", "Sleep"},
                     [](const mesh::call_context&, const json& in) {
                       return sleep_for(in);
                     });
  mesh::handler_options tight;
  tight.max_concurrency = 1;
  tight.max_queue = 1;
  registrar.add_json({"test", "Tight", "Sleep"},
                     [](const mesh::call_context&, const json& in) {
                       return sleep_for(in);
                     },
                     tight);
  mesh::handler_options idempotent;
  idempotent.idempotent = true;
  registrar.add_json({"test", "Faults", "Echo"},
                     [](const mesh::call_context&, const json& in) {
                       return in;
                     },
                     idempotent);
  registrar.add_json({"test", "Faults", "Big"},
                     [](const mesh::call_context&, const json& in) {
                       return json{{"blob", std::string(in.value("bytes", 0u),
                                                        'x')}};
                     });
  registrar.add_dispatcher("test-sleep", mesh::message_category::event,
                           [](const mesh::topic_message& m) {
                             std::cerr << "test-sleep started" << std::endl;
                             sleep_for(m.payload);
                             return std::vector<std::string>{};
                           });
  registrar.add_dispatcher(
    "test-throw", mesh::message_category::event,
    [](const mesh::topic_message&) -> std::vector<std::string> {
      throw std::runtime_error("broker login failed: password=hunter2");
    });
  return 0;
}
