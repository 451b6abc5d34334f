#pragma once

// The service manager's readiness protocol (systemd's sd_notify(3), Type=notify
// units), spoken directly: one datagram to the unix socket named by
// $NOTIFY_SOCKET. No libsystemd dependency: the protocol is a few lines, and
// a node built without systemd headers still reports readiness under it.

#include <string>

namespace mesh {

/// Sends `state` (newline-separated assignments, e.g. "READY=1" or
/// "STOPPING=1") to the service manager named by $NOTIFY_SOCKET: a socket
/// path ("/run/systemd/notify") or, when it starts with '@', a name in the
/// abstract namespace. Returns an empty string when the message was sent or
/// when no service manager asked for it (NOTIFY_SOCKET unset or empty: not
/// running under Type=notify); otherwise why it could not be sent, in words
/// for a log line. Never throws; safe to call from any thread.
std::string notify_service_manager(const std::string& state);

} // namespace mesh
