// Z85: ZeroMQ's Base85 variant (https://rfc.zeromq.org/spec/32/), which the Delta protocol uses
// for inline deletion vectors and for the UUID in the path of a deletion vector file, because its
// alphabet needs no escaping in JSON.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace dew::lake {

//! Encodes `bytes` (length a multiple of 4) as 5 characters per 4 bytes, each 4-byte group read
//! as a big-endian number. InvalidArgument when the length is not a multiple of 4.
Result<std::string> Z85Encode(std::string_view bytes);

//! Decodes Z85 text (length a multiple of 5). InvalidArgument naming the position of a character
//! outside the alphabet, a group whose value overflows 32 bits, or a bad length.
Result<std::string> Z85Decode(std::string_view text);

}  // namespace dew::lake
