#include "node/check/config_check.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/node_actors.hpp"
#include "cluster/security/tls_files.hpp"
#include "config/manifests/manifest_set.hpp"
#include "node/check/check_registrar.hpp"
#include "node/node_impl.hpp"
#include "node/os/grpc_door_loader.hpp"
#include "node/plugins/plugin_loader.hpp"
#include "protocol/messaging/register.hpp"
#include "protocol/status.hpp"
#include "tasks/jobs/job_set.hpp"
#include "workflows/workflow_set.hpp"

namespace mesh {

namespace fs = std::filesystem;

namespace {

// The latest layer holding `pointer` or, failing that, its nearest parent.
std::string source_of(const std::string& pointer,
                      const std::vector<config_layer>& layers) {
  nlohmann::json::json_pointer p;
  try {
    p = nlohmann::json::json_pointer{pointer == "/" ? "" : pointer};
  } catch (const std::exception&) {
    return "configuration";
  }
  for (;;) {
    for (auto i = layers.rbegin(); i != layers.rend(); ++i) {
      try {
        if (i->doc.contains(p) && !i->doc.at(p).is_null())
          return i->name;
      } catch (const std::exception&) {
        // a token that is no index of an array there: not in this layer
      }
    }
    if (p.empty())
      return "configuration";
    p.pop_back();
  }
}

// Why nothing could be written in `dir` (it exists and is no writable
// folder, or it would be created where that is not allowed), or "". Creates
// nothing.
std::string unwritable_folder(const std::string& dir) {
  std::error_code ec;
  fs::path p = dir.empty() ? fs::path{"."} : fs::path{dir};
  if (fs::exists(p, ec)) {
    if (!fs::is_directory(p, ec))
      return "'" + dir + "' is not a folder";
    if (::access(p.c_str(), W_OK | X_OK) != 0)
      return "folder '" + dir + "' is not writable: " + std::strerror(errno);
    return {};
  }
  // Created when first needed, inside its nearest existing ancestor.
  auto ancestor = fs::absolute(p, ec).parent_path();
  while (!ancestor.empty() && !fs::exists(ancestor, ec)
         && ancestor != ancestor.root_path())
    ancestor = ancestor.parent_path();
  if (!fs::is_directory(ancestor, ec))
    return "cannot create '" + dir + "': '" + ancestor.string()
           + "' is not a folder";
  if (::access(ancestor.c_str(), W_OK | X_OK) != 0)
    return "cannot create '" + dir + "': '" + ancestor.string()
           + "' is not writable: " + std::strerror(errno);
  return {};
}

// Why the file at `path` could not be opened for writing (or created).
std::string unwritable_file(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (fs::is_directory(path, ec))
      return "'" + path + "' is a folder, not a file";
    if (::access(path.c_str(), W_OK) != 0)
      return "'" + path + "' is not writable: " + std::strerror(errno);
    return {};
  }
  auto parent = fs::path{path}.parent_path().string();
  return unwritable_folder(parent.empty() ? "." : parent);
}

// The id the node would take (node/node.cpp): the store's file is named
// by it.
std::string start_id(const node_config& cfg) {
  if (!node_id_is_per_process(cfg))
    return effective_node_id(cfg, cfg.listen.port);
  auto id = effective_node_id(cfg, 0);
  return id.substr(0, id.rfind('-')) + "-p" + std::to_string(::getpid());
}

struct checker {
  const node_config& cfg;
  const std::vector<config_layer>& layers;
  std::vector<config_problem> out;

  void add(const std::string& pointer, std::string message) {
    out.push_back({source_of(pointer, layers), pointer, std::move(message)});
  }

  // Every failure of a loader's report ({"failed": [{"file", "errors":
  // [{"pointer", "message"}]}]}), each in its own file's words.
  void add_report(const nlohmann::json& report) {
    for (const auto& f : report.value("failed", nlohmann::json::array())) {
      auto file = f.value("file", std::string{"?"});
      for (const auto& e : f.value("errors", nlohmann::json::array())) {
        if (e.is_object())
          out.push_back({file, e.value("pointer", "/"),
                         e.value("message", e.dump())});
        else
          out.push_back({file, "/", e.is_string() ? e.get<std::string>()
                                                  : e.dump()});
      }
    }
  }

  void folders() {
    const std::pair<const std::string*, const char*> all[] = {
      {&cfg.manifests_dir, "manifests"},
      {&cfg.tasks.jobs_dir, "jobs"},
      {&cfg.workflows.dir, "workflows"}};
    for (const auto& [dir, what] : all)
      if (auto why = unreadable_folder(*dir, what); !why.empty())
        add(std::string{"/"} + what, why);
  }

  void state_folders() {
    // The evidence file of the manifests' bandits, and the SQLite store of
    // tasks and workflow runs: each only when the node will write it.
    if (!cfg.manifests_dir.empty())
      if (auto why = unwritable_folder(cfg.data_dir); !why.empty())
        add("/data_dir", "the node's state cannot be kept: " + why);
    if (cfg.tasks.jobs_dir.empty() && cfg.workflows.dir.empty())
      return;
    auto store = task_store_path(cfg, start_id(cfg));
    if (auto why = unwritable_file(store); !why.empty())
      add(cfg.tasks.store.empty() ? "/data_dir" : "/tasks/store",
          "the task store " + store + " cannot be opened: " + why);
  }

