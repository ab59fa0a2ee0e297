// The transport API: queue pairs and capsules between an NVMe-oF transport
// (TCP, loopback) and its upper layer (a host or a controller).
//
// This is FreeBSD's nvmf_transport (sys/dev/nvmf/nvmf_transport.h) in C++,
// with its semantics kept:
//  - A QueuePair is one submission/completion queue pair of an association,
//    created for a role (host or controller). It has two callbacks: an error
//    callback (a transport failure, or the peer closing) and a receive
//    callback, called for every capsule received.
//  - A Capsule is a command (an SQE) or a response (a CQE), allocated from
//    its queue pair's pool: nothing on the data path allocates.
//  - Host: allocate a command, append its data (MemDesc, direction,
//    completion callback), transmit. Responses arrive through the receive
//    callback; the host matches them to its commands by CID. A command is
//    complete when both its response and its data callback have arrived, in
//    either order.
//  - Controller: commands arrive through the receive callback. Validate the
//    capsule (an NVMe status), read its data length, receive its data (in
//    pieces if wished), send data to the host, allocate a response and
//    transmit it.
//
// Threads: a queue pair belongs to one EventLoop. Every method is called on
// that loop's thread and every callback runs there. A callback never runs
// inside the call that started its operation; it runs later, on the loop.
//
// Errors: methods return Status for local or transport failures. An NVMe
// status (a command that fails) is carried in a CQE, never in a Status.

#ifndef NVMEOF_TRANSPORT_H_
#define NVMEOF_TRANSPORT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nvmeof/callback.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/mem_desc.h"
#include "nvmeof/proto/nvme.h"
#include "nvmeof/proto/status_codes.h"
#include "nvmeof/status.h"
#include "nvmeof/tls.h"

namespace nvmeof {

// TRTYPE values (Fabrics spec, Discovery Log Page Entry); kLoopback is the
// "intra-host" value Linux uses for its loop transport.
enum class TransportType : uint8_t {
  kRdma = 1,
  kFibreChannel = 2,
  kTcp = 3,
  kLoopback = 254,
};

enum class QueuePairRole : uint8_t { kHost, kController };

// Where a transport connects or listens.
struct TransportAddress {
  TransportType trtype = TransportType::kTcp;
  std::string traddr;   // "127.0.0.1", "::1"; for loopback, any name
  std::string trsvcid;  // "4420"; unused by loopback
};

// Host side: what a queue pair connects with.
struct HostQueuePairParams {
  uint16_t qid = 0;            // 0: the admin queue
  uint16_t queue_size = 32;    // entries (SQSIZE + 1); sizes the capsule pool
  bool header_digest = false;  // asked for (TCP)
  bool data_digest = false;    // asked for (TCP)
  // Largest write sent as in-capsule data: 8192 on the admin queue (what
  // Linux uses), IOCCSZ * 16 - 64 on I/O queues. 0 disables it.
  uint32_t max_icd = 8192;
  // How long connecting may take, transport handshake (TCP: ICResp)
  // included.
  std::chrono::milliseconds connect_timeout{10000};
  // TCP: connect over TLS with this identity and PSK (null: plain TCP).
  std::shared_ptr<const TlsClientParams> tls;
};

// Live connections counted against a limit, shared by the listeners that
// take from it (every port of a target). Thread-safe.
class ConnectionBudget {
 public:
  explicit ConnectionBudget(int limit) : limit_(limit) {}  // 0: no limit
  // Counts one more connection; false (nothing counted) at the limit.
  bool TryAcquire() {
    int n = in_use_.load(std::memory_order_relaxed);
    do {
      if (limit_ > 0 && n >= limit_) return false;
    } while (!in_use_.compare_exchange_weak(n, n + 1,
                                            std::memory_order_relaxed));
    return true;
  }
  void Release() { in_use_.fetch_sub(1, std::memory_order_relaxed); }
  int in_use() const { return in_use_.load(std::memory_order_relaxed); }
  int limit() const { return limit_; }

