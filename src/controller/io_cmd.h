// NVM command set I/O commands (NVM Command Set 1.0, section 3): Read,
// Write, Flush, Write Zeroes, Dataset Management, Compare, Verify.
//
// A namespace whose backend maps its memory (capabilities().memory_mapped:
// RAM) is served with no copy: the transport sends from and receives into
// the namespace's bytes. Others go through the request's bounce buffer and
// the backend's queue on this loop.

#ifndef NVMEOF_CONTROLLER_IO_CMD_H_
#define NVMEOF_CONTROLLER_IO_CMD_H_

#include "controller/request.h"

namespace nvmeof::controller {

// REQUIRES: an I/O queue, bound to a ready controller.
void ExecuteIo(Request& r);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_IO_CMD_H_
