#include "grpc/reflection_answer.hpp"

#include <set>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

namespace mesh::grpc_door::reflection {

namespace {

namespace gpb = google::protobuf;

const std::vector<std::string>& served_services() {
  static const std::vector<std::string> names{
    "collector.CollectiveDispatcher",
    "mesh.v1.Mesh",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  };
  return names;
}

void add_with_imports(const gpb::FileDescriptor* file,
                      std::set<const gpb::FileDescriptor*>& out) {
  if (file == nullptr || !out.insert(file).second)
    return;
  for (int i = 0; i < file->dependency_count(); ++i)
    add_with_imports(file->dependency(i), out);
}

/// `file` when reflection may describe it (a served service's file or one
/// it imports, however deep), else null.
const gpb::FileDescriptor* served(const gpb::FileDescriptor* file) {
  static const auto files = [] {
    std::set<const gpb::FileDescriptor*> out;
    auto* pool = gpb::DescriptorPool::generated_pool();
    for (const auto& name : served_services())
      if (auto* service = pool->FindServiceByName(name))
        add_with_imports(service->file(), out);
    return out;
  }();
  return file != nullptr && files.count(file) > 0 ? file : nullptr;
}

const gpb::DescriptorPool& pool() {
  return *gpb::DescriptorPool::generated_pool();
}

answer error(grpc::StatusCode code, std::string what,
             const std::string& name) {
  answer a;
  a.error_code = code;
  a.error_message = std::move(what) + " "
                    + (name.size() > 200 ? name.substr(0, 200) + "..." : name);
  return a;
}

/// `file` and every file it imports, breadth first: each answer stands
/// alone (a client builds its pool from it).
answer files_of(const gpb::FileDescriptor* file, std::string what,
                const std::string& name) {
  if (file == nullptr)
    return error(grpc::StatusCode::NOT_FOUND, std::move(what), name);
  answer a;
  a.what = answer::kind::files;
  std::set<const gpb::FileDescriptor*> seen{file};
  std::vector<const gpb::FileDescriptor*> order{file};
  for (size_t i = 0; i < order.size(); ++i)
    for (int j = 0; j < order[i]->dependency_count(); ++j)
      if (seen.insert(order[i]->dependency(j)).second)
        order.push_back(order[i]->dependency(j));
  for (auto* f : order) {
    gpb::FileDescriptorProto proto;
    f->CopyTo(&proto);
    a.files.push_back(proto.SerializeAsString());
  }
  return a;
}

/// A message type reflection may describe, or null.
const gpb::Descriptor* served_type(const std::string& name) {
  auto* type = pool().FindMessageTypeByName(name);
  return type != nullptr && served(type->file()) ? type : nullptr;
}

} // namespace

answer list_services() {
  answer a;
  a.what = answer::kind::services;
  a.services = served_services();
  return a;
}

answer file_by_filename(const std::string& name) {
  return files_of(served(pool().FindFileByName(name)), "no file", name);
}

answer file_containing_symbol(const std::string& symbol) {
  return files_of(served(pool().FindFileContainingSymbol(symbol)), "no symbol",
                  symbol);
}

answer file_containing_extension(const std::string& type, int32_t number) {
  auto* t = served_type(type);
  auto* field = t == nullptr ? nullptr
                             : pool().FindExtensionByNumber(t, number);
  return files_of(field == nullptr ? nullptr : served(field->file()),
                  "no extension " + std::to_string(number) + " of", type);
}

answer extension_numbers_of(const std::string& type) {
  auto* t = served_type(type);
  if (t == nullptr)
    return error(grpc::StatusCode::NOT_FOUND, "no type", type);
  answer a;
  a.what = answer::kind::extension_numbers;
  a.base_type = t->full_name();
  std::vector<const gpb::FieldDescriptor*> fields;
  pool().FindAllExtensions(t, &fields);
  for (auto* field : fields)
    a.numbers.push_back(field->number());
  return a;
}

answer nothing_asked() {
  answer a;
  a.error_code = grpc::StatusCode::INVALID_ARGUMENT;
  a.error_message = "the request asks for nothing this server knows";
  return a;
}

} // namespace mesh::grpc_door::reflection
