// Value helpers of the configuration file (config.h): sizes with units,
// hex identifiers, the derived serial numbers, UUIDs and NGUIDs, and the
// "did you mean" suggestions. Pure functions, no JSON; internal to the
// target (the daemon uses config.h).

#ifndef NVMEOF_CONTROLLER_CONFIG_VALUES_H_
#define NVMEOF_CONTROLLER_CONFIG_VALUES_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/size.h"
#include "nvmeof/status.h"

namespace nvmeof::controller::config_internal {

// Sizes with units: ParseSizeString and FormatSize (base/size.h).
using nvmeof::FormatSize;
using nvmeof::ParseSizeString;

// Parses exactly out.size() * 2 hex digits (either case) into `out`.
// Returns false, leaving `out` unspecified, on any other text.
[[nodiscard]] bool ParseHex(std::string_view text, std::span<uint8_t> out);
// Lowercase hex digits, two per byte.
std::string FormatHex(std::span<const uint8_t> bytes);

// Parses a UUID in its canonical 8-4-4-4-12 form (hex digits of either
// case). Fails with the reason.
[[nodiscard]] Result<std::array<uint8_t, 16>> ParseUuid(std::string_view text);
// 8-4-4-4-12, lowercase.
std::string FormatUuid(const std::array<uint8_t, 16>& uuid);

// Identifiers derived from the configuration, so that a restart with the
// same file gives the host the same identities. The derivation is a 128-bit
// FNV-1a over a domain tag, the NQN and the NSID, finished with MurmurHash3
// mixing; it is part of the on-disk contract: changing it changes what
// hosts see (the tests pin its values). Not a cryptographic hash.
//
// A version-4, RFC 4122 variant UUID for namespace `nsid` of `nqn`.
std::array<uint8_t, 16> DeriveUuid(std::string_view nqn, uint32_t nsid);
// An NGUID for namespace `nsid` of `nqn`, different from its UUID.
std::array<uint8_t, 16> DeriveNguid(std::string_view nqn, uint32_t nsid);
// A serial number for subsystem `nqn`: 20 lowercase hex digits.
std::string DeriveSerial(std::string_view nqn);

// The optimal string alignment distance between a and b (insertions,
// deletions, substitutions and swaps of adjacent bytes), case-insensitive.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo
// (distance at most 2, and at most half the longer word's length); empty
// otherwise. Ties go to the first candidate.
std::string_view Suggest(std::string_view word,
                         std::span<const std::string_view> candidates);
inline std::string_view Suggest(
    std::string_view word, std::initializer_list<std::string_view> candidates) {
  return Suggest(word, std::span<const std::string_view>(candidates.begin(),
                                                         candidates.size()));
}

}  // namespace nvmeof::controller::config_internal

#endif  // NVMEOF_CONTROLLER_CONFIG_VALUES_H_
