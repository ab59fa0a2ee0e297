// ControllerQueue: the controller's side of one queue pair (one connection).
//
// It receives command capsules, turns each into a Request (preallocated,
// one per slot: nothing per command is allocated in steady state), runs it
// (fabrics_cmd.cc, admin_cmd.cc, io_cmd.cc) and completes it with a
// response or, for reads the transport completed with SUCCESS, none.
//
// A queue starts unbound: its first command must be a Fabrics Connect,
// which binds it to a controller as the admin queue (creating the
// controller) or as an I/O queue (joining one by CNTLID). It belongs to one
// loop; it deletes itself once its queue pair has closed.

#ifndef NVMEOF_CONTROLLER_QUEUE_H_
#define NVMEOF_CONTROLLER_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "nvmeof/transport.h"
#include "controller/backend_registry.h"
#include "controller/controller.h"
#include "controller/subsystem.h"

namespace nvmeof::controller {

class Target;
class ControllerQueue;

// One command in progress.
struct Request {
  ControllerQueue* queue = nullptr;
  CapsulePtr cmd;
  uint32_t dw0 = 0;  // the completion's command-specific dword
  // Bounce buffer for admin data and for backends without memory(): grown
  // on demand, then reused by every command of this slot.
  uint8_t* buf = nullptr;
  size_t buf_size = 0;
  // I/O command decode.
  const Namespace* ns = nullptr;
  uint64_t offset = 0;  // bytes
  uint32_t length = 0;  // bytes
  Request* next_free = nullptr;

  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  const Sqe& sqe() const { return cmd->sqe(); }
  // A buffer of at least `n` bytes, 4 KiB aligned (for O_DIRECT). Null if
  // memory ran out.
  uint8_t* Buffer(size_t n);
  ~Request();
};

class ControllerQueue {
 public:
  ControllerQueue(Target* target, EventLoop* loop, const Port* port,
                  std::unique_ptr<QueuePair> qp, uint64_t id);
  ~ControllerQueue();

  uint64_t id() const { return id_; }
  uint16_t qid() const { return qid_; }
  EventLoop& loop() const { return *loop_; }

  // Closes the connection; the queue deletes itself when the queue pair
  // has closed (and, for an admin queue, tears its controller down).
  // Idempotent. Loop thread only.
  void Close();

 private:
  friend struct Request;

  // ---- queue.cc: lifecycle, dispatch, completion ----
  void OnCommand(CapsulePtr capsule);
  void OnError(const Status& status);
  void Dispatch(Request* r);
  // Sends the response (CQE with status, dw0, SQHD) and frees the request.
  void Complete(Request* r, NvmeStatus status);
  // Frees a request whose command completed without a response.
  void Release(Request* r);
  Request* AllocateRequest();
  // Receives the command's whole data into r->Buffer, then calls `next`.
  void ReceiveAll(Request* r, void (*next)(Request*, const Status&));
  // Sends `len` bytes of r->buf as the command's data, then completes.
  void SendAndComplete(Request* r, const uint8_t* data, uint32_t len);
  void SendAndComplete(Request* r, const MemDesc& data);
  void Teardown();

  // ---- fabrics_cmd.cc ----
  void HandleFabrics(Request* r);
  void HandleConnect(Request* r);
  void FinishConnect(Request* r, const Status& data_status);
  void ConnectAdmin(Request* r, const ConnectCommand& c,
                    const ConnectDataFields& d);
  void ConnectIo(Request* r, const ConnectCommand& c,
                 const ConnectDataFields& d);
  void HandlePropertyGet(Request* r);
  void HandlePropertySet(Request* r);

  // ---- admin_cmd.cc ----
  void HandleAdmin(Request* r);
  void HandleIdentify(Request* r);
  void HandleGetLogPage(Request* r);
  void HandleGetFeatures(Request* r);
  void HandleSetFeatures(Request* r);
  void HandleAsyncEventRequest(Request* r);
  // Builds the log page `lid` into `out` (whole); false if unsupported.
  bool BuildLogPage(uint8_t lid, uint8_t lsp, uint32_t nsid,
                    std::vector<uint8_t>& out);
  void BuildDiscoveryLog(std::vector<uint8_t>& out);
  void BuildSmartLog(uint32_t nsid, std::vector<uint8_t>& out);

  // ---- io_cmd.cc ----
  void HandleIo(Request* r);
  // Decodes SLBA/NLB into r->offset/length; checks range and data length.
  NvmeStatus DecodeRange(Request* r);
  void HandleRead(Request* r);
  void HandleWrite(Request* r);
  void HandleFlush(Request* r);
  void HandleWriteZeroes(Request* r);
  void HandleDatasetManagement(Request* r);
  void HandleCompare(Request* r);
  void HandleVerify(Request* r);
  BackendQueue* QueueFor(const Namespace* ns);

  Target* const target_;
  EventLoop* const loop_;
  const Port* const port_;
  std::unique_ptr<QueuePair> qp_;
  const uint64_t id_;

  std::shared_ptr<Controller> ctrl_;  // set by Connect
  bool bound_ = false;
  uint16_t qid_ = 0;
  uint16_t sqsize_ = 0;  // entries (SQSIZE + 1)
  uint16_t sqhd_ = 0;
  bool closing_ = false;
  bool qp_closed_ = false;  // its Close() callback ran
  size_t in_flight_ = 0;

  std::unique_ptr<Request[]>
      requests_;  // fixed: their addresses are handed out
  Request* free_requests_ = nullptr;
  size_t thread_index_ = 0;  // this loop's index: its counter slot
  // Backend queues of this loop, by NSID (opened on first use).
  std::vector<std::pair<const Namespace*, std::unique_ptr<BackendQueue>>>
      backend_queues_;
};

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_QUEUE_H_
