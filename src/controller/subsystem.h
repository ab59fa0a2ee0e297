// Subsystems and namespaces: what a target exports (DESIGN.md, "The
// controller model").
//
// They change while the target runs (the JSON-RPC control plane, a config
// reload), from one controlling thread at a time, and every I/O thread
// reads them without a lock per command:
//  - a subsystem's namespaces are an immutable NamespaceTable, replaced
//    whole on each change; a queue keeps the table it last saw and takes the
//    new one when the subsystem's version moves (one atomic load per
//    command), and holds an old table (and so its namespaces and backends)
//    until its last command that used it ends;
//  - a namespace's size is atomic (a resize grows it in place);
//  - the host list (with the hosts' DH-HMAC-CHAP keys), read at Connect and
//    by the discovery log, is under the subsystem's mutex.
// Counters that do change per command (SMART / Health) are per thread.

#ifndef NVMEOF_CONTROLLER_SUBSYSTEM_H_
#define NVMEOF_CONTROLLER_SUBSYSTEM_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nvmeof/backend.h"
#include "nvmeof/target_config.h"
#include "nvmeof/transport.h"

namespace nvmeof::auth {
struct DhchapKey;
struct TlsKey;
}  // namespace nvmeof::auth

namespace nvmeof::controller {

// Counters per namespace and per I/O thread: each thread adds to its own
// cache lines (relaxed, no contention); readers (the SMART log, the
// control plane, the metrics endpoint) sum the slots. Cumulative since the
// namespace was made, as Linux nvmet reports.
struct alignas(64) IoCounters {
  std::atomic<uint64_t> read_commands{0};
  std::atomic<uint64_t> write_commands{0};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<uint64_t> bytes_written{0};
  // Every I/O command that found this namespace, and those of them that
  // ended: the difference runs.
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> completed{0};
  // The latency of one command in kLatencySampleEvery of each queue (a
  // clock read for each would cost ~4% of a 4 KiB read's target CPU), from
  // the turn of the loop its capsule arrived in to its release: bucket k
  // holds those under 2^k us, the last one the rest.
  static constexpr uint32_t kLatencySampleEvery = 16;
  static constexpr size_t kLatencyBuckets = 24;
  std::atomic<uint64_t> latency[kLatencyBuckets] = {};
  std::atomic<uint64_t> latency_sum_ns{0};
  // Failed commands by status (SCT << 8 | SC): the first kErrorKinds codes
  // seen get a count each, the rest count as other.
  static constexpr size_t kErrorKinds = 8;
  std::atomic<uint16_t> error_code[kErrorKinds] = {};
  std::atomic<uint64_t> error_count[kErrorKinds] = {};
  std::atomic<uint64_t> other_errors{0};

  // Adds to a counter of this slot. A slot has one writer, its thread,
  // unless a target runs more threads than there are slots: then it is a
  // locked add (shared_slots, set for good once that happens). The single
  // writer's load and store cost next to nothing; a lock'ed add ~5 ns.
  static inline std::atomic<bool> shared_slots{false};
  static void Add(std::atomic<uint64_t>& c, uint64_t v) {
    if (shared_slots.load(std::memory_order_relaxed)) {
      c.fetch_add(v, std::memory_order_relaxed);
    } else {
      c.store(c.load(std::memory_order_relaxed) + v,
              std::memory_order_relaxed);
    }
  }

