// nvmeof perf: a load generator in the manner of spdk_nvme_perf.
//
// --threads N threads, each with its own EventLoop and association (the
// same connection options for all), its I/O queues all on that loop; each
// queue keeps `queue_depth` commands in flight. The namespace is cut into
// io_size slots and thread t takes the slots with slot % N == t, so that no
// two threads touch the same LBAs. Latencies go into a log-linear histogram
// per thread (no allocation per I/O), merged at the end. With --verify,
// writes carry a pattern derived from (LBA, generation) and reads check it.
//
// The main thread starts the threads, opens the run once every one has
// connected, prints the progress line from their counters, and reports.

#include "tools/nvmeof_perf.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

#include "nvmeof/cpu.h"
#include "tools/nvmeof_histogram.h"
#include "tools/nvmeof_plot.h"

namespace nvmeof::tools {
namespace {

using Clock = std::chrono::steady_clock;

// A count with one writer (a perf thread) that the main thread reads while
// the run goes on: relaxed, and an increment is a plain load and store (no
// locked instruction per I/O).
class Counter {
 public:
  void Add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// What one thread's run counts. The main thread reads `ios` and `errors`
// during the run, the rest only once the thread has ended.
struct PerfStats {
  Counter ios;     // completed with success
  Counter errors;  // failed (never counted as I/Os)
  uint64_t verify_errors = 0;
  uint64_t bytes = 0;
  Histogram hist;  // of the I/Os that succeeded
  std::string first_error;  // why the first failed I/O failed
};

// With --verify: per io_size slot of the run's share, the generation of
// the last write that completed there (0: never written) and whether an
// I/O is on it now. Only the slots the run touches take memory (an open
// addressing table that doubles at half full, ~12 bytes a slot), so a
// large namespace costs nothing up front.
class VerifyTable {
 public:
  VerifyTable() : slots_(1024) {}
  uint32_t generation(uint64_t slot) const {
    const Entry* e = Find(slot);
    return e ? e->gen : 0;
  }
  bool busy(uint64_t slot) const {
    const Entry* e = Find(slot);
    return e != nullptr && e->busy;
  }
  void set_busy(uint64_t slot, bool busy) { Get(slot).busy = busy; }
  void set_generation(uint64_t slot, uint32_t gen) { Get(slot).gen = gen; }

