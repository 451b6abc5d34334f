// meshctl's command line around the commands: the global flags (on every
// command, so they work before or after it), help footers with the
// environment, exit codes and examples, the unknown-command message and
// the bash completion script.

#include <algorithm>
#include <map>
#include <sstream>

#include "node/meshctl/meshctl_options.hpp"
#include "protocol/text.hpp"

namespace mesh::meshctl {

namespace {

constexpr const char* global_group
    = "Global options (before or after the command)";

// Global flags that take a value (the unknown-command scan skips it).
bool takes_value(const std::string& flag) {
  return flag == "--node" || flag == "--token" || flag == "--timeout-ms"
         || flag == "-o" || flag == "--output";
}

// Arguments of an example per command path; a command not listed gets an
// example without arguments.
const std::map<std::string, std::string>& example_args() {
  static const std::map<std::string, std::string> table{
      {"dispatch", "users UserService GetUser --payload '{\"id\":\"u-1\"}'"},
      {"serve", "users UserService GetUser --payload '{\"id\":\"u-1\"}'"},
      {"namespaces", "add orders"},
      {"connect", "10.0.0.2:7420"},
      {"remove", "node-2"},
      {"validator", "--allow 'orders/*/*'"},
      {"process", "price_quote --context '{\"user_id\":\"u1\"}'"},
      {"outcome", "price_quote variant_b success"},
      {"manifests", "show price_quote"},
      {"strategy stats", "price_quote"},
      {"publish", "orders.created --payload '{\"id\":1}'"},
      {"records", "audit-log"},
      {"route", "disable audit-route"},
      {"job", "show nightly"},
      {"tasks", "nightly --state dead"},
      {"emit", "orders --cursor 1 --payload '{\"id\":1}'"},
      {"dead-letter", "retry TASK_ID"},
      {"policies", "show default"},
      {"workflow show", "checkout"},
      {"workflow run", "checkout --input '{\"order_id\":\"o-1\"}'"},
      {"run show", "RUN_ID"},
      {"run cancel", "RUN_ID"},
      {"trace", "4bf92f3577b34da6a3ce929d0e0e4736"},
      {"completion", "bash"},
  };
  return table;
}

// "workflow run" for the `run` below `workflow`.
std::string path_of(const CLI::App& app) {
  std::string path;
  for (auto* a = &app; a != nullptr && a->get_parent() != nullptr;
       a = a->get_parent())
    path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

std::string footer_of(const CLI::App& app) {
  auto path = path_of(app);
  auto args = example_args().find(path);
  std::string example
      = "meshctl " + path
        + (args != example_args().end() ? " " + args->second : std::string{});
  std::ostringstream out;
  out << "Environment:\n"
      << "  MESH_NODE   the node's HTTP address when --node is not given "
         "(default "
      << default_node << ")\n"
      << "  MESH_TOKEN  the console token when --token is not given\n"
      << "Exit codes: 0 ok, 1 the node answered not ok, 2 usage, 3 node "
         "unreachable, 4 unauthenticated, 5 no answer within --timeout-ms\n"
      << "Examples:\n"
      << "  " << example << "\n"
      << "  " << example << " --node 10.0.0.5:7422 -o json\n"
      << "  MESH_NODE=10.0.0.5:7422 MESH_TOKEN=... " << example << "\n";
  return out.str();
}

void add_flags_to(CLI::App& app, options& o) {
  app.add_option("--node", o.node,
                 "the node's HTTP address, HOST:PORT (default "
                     + std::string{default_node} + ", or MESH_NODE)")
      ->group(global_group);
  app.add_option("--token", o.token, "console token (default: MESH_TOKEN)")
      ->group(global_group);
  app.add_flag("--json", o.json, "print the reply's JSON envelope (= -o json)")
      ->group(global_group);
  app.add_option("-o,--output", o.output, "json or table (the default)")
      ->check(CLI::IsMember({"json", "table"}))
      ->group(global_group);
  app.add_option_function<int64_t>(
         "--timeout-ms",
         [&o](const int64_t& v) {
           o.timeout_ms = v;
           o.timeout_given = true;
         },
         "give up after this long (default 10000, or a request's "
         "--deadline-ms plus 6000 when that is longer)")
      ->check(CLI::Range(int64_t{1}, int64_t{86400000 + 60000}))
      ->group(global_group);
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    add_flags_to(*sub, o);
    sub->footer(footer_of(*sub));
  }
}

std::vector<std::string> visible_commands(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands(
           [](const CLI::App* a) { return !a->get_group().empty(); }))
    names.push_back(sub->get_name());
  return names;
}

// Every command path ("meshctl", "meshctl workflow", ...) with the words
// that may follow it: its commands and its flags.
void completion_words(const CLI::App& app, const std::string& key,
                      std::map<std::string, std::string>& out) {
  std::string words;
  for (const auto& name : visible_commands(app))
    words += name + " ";
  for (const auto* opt :
       app.get_options([](const CLI::Option* x) { return x->nonpositional(); }))
    for (const auto& l : opt->get_lnames())
      words += "--" + l + " ";
  words += "-o";
  out[key] = words;
  for (const auto* sub : app.get_subcommands(
           [](const CLI::App* a) { return !a->get_group().empty(); }))
    completion_words(*sub, key + " " + sub->get_name(), out);
}

} // namespace

