#include "tcp/cid_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace nvmeof::tcp {
namespace {

TEST(CidTableTest, InsertFindErase) {
  CidTable<int> t(8);
  int a = 1, b = 2;
  EXPECT_TRUE(t.Insert(5, &a));
  EXPECT_FALSE(t.Insert(5, &b));  // already present
  EXPECT_TRUE(t.Insert(21, &b));  // same home slot as 5 in a 16/32 table
  EXPECT_EQ(t.Find(5), &a);
  EXPECT_EQ(t.Find(21), &b);
  EXPECT_EQ(t.Find(6), nullptr);
  EXPECT_EQ(t.Erase(5), &a);
  EXPECT_EQ(t.Find(21), &b);  // still found after its run was shifted
  EXPECT_EQ(t.Erase(5), nullptr);
  EXPECT_EQ(t.size(), 1u);
}

TEST(CidTableTest, MatchesAMapUnderRandomChurn) {
  CidTable<int> t(128);
  std::map<uint16_t, int*> ref;
  std::vector<int> values(65536);
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    // CIDs with colliding low bits, as a generation counter makes them.
    uint16_t cid = static_cast<uint16_t>((rng() % 64) | ((rng() % 4) << 12));
    if (rng() % 2 == 0 && ref.size() < 128) {
      bool inserted = t.Insert(cid, &values[cid]);
      EXPECT_EQ(inserted, ref.count(cid) == 0);
      if (inserted) ref[cid] = &values[cid];
    } else {
      int* got = t.Erase(cid);
      auto it = ref.find(cid);
      EXPECT_EQ(got, it == ref.end() ? nullptr : it->second);
      if (it != ref.end()) ref.erase(it);
    }
    ASSERT_EQ(t.size(), ref.size());
  }
  for (auto [cid, v] : ref) EXPECT_EQ(t.Find(cid), v);
}

}  // namespace
}  // namespace nvmeof::tcp
