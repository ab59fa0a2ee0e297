// The "null" backend: `size` bytes that read as zeros and drop writes, for
// benchmarks that must not measure storage.
//
// Settings: "size" (required; a multiple of block_size).

#ifndef NVMEOF_CONTROLLER_BACKENDS_NULL_H_
#define NVMEOF_CONTROLLER_BACKENDS_NULL_H_

#include <memory>

#include "controller/backend_registry.h"

namespace nvmeof::controller {

std::unique_ptr<BackendPlugin> MakeNullBackendPlugin();

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BACKENDS_NULL_H_