 private:
  const int limit_;
  std::atomic<int> in_use_{0};
};

// Controller side: the limits a listener applies to every queue pair.
struct ControllerQueuePairParams {
  uint16_t max_queue_size = 128;  // the capsule pool holds this many commands
  // In-capsule data accepted on I/O queues (the controller's IOCCSZ * 16 -
  // 64); the admin queue always accepts 8192.
  uint32_t max_io_icd = 8192;
  uint32_t max_h2c_data = 128 * 1024;  // TCP: MAXH2CDATA granted in ICResp
  uint32_t max_c2h_data = 128 * 1024;  // TCP: largest C2HData PDU sent
  bool allow_header_digest = true;     // TCP
  bool allow_data_digest = true;       // TCP
  // TCP: TLS on this listener (null: none).
  std::shared_ptr<const TlsServerParams> tls;
  // How long a new connection may stay silent before the transport
  // handshake (TCP: ICReq) before it is dropped.
  std::chrono::milliseconds ic_timeout{10000};
  // Picks the loop (thread) that will own each new connection; called on
  // the listener's loop. Empty: the listener's loop owns them all.
  std::function<EventLoop*()> choose_loop;
  // Connections this listener keeps at once (0: no limit), and a budget
  // it shares with others (a target's limit for all its ports); one more
  // is accepted and closed at once, and logged.
  int max_connections = 0;
  std::shared_ptr<ConnectionBudget> shared_connections;
};

class QueuePair;
class Capsule;

// Returns a capsule to its queue pair's pool when the last reference goes.
struct CapsuleDeleter {
  void operator()(Capsule* capsule) const;
};
// The upper layer's reference to a capsule. The transport holds references
// of its own while it still needs a capsule, so dropping this one early
// never frees memory the transport uses.
using CapsulePtr = std::unique_ptr<Capsule, CapsuleDeleter>;

// A data transfer's completion: OK, or why it failed (kCancelled: the queue
// pair was closed; kDataLoss: a data digest mismatch; kAborted: the command's
// response arrived before all of its data moved; kUnavailable: the
// connection failed). Never run inside the call that started the transfer.
using DataCallback = Callback<void(Status)>;

// What SendData did (controller).
enum class SendDataOutcome : uint8_t {
  kQueued,     // the data will be sent; transmit the response afterwards
  kCompleted,  // sent with the success flag: the command is complete and
               // no response may be transmitted for it
  kFailed,     // nothing was sent; complete the command with `status`
};
struct [[nodiscard]] SendDataResult {
  SendDataOutcome outcome;
  NvmeStatus status;  // when kFailed
};

class Capsule {
 public:
  Capsule(const Capsule&) = delete;
  Capsule& operator=(const Capsule&) = delete;

  bool is_command() const { return is_command_; }
  QueuePair& qpair() const { return *qpair_; }

  // REQUIRES: is_command().
  const Sqe& sqe() const { return sqe_; }
  // REQUIRES: !is_command().
  const Cqe& cqe() const { return cqe_; }

  // ---- Host ----

  // Attaches the command's data buffer before Transmit. `to_controller`:
  // the host sends `mem` (a write); otherwise the controller fills it (a
  // read). The transport fills the SQE's SGL1. `done` runs once the
  // transfer ended (see DataCallback); `mem` is borrowed until then.
  // REQUIRES: a command capsule of a host queue pair, not transmitted, with
  // no data attached yet.
  void AppendData(const MemDesc& mem, bool to_controller, DataCallback done);

  // ---- Controller ----

  // Checks what the transport knows of a received command: PSDT, the SGL
  // descriptor type and its length against the data received in the
  // capsule. Returns an NVMe status to fail the command with, or success.
  NvmeStatus Validate() const;
  // The command's data length (its SGL1 length).
  uint32_t data_length() const { return sqe_.sgl1.length; }
  // True when the data arrived in the capsule (no R2T needed).
  bool has_in_capsule_data() const { return icd_length_ > 0; }

  // Fetches [offset, offset + mem.length()) of the command's data into
  // `mem`. Callable several times, for pieces of a transfer, each with its
  // own callback; pieces may be outstanding together. `mem` is borrowed
  // until `done` runs. An out-of-range piece fails with kOutOfRange.
  // Fetch each byte once: a transport may hand in-capsule data over
  // straight from its receive buffer while the command is being delivered,
  // and once all of it has been fetched, a second fetch may fail with
  // kFailedPrecondition.
  // REQUIRES: a received command of a controller queue pair.
  void ReceiveData(uint32_t offset, const MemDesc& mem, DataCallback done);

  // Sends [offset, offset + mem.length()) of the command's data to the
  // host. The status is synchronous (see SendDataResult). With
  // `may_complete`, the caller allows the transport to complete the command
  // with the last piece (NVMe/TCP's SUCCESS flag) when the host disabled SQ
  // flow control: do so only when the completion would carry nothing but
  // success. `released` (may be empty) runs when the transport no longer
  // references `mem` (after it sent it, or dropped it with the
  // connection); until then it is borrowed. When SendData fails, nothing
  // was taken and `released` is not run.
  // REQUIRES: a received command of a controller queue pair.
  SendDataResult SendData(uint32_t offset, const MemDesc& mem,
                          bool may_complete, DataCallback released);