 private:
  struct Entry {
    uint64_t key = kEmpty;
    uint32_t gen = 0;
    bool busy = false;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  size_t Home(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) &
           (slots_.size() - 1);
  }
  const Entry* Find(uint64_t key) const {
    for (size_t i = Home(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return &slots_[i];
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }
  Entry& Get(uint64_t key) {
    if (Entry* e = const_cast<Entry*>(Find(key))) return *e;
    if (2 * (used_ + 1) > slots_.size()) Grow();
    size_t i = Home(key);
    while (slots_[i].key != kEmpty) i = (i + 1) & (slots_.size() - 1);
    slots_[i].key = key;
    ++used_;
    return slots_[i];
  }
  void Grow() {
    std::vector<Entry> old(slots_.size() * 2);
    old.swap(slots_);
    used_ = 0;
    for (const Entry& e : old) {
      if (e.key == kEmpty) continue;
      Entry& n = Get(e.key);
      n.gen = e.gen;
      n.busy = e.busy;
    }
  }
  std::vector<Entry> slots_;
  size_t used_ = 0;
};

struct Job {
  uint16_t qid = 1;
  bool write = false;
  uint64_t lba = 0;
  Clock::time_point start;
  std::vector<uint8_t> buf;  // 4 KiB aligned enough for any target
  bool in_flight = false;
};

// A thread's share of the namespace: the io_size slots first,
// first + stride, first + 2 * stride, ... (`slots` of them).
struct Share {
  uint64_t first = 0;
  uint64_t stride = 1;
  uint64_t slots = 0;
};

// One thread's run: its state lives here, so that a completion captures
// only the run, its job and two numbers (Callback's inline storage). Slots
// here are indexes into the thread's share.
class PerfRun {
 public:
  PerfRun(host::Association& ctrl, const PerfOptions& o, uint64_t block,
          Share share, uint64_t seed, PerfStats& stats)
      : ctrl_(ctrl),
        o_(o),
        stats_(stats),
        block_(block),
        blocks_per_io_(o.io_size / block),
        share_(share),
        rand_(o.workload.rfind("rand", 0) == 0),
        read_pct_(
            o.workload == "randrw" || o.workload == "rw"
                ? o.mix
                : (o.workload.find("read") != std::string::npos ? 100 : 0)),
        rng_(seed) {}

  void Submit(Job& j) {
    if (!running_) return;
    const uint64_t slots = share_.slots;
    uint64_t slot = rand_ ? rng_() % slots : (next_seq_++ % slots);
    if (o_.verify) {
      for (int tries = 0; verify_.busy(slot) && tries < 64; ++tries) {
        slot = rand_ ? rng_() % slots : (next_seq_++ % slots);
      }
      if (verify_.busy(slot)) return;  // the namespace is smaller than the load
      verify_.set_busy(slot, true);
    }
    j.lba = (share_.first + slot * share_.stride) * blocks_per_io_;
    j.write = static_cast<int>(rng_() % 100) >= read_pct_;
    uint32_t gen = 0;
    if (o_.verify) {
      gen = j.write ? ++next_gen_ : verify_.generation(slot);
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
    if (!c.ok()) {
      stats_.errors.Add(1);
      if (stats_.first_error.empty()) {
        stats_.first_error =
            std::string(j.write ? "write" : "read") + " at LBA " +
            std::to_string(j.lba) + ": " +
            (c.status.ok() ? NvmeStatusToString(c.nvme())
                           : std::string(c.status.message()));
      }
    } else {
      stats_.hist.Add(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                               j.start)
              .count()));
      stats_.ios.Add(1);
      stats_.bytes += j.buf.size();
      if (o_.verify && j.write) verify_.set_generation(slot, gen);
      if (o_.verify && !j.write && gen != 0 && !Check(j, gen)) {
        ++stats_.verify_errors;
      }
    }
    if (o_.verify) verify_.set_busy(slot, false);
    // An association that failed for good fails every command at once:
    // resubmitting would spin. (While it reconnects, commands wait and
    // come back here on the new one.)
    if (ctrl_.state() == host::Association::State::kFailed) return;
    Submit(j);
  }

  void Stop() { running_ = false; }

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

  host::Association& ctrl_;
  const PerfOptions& o_;
  PerfStats& stats_;
  const uint64_t block_, blocks_per_io_;
  const Share share_;
  const bool rand_;
  const int read_pct_;
  // With --verify: the generation of the last write that completed in each
  // slot, checked by the reads; no two I/Os touch one slot at once (nor two
  // threads: their shares are disjoint), so what a read sees is exactly
  // that.
  VerifyTable verify_;
  uint32_t next_gen_ = 0;
  std::mt19937_64 rng_;
  uint64_t next_seq_ = 0;
  bool running_ = true;
};

// One thread's association and its share of the namespace.
struct Association {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<host::Association> ctrl;  // declared after: it uses loop
  uint64_t block = 0;                      // bytes per LBA
  Share share;
};

// On perf thread `index`: pins it, connects, and reads the namespace.
Result<Association> Connect(const PerfConnect& connect, const PerfOptions& o,
                            int index) {
  Association a;
  if (!o.cpus.empty()) {
    NVMEOF_RETURN_IF_ERROR(PinCurrentThread(o.cpus[index % o.cpus.size()]));
  }
  NVMEOF_ASSIGN_OR_RETURN(a.loop, EventLoop::Create());
  NVMEOF_ASSIGN_OR_RETURN(a.ctrl, connect(*a.loop));
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> ns,
                          a.ctrl->Identify(0x00, o.nsid));
  IdentifyNamespace id;
  std::memcpy(&id, ns.data(), sizeof(id));
  if (id.nsze == 0) {
    return NotFoundError("namespace " + std::to_string(o.nsid) +
                         " is not active");
  }
  a.block = id.lbaf[FlbasIndex(id.flbas)].block_size();
  if (a.block == 0 || o.io_size == 0 || o.io_size % a.block != 0) {
    return InvalidArgumentError("--io-size " + std::to_string(o.io_size) +
                                " is not a multiple of the block size " +
                                std::to_string(a.block));
  }
  const uint32_t mdts = a.ctrl->max_transfer();
  if (mdts != 0 && o.io_size > mdts) {
    return InvalidArgumentError(
        "--io-size " + std::to_string(o.io_size) +
        " is more than the controller's largest transfer (MDTS: " +
        std::to_string(mdts) + " bytes)");
  }
  if (a.ctrl->io_queue_size() < o.queue_depth) {
    return InvalidArgumentError(
        "--queue-depth " + std::to_string(o.queue_depth) +
        " is more than the " + std::to_string(a.ctrl->io_queue_size()) +
        " entries of each I/O queue (the controller's MQES allows " +
        std::to_string(((a.ctrl->cap() & 0xFFFF) + 1)) + ")");
  }
  const uint64_t slots = std::max<uint64_t>(id.nsze / (o.io_size / a.block), 1);
  const auto n = static_cast<uint64_t>(o.threads);
  const auto t = static_cast<uint64_t>(index);
  a.share = {t, n, slots > t ? (slots - t + n - 1) / n : 0};
  if (a.share.slots == 0) {
    return OutOfRangeError("the namespace holds " + std::to_string(slots) +
                           " I/Os of --io-size, fewer than --threads");
  }
  return a;
}

enum class Phase { kConnecting, kRunning, kAborted };

// What the threads share: the start gate and the end of the run.
struct Shared {
  Shared(const PerfConnect& c, const PerfOptions& opts) : connect(c), o(opts) {}

