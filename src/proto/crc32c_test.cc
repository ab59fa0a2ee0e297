#include "nvmeof/proto/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <numeric>

namespace nvmeof {
namespace {

// RFC 3720, appendix B.4: CRC32C test vectors. The RFC prints the CRC bytes
// as they go on the wire; read little-endian they are the values below.
TEST(Crc32cTest, Rfc3720ThirtyTwoZeros) {
  std::array<uint8_t, 32> buf{};
  EXPECT_EQ(ComputeCrc32c(buf.data(), buf.size()), 0x8A9136AAu);
}

TEST(Crc32cTest, Rfc3720ThirtyTwoOnes) {
  std::array<uint8_t, 32> buf;
  buf.fill(0xFF);
  EXPECT_EQ(ComputeCrc32c(buf.data(), buf.size()), 0x62A8AB43u);
}

TEST(Crc32cTest, Rfc3720Incrementing) {
  std::array<uint8_t, 32> buf;
  std::iota(buf.begin(), buf.end(), 0);
  EXPECT_EQ(ComputeCrc32c(buf.data(), buf.size()), 0x46DD794Eu);
}

TEST(Crc32cTest, Rfc3720Decrementing) {
  std::array<uint8_t, 32> buf;
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(ComputeCrc32c(buf.data(), buf.size()), 0x113FDB5Cu);
}

TEST(Crc32cTest, CheckValue) {
  // The "123456789" check value of the Castagnoli CRC.
  const char* s = "123456789";
  EXPECT_EQ(ComputeCrc32c(s, 9), 0xE3069283u);
}

TEST(Crc32cTest, PiecesEqualWhole) {
  std::array<uint8_t, 1000> buf;
  for (size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<uint8_t>(i * 7 + 3);
  Crc32c c;
  c.Update(buf.data(), 1);
  c.Update(buf.data() + 1, 0);
  c.Update(buf.data() + 1, 499);
  c.Update(buf.data() + 500, 500);
  EXPECT_EQ(c.Finish(), ComputeCrc32c(buf.data(), buf.size()));
}

TEST(Crc32cTest, EmptyIsZero) { EXPECT_EQ(ComputeCrc32c(nullptr, 0), 0u); }

}  // namespace
}  // namespace nvmeof
