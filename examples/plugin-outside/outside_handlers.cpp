// A plug-in written against the installed SDK only: the headers under
// <prefix>/include/mesh (generated ones included) and Mesh::plugin.
//
//   outside/EchoService/Echo   JSON: any payload -> {"echo": payload,
//                              "node": the node's id, "built_against": the
//                              Mesh version of the headers}

#include "node/plugin_api.hpp"
#include "protocol/version.hpp"

MESH_PLUGIN_ENTRY(registrar) {
  registrar.add_json(
      {"outside", "EchoService", "Echo"},
      [](const mesh::call_context& ctx, const nlohmann::json& in) {
        return nlohmann::json{{"echo", in},
                              {"node", ctx.node_id},
                              {"built_against", mesh::mesh_version}};
      });
  return 0;
}
