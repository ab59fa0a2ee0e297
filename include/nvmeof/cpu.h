// CPU lists and pinning (--cpus of nvmeof-target and nvmeof perf).

#ifndef NVMEOF_CPU_H_
#define NVMEOF_CPU_H_

#include <string_view>
#include <vector>

#include "nvmeof/status.h"

namespace nvmeof {

// "0", "0,2", "0-3", "0-1,4": the CPU numbers, in order. Anything else is
// InvalidArgument, naming --cpus and the list.
Result<std::vector<int>> ParseCpuList(std::string_view list);
// ParseCpuList, and every CPU one this process may run on
// (sched_getaffinity): "--cpus '5': CPU 5 is not available to this process
// (it may run on 0-1)".
Result<std::vector<int>> ParseAvailableCpus(std::string_view list);

// Pins the calling thread to `cpu`; an error names the CPU and the reason.
Status PinCurrentThread(int cpu);

}  // namespace nvmeof

#endif  // NVMEOF_CPU_H_
