// The controller role of an NVMe/TCP queue pair: ICReq/ICResp, commands
// with in-capsule data, data pulled with R2T/H2CData, data pushed with
// C2HData (SUCCESS when allowed), responses.
//
// Per-command state is in ControllerCapsule, preallocated in the pool; an
// H2CData PDU finds its command by TTAG, the capsule's index in the pool.

#ifndef NVMEOF_TCP_TCP_CONTROLLER_H_
#define NVMEOF_TCP_TCP_CONTROLLER_H_

#include <memory>
#include <vector>

#include "tcp/tcp_connection.h"

namespace nvmeof::tcp {

// A capsule's life on the controller side; SetState() is the one place
// that changes it (and checks the step in debug builds):
//
//   kIdle -> kReceiving        a CapsuleCmd header arrived (its ICD follows)
//   kReceiving -> kDelivered   the whole PDU is in: the upper layer has it
//   kDelivered -> kAwaitingH2C an R2T went out for the next ReceiveData
//   kAwaitingH2C -> kDelivered that request's H2CData all arrived
//   kIdle -> kResponse         a response capsule, queued to send
//   any -> kIdle               its last reference went (back in the pool)
enum class ControllerCapsuleState : uint8_t {
  kIdle,
  kReceiving,
  kDelivered,
  kAwaitingH2C,
  kResponse,
};

class ControllerCapsule final : public Capsule {
 private:
  friend class TcpControllerQueuePair;
  void SetState(ControllerCapsuleState next);

  ControllerCapsuleState state_ = ControllerCapsuleState::kIdle;
  uint16_t index_ = 0;  // position in the pool: the TTAG
  // In-capsule data: allocated on first use, then reused.
  std::unique_ptr<uint8_t[]> icd_;
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

class TcpControllerQueuePair final : public TcpConnection {
 public:
  struct Setup {
    ControllerQueuePairParams params;
    AcceptCallback on_accept;
    // This listener's own limit (params.max_connections).
    std::shared_ptr<ConnectionBudget> port_budget;
  };
  // Takes an accepted connection on `loop` (its thread) and waits for the
  // ICReq. The queue pair owns itself until it is handed to on_accept. It
  // holds one unit of the setup's budgets (taken by the listener) and
  // gives them back when it is destroyed.
  static void Start(EventLoop* loop, std::unique_ptr<ByteStream> stream,
                    std::shared_ptr<const Setup> setup);

  ~TcpControllerQueuePair() override;

 protected:
  Status DoTransmit(Capsule& c) override;
  NvmeStatus DoValidate(const Capsule& c) const override;
  void DoReceiveData(Capsule& c, uint32_t offset, const MemDesc& mem,
                     DataCallback done) override;
  SendDataResult DoSendData(Capsule& c, uint32_t offset, const MemDesc& mem,
                            bool may_complete, DataCallback released) override;
  void OnCapsuleFreed(Capsule& c) override;
  bool GrowPool() override;

 private:
  TcpControllerQueuePair(EventLoop* loop, std::unique_ptr<ByteStream> stream,
                         std::shared_ptr<const Setup> setup);
  static ControllerCapsule& Cast(Capsule& c) {
    return static_cast<ControllerCapsule&>(c);
  }
  static const ControllerCapsule& Cast(const Capsule& c) {
    return static_cast<const ControllerCapsule&>(c);
  }

  // TcpConnection
  PduReader::Placement OnHeader(const PduLayout& layout,
                                const uint8_t* hdr) override;
  PduError OnEnd(bool ddgst_ok) override;
  bool in_setup() const override { return setup_ != nullptr; }
  void HandOver() override;
  void ReportSetupFailure(Status why) override;
  void CancelAll(const Status& why) override;
  void DropPartialPdu() override;

  PduError OnICReq(const ICReqPdu& req);
  PduReader::Placement OnCommand(const PduLayout& layout,
                                 const CapsuleCmdHeader& h);
  PduReader::Placement OnH2CData(const H2CDataHeader& h);
  void EndCommandPdu(ControllerCapsule& cmd, bool ddgst_ok);
  void EndH2CData(ControllerCapsule& cmd, bool ddgst_ok);
  void SendR2T(ControllerCapsule& cmd);
  void FinishReceiveRequest(ControllerCapsule& cmd, Status status);
  // Until Connect names the queue, the admin limit.
  uint32_t max_icd() const;

  std::shared_ptr<const Setup> setup_;  // until accepted
  std::shared_ptr<ConnectionBudget> port_budget_;    // released at the end
  std::shared_ptr<ConnectionBudget> shared_budget_;  // released at the end
  ControllerQueuePairParams limits_;
  // The capsule with TTAG `i` (its index in the pool).
  ControllerCapsule& capsule(size_t i) {
    return chunks_[i / kChunk][i % kChunk];
  }
  // Capsules are made as they are needed, kChunk at a time, up to
  // pool_capacity_: an idle connection holds none, an I/O queue as many as
  // its host keeps busy.
  static constexpr size_t kChunk = 16;
  std::vector<std::unique_ptr<ControllerCapsule[]>> chunks_;
  size_t capsules_made_ = 0;  // capsules made
  const size_t pool_capacity_;
  ControllerCapsule* rx_capsule_ = nullptr;  // the PDU being received is its
  uint32_t maxr2t_ = 0;  // from ICReq (0-based); we keep one R2T per command
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_TCP_CONTROLLER_H_
