// Subsystems and namespaces: what a target exports (DESIGN.md, "The
// controller model").
//
// Built once from the configuration before any thread starts, then read by
// every I/O thread without locks: nothing here changes while the target
// runs. Counters that do change (SMART / Health) live in the queues.

#ifndef NVMEOF_CONTROLLER_SUBSYSTEM_H_
#define NVMEOF_CONTROLLER_SUBSYSTEM_H_

#include <array>
#include <atomic>
#include <chrono>
#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nvmeof/backend.h"
#include "nvmeof/transport.h"

namespace nvmeof::controller {

// SMART / Health counters, per namespace and per I/O thread: each thread
// adds to its own cache line (relaxed, no contention), the SMART log sums
// them. Cumulative since the target started, as Linux nvmet reports.
struct alignas(64) IoCounters {
  std::atomic<uint64_t> read_commands{0};
  std::atomic<uint64_t> write_commands{0};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<uint64_t> bytes_written{0};
};
inline constexpr size_t kCounterSlots = 64;

struct Namespace {
  // A namespace over `backend`: its block size, size, write protection and
  // capabilities come from the backend; identifiers are left zero.
  static std::unique_ptr<Namespace> Create(uint32_t nsid,
                                           std::unique_ptr<Backend> backend) {
    auto ns = std::make_unique<Namespace>();
    ns->nsid = nsid;
    ns->block_size = backend->block_size();
    ns->lbads = static_cast<uint8_t>(std::countr_zero(ns->block_size));
    ns->num_blocks = backend->num_blocks();
    ns->read_only = backend->read_only();
    ns->caps = backend->capabilities();
    ns->backend = std::move(backend);
    return ns;
  }

  // Slot `thread_index % kCounterSlots` belongs to one thread (with more
  // threads than slots two share one; fetch_add keeps that exact).
  IoCounters& counters(size_t thread_index) const {
    return counters_[thread_index % kCounterSlots];
  }
  template <typename Fn>
  void ForEachCounters(Fn fn) const {
    for (size_t i = 0; i < kCounterSlots; ++i) fn(counters_[i]);
  }

  uint32_t nsid = 0;
  std::unique_ptr<Backend> backend;
  uint32_t block_size = 512;
  uint8_t lbads = 9;  // log2(block_size)
  uint64_t num_blocks = 0;
  bool read_only = false;
  BackendCapabilities caps;  // the backend's, read once
  std::array<uint8_t, 16> uuid{};
  std::array<uint8_t, 16> nguid{};
  std::array<uint8_t, 8> eui64{};

 private:
  std::unique_ptr<IoCounters[]> counters_ =
      std::make_unique<IoCounters[]>(kCounterSlots);
};

enum class SubsystemType : uint8_t { kNvm, kDiscovery };

class Subsystem {
 public:
  Subsystem(std::string nqn, SubsystemType type)
      : nqn_(std::move(nqn)), type_(type) {}

  const std::string& nqn() const { return nqn_; }
  SubsystemType type() const { return type_; }
  bool is_discovery() const { return type_ == SubsystemType::kDiscovery; }

  std::string serial = "nvmeof";
  std::string model = "nvmeof";
  bool allow_any_host = true;
  std::set<std::string> hosts;

  bool HostAllowed(const std::string& hostnqn) const {
    return allow_any_host || hosts.count(hostnqn) != 0;
  }

  // REQUIRES: nsid unique, before the target starts.
  void AddNamespace(std::unique_ptr<Namespace> ns) {
    uint32_t id = ns->nsid;
    namespaces_[id] = std::move(ns);
  }
  // Null if there is no such (active) namespace.
  const Namespace* FindNamespace(uint32_t nsid) const {
    auto it = namespaces_.find(nsid);
    return it == namespaces_.end() ? nullptr : it->second.get();
  }
  const std::map<uint32_t, std::unique_ptr<Namespace>>& namespaces() const {
    return namespaces_;
  }
  // The highest NSID: Identify Controller's NN.
  uint32_t max_nsid() const {
    return namespaces_.empty() ? 0 : namespaces_.rbegin()->first;
  }

 private:
  std::string nqn_;
  SubsystemType type_;
  std::map<uint32_t, std::unique_ptr<Namespace>> namespaces_;
};

// Transport parameters of a port.
struct ListenParams {
  ControllerQueuePairParams transport;
  uint16_t max_io_queues = 64;
  // A connection past its transport handshake must send its Fabrics
  // Connect within this; an admin queue's controller must be enabled
  // (CC.EN) within `enable_timeout` of its Connect. Else it is closed.
  // Zero: no bound.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds enable_timeout{30000};
};

// A listening address of the target and the subsystems it exposes.
struct Port {
  uint16_t id = 1;
  uint8_t trtype = 3;   // TRTYPE: 3 TCP, 254 loopback
  std::string traddr;   // numeric
  std::string trsvcid;  // "4420"
  bool ipv6 = false;
  std::vector<const Subsystem*> subsystems;

  bool Exposes(const Subsystem* s) const {
    for (const Subsystem* x : subsystems) {
      if (x == s) return true;
    }
    return false;
  }
};

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_SUBSYSTEM_H_
