#include "io/cpu.h"

#include <pthread.h>
#include <sched.h>

#include <string>

namespace nvmeof {

Status PinCurrentThread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    return InvalidArgumentError("no CPU " + std::to_string(cpu));
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) {
    return ErrnoError(err, "cannot pin to CPU " + std::to_string(cpu));
  }
  return Status();
}

}  // namespace nvmeof
