// TargetImpl: the NVMe-oF controller side as a whole: subsystems, ports,
// controllers and the I/O threads that serve them (DESIGN.md, "Threads").
//
// N threads each run an EventLoop. Every port's listener runs on thread 0
// and hands each new connection to the next thread in turn, so that a
// host's I/O queues spread over the threads. A connection's queue lives on
// its thread for good; its controller lives on the admin queue's thread.
//
// What the target serves changes while it runs: the control plane (one
// controlling thread at a time: the RPC server, a reload) adds and removes
// subsystems, namespaces, hosts, listeners and referrals. Those tables are
// under mu_, read at Connect and by the discovery log; the I/O path reads
// only a subsystem's namespace table (subsystem.h says how that works
// without a lock). A change reaches the hosts concerned by events posted to
// their controllers' loops: Namespace Attribute Changed, Discovery Log Page
// Change, or the end of their association; nothing else pauses.

#ifndef NVMEOF_CONTROLLER_TARGET_IMPL_H_
#define NVMEOF_CONTROLLER_TARGET_IMPL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/dhchap.h"
#include "auth/tls_psk.h"
#include "controller/controller.h"
#include "controller/queue.h"
#include "controller/subsystem.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/target_config.h"
#include "nvmeof/transport.h"

namespace nvmeof::controller {

// One queue pair as the control plane reports it.
struct QueuePairInfo {
  uint16_t cntlid = 0;
  uint16_t qid = 0;
  size_t thread = 0;
  std::string subnqn;
  std::string hostnqn;
  std::string peer;             // "127.0.0.1:51234"
  TransportAddress local;       // this end of the connection
  std::shared_ptr<const Port> port;
  // Its I/O since the connection was made (ControllerQueue::IoStats).
  uint64_t read_commands = 0, write_commands = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
  uint64_t errors = 0;
  // All of it: sampled latencies, failures by status (ControllerQueue).
  ControllerQueue::IoStats io;
  size_t in_flight = 0;  // commands received and not yet ended
};

// One I/O thread's queue pairs: now and since the start.
struct ThreadStats {
  size_t index = 0;
  uint32_t admin_now = 0, io_now = 0, unbound_now = 0;
  uint64_t admin_total = 0, io_total = 0;
  std::chrono::nanoseconds busy{0};  // EventLoop::busy_time
};

// A backend with a name (SPDK's bdev): made once, then served by at most
// one namespace at a time, which refers to it by name.
struct NamedBackend {
  std::string name;
  BackendConfig config;  // what made it (type, settings, block size)
  std::shared_ptr<Backend> backend;
  std::array<uint8_t, 16> uuid{};
  // The namespace that serves it (empty NQN: none).
  std::string user_nqn;
  uint32_t user_nsid = 0;
};

// A key of the keyring as the control plane reports it (never the secret).
struct KeyInfo {
  std::string name;
  std::string path;
  size_t users = 0;  // host entries that name it
  bool tls = false;  // a TLS PSK (else a DH-HMAC-CHAP secret)
  bool compat = false;
};

// A key file's content: a DH-HMAC-CHAP secret or a TLS PSK, by its prefix.
struct KeyMaterial {
  std::shared_ptr<const auth::DhchapKey> dhchap;
  std::shared_ptr<const auth::TlsKey> tls;
  bool compat = false;  // TLS: the pre-libnvme-1.16 derivation
};
// Reads and parses the key file at `path` (key_file.h's checks).
Result<KeyMaterial> ReadKeyMaterial(const std::string& path,
                                    bool compat = false);

// What DH-HMAC-CHAP may negotiate (empty: anything the host offers, its
// first choice first).
struct DhchapPolicy {
  std::vector<auth::HashId> hashes;
  std::vector<auth::DhGroup> dhgroups;
};

// The policy the config's names give (errors name the bad one), and back.
Result<DhchapPolicy> ToDhchapPolicy(const std::vector<std::string>& digests,
                                    const std::vector<std::string>& dhgroups);
void FromDhchapPolicy(const DhchapPolicy& policy,
                      std::vector<std::string>* digests,
                      std::vector<std::string>* dhgroups);

// One controller as the control plane reports it.
struct ControllerInfo {
  uint16_t cntlid = 0;
  std::string subnqn;
  std::string hostnqn;
  std::array<uint8_t, 16> hostid{};
  uint16_t port_id = 0;
  std::string traddr;
  std::string trsvcid;
  uint32_t io_queues = 0;
};

class TargetImpl final : public QueueRegistry {
 public:
  TargetImpl();
  ~TargetImpl();  // REQUIRES: stopped (or never started)
  TargetImpl(const TargetImpl&) = delete;
  TargetImpl& operator=(const TargetImpl&) = delete;

