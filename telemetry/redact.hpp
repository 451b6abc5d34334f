#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mesh {

/// Makes text from user code (a handler's exception, a dispatcher's error)
/// safe to put into a reply or a log line. Removes what looks like a secret:
/// - the value of a sensitive key in `key=value`, `key: value` or
///   `"key": "value"` form (password, passwd, pwd, secret, token, api_key,
///   apikey, access_key, private_key, credential(s), auth, authorization);
/// - `Bearer <token>` and `Basic <credentials>`;
/// - connection strings and URLs with user info (`postgres://u:p@h/db`,
///   `mongodb+srv://...`, `kafka://...`, `jdbc:...`, ...);
/// - PEM blocks, JSON web tokens, AWS access key ids, and long runs of
///   base64/hex that look like keys;
/// and then bounds the text to `max_length` characters. Each removal leaves
/// a `[redacted]` marker so the reader knows something was there.
std::string redact_secrets(std::string_view text, size_t max_length = 512);

} // namespace mesh
