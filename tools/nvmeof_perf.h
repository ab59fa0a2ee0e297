// nvmeof perf: measure a target (see nvmeof_perf.cc).

#ifndef NVMEOF_TOOLS_NVMEOF_PERF_H_
#define NVMEOF_TOOLS_NVMEOF_PERF_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nvmeof/event_loop.h"
#include "nvmeof/host.h"
#include "nvmeof/status.h"

namespace nvmeof::tools {

struct PerfOptions {
  uint32_t nsid = 1;
  int queue_depth = 32;               // per I/O queue
  uint32_t io_size = 4096;            // bytes
  std::string workload = "randread";  // randread randwrite read write randrw rw
  int mix = 70;                       // read percentage for randrw / rw
  int seconds = 10;
  bool verify = false;
  bool json = false;
  int threads = 1;        // associations, each with its own thread and loop
  std::vector<int> cpus;  // thread i runs on cpus[i % size] (empty: anywhere)
  bool poll = false;      // busy-poll the loops (lowest latency, cores spin)
  std::string plot;       // write the latency histogram here, as SVG
};

// Sets up one association whose queues all belong to `loop`. Called on
// each perf thread, concurrently, with that thread's loop.
using PerfConnect =
    std::function<Result<std::unique_ptr<host::Association>>(EventLoop& loop)>;

// Runs the load: options.threads threads, each connecting its own
// association with `connect` and keeping options.queue_depth commands in
// flight on each of its I/O queues; prints a line a second and the summary
// (and the plot). The run starts once every thread has connected; if one
// cannot, none runs. Returns the process exit status (1 on any error).
int RunPerf(const PerfConnect& connect, const PerfOptions& options);

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_NVMEOF_PERF_H_
