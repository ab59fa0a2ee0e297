// TcpQueuePair: one NVMe/TCP connection, for either role.
//
// The connection machinery (socket, PduReader, TxQueue, connection setup,
// fatal errors, close) is shared and lives in tcp_queue_pair.cc; what each
// role does with the PDUs it receives lives in tcp_host.cc and
// tcp_controller.cc.
//
// Per-command state is in TcpCapsule, preallocated in the pool: the host
// finds a command by CID (CidTable), the controller by TTAG, which is the
// capsule's index in the pool. Nothing here allocates per I/O.

#ifndef NVMEOF_TCP_TCP_QUEUE_PAIR_H_
#define NVMEOF_TCP_TCP_QUEUE_PAIR_H_

#include <functional>
#include <memory>

#include "io/socket.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/proto/tcp_pdu.h"
#include "nvmeof/transport.h"
#include "tcp/cid_table.h"
#include "tcp/pdu_reader.h"
#include "tcp/tx_queue.h"
#include "nvmeof/callback_queue.h"

namespace nvmeof::tcp {

class TcpQueuePair;

class TcpCapsule final : public Capsule {
 private:
  friend class TcpQueuePair;

  uint16_t index_ = 0;  // position in the pool: the controller's TTAG

  // ---- host command ----
  uint32_t h2c_queued_ = 0;    // data bytes queued to send (ICD or H2CData)
  uint32_t h2c_sent_ = 0;      // data bytes sent
  uint32_t c2h_received_ = 0;  // data bytes received
  uint32_t tx_inflight_ = 0;   // queued items that carry its data
  bool responded_ = false;     // its response (or SUCCESS) arrived
  Status data_error_;          // the first data error (a digest mismatch)

