// Pinning threads to CPUs (--cpus of nvmeof-target and nvmeof perf).

#ifndef NVMEOF_IO_CPU_H_
#define NVMEOF_IO_CPU_H_

#include "nvmeof/status.h"

namespace nvmeof {

// Pins the calling thread to `cpu`; an error names the CPU and the reason.
Status PinCurrentThread(int cpu);

}  // namespace nvmeof

#endif  // NVMEOF_IO_CPU_H_
