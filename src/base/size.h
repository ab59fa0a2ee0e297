// Sizes written for people: "64K", "1GiB", "512". Shared by the config
// file, the target's flags and the nvmeof tool.

#ifndef NVMEOF_BASE_SIZE_H_
#define NVMEOF_BASE_SIZE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "nvmeof/status.h"

namespace nvmeof {

// Parses a size: decimal digits, optionally followed by a binary unit, K,
// M, G, T or P, with or without "iB" (either case: "64K", "64KiB", "1g").
// No sign, no fraction, no spaces; decimal units ("KB", "MB") are refused
// because they are ambiguous. Fails (kInvalidArgument, the reason alone, no
// path) on anything else and on values past 2^64 - 1.
[[nodiscard]] Result<uint64_t> ParseSizeString(std::string_view text);

// The shortest exact form of `bytes`: "1G", "64K", "1536" (a plain number of
// bytes when no unit divides it, and for 0).
std::string FormatSize(uint64_t bytes);

}  // namespace nvmeof

#endif  // NVMEOF_BASE_SIZE_H_
