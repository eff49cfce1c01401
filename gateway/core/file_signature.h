#pragma once
// What the file watchers compare between polls (the config file, JWKS and HMAC secret files).
#include <string>

namespace claimgate {

// The file's modification time (to the nanosecond) and size, or "missing" when it cannot be
// stat()ed. Any rewrite, truncation or replacement (rename over it) changes it.
std::string file_signature(const std::string& path);

}  // namespace claimgate
