// The "ram" backend: a namespace in anonymous memory, served with no copy
// (its queues map byte ranges: capabilities().memory_mapped).
//
// Settings: "size" (required; a multiple of block_size), "sparse" (false).
//
// By default the namespace is what a user expects of a RAM disk: its memory
// is committed when it opens (so that it performs from the first I/O, not
// after seconds of page faults), on a 2 MiB boundary in transparent huge
// pages, and a size that does not fit in the memory available now
// (MemAvailable) is refused with the numbers. "sparse": true allocates on
// demand, in small pages, as blocks are first written: a namespace larger
// than memory is then allowed (and warned about), and each scattered 4 KiB
// write costs 4 KiB, not a 2 MiB huge page.
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