  // ---- what it serves: before Start() or while it runs, from one
  // controlling thread at a time (not an I/O thread) ----

  // Its NQN must be unique (and not the discovery NQN).
  Status AddSubsystem(std::shared_ptr<Subsystem> subsystem);
  // Ends every association of the subsystem, stops exposing it; its
  // namespaces go once no command uses them.
  Status DeleteSubsystem(std::string_view nqn);
  // A subsystem (null if there is none). Its namespaces and hosts change
  // only through the calls below, which tell the hosts.
  std::shared_ptr<Subsystem> GetSubsystem(std::string_view nqn) const;
  // Every NVM subsystem, in the order they were added.
  std::vector<std::shared_ptr<Subsystem>> subsystems() const;

  // Namespace `ns->nsid` of subsystem `nqn`: every controller of it hears
  // of the change (Namespace Attribute Changed, Changed Namespace List).
  Status AddNamespace(std::string_view nqn, std::shared_ptr<Namespace> ns);
  // Commands already using it run to their end; new ones see no such
  // namespace.
  Status RemoveNamespace(std::string_view nqn, uint32_t nsid);
  // The namespace's size changed (its backend grew): tells the hosts.
  Status NamespaceResized(std::string_view nqn, uint32_t nsid);

  // Hosts (target_hosts.cc). Removing one (or closing the subsystem to
  // hosts not listed) ends the associations that are no longer allowed.
  // A host's DH-HMAC-CHAP keys are named keys of the keyring.
  Status AddHost(std::string_view nqn, const HostConfig& host);
  Status AddHost(std::string_view nqn, const std::string& hostnqn) {
    return AddHost(nqn, HostConfig{hostnqn});
  }
  // New keys for a host that is allowed (the keyring's current ones): its
  // next queues (and re-authentications) use them.
  Status SetHostKeys(std::string_view nqn, const HostConfig& host);
  Status RemoveHost(std::string_view nqn, const std::string& hostnqn);
  Status SetAllowAnyHost(std::string_view nqn, bool allow);

  // The keyring: DH-HMAC-CHAP secrets by name, each read from a file that
  // only its owner may read (SPDK's keyring_file_add_key). SetKey puts a
  // key read already (a reload: rotated or moved) in place of the one of
  // that name, or adds it; hosts take it when their keys are set again.
  Status AddKey(const std::string& name, const std::string& path,
                bool compat = false);
  void SetKey(const std::string& name, const std::string& path,
              KeyMaterial key);
  Status RemoveKey(std::string_view name);
  std::vector<KeyInfo> keys() const;
  // The hashes and DH groups hosts may negotiate (SPDK's nvmf_set_config
  // --dhchap-digests / --dhchap-dhgroups), in order of preference.
  void SetDhchapPolicy(DhchapPolicy policy);
  DhchapPolicy dhchap_policy() const;
  // A host entry with the keyring's keys of the names `host` gives (for a
  // subsystem not yet added).
  Result<HostEntry> ResolveHost(const HostConfig& host) const;

  // Ports. `subsystems`: NQNs to expose (empty: every subsystem there is
  // now, or, without `all_when_empty`, none). The discovery service is
  // served on every port. While running, the port listens before this
  // returns.
  Status AddPort(uint16_t id, TransportType trtype, const std::string& traddr,
                 const std::string& trsvcid,
                 const std::vector<std::string>& subsystems,
                 const ListenParams& params, bool all_when_empty = true);
  // A listener of subsystem `nqn` (the discovery NQN: the discovery
  // service alone) on an address: the port is opened with `params` if no
  // port listens there yet. Fails if it is there already.
  Status AddListener(std::string_view nqn, TransportType trtype,
                     const std::string& traddr, const std::string& trsvcid,
                     const ListenParams& params);
  // Ends the subsystem's associations made through that port; a port that
  // then exposes nothing (and was not configured for discovery) closes.
  Status RemoveListener(std::string_view nqn, TransportType trtype,
                        const std::string& traddr, const std::string& trsvcid);
  // Closes port `id` and ends every association made through it.
  Status RemovePort(uint16_t id);
  // An ID no port has (the highest so far, plus one).
  uint16_t NextPortId() const {
    std::lock_guard<std::mutex> lock(mu_);
    return next_port_id_;
  }
  // The ports, in the order they were added.
  std::vector<std::shared_ptr<const Port>> ports() const;

