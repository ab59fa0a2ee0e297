// The JSON-RPC methods of the control plane: SPDK's names and parameters
// for the subset that maps onto this target (so that SPDK's own `rpc.py`,
// and tools built on it, drive it unchanged), and a few of this project's
// own (nvmeof_*). docs/RPC.md lists them, and which SPDK parameters are
// accepted but ignored.
//
// Every method runs on the RPC server's thread and changes the target
// through TargetImpl's run-time operations: connected hosts hear of what
// concerns them, nothing else pauses.

#ifndef NVMEOF_MGMT_SPDK_METHODS_H_
#define NVMEOF_MGMT_SPDK_METHODS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/target_impl.h"
#include "mgmt/rpc_server.h"
#include "nvmeof/target_config.h"

namespace nvmeof::mgmt {

// What the methods share: the target, the TCP transport's settings, and
// the counter SPDK names unnamed bdevs with.
struct ControlState {
  controller::TargetImpl* target = nullptr;
  // nvmf_create_transport -t TCP was called (or the config had ports).
  bool tcp_transport = false;
  // The config made it: one explicit create may still set its parameters.
  bool tcp_transport_implicit = false;
  PortParams tcp;           // applies to listeners made from now on
  uint32_t max_aq_depth = 128;
  bool c2h_success = true;
  uint64_t next_malloc = 0;  // Malloc<N>
  uint64_t next_null = 0;
  // The running state in this project's config format (nvmeof_save_config);
  // an error names what cannot be saved.
  std::function<Result<Json>()> save_config;
  std::vector<std::shared_ptr<void>> methods;  // the families' tables
};

// Adds every method to `server`. `state` must outlive it.
void RegisterMethods(RpcServer& server, ControlState& state);

}  // namespace nvmeof::mgmt

#endif  // NVMEOF_MGMT_SPDK_METHODS_H_
