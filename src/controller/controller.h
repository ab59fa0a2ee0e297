// Controller: one per association (the dynamic controller model: every
// admin-queue Connect creates one, with a new CNTLID).
//
// It lives on its admin queue's loop: properties (CC, CSTS), features,
// keep-alive and asynchronous events are touched only there. Its I/O queues
// live on other loops and reach it in two ways only: `ready()` (an atomic
// read, per command) and Attach/DetachIoQueue (under a mutex, at Connect and
// teardown: the control path).

#ifndef NVMEOF_CONTROLLER_CONTROLLER_H_
#define NVMEOF_CONTROLLER_CONTROLLER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nvmeof/event_loop.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/status_codes.h"
#include "nvmeof/transport.h"
#include "controller/subsystem.h"

namespace nvmeof::controller {

// How a controller reaches one of its queues on another loop: posted work
// finds the queue by id in that loop's registry, so a queue that is already
// gone is simply not found.
struct QueueRef {
  EventLoop* loop = nullptr;
  uint64_t id = 0;
};

// Limits the target applies to every controller (from the port's params).
struct ControllerLimits {
  uint16_t max_queue_size = 128;  // MQES + 1
  uint16_t max_io_queues = 64;
  uint32_t io_icd = 8192;  // in-capsule data on I/O queues
  uint8_t mdts = 8;        // 2^8 pages of 4 KiB: 1 MiB
  uint32_t max_transfer() const { return (1u << mdts) * 4096u; }
};

class Controller {
 public:
  Controller(std::shared_ptr<const Subsystem> subsystem, const Port* port,
             uint16_t cntlid, std::string hostnqn,
             std::array<uint8_t, 16> hostid, EventLoop* loop,
             ControllerLimits limits, QueueRef admin_queue = {});
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  uint16_t cntlid() const { return cntlid_; }
  const Subsystem& subsystem() const { return *subsystem_; }
  const Port& port() const { return *port_; }
  const std::string& hostnqn() const { return hostnqn_; }
  const std::array<uint8_t, 16>& hostid() const { return hostid_; }
  const ControllerLimits& limits() const { return limits_; }
  EventLoop& loop() const { return *loop_; }
  // Its admin queue: closing it ends the association. Any thread.
  QueueRef admin_queue() const { return admin_queue_; }

  // CSTS.RDY: commands other than Fabrics are accepted. Any thread.
  bool ready() const { return ready_.load(std::memory_order_acquire); }

  // ---- admin loop only ----

  // Property Get: the value, or Invalid Field for an unknown offset or a
  // width that does not match the property.
  Result<uint64_t> GetProperty(uint32_t ofst, PropertySize size) const;
  NvmeStatus SetProperty(uint32_t ofst, PropertySize size, uint64_t value);

  // The longest keep-alive timeout honoured (1 hour): a larger KATO is
  // taken as this (Get Features reports the value in force).
  static constexpr uint32_t kMaxKatoMs = 3600 * 1000;
  // Keep-alive: KATO in ms (0: none; capped at kMaxKatoMs). Started at admin Connect; any command
  // on the admin queue and Keep Alive restart it; expiry ends the
  // association (`on_expired`).
  void StartKeepAlive(uint32_t kato_ms, std::function<void()> on_expired);
  // Stops the timer for good (the admin queue is going away).
  void StopKeepAlive();
  void Touch();
  uint32_t kato_ms() const { return kato_ms_; }
  void set_kato_ms(uint32_t kato);

  // Features.
  // Read by I/O-queue Connects on other threads. Until the host sets it
  // (Set Features Number of Queues, which the spec says it "should" send
  // first) every queue up to the limit is granted, as Linux nvmet and SPDK
  // grant them.
  uint16_t granted_io_queues() const {
    return granted_io_queues_.load(std::memory_order_acquire);
  }
  void set_granted_io_queues(uint16_t n) {
    granted_io_queues_.store(n, std::memory_order_release);
  }
  uint32_t async_event_config = 0;
  bool volatile_write_cache = true;
  uint16_t temperature_threshold = 0x0157;  // 70 C in kelvin

