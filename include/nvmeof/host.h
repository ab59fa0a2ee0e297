// The host (initiator): an association with a remote NVMe-oF controller.
//
// Association::Connect sets up an association the way the Linux host does:
// the admin queue (Fabrics Connect with the host NQN and host ID, dynamic
// CNTLID), CC.EN and CSTS.RDY within CAP.TO, Identify Controller, Number of
// Queues, then the I/O queues (one transport connection each), and a
// keep-alive at KATO / 2. Commands are then submitted asynchronously, with
// blocking wrappers for tools and tests.
//
// Threads: an Association belongs to one EventLoop; every method is called on
// its thread, and every callback runs there, never inside the call that
// submitted the command. The blocking calls run that loop on the calling
// thread until they are done (REQUIRES: the loop is not running anywhere
// else, and the caller is not inside a CompletionCallback, which runs while
// a transport is reading: Defer the blocking work to the loop instead).
//
// Errors: a Completion's `status` is a local or transport failure (the
// command did not complete: connection lost, timeout); otherwise `cqe`
// holds the controller's answer, whose NVMe status may itself be an error.
//
// Authentication: when a queue's Connect response asks for it (ATR), the
// queue runs a DH-HMAC-CHAP transaction (NVMe Base 2.x 8.3.5) with the
// secrets of ConnectOptions before it is used, over Authentication Send /
// Receive, synchronously like the Connect: the admin queue and every I/O
// queue, and again on every reconnect. Nothing of it touches the data path.

#ifndef NVMEOF_HOST_H_
#define NVMEOF_HOST_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmeof/callback.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/intrusive_fifo.h"
#include "nvmeof/pool.h"
#include "nvmeof/mem_desc.h"
#include "nvmeof/proto/identify.h"
#include "nvmeof/proto/nvme.h"
#include "nvmeof/proto/status_codes.h"
#include "nvmeof/status.h"
#include "nvmeof/transport.h"

namespace nvmeof::auth {
struct DhchapKey;
}  // namespace nvmeof::auth

namespace nvmeof::host {

struct ConnectOptions {
  TransportAddress address;
  std::string subnqn;
  // Empty: the machine's default (DefaultHostNqn()).
  std::string hostnqn;
  // All zero: the machine's default (DefaultHostId()).
  std::array<uint8_t, 16> hostid{};
  uint16_t nr_io_queues = 1;  // 0: admin queue only
  uint16_t queue_size = 128;  // I/O queue entries
  uint32_t kato_ms = 5000;    // 0: no keep-alive (discovery)
  bool header_digest = false;
  bool data_digest = false;
  bool disable_sq_flow_control = false;
  // DH-HMAC-CHAP (nvme-cli's --dhchap-secret / --dhchap-ctrl-secret): the
  // host's secret and, for bidirectional authentication, the controller's,
  // each in its representation `DHHC-1:XX:<base64>:`. Used only when a
  // controller asks for authentication; empty: none. Connect fails when
  // one does not parse (the error names the option, never the text).
  std::string dhchap_secret;
  std::string dhchap_ctrl_secret;
  // TLS 1.3 with a PSK (nvme-cli's --tls --tls-key): the configured PSK in
  // its interchange format `NVMeTLSkey-1:XX:<base64>:`; empty: plain TCP.
  // Every queue (and every reconnect) goes over TLS with the identity of
  // `tls_identity_version` (0: "NVMe0R0h <hostnqn> <subnqn>"; 1: with the
  // TP 8018 digest); `tls_compat`: the pre-libnvme-1.16 derivation, for a
  // target that has the key that way.
  std::string tls_key;
  int tls_identity_version = 0;
  bool tls_compat = false;
  std::chrono::milliseconds connect_timeout{10000};
  // A command with no completion after this fails with kDeadlineExceeded.
  std::chrono::milliseconds command_timeout{30000};

  // Failure and reconnect, as the Linux host's options of the same names.
  // When a connection fails the association is torn down and set up again
  // every `reconnect_delay` until it is back or `ctrl_loss_tmo` has passed
  // since the failure (0: never reconnect; negative: forever); then it
  // fails for good.
  std::chrono::milliseconds reconnect_delay{10000};
  std::chrono::milliseconds ctrl_loss_tmo{600000};
  // While reconnecting, I/O waits; after this long it fails instead
  // (negative: never, I/O waits until ctrl_loss_tmo).
  std::chrono::milliseconds fast_io_fail_tmo{-1};
  // I/O in flight when the connection failed: retried on the new
  // association (true), or failed at once with the connection's status.
  // Either way every command completes exactly once.
  bool retry_after_reconnect = true;

