// Turns a TargetConfig into a Target: opens every namespace's backend and
// adds subsystems and ports. Nothing is left half-built on failure: the
// error names the subsystem and namespace, and the backends already opened
// are closed again.

#ifndef NVMEOF_CONTROLLER_BUILD_TARGET_H_
#define NVMEOF_CONTROLLER_BUILD_TARGET_H_

#include <memory>

#include "controller/config.h"
#include "controller/target.h"

namespace nvmeof::controller {

Result<std::unique_ptr<Target>> BuildTarget(const TargetConfig& config);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BUILD_TARGET_H_
