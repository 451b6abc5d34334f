#include "protocol/messaging/register.hpp"

#include <caf/actor_system_config.hpp>

#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::mesh>();
  // The one-argument overload does not compile in CAF 0.17.6.
  cfg.add_error_category(status_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return render_status_error(code, ctx);
                         });
}

} // namespace mesh