 protected:
  Capsule() = default;
  ~Capsule() = default;

 private:
  friend class QueuePair;
  friend struct CapsuleDeleter;

  QueuePair* qpair_ = nullptr;
  bool is_command_ = false;
  uint16_t refs_ = 0;
  Sqe sqe_{};
  Cqe cqe_{};

 protected:
  // Transport-facing state, kept here so that every transport shares it.
  // Host: the data attached to a command.
  MemDesc data_;
  DataCallback data_done_;
  bool data_to_controller_ = false;
  bool has_data_ = false;
  // Controller: in-capsule data received with the command.
  uint32_t icd_length_ = 0;

  Sqe& mutable_sqe() { return sqe_; }
  Cqe& mutable_cqe() { return cqe_; }
  // References held (the upper layer's and the transport's); 0 when the
  // capsule is in the pool.
  uint16_t refs_in_use() const { return refs_; }
  void AddRef() { ++refs_; }
  // Returns the capsule to the pool when this was the last reference.
  void Release();
};

// The callbacks of a queue pair. Both run on the queue pair's loop.
struct QueuePairCallbacks {
  // A transport failure (Status not OK), or the peer closing the connection
  // cleanly (OK). Called at most once. After it, Transmit fails; pending
  // data transfers end when the upper layer calls Close().
  std::function<void(Status)> on_error;
  // Every capsule received: commands on a controller, responses on a host.
  // The callee owns the capsule.
  std::function<void(CapsulePtr)> on_receive;
};

class QueuePair {
 public:
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;
  // REQUIRES: closed (Close()'s callback ran) or never connected, and every
  // capsule released.
  virtual ~QueuePair();

  QueuePairRole role() const { return role_; }
  bool is_host() const { return role_ == QueuePairRole::kHost; }
  uint16_t qid() const { return qid_; }
  bool is_admin() const { return qid_ == 0; }
  EventLoop& loop() const { return *loop_; }
  virtual TransportType transport_type() const = 0;
  // This end's address (TCP: the socket's local address); empty when the
  // transport has none or the connection is gone.
  virtual TransportAddress local_address() const { return {}; }
  // The peer's address, for logs: "127.0.0.1:51234", "[::1]:51234"; the
  // transport's name for one with no address ("loopback").
  virtual std::string peer_name() const { return "loopback"; }
  // The TLS PSK identity the peer authenticated with (TCP over TLS:
  // "NVMe0R01 <hostnqn> <subnqn>"); empty without a secure channel.
  virtual std::string tls_identity() const { return {}; }

  // Sets the callbacks; a controller does it in the accept callback, before
  // any capsule can be received.
  void SetCallbacks(QueuePairCallbacks callbacks) {
    callbacks_ = std::move(callbacks);
  }

  // Host: a command capsule holding `sqe`. Returns null when the pool is
  // exhausted (more commands in flight than the queue size).
  CapsulePtr AllocateCommand(const Sqe& sqe);
  // Controller: a response capsule holding `cqe`. Returns null when the
  // pool is exhausted.
  CapsulePtr AllocateResponse(const Cqe& cqe);

  // Sends a command (host) or a response (controller). The caller keeps its
  // reference; the transport takes one of its own until the capsule is
  // sent. Fails (and sends nothing) once the queue pair has failed or is
  // closing.
  Status Transmit(Capsule& capsule);

  // Controller: the queue number and SQ flow control mode, learned from the
  // Fabrics Connect command that arrived on this queue pair.
  void SetConnected(uint16_t qid, bool sq_flow_control_disabled) {
    qid_ = qid;
    sq_flow_control_disabled_ = sq_flow_control_disabled;
  }
  bool sq_flow_control_disabled() const { return sq_flow_control_disabled_; }

  // Closes the queue pair: pending data callbacks run with kCancelled, the
  // connection goes away (the peer sees a clean close), then `done` runs.
  // No other callback runs after `done`. Call once.
  void Close(std::function<void()> done);

  // Capsules allocated and not yet returned to the pool (for tests: a queue
  // pair whose every command finished has none).
  size_t capsules_in_use() const { return pool_size_ - free_.size(); }

 protected:
  QueuePair(EventLoop* loop, QueuePairRole role, uint16_t qid);