  void security() {
    auto exposed = [this](const std::optional<host_port>& address) {
      return address && cfg.console_token.empty()
             && !is_loopback_host(address->host);
    };
    if (auto why = check_console_exposure(cfg); !why.empty())
      add(exposed(cfg.http)   ? "/http"
          : exposed(cfg.grpc) ? "/grpc/listen"
                              : "/console",
          why);
    const auto& tls = cfg.cluster.tls;
    if (auto why = check_tls_files(tls.certificate, tls.key, tls.ca,
                                   tls.passphrase);
        !why.empty())
      add("/cluster/tls", why);
  }

  // The gRPC door's library, opened as the start opens it.
  void grpc_door() {
    if (cfg.grpc)
      if (auto door = open_grpc_door(); !door)
        add("/grpc/listen", error_text(door.error()));
  }

  // Plug-ins, hooks, topics and the jobs that name plug-ins' functions:
  // everything a plug-in's registrations decide.
  void registrations() {
    pipeline_memory mem;
    auto dry = cfg; // the audit file is checked, never opened here
    dry.pipeline.audit_file.clear();
    if (auto err = setup_pipeline(mem, dry))
      add("/policies", error_text(err));
    if (!cfg.pipeline.audit_file.empty())
      if (auto why = unwritable_file(cfg.pipeline.audit_file); !why.empty())
        add("/audit/file", "the audit file cannot be opened: " + why);
    route_table routes;
    task_functions functions;
    {
      caf::actor_system_config sys_cfg;
      register_types(sys_cfg);
      sys_cfg.set("scheduler.max-threads", 2);
      caf::actor_system sys{sys_cfg};
      check_registrar reg{sys, start_id(cfg), routes, *mem.hooks, functions};
      for (size_t i = 0; i < cfg.plugins.size(); ++i)
        if (auto err = load_plugin(cfg.plugins[i], reg))
          add("/plugins/" + std::to_string(i), error_text(err));
      caf::scoped_actor self{sys};
      for (const auto& a : reg.actors())
        self->send_exit(a, caf::exit_reason::user_shutdown);
    }
    if (auto err = check_policy_hooks(mem))
      add("/policies", error_text(err));
    topics(routes);
    jobs(functions);
  }

  // The node registers the configured dispatchers, then the routes, after
  // the plug-ins (node_api.cpp: add_configured_topics).
  void topics(route_table& routes) {
    const auto& t = cfg.topics;
    for (size_t i = 0; i < t.dispatchers.size(); ++i) {
      const auto& d = t.dispatchers[i];
      if (auto err = routes.add_dispatcher(
            {d.id, d.category, d.message_types, d.kind});
          !err.empty())
        add("/topics/dispatchers/" + std::to_string(i), err);
    }
    for (size_t i = 0; i < t.routes.size(); ++i)
      if (auto err = routes.add_route(t.routes[i]); !err.empty())
        add("/topics/routes/" + std::to_string(i), err);
  }

  // As the task dispatcher loads them (actors/tasks/task_dispatcher.cpp).
  void jobs(const task_functions& functions) {
    if (cfg.tasks.jobs_dir.empty()
        || !unreadable_folder(cfg.tasks.jobs_dir, "jobs").empty())
      return;
    runtime_table runtimes;
    try {
      runtimes = make_runtime_table(cfg.tasks.runtimes, functions.kinds());
    } catch (const std::exception& e) {
      add("/runtimes", e.what());
      return;
    }
    auto check = [&](const std::string& kind, const std::string& target) {
      if (kind == "process") {
        std::error_code ec;
        if (cfg.manifests_dir.empty()
            || !fs::is_regular_file(cfg.manifests_dir + "/" + target + ".json",
                                    ec))
          return "no process manifest named '" + target + "' on "
                 + start_id(cfg);
        return std::string{};
      }
      if (kind == "mesh")
        return std::string{};
      return functions.check(kind, target);
    };
    job_set set;
    add_report(set.load(cfg.tasks.jobs_dir, runtimes, check));
  }

  void definitions() {
    if (!cfg.manifests_dir.empty()
        && unreadable_folder(cfg.manifests_dir, "manifests").empty()) {
      manifest_set set;
      add_report(set.load(cfg.manifests_dir));
    }
    if (!cfg.workflows.dir.empty()
        && unreadable_folder(cfg.workflows.dir, "workflows").empty()) {
      workflow_set set;
      add_report(set.load(cfg.workflows.dir));
    }
  }
};

} // namespace

std::string to_string(const config_problem& p) {
  return p.where + ": " + (p.pointer.empty() ? "/" : p.pointer) + ": "
         + p.message;
}

std::string unreadable_folder(const std::string& dir, const char* what) {
  if (dir.empty())
    return {};
  std::error_code ec;
  auto prefix = std::string{"the "} + what + " folder '" + dir + "'";
  if (!fs::exists(dir, ec))
    return prefix + " does not exist";
  if (!fs::is_directory(dir, ec))
    return prefix + " is not a folder";
  if (::access(dir.c_str(), R_OK | X_OK) != 0)
    return prefix + " cannot be read: " + std::strerror(errno);
  return {};
}

std::vector<config_problem>
check_node_folders(const node_config& cfg,
                   const std::vector<config_layer>& layers) {
  checker c{cfg, layers, {}};
  c.folders();
  return std::move(c.out);
}

std::vector<config_problem>
check_node_start(const node_config& cfg,
                 const std::vector<config_layer>& layers) {
  checker c{cfg, layers, {}};
  c.grpc_door();
  c.security();
  c.folders();
  c.state_folders();
  c.registrations();
  c.definitions();
  return std::move(c.out);
}

} // namespace mesh
