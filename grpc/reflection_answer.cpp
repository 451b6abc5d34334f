#include "grpc/reflection_answer.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

namespace mesh::grpc_door::reflection {

namespace {

namespace gpb = google::protobuf;

const gpb::DescriptorPool& pool() {
  return *gpb::DescriptorPool::generated_pool();
}

/// `file` and every file it imports, however deep, breadth first (the file
/// itself first).
std::vector<const gpb::FileDescriptor*>
with_imports(const gpb::FileDescriptor* file) {
  std::set<const gpb::FileDescriptor*> seen{file};
  std::vector<const gpb::FileDescriptor*> order{file};
  for (size_t i = 0; i < order.size(); ++i)
    for (int j = 0; j < order[i]->dependency_count(); ++j)
      if (seen.insert(order[i]->dependency(j)).second)
        order.push_back(order[i]->dependency(j));
  return order;
}

answer error(grpc::StatusCode code, std::string what,
             const std::string& name) {
  answer a;
  a.error_code = code;
  a.error_message = std::move(what) + " "
                    + (name.size() > 200 ? name.substr(0, 200) + "..." : name);
  return a;
}

/// `file` and its imports (each answer stands alone: a client builds its
/// pool from it), or NOT_FOUND naming what was asked.
answer files_of(const gpb::FileDescriptor* file, std::string what,
                const std::string& name) {
  if (file == nullptr)
    return error(grpc::StatusCode::NOT_FOUND, std::move(what), name);
  answer a;
  a.what = answer::kind::files;
  for (auto* f : with_imports(file)) {
    gpb::FileDescriptorProto proto;
    f->CopyTo(&proto);
    a.files.push_back(proto.SerializeAsString());
  }
  return a;
}

} // namespace

catalog::catalog(std::vector<std::string> services)
  : services_(std::move(services)) {
  for (const auto& name : services_)
    if (auto* service = pool().FindServiceByName(name))
      for (auto* file : with_imports(service->file()))
        files_.insert(file);
}

const gpb::FileDescriptor*
catalog::served(const gpb::FileDescriptor* file) const {
  return file != nullptr && files_.count(file) > 0 ? file : nullptr;
}

const gpb::Descriptor* catalog::served_type(const std::string& name) const {
  auto* type = pool().FindMessageTypeByName(name);
  return type != nullptr && served(type->file()) ? type : nullptr;
}

answer list_services(const catalog& cat) {
  answer a;
  a.what = answer::kind::services;
  a.services = cat.services();
  return a;
}

answer file_by_filename(const catalog& cat, const std::string& name) {
  return files_of(cat.served(pool().FindFileByName(name)), "no file", name);
}

answer file_containing_symbol(const catalog& cat, const std::string& symbol) {
  return files_of(cat.served(pool().FindFileContainingSymbol(symbol)),
                  "no symbol", symbol);
}

answer file_containing_extension(const catalog& cat, const std::string& type,
                                 int32_t number) {
  auto* t = cat.served_type(type);
  auto* field = t == nullptr ? nullptr
                             : pool().FindExtensionByNumber(t, number);
  return files_of(field == nullptr ? nullptr : cat.served(field->file()),
                  "no extension " + std::to_string(number) + " of", type);
}

answer extension_numbers_of(const catalog& cat, const std::string& type) {
  auto* t = cat.served_type(type);
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
