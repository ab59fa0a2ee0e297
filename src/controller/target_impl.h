// TargetImpl: the NVMe-oF controller side as a whole: subsystems, ports,
// controllers and the I/O threads that serve them (DESIGN.md, "Threads").
//
// N threads each run an EventLoop. Every port's listener runs on thread 0
// and hands each new connection to the next thread in turn, so that a
// host's I/O queues spread over the threads. A connection's queue lives on
// its thread for good; its controller lives on the admin queue's thread.
//
// Subsystems and namespaces are built before Start() and never change while
// the target runs, so every thread reads them without locks. The controller
// registry (CNTLID -> controller) is the one shared mutable table; only
// Connect and teardown take its lock.

#ifndef NVMEOF_CONTROLLER_TARGET_IMPL_H_
#define NVMEOF_CONTROLLER_TARGET_IMPL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "nvmeof/event_loop.h"
#include "nvmeof/transport.h"
#include "controller/controller.h"
#include "nvmeof/target_config.h"
#include "controller/queue.h"
#include "controller/subsystem.h"

namespace nvmeof::controller {

class TargetImpl final : public QueueRegistry {
 public:
  TargetImpl();
  ~TargetImpl();  // REQUIRES: stopped (or never started)
  TargetImpl(const TargetImpl&) = delete;
  TargetImpl& operator=(const TargetImpl&) = delete;

  // ---- building, before Start() ----
  // The subsystem takes ownership; its NQN must be unique.
  Status AddSubsystem(std::unique_ptr<Subsystem> subsystem);
  // A subsystem to add namespaces to; null if there is none (or the
  // target has started).
  Subsystem* MutableSubsystem(std::string_view nqn);
  // `subsystems`: NQNs to expose (empty: all). The discovery service is
  // served on every port.
  Status AddPort(uint16_t id, TransportType trtype, const std::string& traddr,
                 const std::string& trsvcid,
                 const std::vector<std::string>& subsystems,
                 const ListenParams& params);

  // Connections all ports keep at once (0: no limit). Before Start().
  void set_max_connections(int n) {
    connections_ = n > 0 ? std::make_shared<ConnectionBudget>(n) : nullptr;
  }

  // Starts `threads` I/O threads (0: the number of cores) and listens on
  // every port. With `cpus`, thread i runs on cpus[i % cpus.size()]; with
  // `busy_poll`, the threads never sleep; with `poll_idle`, a thread that
  // found work keeps polling that long before it sleeps again
  // (EventLoop::set_poll_idle). On failure nothing is left running.
  Status Start(int threads, const std::vector<int>& cpus = {},
               bool busy_poll = false,
               std::chrono::microseconds poll_idle = {});
  // The addresses actually bound (a port "0" resolved), in AddPort order.
  std::vector<TransportAddress> listen_addresses() const;
  // Stops accepting, closes every connection (in-flight commands fail with
  // the connection), flushes the backends, joins the threads. Blocks.
  // Idempotent; not from an I/O thread.
  void Stop();

  // ---- TargetServices, QueueRegistry: used by the queues, any thread ----
  const Subsystem* FindSubsystem(std::string_view nqn) const override;
  const ListenParams& port_params(const Port& port) const override;
  // The discovery log's generation counter: a hash of the configuration
  // the log shows, so it changes whenever that does.
  uint64_t discovery_genctr() const override { return genctr_; }
  std::shared_ptr<Controller> CreateController(
      const Subsystem* subsystem, const Port* port, std::string hostnqn,
      std::array<uint8_t, 16> hostid, EventLoop* loop,
      ControllerLimits limits) override;
  std::shared_ptr<Controller> FindController(uint16_t cntlid) const override;
  void RemoveController(uint16_t cntlid) override;
  void CloseQueue(QueueRef ref) override;
  // Whole hours since Start() (SMART's power-on hours).
  uint64_t UptimeHours() const override;
  // Loop thread only.
  size_t RegisterQueue(EventLoop* loop, ControllerQueue* q) override;
  void UnregisterQueue(EventLoop* loop, uint64_t id) override;

  const Subsystem& discovery() const { return *discovery_; }
  const std::vector<std::unique_ptr<Port>>& ports() const { return ports_; }
  uint64_t NextQueueId() { return next_queue_id_.fetch_add(1) + 1; }
  size_t thread_count() const { return threads_.size(); }

 private:
  struct IoThread {
    std::unique_ptr<EventLoop> owned;  // null for a foreign loop
    EventLoop* loop = nullptr;
    std::thread thread;
    // This loop's queues, by id: touched only on this loop.
    std::unordered_map<uint64_t, ControllerQueue*> queues;
  };
  IoThread* ThreadOf(EventLoop* loop) const;
  void OnAccept(const Port* port, std::unique_ptr<QueuePair> qp);
  EventLoop* NextLoop();
  uint64_t ComputeGenctr() const;

  std::unique_ptr<Subsystem> discovery_;
  std::vector<std::unique_ptr<Subsystem>> subsystems_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<ListenParams> port_params_;  // by index in ports_
  std::vector<TransportType> port_trtypes_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<IoThread>> threads_;  // fixed once started
  // Loops the target does not run that carry queues of its own: the
  // loopback transport puts a connection's controller end on the host's
  // loop. Guarded by mu_; an embedding program closes those hosts (and so
  // these queues) before Stop().
  std::vector<std::unique_ptr<IoThread>> foreign_;
  size_t next_thread_ = 0;
  uint64_t genctr_ = 1;
  bool started_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point start_time_;

  mutable std::mutex mu_;
  std::map<uint16_t, std::shared_ptr<Controller>> controllers_;  // guarded
  uint16_t next_cntlid_ = 1;                                     // guarded
  std::atomic<uint64_t> next_queue_id_{0};
  std::shared_ptr<ConnectionBudget> connections_;  // shared by every port
};

// The listener limits a port's parameters (of the config) stand for.
ControllerQueuePairParams ToQueuePairParams(const PortParams& params);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_TARGET_IMPL_H_
