#include "mgmt/spdk_methods.h"

#include "mgmt/spdk_rpc.h"

namespace nvmeof::mgmt {

void RegisterMethods(RpcServer& server, ControlState& state) {
  spdk_rpc::RegisterFrameworkMethods(server, state);
  spdk_rpc::RegisterNvmfMethods(server, state);
  spdk_rpc::RegisterBdevMethods(server, state);
  spdk_rpc::RegisterAuthMethods(server, state);
}

}  // namespace nvmeof::mgmt
