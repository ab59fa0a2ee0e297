#include "tools/nvmeof_perf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nvmeof/cpu.h"
#include "tools/nvmeof_histogram.h"
#include "tools/nvmeof_plot.h"

namespace nvmeof::tools {
namespace {

TEST(HistogramTest, PercentilesAreWithinABucketOfTheTruth) {
  Histogram h;
  for (uint64_t us = 1; us <= 1000; ++us) h.Add(us * 1000);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_DOUBLE_EQ(h.mean_us(), 500.5);
  EXPECT_DOUBLE_EQ(h.max_us(), 1000.0);
  // 64 sub-buckets per power of two: an upper bound at most 1/64 above.
  for (double p : {50.0, 99.0, 99.9}) {
    const double truth = p * 10;  // the p-th percentile of 1..1000 us
    EXPECT_GE(h.Percentile(p), truth) << p;
    EXPECT_LE(h.Percentile(p), truth * (1 + 1.0 / 64) + 0.001) << p;
  }
  EXPECT_GE(h.Percentile(100), 1000.0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t ns : {0, 1, 1, 63}) h.Add(ns);
  const auto b = h.Buckets();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].count, 1u);
  EXPECT_EQ(b[1].count, 2u);
  EXPECT_DOUBLE_EQ(b[1].lo_us, 0.001);
  EXPECT_DOUBLE_EQ(b[1].hi_us, 0.002);
  EXPECT_DOUBLE_EQ(b[2].hi_us, 0.064);
}

TEST(HistogramTest, MergeAddsEverySampleAndBucketsCoverThem) {
  Histogram a, b;
  for (uint64_t ns = 10; ns < 5'000'000; ns = ns * 3 / 2 + 1) a.Add(ns);
  for (uint64_t ns = 7; ns < 9'000'000; ns *= 2) b.Add(ns);
  b.Add(uint64_t{1} << 50);  // beyond the last bucket: kept in it
  const uint64_t total = a.count() + b.count();
  a.Merge(b);
  EXPECT_EQ(a.count(), total);
  EXPECT_DOUBLE_EQ(a.max_us(), static_cast<double>(uint64_t{1} << 50) / 1e3);
  uint64_t in_buckets = 0;
  double last_hi = 0;
  for (const auto& bucket : a.Buckets()) {
    EXPECT_GE(bucket.lo_us, last_hi);
    EXPECT_LT(bucket.lo_us, bucket.hi_us);
    last_hi = bucket.hi_us;
    in_buckets += bucket.count;
  }
  EXPECT_EQ(in_buckets, total);
}

TEST(ParseCpuListTest, NumbersAndRanges) {
  EXPECT_EQ(*ParseCpuList("0"), std::vector<int>({0}));
  EXPECT_EQ(*ParseCpuList("1,0"), std::vector<int>({1, 0}));
  EXPECT_EQ(*ParseCpuList("0-3"), std::vector<int>({0, 1, 2, 3}));
  EXPECT_EQ(*ParseCpuList("0-1,4,6-6"), std::vector<int>({0, 1, 4, 6}));
}

TEST(ParseCpuListTest, RefusesCpusThisProcessCannotUse) {
  EXPECT_TRUE(ParseAvailableCpus("0").ok());
  auto r = ParseAvailableCpus("0,1023");
  ASSERT_FALSE(r.ok());  // no machine of this suite has 1024 CPUs
  EXPECT_NE(r.status().message().find("CPU 1023 is not available"),
            std::string_view::npos)
      << r.status().ToString();
}

TEST(ParseCpuListTest, RefusesWhatIsNotAList) {
  for (const char* bad :
       {"", ",", "a", "1,", "-1", "3-1", "0-", "1.5", "0,,1", "99999", " 1"}) {
    auto r = ParseCpuList(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_NE(r.status().message().find("--cpus"), std::string::npos);
  }
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos;
       pos = s.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(LatencySvgTest, ABarPerBucketAndTheEscapedTitle) {
  Histogram h;
  for (int i = 0; i < 100; ++i) h.Add(20'000);
  for (int i = 0; i < 10; ++i) h.Add(80'000);
  h.Add(1'000'000);
  const std::string svg = LatencySvg(h, "randread <4K> & more");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("randread &lt;4K&gt; &amp; more"), std::string::npos);
  EXPECT_EQ(svg.find("<4K>"), std::string::npos);
  // The bars: one rect per bucket inside the bar group.
  const size_t group = svg.find("<g fill");
  const std::string bars = svg.substr(group, svg.find("</g>", group) - group);
  EXPECT_EQ(Count(bars, "<rect"), h.Buckets().size());
  EXPECT_NE(svg.find("p99.9"), std::string::npos);
  EXPECT_EQ(svg.find("no I/O completed"), std::string::npos);
  EXPECT_EQ(Count(svg, "<svg"), Count(svg, "</svg>"));
}

TEST(LatencySvgTest, AnEmptyHistogramSaysSo) {
  const std::string svg = LatencySvg(Histogram(), "nothing");
  EXPECT_NE(svg.find("no I/O completed"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace nvmeof::tools
