// The nvmeof tool's perf verb: its flags, then RunPerf (nvmeof_perf.cc).

#include <sched.h>

#include "base/size.h"
#include "nvmeof/cpu.h"
#include "tools/nvmeof_cli.h"

namespace nvmeof::tools {

namespace {

void PerfFlags(CLI::App* v, Args& a) {
  PerfOptions& perf = a.perf;
  AddIoConnection(v, a);
  v->add_option("-n,--namespace-id", perf.nsid, "namespace ID")
      ->capture_default_str();
  v->add_option("--queue-depth", perf.queue_depth,
                "commands in flight per I/O queue")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  v->add_option("--io-size", perf.io_size, "bytes per I/O (e.g. 4096, 4K, 1M)")
      ->capture_default_str()
      ->transform(CLI::Validator(
          [](std::string& text) {
            Result<uint64_t> bytes = ParseSizeString(text);
            if (!bytes.ok()) return std::string(bytes.status().message());
            text = std::to_string(*bytes);
            return std::string();
          },
          "SIZE"));
  v->add_option("--workload", perf.workload,
                "randread randwrite read write randrw rw")
      ->capture_default_str()
      ->check(CLI::IsMember(
          {"randread", "randwrite", "read", "write", "randrw", "rw"}));
  v->add_option("--mix", perf.mix, "read percentage of randrw/rw")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  v->add_option("--time", perf.seconds, "seconds to run")
      ->capture_default_str()
      ->check(CLI::Range(1, 7 * 24 * 3600));
  v->add_flag("--verify", perf.verify, "write patterns and check them on read");
  v->add_flag("--poll", perf.poll, "busy-poll (lowest latency; spins a core)");
  v->add_option("--threads", perf.threads,
                "threads, each with its own association (its own "
                "--nr-io-queues queues)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  auto* cpus = v->add_option(
      "--cpus", a.cpus,
      "pin thread i to the i-th of these CPUs, cycling (as 0,2 or 0-3)");
  v->add_option("--cpu", a.cpu,
                "pin to this CPU (run the target on another): --cpus with "
                "one CPU")
      ->check(CLI::Range(0, CPU_SETSIZE - 1))
      ->excludes(cpus);
  v->add_option("--plot", perf.plot,
                "write the latency histogram to this SVG file");
  v->add_option("-o,--output-format", a.output, "normal or json");
}

int Perf(Args& a) {
  a.perf.json = a.json();
  // Queues deep enough for the load (up to what the controller allows:
  // RunPerf refuses more, with the numbers).
  a.queue_size = std::max(a.queue_size, a.perf.queue_depth);
  if (a.cpu >= 0) a.cpus = std::to_string(a.cpu);
  if (!a.cpus.empty()) {
    auto list = ParseAvailableCpus(a.cpus);
    if (!list.ok()) return Fail(list.status());
    a.perf.cpus = std::move(*list);
  }
  // Each perf thread connects its own association, on its own loop.
  return RunPerf([&a](EventLoop& l) { return Open(l, a, false); }, a.perf);
}

}  // namespace

Verb PerfVerb() {
  return {"perf", "measure: IOPS, MB/s, latency percentiles", PerfFlags, Perf};
}

}  // namespace nvmeof::tools