void add_global_flags(CLI::App& app, options& o) {
  add_flags_to(app, o);
  app.footer("Every command takes the global options, before or after it, "
             "and prints the reply's JSON envelope with --json or -o json.\n"
             "Environment:\n"
             "  MESH_NODE   the node's HTTP address when --node is not given "
             "(default "
             + std::string{default_node}
             + ")\n"
               "  MESH_TOKEN  the console token when --token is not given\n"
               "Exit codes: 0 ok, 1 the node answered not ok, 2 usage, 3 "
               "node unreachable, 4 unauthenticated, 5 no answer within "
               "--timeout-ms\n"
               "Examples:\n"
               "  meshctl status\n"
               "  meshctl peers --node 10.0.0.5:7422 -o json\n"
               "  meshctl dispatch users UserService GetUser --payload "
               "'{\"id\":\"u-1\"}'\n"
               "  meshctl COMMAND --help\n"
               "  source <(meshctl completion bash)");
}

std::optional<std::string> unknown_command(const CLI::App& app, int argc,
                                           char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--")
      return std::nullopt;
    if (!word.empty() && word.front() == '-') {
      if (takes_value(word))
        ++i;
      continue;
    }
    // Hidden commands (tests only) are known, just not suggested.
    for (const auto* sub :
         app.get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == word)
        return std::nullopt;
    auto names = visible_commands(app);
    std::string best;
    size_t best_distance = SIZE_MAX;
    for (const auto& name : names) {
      auto d = name.rfind(word, 0) == 0 ? 0 : edit_distance(word, name);
      if (d < best_distance) {
        best = name;
        best_distance = d;
      }
    }
    std::string text = "unknown command '" + word + "'";
    if (best_distance <= std::max<size_t>(2, word.size() / 3))
      text += "; did you mean '" + best + "'?";
    return text + " (meshctl --help lists the commands)";
  }
  return std::nullopt;
}

std::string bash_completion(const CLI::App& app) {
  std::map<std::string, std::string> words;
  completion_words(app, "meshctl", words);
  std::ostringstream out;
  out << "# bash completion for meshctl; load it with\n"
         "#   source <(meshctl completion bash)\n"
         "# or save it as /etc/bash_completion.d/meshctl\n"
         "_meshctl() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
         "  local prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "  declare -A words=(\n";
  for (const auto& [key, list] : words)
    out << "    [\"" << key << "\"]=\"" << list << "\"\n";
  out << "  )\n"
         "  case \"$prev\" in\n"
         "    -o|--output) COMPREPLY=($(compgen -W \"json table\" -- "
         "\"$cur\")); return ;;\n"
         "    --node|--token|--timeout-ms) return ;;\n"
         "  esac\n"
         "  local path=meshctl i w\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=\"${COMP_WORDS[i]}\"\n"
         "    case \"$w\" in\n"
         "      --node|--token|--timeout-ms|-o|--output) ((i++)) ;;\n"
         "      -*) ;;\n"
         "      *) [[ -n \"${words[\"$path $w\"]+x}\" ]] && path=\"$path $w\" "
         ";;\n"
         "    esac\n"
         "  done\n"
         "  COMPREPLY=($(compgen -W \"${words[\"$path\"]}\" -- \"$cur\"))\n"
         "}\n"
         "complete -F _meshctl meshctl\n";
  return out.str();
}

} // namespace mesh::meshctl
