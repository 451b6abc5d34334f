#include "config/node_config.hpp"

#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include <sched.h>
#include <unistd.h>

#include "config/json_schema.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/service_key.hpp"
#include "protocol/status.hpp"

namespace mesh::embedded {
extern const char* const default_node_json;
extern const char* const node_schema_json;
} // namespace mesh::embedded

namespace mesh {

const nlohmann::json& default_node_config_json() {
  static const auto doc = nlohmann::json::parse(embedded::default_node_json);
  return doc;
}

const nlohmann::json& node_config_schema_json() {
  static const auto doc = nlohmann::json::parse(embedded::node_schema_json);
  return doc;
}

namespace {

const json_schema& node_schema() {
  static const auto schema = compile_embedded(node_config_schema_json(), "node");
  return schema;
}


} // namespace

caf::expected<nlohmann::json> read_json_file(const std::string& path,
                                             size_t max_depth) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(status_code::invalid_argument,
                      path + ": cannot open file: " + std::strerror(errno));
  // One byte past the bound tells a file that is too large; a device
  // such as /dev/zero never ends, so the read itself is bounded.
  std::string text;
  std::array<char, 65536> chunk;
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > max_json_file_bytes)
      return make_error(status_code::invalid_argument,
                        path + ": the file is larger than "
                          + std::to_string(max_json_file_bytes)
                          + " bytes: not a configuration, manifest, job or "
                            "workflow file");
  }
  auto doc = parse_json(text, max_depth);
  if (doc)
    return doc;
  // "file:3:14: ..." for a position, "file: ..." otherwise.
  auto what = error_text(doc.error());
  auto sep = !what.empty() && std::isdigit(static_cast<unsigned char>(what[0]))
               ? ":"
               : ": ";
  return make_error(status_code::invalid_argument, path + sep + what);
}

std::vector<std::string> check_config_layer(const nlohmann::json& layer,
                                            const std::string& where) {
  std::vector<std::string> result;
  if (!layer.is_object()) {
    result.push_back(where + ": /: the configuration must be a JSON object");
    return result;
  }
  for (auto& v : explain_violations(node_config_schema_json(), layer,
                                    node_schema().validate(layer)))
    result.push_back(where + ": " + (v.pointer.empty() ? "/" : v.pointer)
                     + ": " + v.message);
  return result;
}

void merge_json(nlohmann::json& base, const nlohmann::json& layer) {
  if (!base.is_object() || !layer.is_object()) {
    base = layer;
    return;
  }
  for (auto i = layer.begin(); i != layer.end(); ++i) {
    if (i.value().is_object() && base.contains(i.key())
        && base[i.key()].is_object())
      merge_json(base[i.key()], i.value());
    else
      base[i.key()] = i.value();
  }
}

namespace {

// The token in a token file, without surrounding white space.
std::optional<std::string> read_token_file(const std::string& path,
                                           std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = "cannot read token file '" + path + "'";
    return std::nullopt;
  }
  // A token is a line of text: a larger file is a mistake (the wrong path),
  // and is not read whole.
  constexpr size_t max_bytes = 4096;
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    error = "token file '" + path + "' is larger than "
            + std::to_string(max_bytes) + " bytes: is it the right file?";
    return std::nullopt;
  }
  bool printable = valid_utf8(text) == text;
  for (unsigned char c : text)
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
      printable = false;
  if (!printable) {
    error = "token file '" + path + "' is not printable UTF-8 text";
    return std::nullopt;
  }
  auto first = text.find_first_not_of(" \t\r\n");
  auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos || last - first + 1 < 8) {
    error = "token file '" + path + "' holds no token of 8 characters or more";
    return std::nullopt;
  }
  return text.substr(first, last - first + 1);
}

} // namespace