  // ---- controller command ----
  std::unique_ptr<uint8_t[]> icd_;  // in-capsule data, allocated on first use
  // Where the in-capsule data is: icd_, or (during delivery) the receive
  // buffer; null once received and the buffer has moved on.
  const uint8_t* icd_data_ = nullptr;
  uint32_t icd_taken_ = 0;  // bytes of it ReceiveData has copied out
  bool icd_digest_error_ = false;
  // ReceiveData requests, in order; the first has the R2T outstanding.
  struct ReceiveRequest {
    uint32_t offset = 0;
    uint32_t length = 0;
    MemDesc mem;
    DataCallback done;
  };
  static constexpr int kMaxReceiveRequests = 4;
  ReceiveRequest requests_[kMaxReceiveRequests];
  uint8_t request_head_ = 0;
  uint8_t request_count_ = 0;
  uint32_t r2t_received_ = 0;  // bytes of the front request received
  bool r2t_digest_error_ = false;
};

class TcpQueuePair final : public QueuePair,
                           private EventLoop::FdHandler,
                           private PduReader::Handler,
                           private EventLoop::Task {
 public:
  // Setup outcomes: the host's ConnectCallback, the controller's
  // AcceptCallback; each receives the queue pair (ownership) once the
  // ICReq/ICResp exchange is done, or the host an error.
  struct HostSetup {
    HostQueuePairParams params;
    QueuePairCallbacks callbacks;
    ConnectCallback on_connected;
  };
  struct ControllerSetup {
    ControllerQueuePairParams params;
    AcceptCallback on_accept;
  };

  // Starts a host connection to `address`. The queue pair owns itself
  // until it is handed to on_connected (or deletes itself on failure).
  static void StartHost(EventLoop* loop, const SocketAddress& address,
                        HostSetup setup);
  // Takes an accepted socket on `loop` (its thread) and waits for ICReq.
  static void StartController(EventLoop* loop, Fd fd,
                              std::shared_ptr<const ControllerSetup> setup);

  ~TcpQueuePair() override;

  TransportType transport_type() const override { return TransportType::kTcp; }
  TransportAddress local_address() const override;

 protected:
  Status DoTransmit(Capsule& c) override;
  NvmeStatus DoValidate(const Capsule& c) const override;
  void DoReceiveData(Capsule& c, uint32_t offset, const MemDesc& mem,
                     DataCallback done) override;
  SendDataResult DoSendData(Capsule& c, uint32_t offset, const MemDesc& mem,
                            bool may_complete, DataCallback released) override;
  void DoClose(std::function<void()> done) override;

 private:
  enum class State : uint8_t {
    kConnecting,  // host: TCP connect in progress
    kAwaitIc,     // ICReq sent (host) or awaited (controller)
    kReady,
    kTerminating,  // fatal error: TermReq being sent, then the socket closes
    kDown,         // socket closed
  };

  TcpQueuePair(EventLoop* loop, QueuePairRole role, Fd fd, size_t pool_size);
  static TcpCapsule& Cast(Capsule& c) { return static_cast<TcpCapsule&>(c); }
  static const TcpCapsule& Cast(const Capsule& c) {
    return static_cast<const TcpCapsule&>(c);
  }

  // ---- shared (tcp_queue_pair.cc) ----
  void OnFdEvents(uint32_t events) override;
  void Run() override;  // end of turn: flush the send queue
  void OnReadable();
  void Flush();
  void UpdateInterest();
  void QueueItem(TxItem* item);
  // Builds an item for a header (header digest and padding added per the
  // layout) with `data` [offset, offset + layout.data_len) and its digest.
  TxItem* BuildItem(const void* header, const PduLayout& layout,
                    const MemDesc* data, size_t data_offset);
  void CompleteItem(TxItem* item, const Status& status);
  // A protocol error we found: send the TermReq, close, report.
  void Fatal(const PduError& e, std::span<const uint8_t> offending);
  // The connection is gone (peer closed, I/O error, TermReq received).
  void ConnectionLost(Status why);
  void CloseSocket();
  void DropPartialCommand();
  // Ends a termination: the socket closes (after the TermReq and drain).
  void EndTermination();
  void SetupFailed(Status why);
  void SetupDone();
  void StartIcTimer(EventLoop::Clock::duration timeout);
  PduFormat tx_format() const { return tx_format_; }

  // PduReader::Handler: dispatches by role.
  PduReader::Placement OnPduHeader(const PduLayout& layout,
                                   const uint8_t* hdr) override;
  PduError OnPduEnd(bool ddgst_ok) override;

  // ---- host (tcp_host.cc) ----
  void HostSendICReq();
  PduReader::Placement HostOnHeader(const PduLayout& layout,
                                    const uint8_t* hdr);
  PduError HostOnEnd(bool ddgst_ok);
  Status HostTransmit(TcpCapsule& cmd);
  PduError HostOnICResp(const ICRespPdu& resp);
  PduError HostOnR2T(const R2THeader& r2t);
  PduReader::Placement HostOnC2HData(const C2HDataHeader& h);
  PduError HostOnResponse(const Cqe& cqe);
  void HostDeliverResponse(const Cqe& cqe);
  void MaybeFinishHostData(TcpCapsule& cmd);
  void QueueH2CData(TcpCapsule& cmd, uint16_t ttag, uint32_t offset,
                    uint32_t length);
  void HostCancelAll(const Status& why);

  // ---- controller (tcp_controller.cc) ----
  PduReader::Placement ControllerOnHeader(const PduLayout& layout,
                                          const uint8_t* hdr);
  PduError ControllerOnEnd(bool ddgst_ok);
  PduError ControllerOnICReq(const ICReqPdu& req);
  PduReader::Placement ControllerOnCommand(const PduLayout& layout,
                                           const CapsuleCmdHeader& h);
  PduReader::Placement ControllerOnH2CData(const H2CDataHeader& h);
  Status ControllerTransmitResponse(TcpCapsule& rsp);
  void SendR2T(TcpCapsule& cmd);
  void FinishReceiveRequest(TcpCapsule& cmd, Status status);
  void ControllerCancelAll(const Status& why);
  uint32_t max_icd() const;

  Fd fd_;
  State state_;
  uint32_t interest_ = 0;  // epoll events registered; 0: not registered
  PduReader reader_;
  TxQueue tx_;
  CallbackQueue<Status> completions_;
  std::unique_ptr<TcpCapsule[]> capsules_;
  size_t pool_capacity_;
  PduFormat tx_format_;  // how our PDUs are formatted (fixed by IC)
  EventLoop::TimerId ic_timer_ = 0;
  EventLoop::TimerId grace_timer_ = 0;
  TxItem* term_req_item_ = nullptr;  // while Terminating
  bool draining_ = false;    // TermReq sent, write side shut, discarding input
  bool self_owned_ = false;  // failed before being handed over: deletes itself
  Status fatal_status_;

  // What the PDU being received is about (between OnPduHeader and OnPduEnd).
  PduType rx_type_{};
  TcpCapsule* rx_capsule_ = nullptr;
  uint32_t rx_datal_ = 0;
  uint8_t rx_flags_ = 0;

  // Host.
  std::unique_ptr<HostSetup> host_setup_;  // until connected
  CidTable<TcpCapsule> cids_;
  uint32_t max_icd_ = 0;     // largest write sent in the capsule
  uint32_t maxh2cdata_ = 0;  // from ICResp
  bool asked_hdgst_ = false;
  bool asked_ddgst_ = false;

  // Controller.
  std::shared_ptr<const ControllerSetup> ctrl_setup_;  // until accepted
  ControllerQueuePairParams ctrl_limits_;
  uint32_t maxr2t_ = 0;  // from ICReq (0-based); we keep one R2T per command
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_TCP_QUEUE_PAIR_H_
