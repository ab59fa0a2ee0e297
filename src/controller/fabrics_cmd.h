// Fabrics commands (NVMe over Fabrics 1.1, section 3): Connect, Property
// Get/Set, Disconnect. The only commands a queue takes before Connect, and
// on an admin queue before CC.EN.

#ifndef NVMEOF_CONTROLLER_FABRICS_CMD_H_
#define NVMEOF_CONTROLLER_FABRICS_CMD_H_

#include "controller/request.h"

namespace nvmeof::controller {

// REQUIRES: r.sqe().opcode is the Fabrics opcode (0x7F).
void ExecuteFabrics(Request& r);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_FABRICS_CMD_H_
