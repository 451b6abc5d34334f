#pragma once

// The data plane's socket chores (data_plane.hpp): options, addresses, a
// graceful close. CAF-free, blocking nowhere but in close_gracefully().

#include <cstdint>
#include <string>

#include <netdb.h>
#include <sys/socket.h>

namespace mesh::data_sockets {

/// Milliseconds of the steady clock.
int64_t now_ms();

/// No Nagle (a lone request must not wait for an ACK), and a peer that
/// vanished without a word (a cable, a NAT) is noticed in about 30 s even
/// while its BASP connection looks fine.
void tune_socket(int fd);

/// Sends what waits and reads what came until the peer's FIN or `until`
/// (now_ms()): a close with unread bytes would reset the connection and
/// could drop answers the peer has not read yet. The caller closes.
void close_gracefully(int fd, std::string& pending, int64_t until);

/// An address as bytes (IPv4 or IPv6, no port; empty for another family):
/// what the data port's limit per caller compares.
std::string address_bytes(const sockaddr_storage& sa);

/// Whether the other end of the connected socket `fd` is on this host: a
/// Unix socket, or a TCP connection whose two ends have the same address
/// (127.0.0.1 to 127.0.0.1; a host's own address to itself).
bool same_host(int fd);

/// strerror(err).
std::string errno_text(int err);

/// The addresses of `host` (numeric or a name) at `port`, or null with
/// `why` set. Free with freeaddrinfo().
addrinfo* resolve(const std::string& host, uint16_t port, bool passive,
                  std::string& why);

} // namespace mesh::data_sockets