  // Gives the pool its capsules (owned by the transport's queue pair).
  void AddToPool(Capsule* capsule);
  // A free capsule, set up as a command or a response with one reference;
  // null if the pool is empty and GrowPool() adds none.
  Capsule* TakeFromPool(bool is_command);
  // The pool is empty: a transport that allocates its capsules as they are
  // needed adds some (AddToPool) and returns true; false: none may be added.
  virtual bool GrowPool() { return false; }

  // ---- What each transport implements ----
  virtual Status DoTransmit(Capsule& capsule) = 0;
  virtual void DoAppendData(Capsule& capsule) { (void)capsule; }
  virtual NvmeStatus DoValidate(const Capsule& capsule) const;
  virtual void DoReceiveData(Capsule& capsule, uint32_t offset,
                             const MemDesc& mem, DataCallback done) = 0;
  virtual SendDataResult DoSendData(Capsule& capsule, uint32_t offset,
                                    const MemDesc& mem, bool may_complete,
                                    DataCallback released) = 0;
  // Cancels pending transfers (their callbacks with kCancelled, later),
  // tears the connection down, then calls `done` later on the loop.
  virtual void DoClose(std::function<void()> done) = 0;
  // A capsule's last reference went away, before it returns to the pool.
  virtual void OnCapsuleFreed(Capsule& capsule) { (void)capsule; }

  // A transport's own references to a capsule (held while it still needs
  // it, e.g. until its PDU is sent).
  static void AddCapsuleRef(Capsule& c) { c.AddRef(); }
  static void ReleaseCapsule(Capsule& c) { c.Release(); }

  // Reports a failure (or a clean peer close) to the upper layer, once.
  void ReportError(Status status);
  void DeliverCapsule(CapsulePtr capsule) {
    if (callbacks_.on_receive) callbacks_.on_receive(std::move(capsule));
  }
  bool failed() const { return failed_; }
  bool closing() const { return closing_; }

  EventLoop* const loop_;

 private:
  friend class Capsule;
  friend struct CapsuleDeleter;

  const QueuePairRole role_;
  uint16_t qid_;
  bool sq_flow_control_disabled_ = false;
  bool failed_ = false;
  bool closing_ = false;
  QueuePairCallbacks callbacks_;
  std::vector<Capsule*> free_;
  size_t pool_size_ = 0;
};

// Accepts connections for a controller. Destroying it stops listening;
// queue pairs already accepted live on.
class Listener {
 public:
  virtual ~Listener() = default;
  // The address actually bound (a port of "0" resolved).
  virtual TransportAddress address() const = 0;
};

// Called with every new controller queue pair, on the loop it belongs to.
// The callee owns it and must call SetCallbacks before returning.
using AcceptCallback = std::function<void(std::unique_ptr<QueuePair>)>;
// Called once a host queue pair is ready (or failed to connect).
using ConnectCallback = std::function<void(Result<std::unique_ptr<QueuePair>>)>;

// One kind of transport, selected by TransportType.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual TransportType type() const = 0;

  // Host: connects a queue pair to `address` on `loop`. `on_connected` runs
  // later on `loop` with the queue pair, ready for the Fabrics Connect
  // command, or with the reason it could not connect. `callbacks` are the
  // queue pair's from then on.
  virtual void Connect(EventLoop& loop, const TransportAddress& address,
                       const HostQueuePairParams& params,
                       QueuePairCallbacks callbacks,
                       ConnectCallback on_connected) = 0;

  // Controller: listens on `address`; each connection becomes a controller
  // queue pair handed to `on_accept`.
  virtual Result<std::unique_ptr<Listener>> Listen(
      EventLoop& loop, const TransportAddress& address,
      const ControllerQueuePairParams& params, AcceptCallback on_accept) = 0;
};

// The transports of this process, by type. The loopback transport is always
// there; others (TCP) are added by their layer's Register function.
// Thread-safe.
class TransportRegistry {
 public:
  static TransportRegistry& Global();
  // Replaces any transport of the same type.
  void Register(std::unique_ptr<Transport> transport);
  // Null if no transport of that type is registered.
  Transport* Find(TransportType type) const;

 private:
  TransportRegistry();
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Transport>> transports_;
};

// "tcp", "loop", ...; and back.
std::string_view TransportTypeName(TransportType type);
Result<TransportType> ParseTransportType(std::string_view name);

}  // namespace nvmeof

#endif  // NVMEOF_TRANSPORT_H_
