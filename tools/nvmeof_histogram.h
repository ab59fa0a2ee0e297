// nvmeof perf's latency histogram: log-linear, fixed size, so that adding a
// sample never allocates.

#ifndef NVMEOF_TOOLS_NVMEOF_HISTOGRAM_H_
#define NVMEOF_TOOLS_NVMEOF_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nvmeof::tools {

// Latencies in nanoseconds: 64 sub-buckets per power of two, up to 2^40 ns.
// Not thread-safe: one thread adds; Merge the histograms of several.
class Histogram {
 public:
  static constexpr int kSub = 64;

  // A non-empty bucket: samples in [lo_us, hi_us).
  struct Bucket {
    double lo_us;
    double hi_us;
    uint64_t count;
  };

  void Add(uint64_t ns) {
    ++counts_[Index(ns)];
    ++n_;
    sum_ += ns;
    sum_sq_ += double(ns) * double(ns);
    max_ = std::max(max_, ns);
    min_ = std::min(min_, ns);
  }
  // Adds every sample of `other`.
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    n_ += other.n_;
    sum_ += other.sum_;
    sum_sq_ += other.sum_sq_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  uint64_t count() const { return n_; }
  double mean_us() const { return n_ ? sum_ / 1e3 / n_ : 0; }
  double max_us() const { return max_ / 1e3; }
  double min_us() const { return n_ ? min_ / 1e3 : 0; }
  // The population standard deviation.
  double stdev_us() const {
    if (n_ == 0) return 0;
    const double mean = sum_ / n_;
    return std::sqrt(std::max(0.0, sum_sq_ / n_ - mean * mean)) / 1e3;
  }
  // The upper bound of the bucket holding the p-th percentile (0 < p <= 100).
  double Percentile(double p) const {
    if (n_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(std::ceil(p / 100.0 * n_));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      // The bucket's upper bound, but never past what was seen.
      if (seen >= want) {
        return std::clamp(UpperBound(i) / 1e3, min_us(), max_us());
      }
    }
    return max_us();
  }
  // The non-empty buckets, in increasing latency.
  std::vector<Bucket> Buckets() const {
    std::vector<Bucket> out;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i]) {
        out.push_back({LowerBound(i) / 1e3, UpperBound(i) / 1e3, counts_[i]});
      }
    }
    return out;
  }

 private:
  static constexpr size_t kBuckets = 36 * kSub;

  static size_t Index(uint64_t ns) {
    if (ns < kSub) return ns;
    int msb = 63 - __builtin_clzll(ns);
    int shift = msb - 6;
    size_t idx =
        static_cast<size_t>((shift + 1) * kSub + ((ns >> shift) & (kSub - 1)));
    return std::min(idx, kBuckets - 1);
  }
  static double UpperBound(size_t i) {
    if (i < kSub) return static_cast<double>(i + 1);
    size_t shift = i / kSub - 1;
    size_t sub = i % kSub;
    return static_cast<double>((uint64_t{kSub} + sub + 1) << shift);
  }
  static double LowerBound(size_t i) { return i == 0 ? 0 : UpperBound(i - 1); }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t n_ = 0;
  double sum_ = 0;
  double sum_sq_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_NVMEOF_HISTOGRAM_H_
