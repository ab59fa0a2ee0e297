// The host role of an NVMe/TCP queue pair: ICReq/ICResp, commands with
// in-capsule data, H2CData in answer to R2Ts, C2HData (with SUCCESS) and
// responses.
//
// Per-command state is in HostCapsule, preallocated in the pool; a PDU
// that names a command (R2T, C2HData, CapsuleResp) finds it by CID
// (CidTable).

#ifndef NVMEOF_TCP_TCP_HOST_H_
#define NVMEOF_TCP_TCP_HOST_H_

#include <memory>

#include "io/socket.h"
#include "tcp/cid_table.h"
#include "tcp/tcp_connection.h"

namespace nvmeof::tcp {

// A command's life on the host side; SetState() is the one place that
// changes it (and checks the step in debug builds):
//
//   kIdle -> kInFlight        transmitted: in the CID table
//   kInFlight -> kResponded   its response (or a C2HData SUCCESS) arrived;
//                             data PDUs of it may still be queued
//   kInFlight | kResponded -> kIdle   its last reference went
enum class HostCapsuleState : uint8_t {
  kIdle,       // in the pool, or built by the upper layer, not yet sent
  kInFlight,   // awaiting its response (and, for a transfer, its data)
  kResponded,  // the response is in; the data callback may still be due
};

class HostCapsule final : public Capsule {
 private:
  friend class TcpHostQueuePair;
  void SetState(HostCapsuleState next);

  HostCapsuleState state_ = HostCapsuleState::kIdle;
  uint32_t h2c_queued_ = 0;    // data bytes queued to send (ICD or H2CData)
  uint32_t h2c_sent_ = 0;      // data bytes sent
  uint32_t c2h_received_ = 0;  // data bytes received
  // A C2HData with LAST_PDU came: the transfer is over, even if shorter
  // than the buffer (SPDK answers an Authentication Receive with just the
  // message, not AL bytes).
  bool c2h_last_ = false;
  uint32_t tx_inflight_ = 0;   // queued items that carry its data
  Status data_error_;          // the first data error (a digest mismatch)
};

class TcpHostQueuePair final : public TcpConnection {
 public:
  struct Setup {
    HostQueuePairParams params;
    QueuePairCallbacks callbacks;
    ConnectCallback on_connected;
  };
  // Starts a connection to `address`. The queue pair owns itself until it
  // is handed to on_connected (or deletes itself on failure).
  static void Start(EventLoop* loop, const SocketAddress& address,
                    Setup setup);

  ~TcpHostQueuePair() override;

 protected:
  Status DoTransmit(Capsule& c) override;
  void DoReceiveData(Capsule&, uint32_t, const MemDesc&,
                     DataCallback) override {}
  SendDataResult DoSendData(Capsule&, uint32_t, const MemDesc&, bool,
                            DataCallback) override {
    return {SendDataOutcome::kFailed, GenericStatus(sc::kInternalError)};
  }
  void OnCapsuleFreed(Capsule& c) override;

 private:
  TcpHostQueuePair(EventLoop* loop, std::unique_ptr<ByteStream> stream,
                   std::unique_ptr<Setup> setup);
  static HostCapsule& Cast(Capsule& c) { return static_cast<HostCapsule&>(c); }

  // TcpConnection
  PduReader::Placement OnHeader(const PduLayout& layout,
                                const uint8_t* hdr) override;
  PduError OnEnd(bool ddgst_ok) override;
  void OnCommandDataSent(TxItem& item, const Status& status) override;
  void OnStreamConnected() override;
  bool in_setup() const override { return setup_ != nullptr; }
  void HandOver() override;
  void ReportSetupFailure(Status why) override;
  void CancelAll(const Status& why) override;

  PduError OnICResp(const ICRespPdu& resp);
  PduError OnR2T(const R2THeader& r2t);
  PduReader::Placement OnC2HData(const C2HDataHeader& h);
  PduError OnResponse(const Cqe& cqe);
  void DeliverResponse(const Cqe& cqe);
  void MaybeFinishData(HostCapsule& cmd);
  void QueueH2CData(HostCapsule& cmd, uint16_t ttag, uint32_t offset,
                    uint32_t length);

  std::unique_ptr<Setup> setup_;  // until connected
  std::unique_ptr<HostCapsule[]> capsules_;
  CidTable<HostCapsule> cids_;
  HostCapsule* rx_capsule_ = nullptr;  // the C2HData being received is its
  uint32_t max_icd_ = 0;     // largest write sent in the capsule
  uint32_t maxh2cdata_ = 0;  // from ICResp
  bool asked_hdgst_ = false;
  bool asked_ddgst_ = false;
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_TCP_HOST_H_
