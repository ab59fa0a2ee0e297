// The backends every registry starts with: one line each.

#include "controller/backends/null.h"
#include "controller/backends/ram.h"
#include "controller/backends/uring.h"

namespace nvmeof::controller {

void RegisterBuiltinBackends(BackendRegistry& registry) {
  registry.Register(MakeRamBackendPlugin());
  registry.Register(MakeNullBackendPlugin());
  registry.Register(MakeFileBackendPlugin());
  registry.Register(MakeBlockBackendPlugin());
}

}  // namespace nvmeof::controller
