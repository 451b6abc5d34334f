#pragma once

// The gRPC door as a node reaches it. libmesh_grpc.so and what it needs
// (gRPC, Abseil, RE2, c-ares: about fifty libraries) cost a process about
// 20 ms of CPU to load, a fifth of a node's start (BENCHMARKS.md "A node's
// start"), so libmesh_node.so does not link it: a node configured with
// grpc.listen opens it when it starts (node/os/grpc_door_loader.hpp) and
// uses it through this header alone: the door behind an interface, and one
// entry the library exports by a C name, which says what it was built as.

#include <cstddef>
#include <memory>

#include <caf/error.hpp>

#include "protocol/address.hpp"

namespace mesh {

class call_counts;
struct grpc_front_door_config;

/// The door, made by the entry below and started by the node
/// (grpc/front_door.hpp says what each member does).
class front_door {
public:
  virtual ~front_door() = default;
  virtual caf::error start() = 0;
  virtual const host_port& address() const = 0;
  virtual void set_draining() = 0;
  virtual void stop() = 0;
};

/// What libmesh_grpc.so offers a node.
struct grpc_door_entry {
  /// mesh_version and sizeof(grpc_front_door_config) of its build: the
  /// config crosses by its layout, so the node refuses a library whose
  /// build differs from its own.
  const char* version;
  std::size_t config_size;
  /// grpc_door::make_call_counts (grpc/node_handles.hpp).
  std::shared_ptr<call_counts> (*make_call_counts)();
  /// A grpc_front_door, not started.
  std::unique_ptr<front_door> (*make_door)(grpc_front_door_config&& cfg);
};

/// The C name of libmesh_grpc.so's grpc_door_entry.
inline constexpr char grpc_door_entry_symbol[] = "mesh_grpc_door_entry";

} // namespace mesh
