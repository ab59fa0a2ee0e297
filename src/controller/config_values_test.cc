// The value helpers of the configuration file: hex identifiers,
// the derived identifiers and the typo suggestions.

#include "controller/config_values.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

namespace nvmeof::controller::config_internal {
namespace {

constexpr std::string_view kNqnA = "nqn.2024-01.io.example:a";
constexpr std::string_view kNqnB = "nqn.2024-01.io.example:b";

TEST(ConfigValuesTest, DerivedIdentifiersAreStableAndDistinct) {
  // Pinned: hosts key multipath and udev names on these, so the derivation
  // must never change.
  EXPECT_EQ(FormatUuid(DeriveUuid(kNqnA, 1)),
            "ef85332d-2d13-47db-8418-67a3e38b194f");
  EXPECT_EQ(FormatHex(DeriveNguid(kNqnA, 1)),
            "3b0bb17fac123a0435ebc33b3cfd0133");
  EXPECT_EQ(DeriveSerial(kNqnA), "3dfbe3314cb2c320a58c");

  EXPECT_EQ(DeriveUuid(kNqnA, 1), DeriveUuid(kNqnA, 1));
  EXPECT_NE(DeriveUuid(kNqnA, 1), DeriveUuid(kNqnA, 2));
  EXPECT_NE(DeriveUuid(kNqnA, 1), DeriveUuid(kNqnB, 1));
  EXPECT_NE(DeriveNguid(kNqnA, 1), DeriveNguid(kNqnA, 2));
  EXPECT_NE(DeriveSerial(kNqnA), DeriveSerial(kNqnB));
  for (uint32_t nsid = 1; nsid <= 64; ++nsid) {
    std::array<uint8_t, 16> uuid = DeriveUuid(kNqnA, nsid);
    EXPECT_EQ(uuid[6] >> 4, 4) << "version 4";
    EXPECT_EQ(uuid[8] >> 6, 2) << "RFC 4122 variant";
    EXPECT_NE(uuid, DeriveNguid(kNqnA, nsid));
    // Neighbouring NSIDs differ all over, not only in their last bytes.
    std::array<uint8_t, 16> next = DeriveUuid(kNqnA, nsid + 1);
    int same = 0;
    for (size_t i = 0; i < 8; ++i) same += uuid[i] == next[i];
    EXPECT_LT(same, 4) << nsid;
  }
}

TEST(ConfigValuesTest, SuggestionsNeedASmallDistance) {
  EXPECT_EQ(EditDistance("adress", "address"), 1u);
  EXPECT_EQ(EditDistance("prot", "port"), 1u);  // a swap counts once
  EXPECT_EQ(EditDistance("NSID", "nsid"), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(Suggest("adress", {"id", "address", "port"}), "address");
  EXPECT_EQ(Suggest("id", {"nsid", "backend"}), "nsid");
  EXPECT_EQ(Suggest("x", {"id"}), "");
  EXPECT_EQ(Suggest("colour", {"subsystems", "ports", "threads"}), "");
}

TEST(ConfigValuesTest, HexAndUuids) {
  std::array<uint8_t, 4> four{};
  EXPECT_TRUE(ParseHex("0aFf1B", std::span<uint8_t>(four.data(), 3)));
  EXPECT_EQ(four, (std::array<uint8_t, 4>{0x0a, 0xff, 0x1b, 0}));
  EXPECT_FALSE(ParseHex("0aF", std::span<uint8_t>(four.data(), 2)));
  EXPECT_FALSE(ParseHex("0g", std::span<uint8_t>(four.data(), 1)));
  EXPECT_EQ(FormatHex(std::span<const uint8_t>(four.data(), 3)), "0aff1b");

  auto uuid = ParseUuid("0A1B2C3D-4E5F-4061-8273-8495A6B7C8D9");
  ASSERT_TRUE(uuid.ok()) << uuid.status().ToString();
  EXPECT_EQ((*uuid)[0], 0x0a);
  EXPECT_EQ((*uuid)[15], 0xd9);
  EXPECT_EQ(FormatUuid(*uuid), "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9");
  for (std::string_view bad :
       {"", "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d", "0a1b2c3d4e5f40618273849",
        "0a1b2c3d-4e5f-4061-8273_8495a6b7c8d9",
        "{0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9}",
        "0a1b2c3d-4e5f-4061-8273-8495a6b7c8dx",
        "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9 "}) {
    EXPECT_FALSE(ParseUuid(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace nvmeof::controller::config_internal
