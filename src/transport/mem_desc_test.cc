#include "nvmeof/mem_desc.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace nvmeof {
namespace {

TEST(MemDescTest, SingleSpan) {
  std::vector<uint8_t> buf(100);
  MemDesc m(buf.data(), buf.size());
  EXPECT_EQ(m.length(), 100u);
  EXPECT_EQ(m.segment_count(), 1u);
  MemDesc copy = m;  // a copy of a single span points at the same memory
  EXPECT_EQ(copy.segments()[0].iov_base, buf.data());
}

TEST(MemDescTest, ScatterGatherSliceAndCopy) {
  std::vector<uint8_t> a(10), b(5), c(20);
  iovec iov[3] = {
      {a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  MemDesc m(iov, 3);
  EXPECT_EQ(m.length(), 35u);
  iovec out[3];
  size_t n = m.Slice(8, 10, out, 3);  // 2 of a, 5 of b, 3 of c
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(out[0].iov_base, a.data() + 8);
  EXPECT_EQ(out[0].iov_len, 2u);
  EXPECT_EQ(out[1].iov_len, 5u);
  EXPECT_EQ(out[2].iov_base, c.data());
  EXPECT_EQ(out[2].iov_len, 3u);
  EXPECT_EQ(m.Slice(8, 10, out, 2), 0u);  // does not fit

  std::vector<uint8_t> src(35);
  std::iota(src.begin(), src.end(), 0);
  m.CopyIn(0, src.data(), src.size());
  EXPECT_EQ(b[0], 10);
  EXPECT_EQ(c[19], 34);
  std::vector<uint8_t> back(12);
  m.CopyOut(9, back.data(), back.size());
  for (size_t i = 0; i < back.size(); ++i) EXPECT_EQ(back[i], 9 + i);

  std::vector<uint8_t> flat(35);
  MemDesc f(flat.data(), flat.size());
  f.CopyFrom(5, m, 3, 30);
  for (size_t i = 0; i < 30; ++i) EXPECT_EQ(flat[5 + i], 3 + i);
}

}  // namespace
}  // namespace nvmeof
