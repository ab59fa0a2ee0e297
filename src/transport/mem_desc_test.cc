#include "nvmeof/mem_desc.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// Streaming copies (non-temporal stores) copy exactly what plain ones do:
// unaligned heads and tails, sizes around the threshold, lists.
TEST(MemDescTest, StreamingCopiesMatchPlainCopies) {
  std::vector<uint8_t> src(9000);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 37);
  for (size_t dst_shift : {0, 1, 15, 16, 33}) {
    for (size_t len : {1, 100, 255, 256, 257, 4096, 4099, 8191}) {
      std::vector<uint8_t> plain(len + 64, 0xAB), streamed(len + 64, 0xAB);
      MemDesc(plain.data() + dst_shift, len).CopyIn(0, src.data() + 3, len);
      MemDesc(streamed.data() + dst_shift, len)
          .set_streaming(true)
          .CopyIn(0, src.data() + 3, len);
      ASSERT_EQ(plain, streamed) << dst_shift << " " << len;

      // A two-piece list, filled from a two-piece source.
      std::vector<uint8_t> out(len + 64, 0xCD);
      const size_t half = len / 2;
      iovec dst_iov[2] = {{out.data() + dst_shift, half},
                          {out.data() + dst_shift + half, len - half}};
      iovec src_iov[2] = {{src.data() + 5, len / 3},
                          {src.data() + 5 + len / 3, len - len / 3}};
      MemDesc(dst_iov, 2)
          .set_streaming(true)
          .CopyFrom(0, MemDesc(src_iov, 2), 0, len);
      ASSERT_TRUE(std::equal(out.begin() + dst_shift,
                             out.begin() + dst_shift + len, src.begin() + 5))
          << dst_shift << " " << len;
      EXPECT_EQ(out[dst_shift + len], 0xCD);
    }
  }
}

}  // namespace
}  // namespace nvmeof
