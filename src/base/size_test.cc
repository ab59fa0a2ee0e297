// Sizes with units (base/size.h).

#include "base/size.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <utility>

namespace nvmeof {
namespace {

TEST(SizeTest, ParsesAndFormatsSizeStrings) {
  const std::pair<std::string_view, uint64_t> good[] = {
      {"0", 0},
      {"512", 512},
      {"64K", 64 << 10},
      {"64KiB", 64 << 10},
      {"64k", 64 << 10},
      {"1M", 1 << 20},
      {"1MiB", 1 << 20},
      {"1G", uint64_t{1} << 30},
      {"1gib", uint64_t{1} << 30},
      {"1T", uint64_t{1} << 40},
      {"2P", uint64_t{2} << 50},
      {"18446744073709551615", UINT64_MAX},
      {"16383P", uint64_t{16383} << 50},
  };
  for (const auto& [text, bytes] : good) {
    Result<uint64_t> r = ParseSizeString(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(*r, bytes) << text;
  }
  for (std::string_view bad :
       {"", "1.5G", "-1", "1GB", "1 G", " 1", "1G ", "G", "1X", "1Gi", "0x10",
        "18446744073709551616", "16384P", "1KiBB"}) {
    EXPECT_FALSE(ParseSizeString(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatSize(0), "0");
  EXPECT_EQ(FormatSize(512), "512");
  EXPECT_EQ(FormatSize(1536), "1536");
  EXPECT_EQ(FormatSize(3 << 10), "3K");
  EXPECT_EQ(FormatSize(uint64_t{3} << 30), "3G");
  EXPECT_EQ(FormatSize(uint64_t{1} << 60), "1024P");
}

}  // namespace
}  // namespace nvmeof
