#include "controller/config_values.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace nvmeof::controller::config_internal {
namespace {

char Lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// MurmurHash3's 64-bit finalizer: every input bit flips each output bit with
// probability close to 1/2.
uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// 128 bits from (tag, nqn, nsid): FNV-1a 128 over "tag\0nqn\0" and the NSID
// in little-endian, then mixed so that inputs that differ in their last
// byte differ all over (FNV alone only spreads a change upwards).
std::array<uint8_t, 16> Hash128(std::string_view tag, std::string_view nqn,
                                uint32_t nsid) {
  using U128 = unsigned __int128;
  const U128 kPrime = (U128{1} << 88) + 0x13B;
  U128 h = (U128{0x6c62272e07bb0142ULL} << 64) | 0x62b821756295c58dULL;
  auto add = [&](uint8_t byte) {
    h ^= byte;
    h *= kPrime;
  };
  for (char c : tag) add(static_cast<uint8_t>(c));
  add(0);
  for (char c : nqn) add(static_cast<uint8_t>(c));
  add(0);
  for (int i = 0; i < 4; ++i) add(static_cast<uint8_t>(nsid >> (8 * i)));
  uint64_t hi = static_cast<uint64_t>(h >> 64);
  uint64_t lo = static_cast<uint64_t>(h);
  hi ^= Fmix64(lo);
  lo ^= Fmix64(hi);
  hi ^= Fmix64(lo);
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return out;
}

}  // namespace


bool ParseHex(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string FormatHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0xf];
  }
  return s;
}

Result<std::array<uint8_t, 16>> ParseUuid(std::string_view text) {
  std::array<uint8_t, 16> uuid{};
  // Groups of 8-4-4-4-12 digits: 4, 2, 2, 2 and 6 bytes.
  static constexpr size_t kGroupBytes[] = {4, 2, 2, 2, 6};
  bool ok = text.size() == 36;
  size_t pos = 0, byte = 0;
  for (size_t g = 0; ok && g < 5; ++g) {
    size_t n = kGroupBytes[g];
    ok = ParseHex(text.substr(pos, 2 * n),
                  std::span<uint8_t>(uuid.data() + byte, n));
    pos += 2 * n;
    byte += n;
    if (ok && g < 4) ok = text[pos++] == '-';
  }
  if (!ok) {
    return InvalidArgumentError(
        "not a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx: '" +
        std::string(text) + "'");
  }
  return uuid;
}

std::string FormatUuid(const std::array<uint8_t, 16>& uuid) {
  std::string hex = FormatHex(uuid);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) +
         "-" + hex.substr(16, 4) + "-" + hex.substr(20);
}

std::array<uint8_t, 16> DeriveUuid(std::string_view nqn, uint32_t nsid) {
  std::array<uint8_t, 16> uuid = Hash128("nvmeof-ns-uuid", nqn, nsid);
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40);  // version 4
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);  // RFC 4122
  return uuid;
}

std::array<uint8_t, 16> DeriveNguid(std::string_view nqn, uint32_t nsid) {
  return Hash128("nvmeof-ns-nguid", nqn, nsid);
}

std::string DeriveSerial(std::string_view nqn) {
  std::array<uint8_t, 16> h = Hash128("nvmeof-subsys-serial", nqn, 0);
  return FormatHex(std::span<const uint8_t>(h.data(), 10));
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: i - 2, i - 1 and i.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1),
      cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string_view Suggest(std::string_view word,
                         std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d <= 2 && 2 * d <= std::max(word.size(), c.size()) &&
        d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace nvmeof::controller::config_internal
