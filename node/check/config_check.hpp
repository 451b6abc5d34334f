#pragma once

// `meshnode --check-config`: every check a start makes, without starting
// anything (no listener, no store opened, no file or folder created).
//
//   auto problems = mesh::check_node_start(cfg, layers);
//   for (auto& p : problems) std::cerr << to_string(p) << "\n";
//
// What is checked, in the order the start meets it: the gRPC door's
// library (opened as the start opens it: node/os/grpc_door_loader.hpp; on
// this host), the console exposure,
// the TLS files, the definition folders (manifests, jobs, workflows exist
// and can be read), the data directory and the task store's folder (could
// be written, or created, when the node will need them), the plug-ins
// (each loaded, its entry point called with a registrar that records what
// it registers: node/check/check_registrar.hpp), the policies' hooks, the topic
// dispatchers and routes (the node's route table, built-ins from the config
// plus the plug-ins'), and every file of the folders (manifests, jobs and
// workflows loaded with the node's own loaders). Every problem is reported,
// not just the first.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node_config.hpp"

namespace mesh {

/// One problem: `where` is the configuration layer that set the value
/// (a config file, "command line", "default") or a file the configuration
/// names (a manifest); `pointer` is a JSON pointer into it ("/" for the
/// whole).
struct config_problem {
  std::string where;
  std::string pointer;
  std::string message;
};

/// "where: /pointer: message".
std::string to_string(const config_problem& p);

/// A layer of the configuration, as merged: the embedded default, the
/// config file, the flags. Only used to say where a value came from.
struct config_layer {
  std::string name;
  nlohmann::json doc;
};

/// Every check of a start (above). `layers` in merge order, latest last.
/// Loads the plug-ins into this process (they are never unloaded) and runs
/// their entry points in a private actor system that ends before the
/// return.
std::vector<config_problem>
check_node_start(const node_config& cfg,
                 const std::vector<config_layer>& layers);

/// The definition folders only (manifests, jobs, workflows: each exists,
/// is a folder and can be read): cheap, so meshnode runs it before every
/// start and refuses a missing folder as a configuration error (exit 2).
std::vector<config_problem>
check_node_folders(const node_config& cfg,
                   const std::vector<config_layer>& layers);

/// Why `dir`, the `what` folder ("manifests"), cannot be read, or "" when
/// it can or when `dir` is empty (none configured).
std::string unreadable_folder(const std::string& dir, const char* what);

} // namespace mesh
