// nvmeof perf: a load generator in the manner of spdk_nvme_perf.
//
// One association, its I/O queues all on this thread's loop; each queue
// keeps `queue_depth` commands in flight. Latencies go into a log-linear
// histogram (no allocation per I/O). With --verify, writes carry a pattern
// derived from (LBA, generation) and reads check it.

#include "tools/nvmeof_perf.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

namespace nvmeof::tools {

namespace {

using Clock = std::chrono::steady_clock;

// Log-linear latency histogram in nanoseconds: 64 sub-buckets per power of
// two, up to 2^40 ns.
class Histogram {
 public:
  static constexpr int kSub = 64;
  void Add(uint64_t ns) {
    ++counts_[Index(ns)];
    ++n_;
    sum_ += ns;
    max_ = std::max(max_, ns);
  }
  uint64_t count() const { return n_; }
  double mean_us() const { return n_ ? sum_ / 1e3 / n_ : 0; }
  double max_us() const { return max_ / 1e3; }
  double Percentile(double p) const {
    if (n_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(std::ceil(p / 100.0 * n_));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= want) return UpperBound(i) / 1e3;
    }
    return max_us();
  }
  // Non-empty buckets as (upper bound in us, count).
  std::vector<std::pair<double, uint64_t>> Buckets() const {
    std::vector<std::pair<double, uint64_t>> out;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i]) out.emplace_back(UpperBound(i) / 1e3, counts_[i]);
    }
    return out;
  }

 private:
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
  static constexpr size_t kBuckets = 36 * kSub;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t n_ = 0;
  double sum_ = 0;
  uint64_t max_ = 0;
};

struct Job {
  uint16_t qid = 1;
  bool write = false;
  uint64_t lba = 0;
  Clock::time_point start;
  std::vector<uint8_t> buf;  // 4 KiB aligned enough for any target
  bool in_flight = false;
};

}  // namespace

// One run: its state lives here, so that a completion captures only the
// run, its job and two numbers (Callback's inline storage).
class PerfRun {
 public:
  PerfRun(host::Controller& ctrl, const PerfOptions& o, uint64_t block,
          uint64_t slots)
      : ctrl_(ctrl),
        o_(o),
        block_(block),
        blocks_per_io_(o.io_size / block),
        slots_(slots),
        rand_(o.workload.rfind("rand", 0) == 0),
        read_pct_(
            o.workload == "randrw" || o.workload == "rw"
                ? o.mix
                : (o.workload.find("read") != std::string::npos ? 100 : 0)),
        generation_(o.verify ? slots : 0, 0),
        busy_(o.verify ? slots : 0, 0) {}

  void Submit(Job& j) {
    if (!running_) return;
    uint64_t slot = rand_ ? rng_() % slots_ : (next_seq_++ % slots_);
    if (o_.verify) {
      for (int tries = 0; busy_[slot] && tries < 64; ++tries) {
        slot = rand_ ? rng_() % slots_ : (next_seq_++ % slots_);
      }
      if (busy_[slot]) return;  // the namespace is smaller than the load
      busy_[slot] = 1;
    }
    j.lba = slot * blocks_per_io_;
    j.write = static_cast<int>(rng_() % 100) >= read_pct_;
    uint32_t gen = 0;
    if (o_.verify) {
      gen = j.write ? ++next_gen_ : generation_[slot];
      if (j.write) Fill(j, gen);
    }
    Sqe sqe{};
    sqe.opcode = j.write ? 0x01 : 0x02;
    sqe.nsid = o_.nsid;
    sqe.cdw10 = static_cast<uint32_t>(j.lba);
    sqe.cdw11 = static_cast<uint32_t>(j.lba >> 32);
    sqe.cdw12 = static_cast<uint32_t>(blocks_per_io_ - 1);
    j.start = Clock::now();
    j.in_flight = true;
    Job* jp = &j;
    ctrl_.SubmitIo(j.qid, sqe, MemDesc(j.buf.data(), j.buf.size()), j.write,
                   [this, jp, gen, slot](const host::Completion& c) {
                     Done(*jp, gen, slot, c);
                   });
  }

  void Done(Job& j, uint32_t gen, uint64_t slot, const host::Completion& c) {
    j.in_flight = false;
    hist.Add(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                             j.start)
            .count()));
    if (!c.ok()) {
      ++errors;
    } else {
      done_bytes += j.buf.size();
      if (o_.verify && j.write) generation_[slot] = gen;
      if (o_.verify && !j.write && gen != 0 && !Check(j, gen)) ++verify_errors;
    }
    if (o_.verify) busy_[slot] = 0;
    // A failed association fails every command at once: resubmitting
    // would spin. (While reconnecting, commands wait and come back here.)
    if (ctrl_.state() != host::Controller::State::kLive) return;
    Submit(j);
  }

  void Stop() { running_ = false; }

  Histogram hist;
  uint64_t errors = 0, verify_errors = 0, done_bytes = 0;

 private:
  // 16-byte words of (byte address, generation): any misplaced or stale
  // block shows.
  void Fill(Job& j, uint32_t gen) const {
    for (size_t off = 0; off + 16 <= j.buf.size(); off += 16) {
      uint64_t words[2] = {j.lba * block_ + off, gen};
      std::memcpy(j.buf.data() + off, words, 16);
    }
  }
  bool Check(const Job& j, uint32_t gen) const {
    for (size_t off = 0; off + 16 <= j.buf.size(); off += 16) {
      uint64_t words[2];
      std::memcpy(words, j.buf.data() + off, 16);
      if (words[0] != j.lba * block_ + off || words[1] != gen) return false;
    }
    return true;
  }

  host::Controller& ctrl_;
  const PerfOptions& o_;
  const uint64_t block_, blocks_per_io_, slots_;
  const bool rand_;
  const int read_pct_;
  // With --verify: generation_[slot] is the generation of the last write
  // that completed there (0: never written), checked by the reads; no two
  // I/Os touch one slot at once, so what a read sees is exactly that.
  std::vector<uint32_t> generation_;
  std::vector<uint8_t> busy_;
  uint32_t next_gen_ = 0;
  std::mt19937_64 rng_{42};
  uint64_t next_seq_ = 0;
  bool running_ = true;
};