  // Asynchronous events: Asynchronous Event Requests are held (at most
  // kMaxAers) and completed, one per event, with the event's DW0.
  static constexpr int kMaxAers = 4;
  // Called with the event's DW0, or with nullopt when the AER is cancelled
  // (the admin queue is going away): then no response may be sent.
  using AerCompleter = std::function<void(std::optional<uint32_t> dw0)>;
  // False when kMaxAers are already held.
  bool HoldAer(AerCompleter complete);
  void CancelAers();
  // Completes a held AER now, or queues the event for the next one.
  void PostEvent(uint32_t dw0);
  // A namespace changed: the Changed Namespace List gets it and, when the
  // host enabled the notice, an AER completes (once: the next waits until
  // the host has read the list).
  void NotifyNamespaceChanged(uint32_t nsid);
  // Returns and clears the changed namespaces (Get Log Page 0x04); with
  // `retain` (RAE) the notice stays masked.
  std::vector<uint32_t> TakeChangedNamespaces(bool retain = false);
  // The discovery log changed: an AER completes when the host enabled the
  // notice (AEC bit 31), once until it reads the log again.
  void NotifyDiscoveryChanged();
  // The host read the discovery log (without RAE).
  void DiscoveryLogRead() { discovery_notice_sent_ = false; }
  // The I/O queues attached now. Any thread.
  uint32_t io_queue_count() const;

  // ---- any thread (its own mutex) ----

  // The Error Information log (Get Log Page 0x01): every failed command's
  // entry, newest first, at most kErrorLogEntries kept.
  static constexpr size_t kErrorLogEntries = 64;
  void RecordError(uint16_t sqid, uint16_t cid, NvmeStatus status,
                   uint16_t location, uint64_t lba, uint32_t nsid);
  // The entries, newest first, each a 64-byte ErrorInformationEntry.
  std::vector<ErrorInformationEntry> ErrorLog() const;

  // ---- any thread (mutex) ----

  // Records I/O queue `qid`. Fails with the Connect status to return.
  NvmeStatus AttachIoQueue(uint16_t qid, QueueRef ref,
                           const std::string& hostnqn,
                           const std::array<uint8_t, 16>& hostid);
  void DetachIoQueue(uint16_t qid);
  // The I/O queues still attached, and forgets them (teardown).
  std::vector<QueueRef> TakeIoQueues();

 private:
  void OnKeepAliveExpired();

  const std::shared_ptr<const Subsystem> subsystem_;
  const Port* const port_;
  const uint16_t cntlid_;
  const std::string hostnqn_;
  const std::array<uint8_t, 16> hostid_;
  EventLoop* const loop_;
  const ControllerLimits limits_;
  const QueueRef admin_queue_;

  CcRegister cc_;
  uint8_t shst_ = kCstsShstNormal;
  bool cfs_ = false;
  std::atomic<bool> ready_{false};

  uint32_t kato_ms_ = 0;
  EventLoop::TimerId kato_timer_ = 0;
  std::function<void()> on_kato_expired_;

  std::atomic<uint16_t> granted_io_queues_;
  std::deque<AerCompleter> aers_;
  std::deque<uint32_t> pending_events_;
  std::vector<uint32_t> changed_namespaces_;
  bool namespace_notice_sent_ = false;  // until the list is read
  bool discovery_notice_sent_ = false;  // until the log is read

  mutable std::mutex mu_;
  std::vector<QueueRef> io_queues_;  // guarded by mu_; index qid

  mutable std::mutex errors_mu_;
  uint64_t error_count_ = 0;                 // guarded by errors_mu_
  std::deque<ErrorInformationEntry> errors_;  // guarded; newest first
};

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_CONTROLLER_H_
