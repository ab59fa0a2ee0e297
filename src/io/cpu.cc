#include "nvmeof/cpu.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <system_error>

namespace nvmeof {

Result<std::vector<int>> ParseCpuList(std::string_view list) {
  const Status bad = InvalidArgumentError(
      "--cpus '" + std::string(list) + "': expected CPU numbers (0 to " +
      std::to_string(CPU_SETSIZE - 1) + ") and ranges, as 0,2 or 0-3");
  auto number = [](std::string_view s, int& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out >= 0 &&
           out < CPU_SETSIZE;
  };
  std::vector<int> cpus;
  for (size_t pos = 0; pos <= list.size();) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const std::string_view item = list.substr(pos, comma - pos);
    const size_t dash = item.find('-');
    int lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, lo)) return bad;
      hi = lo;
    } else if (!number(item.substr(0, dash), lo) ||
               !number(item.substr(dash + 1), hi) || hi < lo) {
      return bad;
    }
    for (int cpu = lo; cpu <= hi; ++cpu) cpus.push_back(cpu);
    pos = comma + 1;
  }
  return cpus;
}

Result<std::vector<int>> ParseAvailableCpus(std::string_view list) {
  NVMEOF_ASSIGN_OR_RETURN(std::vector<int> cpus, ParseCpuList(list));
  // Only CPUs this process may run on (as taskset and cgroups allow).
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    for (int cpu : cpus) {
      if (CPU_ISSET(cpu, &allowed)) continue;
      std::string have;
      for (int i = 0; i < CPU_SETSIZE; ++i) {
        if (!CPU_ISSET(i, &allowed)) continue;
        int j = i;
        while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, &allowed)) ++j;
        if (!have.empty()) have.append(",");
        have.append(std::to_string(i));
        if (j > i) {
          have.append("-");
          have.append(std::to_string(j));
        }
        i = j;
      }
      return InvalidArgumentError("--cpus '" + std::string(list) + "': CPU " +
                                  std::to_string(cpu) +
                                  " is not available to this process (it may "
                                  "run on " + have + ")");
    }
  }
  return cpus;
}


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
