// The control plane of a running Target: JSON-RPC 2.0 with SPDK's method
// names (docs/RPC.md), on a Unix socket and optionally on TCP with a token,
// served on a thread of its own (never an I/O thread). What `nvmeof-target
// --rpc-socket` runs; a program that embeds a Target can run it too.
//
//   auto cp = nvmeof::ControlPlane::Start(*target, {.unix_path = "/run/x.sock"});
//   ...
//   cp->reset();  // stops serving; the target keeps running

#ifndef NVMEOF_CONTROL_PLANE_H_
#define NVMEOF_CONTROL_PLANE_H_

#include <memory>
#include <string>

#include "nvmeof/status.h"
#include "nvmeof/target.h"
#include "nvmeof/target_config.h"

namespace nvmeof {

struct ControlPlaneOptions {
  std::string unix_path;  // a Unix socket, mode 0600 (empty: none)
  // TCP "ADDR:PORT" (empty: none): every request must carry "token" at its
  // top level; a loopback address unless `tcp_any_address`.
  std::string tcp_listen;
  std::string tcp_token;  // at least 16 characters
  bool tcp_any_address = false;
  // What the target was made from: the transport's settings start from
  // its first port, and the saved state (nvmeof_save_config) keeps its
  // threads, log level and limits.
  TargetConfig base;
};

class ControlPlane {
 public:
  // Listens and serves until destroyed. `target` must outlive it.
  static Result<std::unique_ptr<ControlPlane>> Start(
      Target& target, const ControlPlaneOptions& options);
  ~ControlPlane();  // stops serving (a request in progress finishes first)
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // The TCP port bound (a port 0 in `tcp_listen` resolved), or 0.
  uint16_t tcp_port() const;

  // Target::Reconfigure, between two requests (never during one); the
  // saved state keeps `config`'s threads, log level and limits from now on.
  Result<std::vector<std::string>> Reconfigure(const TargetConfig& config);

 private:
  struct State;
  explicit ControlPlane(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace nvmeof

#endif  // NVMEOF_CONTROL_PLANE_H_
