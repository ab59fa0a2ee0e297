// The "ram" backend: a namespace in anonymous memory, served with no copy
// (its queues map byte ranges: capabilities().memory_mapped).
//
// Settings: "size" (required; a multiple of block_size).
// The mapping starts on a 2 MiB boundary and asks for transparent huge
// pages; MAP_NORESERVE: a large namespace costs nothing until written.
// Writes into a namespace of 64 MiB or more use streaming (non-temporal)
// stores (MemDesc::set_streaming): such a namespace is larger than the
// caches, and a block written is rarely read back while still cached.

#ifndef NVMEOF_CONTROLLER_BACKENDS_RAM_H_
#define NVMEOF_CONTROLLER_BACKENDS_RAM_H_

#include <memory>

#include "controller/backend_registry.h"

namespace nvmeof::controller {

std::unique_ptr<BackendPlugin> MakeRamBackendPlugin();

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BACKENDS_RAM_H_
