// The NVMe-oF target (controller side), embeddable: a program builds one
// from a configuration (target_config.h) or in code, starts it, and stops
// it. `nvmeof-target` is such a program; examples/embed_target.cc serves a
// Backend of its own in a few lines.
//
//   auto target = nvmeof::Target::Create();
//   target->AddSubsystem({.nqn = "nqn.2024-11.io.example:disk"});
//   target->AddNamespace("nqn.2024-11.io.example:disk", {.nsid = 1},
//                        std::move(my_backend));
//   target->AddPort({.address = "127.0.0.1", .port = 4420});
//   target->Start();
//   ...
//   target->Stop();
//
// Threads: a target runs its own I/O threads (TargetRunOptions); every
// method here is called from one controlling thread (not an I/O thread).
// Errors are Status values that name what was wrong.

#ifndef NVMEOF_TARGET_H_
#define NVMEOF_TARGET_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nvmeof/backend.h"
#include "nvmeof/status.h"
#include "nvmeof/target_config.h"
#include "nvmeof/transport.h"

namespace nvmeof {

namespace controller {
class TargetImpl;
}

// How a target runs (not what it serves).
struct TargetRunOptions {
  int threads = 0;        // I/O threads; 0: the number of cores
  std::vector<int> cpus;  // thread i runs on cpus[i % size]; empty: any
  bool busy_poll = false;  // threads never sleep (a core each)
  // Adaptive polling: a thread that found work keeps polling this long
  // before it sleeps again (0: off).
  std::chrono::microseconds poll_idle{0};
};

// A subsystem added in code (the config file's "subsystems" entries).
struct SubsystemOptions {
  std::string nqn;
  std::string serial;  // empty: derived from the NQN, stable
  std::string model = "nvmeof";
  bool allow_any_host = true;
  std::vector<std::string> hosts;  // the allow list when !allow_any_host
};

// A namespace added in code. Identifiers left zero are derived from the
// subsystem NQN and the NSID, so that they stay the same across restarts
// (the EUI-64 stays zero: "not reported").
struct NamespaceOptions {
  uint32_t nsid = 1;
  std::array<uint8_t, 16> uuid{};
  std::array<uint8_t, 16> nguid{};
  std::array<uint8_t, 8> eui64{};
};

// A listener added in code.
struct PortOptions {
  TransportType transport = TransportType::kTcp;
  std::string address = "127.0.0.1";  // numeric IPv4 or IPv6
  uint16_t port = 4420;                // 0: any free port (listen_addresses)
  std::vector<std::string> subsystems;  // exposed here; empty: all
  PortParams params;
};

class Target {
 public:
  // A target serving what `config` describes: every namespace's backend
  // is opened and every reference checked; nothing runs until Start().
  static Result<std::unique_ptr<Target>> Create(const TargetConfig& config);
  // An empty target, to be filled with the Add* calls.
  static std::unique_ptr<Target> Create();

  ~Target();  // stops it if it runs
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  // Before Start().
  Status AddSubsystem(const SubsystemOptions& options);
  // `backend` serves namespace `options.nsid` of subsystem `subnqn`.
  Status AddNamespace(std::string_view subnqn, const NamespaceOptions& options,
                      std::unique_ptr<Backend> backend);
  Status AddPort(const PortOptions& options);

  // Starts the I/O threads and listens on every port; on failure nothing
  // is left running.
  Status Start(const TargetRunOptions& options = {});
  // The addresses actually bound (a port 0 resolved), in AddPort order.
  std::vector<TransportAddress> listen_addresses() const;
  size_t thread_count() const;
  // Stops accepting, ends every association, flushes the backends, joins
  // the threads. Blocks; idempotent.
  void Stop();

  // Before Start() or while it runs: serve what `config` describes from now
  // on. Only the difference is applied (a config reload): what did not
  // change keeps running and keeps its connections; every new backend is
  // opened before anything changes. Returns one line per change made.
  // Threads, log level and limits are not changed (they take a restart).
  // Not concurrent with a ControlPlane's methods (ControlPlane::Reconfigure
  // is, in turn).
  Result<std::vector<std::string>> Reconfigure(const TargetConfig& config);

  // The implementation, for the library's own tests and tools.
  controller::TargetImpl& impl() { return *impl_; }

 private:
  explicit Target(std::unique_ptr<controller::TargetImpl> impl);
  std::unique_ptr<controller::TargetImpl> impl_;
};

}  // namespace nvmeof

#endif  // NVMEOF_TARGET_H_