caf::expected<node_config> to_node_config(const nlohmann::json& doc) {
  auto fail = [](const std::string& pointer, const std::string& what) {
    return make_error(status_code::invalid_argument, pointer + ": " + what);
  };
  node_config cfg;
  try {
    cfg.id = doc.value("id", "");
    std::string error;
    auto listen = parse_host_port(doc.at("listen").get<std::string>(), error);
    if (!listen)
      return fail("/listen", error);
    cfg.listen = *listen;
    const auto& con = doc.at("console");
    auto console_text = con.is_string()
                          ? con.get<std::string>()
                          : con.value("listen", std::string{"127.0.0.1:7421"});
    auto console = parse_host_port(console_text, error);
    if (!console)
      return fail(con.is_string() ? "/console" : "/console/listen", error);
    cfg.console = *console;
    if (con.is_object()) {
      if (auto t = con.find("token"); t != con.end() && t->is_string())
        cfg.console_token = t->get<std::string>();
      if (auto f = con.find("token_file"); f != con.end() && f->is_string()) {
        auto token = read_token_file(f->get<std::string>(), error);
        if (!token)
          return fail("/console/token_file", error);
        cfg.console_token = *token;
      }
    }
    if (auto i = doc.find("http"); i != doc.end() && i->is_string()) {
      auto http = parse_host_port(i->get<std::string>(), error);
      if (!http)
        return fail("/http", error);
      cfg.http = *http;
    }
    if (auto i = doc.find("grpc"); i != doc.end() && i->is_object()) {
      auto grpc = parse_host_port(i->value("listen", ""), error);
      if (!grpc)
        return fail("/grpc/listen", error);
      cfg.grpc = *grpc;
      if (auto k = i->find("keepalive"); k != i->end() && k->is_object()) {
        auto& ka = cfg.grpc_keepalive;
        ka.time_ms = k->value("time_ms", ka.time_ms);
        ka.timeout_ms = k->value("timeout_ms", ka.timeout_ms);
        ka.min_client_ping_ms = k->value("min_client_ping_ms",
                                         ka.min_client_ping_ms);
        ka.max_idle_ms = k->value("max_idle_ms", ka.max_idle_ms);
      }
      cfg.grpc_memory_mb = i->value("memory_mb", cfg.grpc_memory_mb);
    }
    if (auto i = doc.find("namespaces"); i != doc.end() && !i->is_null())
      cfg.namespaces = i->get<std::vector<std::string>>();
    if (auto i = doc.find("handlers"); i != doc.end() && !i->is_null())
      cfg.handlers = i->get<std::vector<std::string>>();
    cfg.plugins = doc.value("plugins", std::vector<std::string>{});
    if (auto i = doc.find("manifests"); i != doc.end() && i->is_string())
      cfg.manifests_dir = i->get<std::string>();
    if (auto i = doc.find("data_dir"); i != doc.end() && i->is_string())
      cfg.data_dir = i->get<std::string>();
    if (auto i = doc.find("jobs"); i != doc.end() && i->is_string())
      cfg.tasks.jobs_dir = i->get<std::string>();
    if (auto i = doc.find("runtimes"); i != doc.end() && i->is_object())
      cfg.tasks.runtimes = *i;
    if (auto i = doc.find("tasks"); i != doc.end() && i->is_object()) {
      auto& t = cfg.tasks;
      if (auto s = i->find("store"); s != i->end() && s->is_string())
        t.store = s->get<std::string>();
      t.synchronous = i->value("synchronous", t.synchronous);
      t.group_commit_ms = i->value("group_commit_ms", t.group_commit_ms);
      t.group_commit_max = i->value("group_commit_max", t.group_commit_max);
      t.tick_ms = i->value("tick_ms", t.tick_ms);
      t.done_retention_s = i->value("done_retention_s", t.done_retention_s);
    }
    if (auto i = doc.find("workflows"); i != doc.end() && i->is_string())
      cfg.workflows.dir = i->get<std::string>();
    if (auto i = doc.find("workflow_runs"); i != doc.end() && i->is_object()) {
      auto& w = cfg.workflows;
      w.history = i->value("history", w.history);
      w.max_parallel = i->value("max_parallel", w.max_parallel);
      w.step_timeout_ms = i->value("step_timeout_ms", w.step_timeout_ms);
      w.synchronous = i->value("synchronous", w.synchronous);
    }
    if (auto i = doc.find("policies"); i != doc.end() && !i->is_null()) {
      policy_set set;
      std::vector<std::string> errors;
      if (!parse_policies(*i, "", set, errors)) {
        // parse_policies names the file first; the caller adds it here.
        std::string text;
        for (auto& e : errors) {
          auto line = e.rfind(": ", 0) == 0 ? e.substr(2) : e;
          text += (text.empty() ? "" : "\n") + line;
        }
        return make_error(status_code::invalid_argument, text);
      }
      cfg.pipeline.policies = std::make_shared<const policy_set>(std::move(set));
    }
    if (auto i = doc.find("audit"); i != doc.end() && i->is_object())
      if (auto f = i->find("file"); f != i->end() && f->is_string())
        cfg.pipeline.audit_file = f->get<std::string>();
    cfg.log_level = doc.value("log_level", "info");
    cfg.log_format = doc.value("log_format", "text");
    if (auto i = doc.find("traces"); i != doc.end() && i->is_object()) {
      cfg.trace_capacity = i->value("capacity", cfg.trace_capacity);
      cfg.trace_sample = i->value("sample", cfg.trace_sample);
    }
    if (auto i = doc.find("limits"); i != doc.end()) {
      auto& l = cfg.limits;
      l.max_payload_bytes = i->value("max_payload_bytes", l.max_payload_bytes);
      l.default_deadline_ms = i->value("default_deadline_ms",
                                       l.default_deadline_ms);
      l.max_deadline_ms = i->value("max_deadline_ms", l.max_deadline_ms);
      l.max_concurrency = i->value("max_concurrency", l.max_concurrency);
      l.max_queue = i->value("max_queue", l.max_queue);
      l.max_hops = i->value("max_hops", l.max_hops);
      l.max_json_depth = i->value("max_json_depth", l.max_json_depth);
      l.max_restarts = i->value("max_restarts", l.max_restarts);
      l.max_peer_backlog_bytes
        = i->value("max_peer_backlog_bytes", l.max_peer_backlog_bytes);
      l.restart_window_ms = i->value("restart_window_ms", l.restart_window_ms);
      l.shutdown_grace_ms = i->value("shutdown_grace_ms", l.shutdown_grace_ms);
      if (l.default_deadline_ms > l.max_deadline_ms)
        return fail("/limits/default_deadline_ms",
                    "is larger than max_deadline_ms");
    }
    if (auto i = doc.find("registry_validator");
        i != doc.end() && !i->is_null()) {
      auto patterns = i->at("allow").get<std::vector<std::string>>();
      for (const auto& p : patterns)
        if (!parse_service_pattern(p, error))
          return fail("/registry_validator/allow", "allow-list " + error);
      cfg.allow_list = std::move(patterns);
    }
    if (auto i = doc.find("cluster"); i != doc.end()) {
      auto& c = cfg.cluster;
      c.seeds = i->value("seeds", c.seeds);
      for (const auto& seed : c.seeds)
        if (!parse_host_port(seed, error))
          return fail("/cluster/seeds", error);
      if (auto s = i->find("secret"); s != i->end() && s->is_string())
        c.secret = s->get<std::string>();
      if (auto t = i->find("tls"); t != i->end() && t->is_object()) {
        c.tls.certificate = t->value("certificate", "");
        c.tls.key = t->value("key", "");
        c.tls.ca = t->value("ca", "");
        if (auto pw = t->find("passphrase"); pw != t->end() && pw->is_string())
          c.tls.passphrase = pw->get<std::string>();
      }
      c.heartbeat_interval_ms = i->value("heartbeat_interval_ms",
                                         c.heartbeat_interval_ms);
      c.heartbeat_misses = i->value("heartbeat_misses", c.heartbeat_misses);
      c.monitors = i->value("monitors", c.monitors);
      c.redial_initial_ms = i->value("redial_initial_ms", c.redial_initial_ms);
      c.redial_max_ms = i->value("redial_max_ms", c.redial_max_ms);
      c.connect_timeout_ms = i->value("connect_timeout_ms",
                                      c.connect_timeout_ms);
      c.load_balancing = i->value("load_balancing", c.load_balancing);
      c.data_plane = i->value("data_plane", c.data_plane);
      c.serve_chunk = i->value("serve_chunk", c.serve_chunk);
      c.serve_chunk_adaptive = i->value("serve_chunk_adaptive",
                                        c.serve_chunk_adaptive);
      c.data_plane_spin_us = i->value("data_plane_spin_us",
                                      c.data_plane_spin_us);
      if (c.redial_initial_ms > c.redial_max_ms)
        return fail("/cluster/redial_initial_ms",
                    "is larger than redial_max_ms");
    }
    if (auto i = doc.find("scheduler"); i != doc.end()) {
      auto& s = cfg.scheduler;
      s.policy = i->value("policy", s.policy);
      s.max_threads = i->value("max_threads", s.max_threads);
      s.max_throughput = i->value("max_throughput", s.max_throughput);
      s.middleman_workers = i->value("middleman_workers", s.middleman_workers);
      s.worker_spin_us = i->value("worker_spin_us", s.worker_spin_us);
    }
    if (auto i = doc.find("topics"); i != doc.end()) {
      auto& t = cfg.topics;
      t.dispatcher_timeout_ms = i->value("dispatcher_timeout_ms",
                                         t.dispatcher_timeout_ms);
      t.max_output_depth = i->value("max_output_depth", t.max_output_depth);
      t.threads = i->value("threads", t.threads);
      t.freeze = i->value("freeze", t.freeze);
      auto list = i->value("dispatchers", nlohmann::json::array());
      for (size_t k = 0; k < list.size(); ++k) {
        const auto& d = list[k];
        auto ptr = "/topics/dispatchers/" + std::to_string(k);
        dispatcher_decl x;
        x.id = d.at("id");
        x.kind = d.at("kind");
        x.category = *parse_message_category(d.at("category").get<std::string>());
        x.message_types = d.value("message_types", std::set<std::string>{});
        x.keep = d.value("keep", x.keep);
        x.forward_to = d.value("forward_to", "");
        x.dataset = d.value("dataset", "");
        if (x.kind == "emit" && cfg.tasks.jobs_dir.empty())
          return fail(ptr, "an emit dispatcher turns messages into task "
                           "events: the node needs a jobs folder (\"jobs\")");
        if (x.kind == "forward" && x.forward_to.empty())
          return fail(ptr, "a forward dispatcher needs forward_to "
                           "(namespace/Service/Method)");
        t.dispatchers.push_back(std::move(x));
      }
      auto routes = i->value("routes", nlohmann::json::array());
      for (size_t k = 0; k < routes.size(); ++k) {
        const auto& r = routes[k];
        auto ptr = "/topics/routes/" + std::to_string(k);
        topic_route x;
        x.id = r.at("id");
        x.pattern = r.at("pattern");
        if (auto err = check_topic_pattern(x.pattern); !err.empty())
          return fail(ptr + "/pattern", err);
        x.category = *parse_message_category(r.at("category").get<std::string>());
        x.dispatcher_id = r.at("dispatcher");
        if (auto m = r.find("message_type"); m != r.end() && m->is_string())
          x.message_type = m->get<std::string>();
        x.enabled = r.value("enabled", true);
        t.routes.push_back(std::move(x));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    // Only reachable for a document that skipped the schema check.
    return fail("/", e.what());
  }
  return cfg;
}

bool reload_policies_from(const std::string& path, policy_set& out,
                          std::vector<std::string>& errors) {
  auto file = read_json_file(path);
  if (!file) {
    errors.push_back(error_text(file.error()));
    return false;
  }
  errors = check_config_layer(*file, path);
  if (!errors.empty())
    return false;
  auto i = file->find("policies");
  if (i == file->end() || i->is_null()) {
    out = policy_set{};
    return true;
  }
  return parse_policies(*i, path, out, errors);
}

} // namespace mesh
