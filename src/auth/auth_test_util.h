// Byte helpers the DH-HMAC-CHAP tests share.

#ifndef NVMEOF_AUTH_AUTH_TEST_UTIL_H_
#define NVMEOF_AUTH_AUTH_TEST_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace nvmeof::auth::testing {

inline std::string Hex(std::span<const uint8_t> b) {
  std::string s;
  char buf[3];
  for (uint8_t x : b) {
    std::snprintf(buf, sizeof(buf), "%02x", x);
    s += buf;
  }
  return s;
}

// first, first + 1, ... (n bytes).
inline std::vector<uint8_t> Iota(uint8_t first, size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

// `unit`, `times` times over.
inline std::vector<uint8_t> Repeat(const std::vector<uint8_t>& unit,
                                   size_t times) {
  std::vector<uint8_t> v(unit.size() * times);
  for (size_t i = 0; i < v.size(); ++i) v[i] = unit[i % unit.size()];
  return v;
}

}  // namespace nvmeof::auth::testing

#endif  // NVMEOF_AUTH_AUTH_TEST_UTIL_H_
