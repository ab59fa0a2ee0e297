// nvmeof::ControlPlane: the RPC server and SPDK's methods over a Target
// (control_plane.h).

#include "nvmeof/control_plane.h"

#include <mutex>

#include "controller/target_impl.h"
#include "mgmt/rpc_server.h"
#include "mgmt/spdk_methods.h"

namespace nvmeof {

struct ControlPlane::State {
  Target* target = nullptr;
  std::mutex mu;  // guards base
  TargetConfig base;
  mgmt::ControlState methods;
  mgmt::RpcServer server;  // after `methods`: stopped before they go
};

ControlPlane::ControlPlane(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

ControlPlane::~ControlPlane() { state_->server.Stop(); }

uint16_t ControlPlane::tcp_port() const { return state_->server.tcp_port(); }

Result<std::vector<std::string>> ControlPlane::Reconfigure(
    const TargetConfig& config) {
  Result<std::vector<std::string>> done = state_->server.RunExclusive(
      [&] { return state_->target->Reconfigure(config); });
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->base = config;
  return done;
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(
    Target& target, const ControlPlaneOptions& options) {
  if (options.unix_path.empty() && options.tcp_listen.empty()) {
    return InvalidArgumentError(
        "the control plane needs a Unix socket path or a TCP address");
  }
  if (!options.tcp_listen.empty() && options.tcp_token.size() < 16) {
    return InvalidArgumentError(
        "a TCP control plane needs a token of at least 16 characters");
  }
  auto state = std::make_unique<State>();
  mgmt::ControlState& st = state->methods;
  controller::TargetImpl* impl = &target.impl();
  st.target = impl;
  st.tcp_transport = st.tcp_transport_implicit = !options.base.ports.empty();
  if (!options.base.ports.empty()) st.tcp = options.base.ports.front().params;
  state->target = &target;
  state->base = options.base;
  State* self = state.get();
  st.save_config = [impl, self]() -> Result<mgmt::Json> {
    TargetConfig base;
    {
      std::lock_guard<std::mutex> lock(self->mu);
      base = self->base;
    }
    NVMEOF_ASSIGN_OR_RETURN(TargetConfig running,
                            controller::RunningConfig(*impl, base));
    return mgmt::Json::parse(ToJson(running));
  };
  mgmt::RegisterMethods(state->server, st);
  if (!options.unix_path.empty()) {
    NVMEOF_RETURN_IF_ERROR(state->server.ListenUnix(options.unix_path));
  }
  if (!options.tcp_listen.empty()) {
    NVMEOF_RETURN_IF_ERROR(state->server.ListenTcp(
        options.tcp_listen, options.tcp_token, options.tcp_any_address));
  }
  NVMEOF_RETURN_IF_ERROR(state->server.Start());
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(state)));
}

}  // namespace nvmeof