  // Bucket k holds latencies under 2^k us; the last one the rest.
  static size_t LatencyBucket(uint64_t ns) {
    return std::min<size_t>(std::bit_width(ns / 1000), kLatencyBuckets - 1);
  }
  void RecordLatency(uint64_t ns) {
    Add(latency[LatencyBucket(ns)], 1);
    Add(latency_sum_ns, ns);
  }
  void RecordError(uint16_t code) {
    for (size_t i = 0; i < kErrorKinds; ++i) {
      uint16_t seen = error_code[i].load(std::memory_order_relaxed);
      if (seen == 0 &&
          error_code[i].compare_exchange_strong(seen, code,
                                                std::memory_order_relaxed)) {
        seen = code;
      }
      if (seen == code) {
        error_count[i].fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    other_errors.fetch_add(1, std::memory_order_relaxed);
  }
};
inline constexpr size_t kCounterSlots = 64;

struct Namespace {
  // A namespace over `backend`: its block size, size, write protection and
  // capabilities come from the backend; identifiers are left zero.
  static std::shared_ptr<Namespace> Create(uint32_t nsid,
                                           std::shared_ptr<Backend> backend) {
    auto ns = std::make_shared<Namespace>();
    ns->nsid = nsid;
    ns->block_size = backend->block_size();
    ns->lbads = static_cast<uint8_t>(std::countr_zero(ns->block_size));
    ns->set_num_blocks(backend->num_blocks());
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

  // The size in blocks: read per command; a resize grows it after the
  // backend has grown.
  uint64_t num_blocks() const {
    return num_blocks_.load(std::memory_order_acquire);
  }
  void set_num_blocks(uint64_t n) const {
    num_blocks_.store(n, std::memory_order_release);
  }

  uint32_t nsid = 0;
  // Shared with the target's named backends (bdevs), when it is one.
  std::shared_ptr<Backend> backend;
  std::string backend_name;  // the bdev's name; empty: an inline backend
  // What an inline backend was made from (a config or the control plane),
  // so that the running state can be saved; none for one added in code.
  std::optional<BackendConfig> inline_config;
  uint32_t block_size = 512;
  uint8_t lbads = 9;  // log2(block_size)
  bool read_only = false;
  BackendCapabilities caps;  // the backend's, read once
  std::array<uint8_t, 16> uuid{};
  std::array<uint8_t, 16> nguid{};
  std::array<uint8_t, 8> eui64{};

 private:
  mutable std::atomic<uint64_t> num_blocks_{0};
  std::unique_ptr<IoCounters[]> counters_ =
      std::make_unique<IoCounters[]>(kCounterSlots);
};

// A subsystem's namespaces at one moment: never changed once published.
struct NamespaceTable {
  std::map<uint32_t, std::shared_ptr<Namespace>> by_nsid;

  // Null if there is no such (active) namespace.
  const Namespace* Find(uint32_t nsid) const {
    auto it = by_nsid.find(nsid);
    return it == by_nsid.end() ? nullptr : it->second.get();
  }
  // The highest NSID.
  uint32_t max_nsid() const {
    return by_nsid.empty() ? 0 : by_nsid.rbegin()->first;
  }
};

// An allowed host of a subsystem: its DH-HMAC-CHAP secrets, by the names
// of the keyring's keys (empty: none) and as loaded when the host was added
// (a key removed from the keyring later stays with the hosts that use it,
// as in SPDK). With a host key, every queue of the host authenticates; with
// a controller key too, the host may ask for bidirectional authentication.
struct HostEntry {
  std::string dhchap_key;        // key name
  std::string dhchap_ctrlr_key;  // key name
  std::shared_ptr<const auth::DhchapKey> host_key;
  std::shared_ptr<const auth::DhchapKey> ctrl_key;
  std::string psk;  // key name: the host connects over TLS with it
  std::shared_ptr<const auth::TlsKey> tls_key;
  bool tls_compat = false;  // the key's pre-libnvme-1.16 derivation
};

enum class SubsystemType : uint8_t { kNvm, kDiscovery };

class Subsystem {
 public:
  Subsystem(std::string nqn, SubsystemType type)
      : nqn_(std::move(nqn)),
        type_(type),
        table_(std::make_shared<NamespaceTable>()) {}

  const std::string& nqn() const { return nqn_; }
  SubsystemType type() const { return type_; }
  bool is_discovery() const { return type_ == SubsystemType::kDiscovery; }

  // Set before the subsystem is published to the target; fixed after.
  std::string serial = "nvmeof";
  std::string model = "nvmeof";
  // Identify Controller NN: NSIDs 1..max_namespaces may be used (SPDK's
  // max_namespaces; Linux nvmet reports 1024). Fixed, so that a namespace
  // added later is within what the host already read.
  static constexpr uint32_t kDefaultMaxNamespaces = 1024;
  uint32_t max_namespaces = kDefaultMaxNamespaces;
  uint16_t min_cntlid = 1;
  uint16_t max_cntlid = 0xFFEF;

  // ---- hosts: any thread ----
  bool HostAllowed(const std::string& hostnqn) const {
    std::lock_guard<std::mutex> lock(mu_);
    return allow_any_host_ || hosts_.count(hostnqn) != 0;
  }
  bool allow_any_host() const {
    std::lock_guard<std::mutex> lock(mu_);
    return allow_any_host_;
  }
  // The allowed hosts' NQNs.
  std::set<std::string> hosts() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> out;
    for (const auto& h : hosts_) out.insert(h.first);
    return out;
  }
  // The entry of an allowed host (its DH-HMAC-CHAP keys), if it has one.
  std::optional<HostEntry> FindHost(const std::string& hostnqn) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hosts_.find(hostnqn);
    if (it == hosts_.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, HostEntry> host_entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hosts_;
  }
  void set_allow_any_host(bool allow) {
    std::lock_guard<std::mutex> lock(mu_);
    allow_any_host_ = allow;
  }
  // False if it was there already (AddHost) or not there (RemoveHost).
  bool AddHost(const std::string& hostnqn, HostEntry entry = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    return hosts_.emplace(hostnqn, std::move(entry)).second;
  }
  // Replaces the keys of a host that is there (false if it is not).
  bool SetHostKeys(const std::string& hostnqn, HostEntry entry) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hosts_.find(hostnqn);
    if (it == hosts_.end()) return false;
    it->second = std::move(entry);
    return true;
  }
  bool RemoveHost(const std::string& hostnqn) {
    std::lock_guard<std::mutex> lock(mu_);
    return hosts_.erase(hostnqn) != 0;
  }

  // ---- namespaces ----
  // The current table (any thread; takes the mutex: not per command).
  std::shared_ptr<const NamespaceTable> namespaces() const {
    std::lock_guard<std::mutex> lock(mu_);
    return table_;
  }
  // Moves on every change of the table (any thread, lock-free).
  uint64_t namespace_version() const {
    return version_.load(std::memory_order_acquire);
  }
  // Convenience for the control path and tests: the current table's.
  const Namespace* FindNamespace(uint32_t nsid) const {
    return namespaces()->Find(nsid);
  }
  uint32_t max_nsid() const { return namespaces()->max_nsid(); }

  // Publish a new table with `ns` added (false: its NSID is taken) or
  // namespace `nsid` removed (null: there was none). Controlling thread.
  bool AddNamespace(std::shared_ptr<Namespace> ns) {
    std::lock_guard<std::mutex> lock(mu_);
    if (table_->by_nsid.count(ns->nsid) != 0) return false;
    auto next = std::make_shared<NamespaceTable>(*table_);
    next->by_nsid[ns->nsid] = std::move(ns);
    Publish(std::move(next));
    return true;
  }
  std::shared_ptr<Namespace> RemoveNamespace(uint32_t nsid) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_->by_nsid.find(nsid);
    if (it == table_->by_nsid.end()) return nullptr;
    std::shared_ptr<Namespace> gone = it->second;
    auto next = std::make_shared<NamespaceTable>(*table_);
    next->by_nsid.erase(nsid);
    Publish(std::move(next));
    return gone;
  }