  // Asynchronous events (off: the application sends its own AERs): when
  // the controller supports namespace-attribute
  // notices, an Asynchronous Event Request is kept outstanding; on a notice
  // the host reads the Changed Namespace List and the active namespaces and
  // calls this with the active NSIDs (on the loop).
  bool async_events = true;
  std::function<void(const std::vector<uint32_t>& active_nsids)>
      on_namespaces_changed;
};

// The host NQN and host ID nvme-cli would use: /etc/nvme/hostnqn and
// /etc/nvme/hostid when present, else a stable value derived from
// /etc/machine-id (nqn.2014-08.org.nvmexpress:uuid:...).
std::string DefaultHostNqn();
std::array<uint8_t, 16> DefaultHostId();

struct Completion {
  Status status;  // OK: the controller answered, see cqe
  Cqe cqe{};
  // SubmitRw of a split transfer that failed: the bytes of its commands
  // that succeeded (0 otherwise; when ok() all of it moved).
  uint64_t bytes_done = 0;
  NvmeStatus nvme() const { return NvmeStatus::FromCqeStatus(cqe.status); }
  // OK only when both the transport and the controller say so.
  bool ok() const { return status.ok() && nvme().ok(); }
};
using CompletionCallback = Callback<void(Completion)>;

class HostQueue;

class Association {
 public:
  // Connects and sets up the association; runs `loop` until done.
  static Result<std::unique_ptr<Association>> Connect(
      EventLoop& loop, const ConnectOptions& options);
  ~Association();
  Association(const Association&) = delete;
  Association& operator=(const Association&) = delete;

  uint16_t cntlid() const { return cntlid_; }
  const IdentifyController& identify() const { return id_; }
  bool is_discovery() const { return id_.cntrltype == kCntrltypeDiscovery; }
  uint16_t io_queue_count() const {
    return static_cast<uint16_t>(io_queues_.size());
  }
  // Entries of each I/O queue: what was asked, within the controller's
  // MQES.
  uint16_t io_queue_size() const { return io_queue_size_; }
  // The controller's CAP property, as read when the association was made.
  uint64_t cap() const { return cap_; }
  // Largest transfer one command may move (MDTS; 0: no limit).
  uint32_t max_transfer() const { return max_transfer_; }
  EventLoop& loop() const { return *loop_; }
  enum class State { kLive, kReconnecting, kFailed };
  State state() const { return state_; }
  // Why the association is not live (OK while it is).
  const Status& failure() const { return failure_; }
  // How many times the association came back after a failure.
  int reconnects() const { return reconnects_; }

  // ---- asynchronous ----
  // Submits `sqe` (its CID is chosen here) with optional data. `data` is
  // borrowed until `done` runs. Fails at once (through `done`, later) if
  // the queue is full or down.
  void SubmitAdmin(const Sqe& sqe, const MemDesc& data, bool to_controller,
                   CompletionCallback done);
  // qid 1..io_queue_count(). While reconnecting the command waits (see
  // ConnectOptions) and runs on the new association.
  void SubmitIo(uint16_t qid, const Sqe& sqe, const MemDesc& data,
                bool to_controller, CompletionCallback done);

  // Read, Write or Compare (opcode 0x02, 0x01, 0x05) of data.length()
  // bytes at `slba`, split into commands of at most max_transfer() bytes
  // when larger, at most a queue's worth of them in flight (any length
  // works); `done` runs once, with the first failure if any (no command
  // is started after it) and Completion::bytes_done.
  // REQUIRES: data.length() is a multiple of `block_size`, the namespace's.
  void SubmitRw(uint16_t qid, uint8_t opcode, uint32_t nsid, uint64_t slba,
                uint32_t block_size, const MemDesc& data,
                CompletionCallback done);

  // The active NSIDs (Identify CNS 2), as last read.
  const std::vector<uint32_t>& active_namespaces() const {
    return active_nsids_;
  }
  int async_events() const { return async_events_; }

  // ---- blocking (run the loop until the command completes) ----
  Completion AdminSync(const Sqe& sqe, const MemDesc& data = {},
                       bool to_controller = false);
  Completion IoSync(uint16_t qid, const Sqe& sqe, const MemDesc& data = {},
                    bool to_controller = false);
  Result<uint64_t> GetProperty(uint32_t ofst, bool eight_bytes);
  Status SetProperty(uint32_t ofst, uint32_t value);
  // Identify with `cns`, `nsid` and `csi` into 4096 bytes.
  Result<std::vector<uint8_t>> Identify(uint8_t cns, uint32_t nsid,
                                        uint8_t csi = 0);
  // Get Log Page `lid` of `length` bytes from byte `offset`.
  Result<std::vector<uint8_t>> GetLogPage(uint8_t lid, uint32_t nsid,
                                          uint64_t offset, uint32_t length);
  // Get Features `fid` (SEL `sel`: 0 current, 1 default, 2 saved, 3
  // capabilities) and Set Features: the completion's DW0.
  Result<uint32_t> GetFeature(uint8_t fid, uint8_t sel = 0, uint32_t cdw11 = 0);
  Result<uint32_t> SetFeature(uint8_t fid, uint32_t cdw11, uint32_t cdw12 = 0);
  // The whole discovery log page, re-read until its GENCTR is stable.
  Result<std::vector<uint8_t>> ReadDiscoveryLog();

