// Admin commands (NVMe Base 2.0, section 5): Identify (identify.cc), Get
// Log Page (log_page.cc), Get/Set Features, Keep Alive, Asynchronous Event
// Request, Abort (admin_cmd.cc).

#ifndef NVMEOF_CONTROLLER_ADMIN_CMD_H_
#define NVMEOF_CONTROLLER_ADMIN_CMD_H_

#include "controller/request.h"

namespace nvmeof::controller {

// REQUIRES: an admin queue, bound to a ready controller.
void ExecuteAdmin(Request& r);

// The families' parts, for ExecuteAdmin.
void ExecuteIdentify(Request& r);
void ExecuteGetLogPage(Request& r);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_ADMIN_CMD_H_