 private:
  // REQUIRES: mu_ held.
  void Publish(std::shared_ptr<const NamespaceTable> next) {
    table_ = std::move(next);
    version_.fetch_add(1, std::memory_order_acq_rel);
  }

  const std::string nqn_;
  const SubsystemType type_;
  mutable std::mutex mu_;
  bool allow_any_host_ = true;            // guarded by mu_
  std::map<std::string, HostEntry> hosts_;  // guarded by mu_
  std::shared_ptr<const NamespaceTable> table_;  // guarded by mu_
  std::atomic<uint64_t> version_{1};
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

// A listening address of the target and the subsystems it exposes (by
// NQN: a subsystem deleted while a port names it is simply not found).
// The address is fixed once the port listens; the subsystems it exposes
// change at run time (any thread, its own mutex).
struct Port {
  uint16_t id = 1;
  uint8_t trtype = 3;   // TRTYPE: 3 TCP, 254 loopback
  std::string traddr;   // numeric
  std::string trsvcid;  // "4420"
  bool ipv6 = false;
  ListenParams params;

  bool Exposes(const std::string& nqn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& x : nqns_) {
      if (x == nqn) return true;
    }
    return false;
  }
  bool Exposes(const Subsystem* s) const { return Exposes(s->nqn()); }
  // In the order they were exposed.
  std::vector<std::string> subsystems() const {
    std::lock_guard<std::mutex> lock(mu_);
    return nqns_;
  }
  // False if it was exposed already (Expose) or not exposed (Unexpose).
  bool Expose(const std::string& nqn) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& x : nqns_) {
      if (x == nqn) return false;
    }
    nqns_.push_back(nqn);
    return true;
  }
  bool Unexpose(const std::string& nqn) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = nqns_.begin(); it != nqns_.end(); ++it) {
      if (*it == nqn) {
        nqns_.erase(it);
        return true;
      }
    }
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> nqns_;  // guarded by mu_
};

// Another discovery service the discovery log points hosts to (a
// referral: SPDK's nvmf_discovery_add_referral).
struct Referral {
  uint8_t trtype = 3;
  bool ipv6 = false;
  std::string traddr;
  std::string trsvcid;
  // The subsystem it refers to; empty: the discovery subsystem.
  std::string subnqn;
  bool secure_channel = false;

  bool operator==(const Referral&) const = default;
};

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_SUBSYSTEM_H_