int RunPerf(host::Controller& ctrl, const PerfOptions& o) {
  EventLoop& loop = ctrl.loop();
  auto ns = ctrl.Identify(0x00, o.nsid);
  if (!ns.ok()) {
    std::fprintf(stderr, "nvmeof perf: %s\n", ns.status().ToString().c_str());
    return 1;
  }
  IdentifyNamespace id;
  std::memcpy(&id, ns->data(), sizeof(id));
  const uint64_t block = id.lbaf[FlbasIndex(id.flbas)].block_size();
  if (block == 0 || o.io_size % block != 0 || id.nsze == 0) {
    std::fprintf(
        stderr,
        "nvmeof perf: --io-size %u is not a multiple of the block size %llu\n",
        o.io_size, static_cast<unsigned long long>(block));
    return 1;
  }
  const uint64_t slots = std::max<uint64_t>(id.nsze / (o.io_size / block), 1);

  const uint16_t queues = ctrl.io_queue_count();
  std::vector<Job> jobs(size_t{queues} * o.queue_depth);
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].qid = static_cast<uint16_t>(1 + i % queues);
    jobs[i].buf.assign(o.io_size, 0);
  }
  if (o.poll) loop.set_busy_poll(true);
  PerfRun run(ctrl, o, block, slots);
  Histogram& hist = run.hist;
  const uint64_t& errors = run.errors;
  const uint64_t& verify_errors = run.verify_errors;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::seconds(o.seconds);
  for (Job& j : jobs) run.Submit(j);

  uint64_t last_count = 0;
  auto last = t0;
  for (int sec = 1; Clock::now() < end && ctrl.failure().ok(); ++sec) {
    loop.RunUntil(
        [&] { return !ctrl.failure().ok(); },
        std::min<Clock::duration>(std::chrono::seconds(1), end - Clock::now()));
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last).count();
    if (!o.json && dt > 0) {
      std::printf("[%3ds] %10.0f IOPS %9.1f MB/s  errors %llu\n", sec,
                  (hist.count() - last_count) / dt,
                  (hist.count() - last_count) * double(o.io_size) / dt / 1e6,
                  static_cast<unsigned long long>(errors));
      std::fflush(stdout);
    }
    last_count = hist.count();
    last = now;
  }
  run.Stop();
  // Let what is in flight finish, unless the association is gone: then
  // nothing would, and the disconnect below ends it.
  if (ctrl.state() == host::Controller::State::kLive) {
    loop.RunUntil(
        [&] {
          return std::none_of(jobs.begin(), jobs.end(),
                              [](const Job& j) { return j.in_flight; });
        },
        std::chrono::seconds(30));
  }
  // Every command completes here, while `run` and `jobs` live: commands
  // held for a reconnect complete as cancelled (and count as errors).
  const Status lost = ctrl.failure();
  ctrl.Disconnect();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double iops = hist.count() / secs;
  const double mbps = run.done_bytes / secs / 1e6;

  if (o.json) {
    nlohmann::ordered_json j = {{"workload", o.workload},
                                {"io_size", o.io_size},
                                {"queue_depth", o.queue_depth},
                                {"io_queues", queues},
                                {"seconds", secs},
                                {"ios", hist.count()},
                                {"iops", iops},
                                {"mbps", mbps},
                                {"errors", errors},
                                {"verify_errors", verify_errors},
                                {"latency_us",
                                 {{"avg", hist.mean_us()},
                                  {"p50", hist.Percentile(50)},
                                  {"p99", hist.Percentile(99)},
                                  {"p99_9", hist.Percentile(99.9)},
                                  {"max", hist.max_us()}}}};
    nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
    for (auto [us, n] : hist.Buckets())
      buckets.push_back({{"le_us", us}, {"count", n}});
    j["histogram"] = buckets;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("\n%s %u B, QD %d x %u queues, %.1f s\n", o.workload.c_str(),
                o.io_size, o.queue_depth, queues, secs);
    std::printf("IOPS %.0f  MB/s %.1f  errors %llu  verify errors %llu\n", iops,
                mbps, static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(verify_errors));
    std::printf(
        "latency us: avg %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
        hist.mean_us(), hist.Percentile(50), hist.Percentile(99),
        hist.Percentile(99.9), hist.max_us());
    std::printf("histogram (us, <=):\n");
    const auto buckets = hist.Buckets();
    uint64_t peak = 1;
    for (auto [us, n] : buckets) peak = std::max(peak, n);
    // Merge to at most ~24 lines.
    const size_t step = std::max<size_t>(1, buckets.size() / 24);
    for (size_t i = 0; i < buckets.size(); i += step) {
      uint64_t n = 0;
      double le = 0;
      for (size_t k = i; k < std::min(i + step, buckets.size()); ++k) {
        n += buckets[k].second;
        le = buckets[k].first;
      }
      std::printf(
          "%10.1f %10llu %s\n", le, static_cast<unsigned long long>(n),
          std::string(static_cast<size_t>(50.0 * n / (peak * step)), '#')
              .c_str());
    }
  }
  if (!ctrl.failure().ok()) {
    std::fprintf(stderr, "nvmeof perf: %s\n",
                 ctrl.failure().ToString().c_str());
    return 1;
  }
  return (errors || verify_errors) ? 1 : 0;
}

}  // namespace nvmeof::tools
