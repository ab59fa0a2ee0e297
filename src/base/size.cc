#include "base/size.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace nvmeof {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

Result<uint64_t> ParseSizeString(std::string_view text) {
  constexpr std::string_view kUsage =
      "a whole number of bytes, optionally followed by a binary unit: K, M, "
      "G, T, P or KiB, MiB, GiB, TiB, PiB";
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) {
    return InvalidArgumentError("not a size: '" + std::string(text) + "' (" +
                                std::string(kUsage) + ")");
  }
  std::string_view unit = text.substr(digits);
  int shift = 0;
  if (!unit.empty()) {
    static constexpr std::string_view kUnits = "KMGTP";
    size_t pos = kUnits.find(
        static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))));
    if (pos == std::string_view::npos ||
        !(unit.size() == 1 || EqualsIgnoreCase(unit.substr(1), "iB"))) {
      return InvalidArgumentError("not a size: '" + std::string(text) + "' (" +
                                  std::string(kUsage) + ")");
    }
    shift = 10 * static_cast<int>(pos + 1);
  }
  uint64_t value = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < digits; ++i) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (value > (kMax - d) / 10) {
      return InvalidArgumentError("size too large: '" + std::string(text) +
                                  "'");
    }
    value = value * 10 + d;
  }
  if (shift > 0 && value > (kMax >> shift)) {
    return InvalidArgumentError("size too large: '" + std::string(text) + "'");
  }
  return value << shift;
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::string_view kUnits = "KMGTP";
  if (bytes == 0) return "0";
  int unit = -1;
  while (unit + 1 < static_cast<int>(kUnits.size()) &&
         (bytes & ((uint64_t{1} << (10 * (unit + 2))) - 1)) == 0) {
    ++unit;
  }
  if (unit < 0) return std::to_string(bytes);
  return std::to_string(bytes >> (10 * (unit + 1))) + kUnits[unit];
}

}  // namespace nvmeof
