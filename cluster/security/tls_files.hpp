#pragma once

// Checks the PEM files of mutual TLS before CAF's OpenSSL module sees them:
// CAF 0.17 throws from inside its multiplexer on a bad file, so every
// problem must be found, and named, at start-up.

#include <string>

namespace mesh {

/// Why these files cannot serve mutual TLS (unreadable, not PEM, a key that
/// does not match the certificate, a certificate the CA did not sign), or an
/// empty string when they can or when `certificate` is empty (TLS off).
std::string check_tls_files(const std::string& certificate,
                            const std::string& key, const std::string& ca,
                            const std::string& passphrase);

} // namespace mesh
