// Stands in for a libmesh_grpc.so of another Mesh build: its entry has
// another layout (two pointers, as an older one might), so a node must
// refuse it without reading it.

extern "C" {
struct other_entry {
  const void* first;
  const void* second;
};

__attribute__((visibility("default"))) extern const other_entry
  mesh_grpc_door_entry;
const other_entry mesh_grpc_door_entry{nullptr, nullptr};
}
