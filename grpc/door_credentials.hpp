#pragma once

// door_credentials: the gRPC front door's server credentials, plaintext or
// TLS with the node's certificate, with the console token checked in
// gRPC's own server auth filter. There it is checked on a call's headers,
// before gRPC reads the call's message: gRPC's unary handlers get the
// whole message (up to the payload limit) before any code of ours runs,
// so 300 calls of 4 MiB without the token took a node from 39 to 221 MB.
// A refused call is answered UNAUTHENTICATED in Mesh's words and counted
// under its method; gRPC's health service asks for no token (as /healthz).
//
// The check runs inline on gRPC's thread (no thread pool, no allocation
// when the token passes): gRPC's C++ AuthMetadataProcessor cannot be set
// on plaintext credentials, so these wrap gRPC's C credentials.

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "config/node_config.hpp"
#include "grpc/node_handles.hpp"

namespace mesh::grpc_door {

/// Reads the whole file at `path` (a PEM) into `out`; false if it cannot.
bool read_file(const std::string& path, std::string& out);

/// The door's credentials for `tls` (not enabled: plaintext) checking
/// node.token (empty: no check) on every call but the health service's;
/// null with `error` set when a file cannot be read.
std::shared_ptr<grpc::ServerCredentials>
door_credentials(const tls_config& tls, const node_handles& node,
                 std::string& error);

} // namespace mesh::grpc_door
