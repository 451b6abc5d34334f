// The rules of a workflow that look across its steps: effective
// dependencies by mode, cycles, and every `${steps...}` reference (in
// params, `when`, compensations and the output) naming a step it may use.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "protocol/json/safe_json.hpp" // json_pointer_token
#include "workflows/graph/workflow_dag.hpp"
#include "workflows/workflow_parse.hpp"
#include "workflows/graph/workflow_refs.hpp"

namespace mesh::detail {

using nlohmann::json;

namespace {

// Calls f(text, pointer) for every string value inside `x`.
template<class F>
void each_string(const json& x, const std::string& ptr, F& f) {
  if (x.is_string())
    f(x.get_ref<const std::string&>(), ptr);
  else if (x.is_object())
    for (const auto& [key, value] : x.items())
      each_string(value, ptr + "/" + json_pointer_token(key), f);
  else if (x.is_array())
    for (size_t i = 0; i < x.size(); ++i)
      each_string(x[i], ptr + "/" + std::to_string(i), f);
}

// find_references says "<pointer>: <why>"; we call it on one string, so the
// pointer is the string itself and only the reason is kept.
std::string reason_of(const std::string& error) {
  for (const char* prefix : {": ", "/: "})
    if (error.rfind(prefix, 0) == 0)
      return error.substr(std::char_traits<char>::length(prefix));
  return error;
}

} // namespace

void checker::add(std::string pointer, std::string message) {
  for (const auto& p : err.problems)
    if (p.pointer == pointer && p.message == message)
      return; // one reference used twice in a string
  err.problems.push_back({std::move(pointer), std::move(message)});
}

void checker::check_reference(const reference& r, const std::string& ptr,
                              size_t self, bool self_ok) {
  if (r.scope != "steps")
    return;
  auto n = w.steps.size();
  auto j = w.index_of(r.step);
  if (j == n)
    return add(ptr, "unknown step '" + r.step + "'");
  if (self == n) // the output may name any step
    return;
  const auto& me = w.steps[self].id;
  if (j == self) {
    if (!self_ok)
      add(ptr, "step '" + me
                   + "' cannot reference itself (only its "
                     "compensate.params can)");
    return;
  }
  if (anc.empty() || anc[self][j])
    return;
  if (w.mode == workflow_mode::parallel)
    return add(ptr, "parallel steps cannot reference one another; use "
                    "mode dag");
  add(ptr, "step '" + r.step + "' is not an ancestor of step '" + me + "'"
               + (w.mode == workflow_mode::dag
                      ? " (add it to depends_on)"
                      : " (in sequential mode a step can reference only "
                        "earlier steps)"));
}

void checker::check_template(const json& templ, const std::string& ptr,
                             size_t self, bool self_ok) {
  auto f = [&](const std::string& text, const std::string& at) {
    std::vector<std::string> errors;
    for (const auto& found : find_references(json(text), errors))
      check_reference(found.ref, at, self, self_ok);
    for (const auto& e : errors)
      add(at, reason_of(e));
  };
  each_string(templ, ptr, f);
}

void checker::check_when(const std::string& when, const std::string& ptr,
                         size_t self) {
  std::vector<std::string> errors;
  auto refs = find_references(json(when), errors);
  for (const auto& e : errors)
    add(ptr, reason_of(e));
  if (!errors.empty())
    return;
  if (refs.size() != 1 || when != "${" + refs[0].ref.text + "}")
    return add(ptr, "'" + when
                        + "' is not one reference: when must be "
                          "exactly \"${...}\", e.g. "
                          "\"${steps.check.output.ok}\"");
  check_reference(refs[0].ref, ptr, self, false);
}

void resolve_deps(checker& c) {
  auto& w = c.w;
  auto n = w.steps.size();
  dependency_lists deps(n);
  for (size_t i = 0; i < n; ++i) {
    auto& s = w.steps[i];
    auto ptr = "/steps/" + std::to_string(i) + "/depends_on";
    if (w.mode == workflow_mode::parallel) {
      if (!s.depends_on.empty())
        c.add(ptr, "parallel steps cannot depend on one another; use mode dag");
      continue;
    }
    if (w.mode == workflow_mode::sequential && i > 0)
      deps[i].push_back(i - 1);
    for (size_t k = 0; k < s.depends_on.size(); ++k) {
      const auto& name = s.depends_on[k];
      auto at = ptr + "/" + std::to_string(k);
      auto j = w.index_of(name);
      if (j == n)
        c.add(at, "unknown step '" + name + "'");
      else if (j == i)
        c.add(at, "step '" + name + "' depends on itself (cycle: " + name
                      + " -> " + name + ")");
      else if (w.mode == workflow_mode::sequential && j > i)
        c.add(at, "in sequential mode a step can depend only on earlier "
                  "steps; use mode dag");
      else if (std::find(deps[i].begin(), deps[i].end(), j) == deps[i].end())
        deps[i].push_back(j);
    }
    std::sort(deps[i].begin(), deps[i].end());
    s.deps = deps[i];
  }
  auto cycle = topological_order(deps).cycle;
  if (cycle.empty()) {
    c.anc = ancestors(deps);
    return;
  }
  // Written so that "a -> b" reads "a depends on b", from the step that
  // comes first in the file.
  if (cycle.size() > 1) {
    const auto& d = deps[cycle[0]];
    if (std::find(d.begin(), d.end(), cycle[1]) == d.end())
      std::reverse(cycle.begin(), cycle.end());
  }
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()),
              cycle.end());
  std::string text;
  for (auto i : cycle)
    text += w.steps[i].id + " -> ";
  c.add("/steps/" + std::to_string(cycle[0]) + "/depends_on",
        "cycle: " + text + w.steps[cycle[0]].id);
}

} // namespace mesh::detail
