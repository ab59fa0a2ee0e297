// --cpus LIST, as nvmeof-target and nvmeof perf take it.

#ifndef NVMEOF_TOOLS_CPU_LIST_H_
#define NVMEOF_TOOLS_CPU_LIST_H_

#include <string_view>
#include <vector>

#include "nvmeof/status.h"

namespace nvmeof::tools {

// "0", "0,2", "0-3", "0-1,4": the CPU numbers, in order. Anything else is
// InvalidArgument, naming --cpus and the list.
Result<std::vector<int>> ParseCpuList(std::string_view list);

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_CPU_LIST_H_
