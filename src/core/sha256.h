// SHA-256 digests (FIPS 180-4) through OpenSSL, for hash chains and checksums.
#pragma once

#include <string>
#include <string_view>

namespace dew {

//! Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

}  // namespace dew