  // Re-authentication (what nvme-cli triggers by writing a controller's
  // dhchap_secret): a new DH-HMAC-CHAP transaction on the admin queue and
  // on every I/O queue, one after the other, with the secrets given to
  // Connect. Blocks. Fails if the association is not live or has no host
  // secret; a failed transaction fails the call with its reason (the
  // controller then usually drops the queue, and the association
  // reconnects as after any failure).
  Status Reauthenticate();
  // The hash and DH group the last successful transaction (on any queue)
  // agreed on ("sha256", "ffdhe2048"...; empty when none ran), and whether
  // the controller proved itself too (bidirectional).
  const std::string& auth_hash() const { return auth_hash_; }
  const std::string& auth_dhgroup() const { return auth_dhgroup_; }
  bool auth_bidirectional() const { return auth_bidirectional_; }

  // Shuts the controller down (CC.SHN, waits for SHST complete), then
  // closes every queue. Blocks. Called by the destructor if not before.
  void Disconnect();

 private:
  Association(EventLoop* loop, ConnectOptions options);
  Status ConnectAdmin();
  Status EnableController();
  Status ConnectIoQueues();
  Result<std::unique_ptr<HostQueue>> ConnectQueue(uint16_t qid, uint16_t size,
                                                  uint32_t kato,
                                                  uint32_t max_icd);
  // DH-HMAC-CHAP on a connected queue (auth.cc).
  Status Authenticate(HostQueue& q, uint16_t qid);
  void StartKeepAlive();
  void OnQueueFailed(Status why);
  Completion Await(HostQueue& q, const Sqe& sqe, const MemDesc& data,
                   bool to_controller);

  // ---- reconnect (reconnect.cc) ----
  // An I/O command the controller tracks, so that it can be resubmitted.
  struct IoRequest {
    uint16_t qid = 1;
    Sqe sqe{};
    MemDesc data;
    bool to_controller = false;
    CompletionCallback done;
    IoRequest* next = nullptr;
  };
  IoRequest* NewRequest();
  void FreeRequest(IoRequest* r);
  void Dispatch(IoRequest* r);
  void OnIoDone(IoRequest* r, Completion c);
  void FailRequest(IoRequest* r, const Status& why);
  void TearDownQueues(const Status& why);
  void ScheduleReconnect();
  void TryReconnect();
  Status Reestablish();
  void FailHeld(const Status& why);

  // ---- asynchronous events (events.cc) ----
  Status EnableAsyncEvents();
  void SubmitAer();
  void OnAer(const Completion& c);
  Status RefreshNamespaces();

  EventLoop* const loop_;
  const ConnectOptions options_;  // without the secrets' text
  // The secrets, parsed once by Connect (null: none).
  std::shared_ptr<const TlsClientParams> tls_;  // null: plain TCP
  std::shared_ptr<const auth::DhchapKey> host_key_;
  std::shared_ptr<const auth::DhchapKey> ctrl_key_;
  uint16_t auth_tid_ = 0;  // the last transaction's T_ID
  std::string auth_hash_;
  std::string auth_dhgroup_;
  bool auth_bidirectional_ = false;
  std::unique_ptr<HostQueue> admin_;
  std::vector<std::unique_ptr<HostQueue>> io_queues_;
  uint16_t cntlid_ = 0;
  IdentifyController id_{};
  uint64_t cap_ = 0;
  uint32_t max_transfer_ = 0;
  uint16_t io_queue_size_ = 0;
  EventLoop::TimerId keep_alive_timer_ = 0;
  Status failure_;
  bool disconnected_ = false;

  State state_ = State::kLive;
  int reconnects_ = 0;
  uint16_t wanted_io_queues_ = 0;
  EventLoop::Clock::time_point lost_at_;
  EventLoop::TimerId reconnect_timer_ = 0;
  EventLoop::TimerId fast_fail_timer_ = 0;
  bool fast_io_failed_ = false;
  // Requests waiting for the association to come back, in order.
  IntrusiveFifo<IoRequest> held_;
  Pool<IoRequest> requests_{0, 256};

  std::vector<uint32_t> active_nsids_;
  bool aer_enabled_ = false;
  int async_events_ = 0;
};

}  // namespace nvmeof::host

#endif  // NVMEOF_HOST_H_