  // Named backends (bdevs), in the order they were made.
  Status AddBackend(NamedBackend backend);
  // Removes namespaces that serve it first (as SPDK does when a bdev goes).
  Status DeleteBackend(std::string_view name);
  std::vector<NamedBackend> backends() const;
  Result<NamedBackend> GetBackend(std::string_view name) const;
  // Namespace `nsid` of `nqn` over backend `name`: it must not serve
  // another namespace.
  Status AddNamespaceFromBackend(std::string_view nqn, std::string_view name,
                                 std::shared_ptr<Namespace> ns_template);
  // Grows backend `name` to `new_size` bytes; the namespace that serves it
  // shows the new size and its hosts are told.
  Status GrowBackend(std::string_view name, uint64_t new_size);
  // The same for the inline backend of namespace `nsid` of `nqn`.
  Status GrowNamespace(std::string_view nqn, uint32_t nsid, uint64_t new_size);

  // Referrals in the discovery log. Adding one twice is not an error
  // (SPDK's behaviour); removing one that is not there is.
  Status AddReferral(const Referral& referral);
  Status RemoveReferral(const Referral& referral);
  std::vector<Referral> referrals() const;

  // The associations now, in CNTLID order (`nqn` empty: all).
  std::vector<ControllerInfo> Controllers(std::string_view nqn = {}) const;
  // The bound queue pairs now (`nqn` empty: all), by CNTLID then QID.
  std::vector<QueuePairInfo> QueuePairs(std::string_view nqn = {});
  std::vector<ThreadStats> ThreadStatistics();

  // Connections all ports keep at once (0: no limit). Before Start().
  void set_max_connections(int n) {
    connections_ = n > 0 ? std::make_shared<ConnectionBudget>(n) : nullptr;
  }

  // ---- running ----

  // Starts `threads` I/O threads (0: the number of cores) and listens on
  // every port. With `cpus`, thread i runs on cpus[i % cpus.size()]; with
  // `busy_poll`, the threads never sleep; with `poll_idle`, a thread that
  // found work keeps polling that long before it sleeps again
  // (EventLoop::set_poll_idle). On failure nothing is left running.
  Status Start(int threads, const std::vector<int>& cpus = {},
               bool busy_poll = false,
               std::chrono::microseconds poll_idle = {});
  bool started() const { return started_; }
  // The addresses actually bound (a port "0" resolved), in AddPort order.
  std::vector<TransportAddress> listen_addresses() const;
  // Stops accepting, closes every connection (in-flight commands fail with
  // the connection), flushes the backends, joins the threads. Blocks.
  // Idempotent; not from an I/O thread.
  void Stop();

  // ---- TargetServices, QueueRegistry: used by the queues, any thread ----
  std::shared_ptr<const Subsystem> FindSubsystem(
      std::string_view nqn) const override;
  DiscoveryView Discovery(const Port& port) const override;
  // The discovery log's generation counter: a hash of what the log shows
  // (ports, subsystems, hosts, referrals), so it changes whenever that
  // does, and is the same across restarts with the same configuration.
  uint64_t discovery_genctr() const;
  std::shared_ptr<Controller> CreateController(
      std::shared_ptr<const Subsystem> subsystem, const Port* port,
      std::string hostnqn, std::array<uint8_t, 16> hostid, EventLoop* loop,
      ControllerLimits limits, QueueRef admin_queue) override;
  std::shared_ptr<Controller> FindController(uint16_t cntlid) const override;
  void RemoveController(uint16_t cntlid) override;
  void CloseQueue(QueueRef ref) override;
  void QueueBound(EventLoop* loop, uint16_t qid) override;
  // Whole hours since Start() (SMART's power-on hours).
  uint64_t UptimeHours() const override;
  std::unique_ptr<auth::ControllerAuth> Authenticator(
      const Subsystem& subsystem, const std::string& hostnqn) const override;
  // The TLS PSK for an identity a host offers on `port` (its listener's
  // lookup): the host's key on the subsystem the identity names (for the
  // discovery NQN, its key on any subsystem). Errors say why, never a key.
  Result<TlsPsk> FindTlsPsk(const Port& port, std::string_view identity) const;
  // Loop thread only.
  size_t RegisterQueue(EventLoop* loop, ControllerQueue* q) override;
  void UnregisterQueue(EventLoop* loop, uint64_t id) override;

  const Subsystem& discovery() const { return *discovery_; }
  uint64_t NextQueueId() { return next_queue_id_.fetch_add(1) + 1; }
  size_t thread_count() const { return threads_.size(); }

 private:
  struct IoThread {
    std::unique_ptr<EventLoop> owned;  // null for a foreign loop
    EventLoop* loop = nullptr;
    std::thread thread;
    // This loop's queues, by id: touched only on this loop.
    std::unordered_map<uint64_t, ControllerQueue*> queues;
    uint64_t admin_total = 0, io_total = 0;  // this loop only
  };
  struct PortState {
    std::shared_ptr<Port> port;
    TransportType trtype = TransportType::kTcp;
    // Configured (AddPort) rather than made by a listener: it stays open
    // for discovery when it exposes nothing.
    bool keep = false;
    std::unique_ptr<Listener> listener;  // thread 0's loop
  };

