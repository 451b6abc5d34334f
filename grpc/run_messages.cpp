#include "grpc/run_messages.hpp"

#include "protocol/json/json_payload.hpp"
#include "protocol/status.hpp"

namespace mesh::grpc_door {

google::protobuf::Struct to_struct(const nlohmann::json& j) {
  google::protobuf::Value v;
  json_to_value(j, v);
  return v.struct_value();
}

nlohmann::json struct_json(const google::protobuf::Struct& s) {
  google::protobuf::Value v;
  *v.mutable_struct_value() = s;
  return value_to_json(v);
}

void fill_run(const nlohmann::json& r, mesh::v1::Run* out) {
  out->mutable_status()->set_code(
    static_cast<pb::StatusCode>(status_code::ok));
  out->mutable_status()->clear_message();
  out->set_run_id(r.contains("run_id") ? r.value("run_id", "")
                                       : r.value("id", ""));
  out->set_workflow(r.value("workflow", ""));
  out->set_run_status(r.value("status", ""));
  out->set_trace_id(r.value("trace_id", ""));
  out->set_error(r.value("error", ""));
  if (auto i = r.find("output"); i != r.end())
    json_to_value(*i, *out->mutable_output());
  if (r.is_object())
    *out->mutable_detail() = to_struct(r);
}

} // namespace mesh::grpc_door
