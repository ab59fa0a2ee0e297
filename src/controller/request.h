// Request: one command in progress on a controller queue, and the narrow
// interfaces its handlers see of that queue (CommandQueue) and of the
// target around it (TargetServices).
//
// Command handling is split the way Linux nvmet splits it: one family of
// free functions per command set (fabrics_cmd.h, admin_cmd.h, io_cmd.h),
// each over a Request and its CommandQueue, each parsing a command (every
// field checked, with the NVMe status and the parameter error location the
// Error Information log reports) before executing it. A family knows
// nothing of sockets or of the queue's lifecycle, so it is tested alone
// with a fake CommandQueue (command_test_util.h).

#ifndef NVMEOF_CONTROLLER_REQUEST_H_
#define NVMEOF_CONTROLLER_REQUEST_H_

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "controller/controller.h"
#include "controller/subsystem.h"
#include "nvmeof/transport.h"

namespace nvmeof::auth {
class ControllerAuth;
}  // namespace nvmeof::auth

namespace nvmeof::controller {

class CommandQueue;
// A queue's hold on one NamespaceTable (queue.cc): opaque here.
struct TablePin;

// A request's life, one state at a time; SetState() is the one place that
// changes it, and checks (in debug builds) that the step is allowed:
//
//   kFree -> kParsing                      a command capsule arrived
//   kParsing -> kExecuting                 its fields are valid
//   kParsing | kExecuting -> kFree         completed (a response is sent, or
//                                          the transport completed it)
//   kExecuting -> kAwaitingData            ReceiveData: the host's data
//   kExecuting -> kInBackend               a backend operation
//   kExecuting -> kHeld                    an AER held for an event
//   kAwaitingData | kInBackend | kHeld -> kExecuting   that finished
//   kExecuting -> kSending                 its buffer's data is with the
//                                          transport (SendBufferAndComplete)
//   kSending -> kFree                      the transport let go of it
enum class RequestState : uint8_t {
  kFree,          // in the queue's pool
  kParsing,       // received; its handler checks the command's fields
  kExecuting,     // running its handler (synchronously, on the loop)
  kAwaitingData,  // waiting for the host's data (Capsule::ReceiveData)
  kInBackend,     // waiting for a backend operation to complete
  kHeld,          // an Asynchronous Event Request held by the controller
  kSending,       // answered, or about to be; its buffer is still being sent
};
std::string_view RequestStateName(RequestState state);

// Where in the command a parse error was found (Error Information log,
// Parameter Error Location: the byte of the SQE and the bit in it).
struct ErrorLocation {
  static constexpr uint16_t kNone = 0xFFFF;
  uint16_t value = kNone;
  static constexpr ErrorLocation At(uint16_t sqe_byte, uint8_t bit = 0) {
    return ErrorLocation{static_cast<uint16_t>(sqe_byte | (bit << 8))};
  }
};

// Byte offsets of SQE fields, for ErrorLocation.
inline constexpr uint16_t kSqeOpcode = 0;
inline constexpr uint16_t kSqeFlags = 1;
inline constexpr uint16_t kSqeNsid = 4;
inline constexpr uint16_t kSqeSgl1 = 24;
inline constexpr uint16_t kSqeCdw10 = 40;
inline constexpr uint16_t kSqeCdw11 = 44;
inline constexpr uint16_t kSqeCdw12 = 48;
inline constexpr uint16_t kSqeCdw13 = 52;

struct Request {
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();

  const Sqe& sqe() const { return cmd->sqe(); }
  RequestState state() const { return state_; }
  void SetState(RequestState next);

  // A buffer of at least `n` bytes, 4 KiB aligned (for O_DIRECT), kept and
  // reused by every command of this slot. Null if memory ran out.
  uint8_t* Buffer(size_t n);

  CommandQueue* queue = nullptr;
  CapsulePtr cmd;
  uint32_t dw0 = 0;  // the completion's command-specific dwords
  uint32_t dw1 = 0;
  // A failed command's error location and LBA (Error Information log).
  ErrorLocation error_location;
  uint64_t error_lba = 0;
  // I/O commands, once parsed.
  const Namespace* ns = nullptr;
  uint64_t offset = 0;  // bytes
  uint32_t length = 0;  // bytes
  uint8_t* buf = nullptr;
  size_t buf_size = 0;
  TablePin* pin = nullptr;  // the table `ns` came from (CommandQueue)
  // When its capsule arrived (the start of that turn of the loop), and
  // whether it counts in `ns`'s counters (an I/O command that found its
  // namespace: its status, and for some its latency, recorded when it
  // ends).
  std::chrono::steady_clock::time_point start;
  bool counted = false;
  // A Read (1) or Write (2) that passed its checks, as the namespace's
  // read and write counters count them: its queue's too, when it ends.
  uint8_t rw = 0;
  Request* next = nullptr;  // pool and queues

