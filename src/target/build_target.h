// Turns a TargetConfig into a Target: opens every namespace's backend and
// adds subsystems and ports. Nothing is left half-built on failure: the
// error names the subsystem and namespace, and the backends already opened
// are closed again.

#ifndef NVMEOF_TARGET_BUILD_TARGET_H_
#define NVMEOF_TARGET_BUILD_TARGET_H_

#include <memory>

#include "target/config.h"
#include "target/target.h"

namespace nvmeof::target {

Result<std::unique_ptr<Target>> BuildTarget(const TargetConfig& config);

}  // namespace nvmeof::target

#endif  // NVMEOF_TARGET_BUILD_TARGET_H_