  // A thread has connected (ok) or failed to.
  void Arrive(bool ok) {
    std::lock_guard<std::mutex> lock(mu);
    ++arrived;
    if (!ok) ++failed;
    cv.notify_all();
  }
  // A thread's timed run is over.
  void Finish() {
    std::lock_guard<std::mutex> lock(mu);
    ++finished;
    cv.notify_all();
  }

  const PerfConnect& connect;
  const PerfOptions& o;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;   // guarded by mu
  int failed = 0;    // guarded by mu
  int finished = 0;  // guarded by mu
  // kConnecting until every thread has arrived; `start` and `end` are
  // written before the release store that makes it kRunning.
  std::atomic<Phase> phase{Phase::kConnecting};
  Clock::time_point start, end;
};

struct Worker {
  explicit Worker(int i) : index(i) {}
  const int index;
  PerfStats stats;
  uint16_t queues = 0;
  Clock::time_point stopped;  // when its last command completed
  Status failure;             // why it failed (OK: it did not)
  std::atomic<bool> reconnecting{false};  // read by the progress line
};

// The load on one connected association, from the shared start to the
// shared end; then lets what is in flight finish and disconnects.
void RunLoad(Shared& sh, Worker& w, Association& a) {
  const PerfOptions& o = sh.o;
  host::Association& ctrl = *a.ctrl;
  EventLoop& loop = *a.loop;
  w.queues = ctrl.io_queue_count();
  std::vector<Job> jobs(size_t{w.queues} * o.queue_depth);
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].qid = static_cast<uint16_t>(1 + i % w.queues);
    jobs[i].buf.assign(o.io_size, 0);
  }
  if (o.poll) loop.set_busy_poll(true);
  PerfRun run(ctrl, o, a.block, a.share, 42 + w.index, w.stats);
  for (Job& j : jobs) run.Submit(j);
  // Until the end, or until the association fails for good; while it
  // reconnects the commands wait, and the run goes on when it is back.
  loop.RunUntil(
      [&] {
        w.reconnecting.store(
            ctrl.state() == host::Association::State::kReconnecting,
            std::memory_order_relaxed);
        return ctrl.state() == host::Association::State::kFailed;
      },
      sh.end - Clock::now());
  w.reconnecting.store(false, std::memory_order_relaxed);
  sh.Finish();
  run.Stop();
  // Let what is in flight finish, unless the association is gone: then
  // nothing would, and the disconnect below ends it.
  if (ctrl.state() == host::Association::State::kLive) {
    loop.RunUntil(
        [&] {
          return std::none_of(jobs.begin(), jobs.end(),
                              [](const Job& j) { return j.in_flight; });
        },
        std::chrono::seconds(30));
  }
  w.stopped = Clock::now();
  w.failure = ctrl.failure();
  // Every command completes here, while `run` and `jobs` live: commands
  // held for a reconnect complete as cancelled (and count as errors).
  ctrl.Disconnect();
}

// A perf thread: connects, waits for the others, runs.
void PerfThread(Shared& sh, Worker& w) {
  Result<Association> a = Connect(sh.connect, sh.o, w.index);
  if (!a.ok()) w.failure = a.status();
  sh.Arrive(a.ok());
  if (!a.ok()) return;
  // Serve the association (keep-alives) while the others connect.
  Phase phase;
  while ((phase = sh.phase.load(std::memory_order_acquire)) ==
         Phase::kConnecting) {
    a->loop->RunOnce(std::chrono::milliseconds(1));
  }
  if (phase == Phase::kRunning) RunLoad(sh, w, *a);
  // Else another thread failed to start: the controller's destructor
  // disconnects this one.
}

// A line a second, the sum over the threads, until the end or until every
// thread has stopped.
void ShowProgress(Shared& sh,
                  const std::vector<std::unique_ptr<Worker>>& workers) {
  const int n = static_cast<int>(workers.size());
  uint64_t last_ios = 0;
  Clock::time_point last = sh.start;
  std::unique_lock<std::mutex> lock(sh.mu);
  for (int sec = 1; Clock::now() < sh.end && sh.finished < n; ++sec) {
    sh.cv.wait_until(lock,
                     std::min(sh.start + std::chrono::seconds(sec), sh.end),
                     [&] { return sh.finished == n; });
    const auto now = Clock::now();
    uint64_t ios = 0, errors = 0;
    int reconnecting = 0;
    for (const auto& w : workers) {
      ios += w->stats.ios.Get();
      errors += w->stats.errors.Get();
      reconnecting += w->reconnecting.load(std::memory_order_relaxed);
    }
    const double dt = std::chrono::duration<double>(now - last).count();
    if (!sh.o.json && dt > 0) {
      std::printf("[%3ds] %10.0f IOPS %9.1f MiB/s  errors %llu%s\n", sec,
                  (ios - last_ios) / dt,
                  (ios - last_ios) * double(sh.o.io_size) / dt / (1 << 20),
                  static_cast<unsigned long long>(errors),
                  reconnecting == 0
                      ? ""
                      : ("  reconnecting (" + std::to_string(reconnecting) +
                         " of " + std::to_string(n) + " associations)")
                            .c_str());
      std::fflush(stdout);
    }
    last_ios = ios;
    last = now;
  }
}

// The threads' results, merged.
struct Totals {
  Histogram hist;
  uint64_t errors = 0, verify_errors = 0, bytes = 0;
  uint16_t queues = 0;  // per association (thread 0's)
  double secs = 0;
  double iops() const { return secs > 0 ? hist.count() / secs : 0; }
  double mbps() const { return secs > 0 ? bytes / secs / 1e6 : 0; }
  double mibps() const { return secs > 0 ? bytes / secs / (1 << 20) : 0; }
  std::string first_error;
};

void PrintReport(const PerfOptions& o, const Totals& t) {
  const Histogram& hist = t.hist;
  if (o.json) {
    nlohmann::ordered_json j = {{"workload", o.workload},
                                {"io_size", o.io_size},
                                {"queue_depth", o.queue_depth},
                                {"io_queues", t.queues},
                                {"threads", o.threads},
                                {"seconds", t.secs},
                                {"ios", hist.count()},
                                {"iops", t.iops()},
                                {"mbps", t.mbps()},
                                {"mibps", t.mibps()},
                                {"errors", t.errors},
                                {"verify_errors", t.verify_errors},
                                {"latency_us",
                                 {{"min", hist.min_us()},
                                  {"avg", hist.mean_us()},
                                  {"stdev", hist.stdev_us()},
                                  {"p50", hist.Percentile(50)},
                                  {"p90", hist.Percentile(90)},
                                  {"p95", hist.Percentile(95)},
                                  {"p99", hist.Percentile(99)},
                                  {"p99_9", hist.Percentile(99.9)},
                                  {"p99_99", hist.Percentile(99.99)},
                                  {"max", hist.max_us()}}}};
    if (!t.first_error.empty()) j["first_error"] = t.first_error;
    nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
    for (const Histogram::Bucket& b : hist.Buckets())
      buckets.push_back({{"le_us", b.hi_us}, {"count", b.count}});
    j["histogram"] = buckets;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("\n%s %u B, QD %d x %u queues x %d thread%s, %.1f s\n",
              o.workload.c_str(), o.io_size, o.queue_depth, t.queues, o.threads,
              o.threads == 1 ? "" : "s", t.secs);
  std::printf(
      "IOPS %.0f  MB/s %.1f  MiB/s %.1f  errors %llu  verify errors %llu\n",
      t.iops(), t.mbps(), t.mibps(), static_cast<unsigned long long>(t.errors),
      static_cast<unsigned long long>(t.verify_errors));
  if (!t.first_error.empty()) {
    std::printf("first error: %s\n", t.first_error.c_str());
  }
  std::printf(
      "latency us: min %.1f  avg %.1f  stdev %.1f  p50 %.1f  p90 %.1f  "
      "p95 %.1f  p99 %.1f  p99.9 %.1f  p99.99 %.1f  max %.1f\n",
      hist.min_us(), hist.mean_us(), hist.stdev_us(), hist.Percentile(50),
      hist.Percentile(90), hist.Percentile(95), hist.Percentile(99),
      hist.Percentile(99.9), hist.Percentile(99.99), hist.max_us());
  std::printf("histogram (us, <=):\n");
  const auto buckets = hist.Buckets();
  uint64_t peak = 1;
  for (const Histogram::Bucket& b : buckets) peak = std::max(peak, b.count);
  // Merge to at most ~24 lines.
  const size_t step = std::max<size_t>(1, buckets.size() / 24);
  for (size_t i = 0; i < buckets.size(); i += step) {
    uint64_t n = 0;
    double le = 0;
    for (size_t k = i; k < std::min(i + step, buckets.size()); ++k) {
      n += buckets[k].count;
      le = buckets[k].hi_us;
    }
    std::printf("%10.1f %10llu %s\n", le, static_cast<unsigned long long>(n),
                std::string(static_cast<size_t>(50.0 * n / (peak * step)), '#')
                    .c_str());
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Writes the plot to `f` and closes it.
Status WritePlot(std::unique_ptr<std::FILE, FileCloser> f,
                 const std::string& path, const PerfOptions& o,
                 const Totals& t) {
  char title[256];
  std::snprintf(title, sizeof(title),
                "nvmeof perf: %s %u B, QD %d x %u queues x %d thread%s: "
                "%.0f IOPS, %.1f MB/s",
                o.workload.c_str(), o.io_size, o.queue_depth, t.queues,
                o.threads, o.threads == 1 ? "" : "s", t.iops(), t.mbps());
  const std::string svg = LatencySvg(t.hist, title);
  std::FILE* file = f.release();
  const bool written =
      std::fwrite(svg.data(), 1, svg.size(), file) == svg.size();
  const int err = errno;
  if (std::fclose(file) != 0 || !written) {
    return ErrnoError(written ? errno : err, "cannot write " + path);
  }
  return Status();
}

}  // namespace

int RunPerf(const PerfConnect& connect, const PerfOptions& o) {
  // Opened first, so that a bad path fails before the run, not after it.
  std::unique_ptr<std::FILE, FileCloser> plot;
  if (!o.plot.empty()) {
    plot.reset(std::fopen(o.plot.c_str(), "w"));
    if (!plot) {
      std::fprintf(stderr, "nvmeof perf: cannot write %s: %s\n", o.plot.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }

  Shared sh(connect, o);
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) {
    workers.push_back(std::make_unique<Worker>(i));
    try {
      threads.emplace_back(PerfThread, std::ref(sh), std::ref(*workers[i]));
    } catch (const std::system_error& e) {
      workers[i]->failure = ResourceExhaustedError(
          std::string("cannot start a thread: ") + e.what());
      break;
    }
  }
  bool started;
  {
    std::unique_lock<std::mutex> lock(sh.mu);
    sh.cv.wait(lock,
               [&] { return sh.arrived == static_cast<int>(threads.size()); });
    started = sh.failed == 0 && static_cast<int>(threads.size()) == o.threads;
  }
  if (started) {
    sh.start = Clock::now();
    sh.end = sh.start + std::chrono::seconds(o.seconds);
    sh.phase.store(Phase::kRunning, std::memory_order_release);
    ShowProgress(sh, workers);
  } else {
    sh.phase.store(Phase::kAborted, std::memory_order_release);
  }
  for (std::thread& t : threads) t.join();

  // Each thread's failure, named when there are several.
  bool failed = false;
  auto report_failures = [&] {
    for (const auto& w : workers) {
      if (w->failure.ok()) continue;
      failed = true;
      std::string who =
          o.threads > 1 ? "thread " + std::to_string(w->index) + ": " : "";
      std::fprintf(stderr, "nvmeof perf: %s%s\n", who.c_str(),
                   std::string(w->failure.message()).c_str());
    }
  };
  if (!started) {
    report_failures();
    if (o.threads > 1) {
      std::fprintf(stderr, "nvmeof perf: not run: a thread did not start\n");
    }
    return 1;
  }

  Totals t;
  t.queues = workers.front()->queues;
  Clock::time_point stopped = sh.start;
  for (const auto& w : workers) {
    t.hist.Merge(w->stats.hist);
    t.errors += w->stats.errors.Get();
    t.verify_errors += w->stats.verify_errors;
    t.bytes += w->stats.bytes;
    if (t.first_error.empty()) t.first_error = w->stats.first_error;
    stopped = std::max(stopped, w->stopped);
  }
  t.secs = std::chrono::duration<double>(stopped - sh.start).count();
  PrintReport(o, t);
  report_failures();
  if (plot) {
    Status st = WritePlot(std::move(plot), o.plot, o, t);
    if (!st.ok()) {
      std::fprintf(stderr, "nvmeof perf: %s\n",
                   std::string(st.message()).c_str());
      return 1;
    }
  }
  return (failed || t.errors || t.verify_errors) ? 1 : 0;
}

}  // namespace nvmeof::tools
