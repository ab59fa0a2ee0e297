// nvmeof perf --plot: the latency histogram as a standalone SVG image.

#ifndef NVMEOF_TOOLS_NVMEOF_PLOT_H_
#define NVMEOF_TOOLS_NVMEOF_PLOT_H_

#include <string>

#include "tools/nvmeof_histogram.h"

namespace nvmeof::tools {

// An SVG document (no external references): a bar per non-empty bucket of
// `hist` (height: I/O count), on a log-scale latency axis in microseconds,
// with lines at p50, p99 and p99.9. `title` is the first line above the
// plot (the caller's summary of the run: workload, I/O size, QD, IOPS); the
// second line gives the latency percentiles. An empty histogram gives axes
// and a "no I/O completed" note.
std::string LatencySvg(const Histogram& hist, const std::string& title);

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_NVMEOF_PLOT_H_