 private:
  RequestState state_ = RequestState::kFree;
};

// What the discovery log shows a host connected to one port, read at one
// moment.
struct DiscoveryView {
  std::vector<std::shared_ptr<const Subsystem>> subsystems;  // exposed here
  std::vector<Referral> referrals;
  uint64_t genctr = 0;
};

// What a queue's command handlers may use of the target around it.
class TargetServices {
 public:
  virtual std::shared_ptr<const Subsystem> FindSubsystem(
      std::string_view nqn) const = 0;
  // A new controller with a fresh CNTLID, or null when all are in use.
  virtual std::shared_ptr<Controller> CreateController(
      std::shared_ptr<const Subsystem> subsystem, const Port* port,
      std::string hostnqn, std::array<uint8_t, 16> hostid, EventLoop* loop,
      ControllerLimits limits, QueueRef admin_queue) = 0;
  virtual std::shared_ptr<Controller> FindController(uint16_t cntlid) const = 0;
  // What the discovery log of `port` shows.
  virtual DiscoveryView Discovery(const Port& port) const = 0;
  // Whole hours since the target started (SMART's power-on hours).
  virtual uint64_t UptimeHours() const = 0;
  // The DH-HMAC-CHAP transaction a queue of `hostnqn` to `subsystem` must
  // complete; null when none is required (the host has no key).
  virtual std::unique_ptr<auth::ControllerAuth> Authenticator(
      const Subsystem& subsystem, const std::string& hostnqn) const = 0;

 protected:
  ~TargetServices() = default;
};

// What a command handler may use of the queue it runs on. Loop thread only.
class CommandQueue {
 public:
  virtual TargetServices& target() = 0;
  virtual const Port& port() const = 0;
  // This end's address of the connection (the discovery log of a wildcard
  // port reports it).
  virtual TransportAddress local_address() const = 0;
  // Who is at the other end ("127.0.0.1:51234"), for logs.
  virtual std::string peer_name() const = 0;
  // The TLS PSK identity the connection authenticated with; empty for
  // plain TCP.
  virtual std::string tls_identity() const { return {}; }
  // This loop's index, for per-thread counters.
  virtual size_t thread_index() const = 0;

  // Connect binds the queue: to `ctrl` as queue `qid` of `sqsize` entries.
  virtual bool bound() const = 0;
  virtual uint16_t qid() const = 0;
  // REQUIRES: bound().
  virtual Controller& controller() const = 0;
  virtual void Bind(std::shared_ptr<Controller> ctrl, uint16_t qid,
                    uint16_t sqsize, bool sq_flow_control_disabled) = 0;
  // How the controller reaches this queue from another loop.
  virtual QueueRef self_ref() const = 0;

  // DH-HMAC-CHAP. A Connect whose host has a key starts the queue's
  // authentication: until it succeeds only Authentication Send / Receive
  // and Disconnect are served (the rest get Authentication Required), and
  // it must succeed within `timeout` or the queue is closed.
  virtual void RequireAuthentication(std::unique_ptr<auth::ControllerAuth> a,
                                     std::chrono::milliseconds timeout) = 0;
  // A new transaction for a re-authentication (the host's current keys);
  // the queue stays authenticated meanwhile. REQUIRES: a transaction.
  virtual void RenewAuthentication(std::unique_ptr<auth::ControllerAuth> a) = 0;
  // The queue's transaction (null: none was required).
  virtual auth::ControllerAuth* authentication() = 0;
  // No authentication is required, or it succeeded once (a
  // re-authentication in progress does not stop commands).
  virtual bool authenticated() const = 0;
  // The transaction ended (the last message has been queued): success
  // lets every command through; failure ends the queue once its last
  // response has had time to leave.
  virtual void AuthenticationEnded(bool succeeded) = 0;
  // Ends the queue (and, for an admin queue, its association).
  virtual void Close() = 0;

  // Sends the response (status, r.dw0, r.dw1, SQHD) and frees `r`.
  virtual void Complete(Request& r, NvmeStatus status) = 0;
  // Sends the response but keeps `r`, whose buffer the transport still
  // reads; Release() frees it later.
  virtual void Respond(Request& r, NvmeStatus status) = 0;
  // Frees `r`, whose command the transport completed (C2HData SUCCESS) or
  // which ends without a response (an AER cancelled at teardown).
  virtual void Release(Request& r) = 0;
  // The bound controller's namespaces as this queue sees them now. The
  // table (and every namespace and backend in it) stays valid for `r` until
  // `r` is freed, even if namespaces are removed meanwhile.
  // REQUIRES: bound().
  virtual const NamespaceTable& Namespaces(Request& r) = 0;
  // This loop's queue of the namespace's backend (opened on first use), or
  // null if it cannot be opened. `ns` is from Namespaces(r) of a live `r`.
  virtual BackendQueue* BackendFor(const Namespace& ns) = 0;

 protected:
  ~CommandQueue() = default;
};

// ---- helpers every family shares ----

// Completes `r` with `status`, recording `location` for the error log.
void Fail(Request& r, NvmeStatus status, ErrorLocation location = {});
// Receives the command's whole data into r.Buffer (of at least
// `buffer_size` bytes: more room after the data, for the handler), then
// calls `next(r, status)` (status of the transfer).
void ReceiveAll(Request& r, void (*next)(Request&, const Status&),
                size_t buffer_size = 0);
// Sends `data`, memory that outlives `r` (a backend's), as the command's
// data, then completes `r` with success (or lets the transport complete it
// with the data: SUCCESS). `released` (may be empty) runs once the
// transport no longer reads `data`.
void SendAndComplete(Request& r, const MemDesc& data,
                     DataCallback released = nullptr);
// The same for the first `length` bytes of r.buf: `r` (and so its buffer,
// which the next command of the slot reuses) is freed only once the
// transport has sent them, after the response when there is one.
void SendBufferAndComplete(Request& r, uint32_t length);
// The status for a data transfer that failed: a digest error is transient
// (0x22, the host retries), anything else a data transfer error.
NvmeStatus FromDataStatus(const Status& s);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_REQUEST_H_
