// NVMe Qualified Names (NQNs): validation, and the 256-byte NQN fields of
// the wire structures (Connect data, Identify Controller SUBNQN, Discovery
// log entries).
//
// Source: NVM Express Base Specification 2.0, section 4.5 (NVMe Qualified
// Names). An NQN is a UTF-8 string of at most 223 bytes, in one of two forms:
//   nqn.yyyy-mm.reverse.domain[:user-specific-string]
//   nqn.2014-08.org.nvmexpress:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
// On the wire it sits in a 256-byte field, NUL-terminated and NUL-padded.

#ifndef NVMEOF_PROTO_NQN_H_
#define NVMEOF_PROTO_NQN_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "nvmeof/status.h"

namespace nvmeof {

// The longest NQN, in bytes, without a terminating NUL (Base spec 4.5).
inline constexpr size_t kNqnMaxLength = 223;
// The size of every NQN field on the wire.
inline constexpr size_t kNqnFieldSize = 256;

// The well-known NQN of a discovery subsystem (Base spec 4.5, 3.1.2.4).
inline constexpr std::string_view kDiscoveryNqn =
    "nqn.2014-08.org.nvmexpress.discovery";
// The prefix of an NQN built from a UUID.
inline constexpr std::string_view kUuidNqnPrefix =
    "nqn.2014-08.org.nvmexpress:uuid:";

// Checks that `nqn` is a well-formed NQN: at most 223 bytes, no NUL byte,
// and either
//  - "nqn." + a year-month "yyyy-mm" (4 digits, '-', month 01..12) + "." +
//    a non-empty reverse domain name (labels of letters, digits and '-',
//    1..63 bytes each, not starting or ending with '-', separated by single
//    dots), optionally followed by ':' and any string; or
//  - kUuidNqnPrefix followed by exactly one UUID in 8-4-4-4-12 hex digits
//    (either case), and nothing after it.
// The discovery NQN is of the first form. Returns kInvalidArgument with a
// message that says what is wrong ("NQN longer than 223 bytes", "NQN must
// start with 'nqn.'", ...). The user-specific string is not checked for
// valid UTF-8.
[[nodiscard]] Status ValidateNqn(std::string_view nqn);

// Reads an NQN field off the wire: returns the bytes before the first NUL.
// Never reads past the 256 bytes of the field. Fails (kProtocolError) if the
// field holds no NUL, i.e. the peer sent an unterminated NQN. The view points
// into `field`. Does not validate the NQN itself (see ValidateNqn).
[[nodiscard]] Result<std::string_view> ReadNqnField(
    std::span<const char, kNqnFieldSize> field);

// Writes `nqn` into a 256-byte field, NUL-terminated and NUL-padded. Fails
// (kInvalidArgument) if `nqn` does not fit with its NUL (256 bytes or more)
// or holds a NUL byte; the field is then left untouched. Does not validate
// the NQN itself (see ValidateNqn, which caps it at 223 bytes).
[[nodiscard]] Status WriteNqnField(std::span<char, kNqnFieldSize> field,
                                   std::string_view nqn);

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_NQN_H_