  struct KeyEntry {
    std::string name;
    std::string path;
    KeyMaterial key;
  };
  // REQUIRES: mu_ held.
  const KeyEntry* FindKeyLocked(std::string_view name) const;
  IoThread* ThreadOf(EventLoop* loop) const;
  void OnAccept(std::shared_ptr<const Port> port,
                std::unique_ptr<QueuePair> qp);
  EventLoop* NextLoop();
  // REQUIRES: mu_ held.
  uint64_t ComputeGenctrLocked() const;
  PortState* FindPortLocked(uint8_t trtype, const std::string& traddr,
                            const std::string& trsvcid);
  std::shared_ptr<Subsystem> FindNvmLocked(std::string_view nqn) const;
  // Listens on `ps` (thread 0's loop; started targets only).
  Status Listen(PortState& ps);
  // Closes the listener of `ps` and every queue on its port.
  void ClosePort(PortState& ps);

  // Runs fn(queue) on every queue of every loop, on its loop; waits.
  void ForEachQueue(const std::function<void(ControllerQueue&)>& fn);
  // Runs fn(thread) on each I/O thread's loop, one after the other; waits.
  void ForEachThread(const std::function<void(IoThread&, size_t)>& fn);
  // Ends the associations of the controllers `pick` selects.
  void EndAssociations(const std::function<bool(const Controller&)>& pick);
  // The controllers of subsystem `nqn` hear of namespace `nsid`; their
  // queues drop a removed namespace as soon as no command uses it.
  void TellNamespaceChanged(std::string_view nqn, uint32_t nsid);
  // Recomputes GENCTR; when it moved, discovery controllers that asked for
  // it get a Discovery Log Page Change event.
  void DiscoveryChanged();

  std::shared_ptr<Subsystem> discovery_;
  std::vector<std::unique_ptr<IoThread>> threads_;  // fixed once started
  // Loops the target does not run that carry queues of its own: the
  // loopback transport puts a connection's controller end on the host's
  // loop. Guarded by mu_; an embedding program closes those hosts (and so
  // these queues) before Stop().
  std::vector<std::unique_ptr<IoThread>> foreign_;
  size_t next_thread_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point start_time_;
  std::atomic<uint64_t> genctr_{1};

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Subsystem>, std::less<>>
      subsystems_;                                              // guarded
  std::vector<std::shared_ptr<Subsystem>> created_;  // guarded; in order
  std::vector<std::unique_ptr<PortState>> ports_;               // guarded
  std::vector<Referral> referrals_;                             // guarded
  std::vector<NamedBackend> backends_;                          // guarded
  std::vector<KeyEntry> keys_;                                  // guarded
  DhchapPolicy dhchap_;                                         // guarded
  std::map<uint16_t, std::shared_ptr<Controller>> controllers_;  // guarded
  uint16_t next_cntlid_ = 1;                                     // guarded
  uint16_t next_port_id_ = 1;                                    // guarded
  std::atomic<uint64_t> next_queue_id_{0};
  std::shared_ptr<ConnectionBudget> connections_;  // shared by every port
};

// The listener limits a port's parameters (of the config) stand for.
ControllerQueuePairParams ToQueuePairParams(const PortParams& params);
// A listener's parameters from a config port's.
ListenParams ToListenParams(const PortParams& params);
// The other way: the PortParams a listener was made with.
PortParams ToPortParams(const ListenParams& params);
// A referral of the config, and back.
Referral ToReferral(const ReferralConfig& config);
ReferralConfig ToReferralConfig(const Referral& referral);

// The running state as a config that ParseConfig reads back (bdevs,
// subsystems with their namespaces and hosts, ports with their limits);
// the rest (threads, log level, limits of the process) is taken from
// `base`. Fails, naming it, for a namespace whose backend was added in
// code (nothing describes it).
Result<TargetConfig> RunningConfig(const TargetImpl& target,
                                   const TargetConfig& base);

// Changes the running target to serve what `wanted` describes, through the
// run-time operations: what did not change keeps running, with its
// connections; a subsystem whose identity changed (serial, model,
// max_namespaces, CNTLID range) is made again, a port that moved is closed
// and opened again, a bdev or inline namespace that only grew is grown.
// Every new backend is opened first, so that one that fails changes
// nothing. Returns what was done, one line per change, for the log; on a
// failure part way (a port that cannot listen), what was done before it
// stays done. Threads, log level and the process's limits are not changed.
Result<std::vector<std::string>> ApplyConfig(TargetImpl& target,
                                             const TargetConfig& base,
                                             const TargetConfig& wanted);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_TARGET_IMPL_H_
