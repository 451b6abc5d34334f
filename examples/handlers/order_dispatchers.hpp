#pragma once

// The topic dispatchers and routes of the example plug-in.

#include "node/plugin_api.hpp"

/// Registers order-audit, order-notifier, notification-outbox and routes.
void add_order_dispatchers(mesh::handler_registrar& registrar);
