// ControllerQueue: the controller's side of one queue pair (one connection).
//
// It receives command capsules, gives each a Request (preallocated, one per
// slot: nothing per command is allocated in steady state), hands it to the
// family of its command (fabrics_cmd.h, admin_cmd.h, io_cmd.h) and sends its
// completion. It is the CommandQueue those families see.
//
// A queue starts unbound: its first command must be a Fabrics Connect,
// which binds it to a controller as the admin queue (creating the
// controller) or as an I/O queue (joining one by CNTLID); a host with a
// DH-HMAC-CHAP key must then authenticate before anything but the
// authentication commands is served. It belongs to one
// loop; it deletes itself once its queue pair has closed and its last
// request has completed.

#ifndef NVMEOF_CONTROLLER_QUEUE_H_
#define NVMEOF_CONTROLLER_QUEUE_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "auth/dhchap.h"
#include "controller/request.h"
#include "nvmeof/pool.h"
#include "nvmeof/transport.h"

namespace nvmeof::controller {

// What a queue needs of the target besides TargetServices: its registry of
// live queues per loop, and the end of an association.
class QueueRegistry : public TargetServices {
 public:
  // Returns the loop's thread index (for per-thread counters).
  virtual size_t RegisterQueue(EventLoop* loop, class ControllerQueue* q) = 0;
  virtual void UnregisterQueue(EventLoop* loop, uint64_t id) = 0;
  virtual void RemoveController(uint16_t cntlid) = 0;
  // Asks queue `ref` to close, on its loop; nothing if it is gone.
  virtual void CloseQueue(QueueRef ref) = 0;
  // A queue of `loop` was bound by Connect as queue `qid` (statistics).
  virtual void QueueBound(EventLoop* loop, uint16_t qid) = 0;

 protected:
  ~QueueRegistry() = default;
};

class ControllerQueue final : public CommandQueue {
 public:
  ControllerQueue(QueueRegistry* target, EventLoop* loop,
                  std::shared_ptr<const Port> port,
                  std::unique_ptr<QueuePair> qp, uint64_t id);
  ~ControllerQueue();

  uint64_t id() const { return id_; }
  EventLoop& loop() const { return *loop_; }
  // Its controller once bound (null before Connect).
  const Controller* bound_controller() const { return ctrl_.get(); }

  // Closes the connection; the queue deletes itself when the queue pair
  // has closed (and, for an admin queue, tears its controller down).
  // Idempotent. Loop thread only.
  void Close() override;
  // Takes the subsystem's current namespaces now (rather than at the next
  // command), so that removed namespaces and their backends are let go of
  // as soon as no command uses them. Loop thread only.
  void RefreshNamespaces();

  // ---- CommandQueue ----
  TargetServices& target() override { return *target_; }
  const Port& port() const override { return *port_; }
  TransportAddress local_address() const override {
    return qp_->local_address();
  }
  size_t thread_index() const override { return thread_index_; }
  std::string peer_name() const override { return qp_->peer_name(); }
  std::string tls_identity() const override { return qp_->tls_identity(); }
  bool bound() const override { return ctrl_ != nullptr; }
  uint16_t qid() const override { return qid_; }
  Controller& controller() const override { return *ctrl_; }
  void Bind(std::shared_ptr<Controller> ctrl, uint16_t qid, uint16_t sqsize,
            bool sq_flow_control_disabled) override;
  QueueRef self_ref() const override { return QueueRef{loop_, id_}; }
  void RequireAuthentication(std::unique_ptr<auth::ControllerAuth> a,
                             std::chrono::milliseconds timeout) override;
  void RenewAuthentication(std::unique_ptr<auth::ControllerAuth> a) override {
    auth_ = std::move(a);
  }
  auth::ControllerAuth* authentication() override { return auth_.get(); }
  bool authenticated() const override { return authenticated_; }
  void AuthenticationEnded(bool succeeded) override;
  void Complete(Request& r, NvmeStatus status) override;
  void Respond(Request& r, NvmeStatus status) override;
  void Release(Request& r) override;
  const NamespaceTable& Namespaces(Request& r) override;
  BackendQueue* BackendFor(const Namespace& ns) override;

 private:
  void Refresh();
  void Unpin(Request& r);
  // Drops a pin no request uses any more (unless it is the current one).
  void Retire(TablePin* pin);
  // Closes the backend queues of namespaces no longer in the current
  // table. REQUIRES: no retired pin is left (none can still use them).
  void SweepBackendQueues();

  void OnCommand(CapsulePtr capsule);
  void OnError(const Status& status);
  void Dispatch(Request& r);
  void Teardown();
  void CancelTimers();

  QueueRegistry* const target_;
  EventLoop* const loop_;
  const std::shared_ptr<const Port> port_holder_;  // a removed port lives on
  const Port* const port_;
  std::unique_ptr<QueuePair> qp_;
  const uint64_t id_;

  std::shared_ptr<Controller> ctrl_;  // set by Connect
  uint16_t qid_ = 0;
  uint16_t sqsize_ = 0;  // entries (SQSIZE + 1)
  uint16_t sqhd_ = 0;
  // I/O commands to end before the next latency sample (IoCounters).
  uint32_t untimed_ = 0;

 public:
  // This queue's I/O since it was made: read on its loop only (the
  // control plane's QueuePairs), so plain counters.
  struct IoStats {
    uint64_t read_commands = 0, write_commands = 0;
    uint64_t bytes_read = 0, bytes_written = 0;
    uint64_t errors = 0;
    // The same sampled latencies as the namespaces' (IoCounters), and the
    // failures by status: the first kErrorKinds codes, then "other".
    uint64_t latency[IoCounters::kLatencyBuckets] = {};
    uint64_t latency_sum_ns = 0;
    uint16_t error_code[IoCounters::kErrorKinds] = {};
    uint64_t error_count[IoCounters::kErrorKinds] = {};
    uint64_t other_errors = 0;
  };
  const IoStats& io_stats() const { return io_stats_; }
  // Commands received and not yet ended.
  size_t in_flight() const { return requests_.in_use(); }

 private:
  IoStats io_stats_;
  bool closing_ = false;
  bool qp_closed_ = false;  // its Close() callback ran
  size_t thread_index_ = 0;  // this loop's index: its counter slot
  EventLoop::TimerId connect_timer_ = 0;  // until Connect
  EventLoop::TimerId enable_timer_ = 0;   // admin queue: until CC.EN
  EventLoop::TimerId auth_timer_ = 0;     // until authenticated, or closed
  // DH-HMAC-CHAP: the transaction (null: none required), and whether the
  // queue may serve commands other than Authentication Send / Receive.
  std::unique_ptr<auth::ControllerAuth> auth_;
  bool authenticated_ = true;
  bool auth_reported_ = false;  // its failure or timeout is logged

  Pool<Request> requests_;  // up to a queue's worth, and some slack
  // The namespace table commands now use (version `pin_version_`), and how
  // many older ones commands still hold.
  TablePin* pin_ = nullptr;
  uint64_t pin_version_ = 0;
  size_t retired_pins_ = 0;
  // Backend queues of this loop, by namespace (opened on first use).
  std::vector<std::pair<const Namespace*, std::unique_ptr<BackendQueue>>>
      backend_queues_;
};

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_QUEUE_H_
