// nvmeof perf: measure a target (see nvmeof_perf.cc).

#ifndef NVMEOF_TOOLS_NVMEOF_PERF_H_
#define NVMEOF_TOOLS_NVMEOF_PERF_H_

#include <cstdint>
#include <string>

#include "nvmeof/host.h"

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
  int cpu = -1;       // pin the run to this CPU (-1: no pinning)
  bool poll = false;  // busy-poll the loop (lowest latency, a core spinning)
};

// Runs the load on `ctrl`'s I/O queues; prints a line a second and the
// summary. Returns the process exit status (1 on any error).
int RunPerf(host::Controller& ctrl, const PerfOptions& options);

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_NVMEOF_PERF_H_
