// The controller side of an NVMe/TCP queue pair: ICReq/ICResp, commands
// with in-capsule data, data pulled with R2T/H2CData, data pushed with
// C2HData (SUCCESS when allowed), responses.

#include <algorithm>
#include <cstring>

#include "tcp/tcp_queue_pair.h"

namespace nvmeof::tcp {

namespace {
constexpr uint32_t kCccidOffset = 8;
constexpr uint32_t kTtagOffset = 10;
constexpr uint32_t kAdminIcd = 8192;
}  // namespace

void TcpQueuePair::StartController(
    EventLoop* loop, Fd fd, std::shared_ptr<const ControllerSetup> setup) {
  const ControllerQueuePairParams& p = setup->params;
  auto* qp = new TcpQueuePair(loop, QueuePairRole::kController, std::move(fd),
                              2 * size_t{p.max_queue_size} + 1);
  PduCheckContext& ctx = qp->reader_.context();
  ctx.max_data_len = std::max({kAdminIcd, p.max_io_icd, p.max_h2c_data});
  EventLoop::Clock::duration timeout = p.ic_timeout;
  qp->ctrl_setup_ = std::move(setup);
  qp->state_ = State::kAwaitIc;
  qp->UpdateInterest();
  qp->StartIcTimer(timeout);
}

uint32_t TcpQueuePair::max_icd() const {
  // Until Connect names the queue, the admin limit (Connect's own data is
  // 1024 bytes).
  if (is_admin()) return kAdminIcd;
  return ctrl_limits_.max_io_icd;
}

PduError TcpQueuePair::ControllerOnICReq(const ICReqPdu& req) {
  const ControllerQueuePairParams& p = ctrl_setup_->params;
  const bool hdgst = (req.dgst & kDgstHdgstEnable) && p.allow_header_digest;
  const bool ddgst = (req.dgst & kDgstDdgstEnable) && p.allow_data_digest;
  ctrl_limits_ = p;
  maxr2t_ = req.maxr2t;
  // Our CPDA is 0: Linux hosts refuse anything else.
  ICRespPdu resp = MakeICResp(0, hdgst, ddgst, p.max_h2c_data);
  TxItem* item = tx_.NewItem();
  std::memcpy(item->header, &resp, sizeof(resp));
  item->header_len = sizeof(resp);
  QueueItem(item);
  tx_format_ = PduFormat{hdgst, ddgst, req.hpda};
  PduCheckContext& ctx = reader_.context();
  ctx.initialized = true;
  ctx.hdgst = hdgst;
  ctx.ddgst = ddgst;
  ctx.rx_pda = 0;
  return {};
}

PduReader::Placement TcpQueuePair::ControllerOnHeader(const PduLayout& layout,
                                                      const uint8_t* hdr) {
  switch (layout.type) {
    case PduType::kICReq: {
      ICReqPdu req;
      std::memcpy(&req, hdr, sizeof(req));
      return {ControllerOnICReq(req)};
    }
    case PduType::kCapsuleCmd: {
      CapsuleCmdHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return ControllerOnCommand(layout, h);
    }
    case PduType::kH2CData: {
      H2CDataHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return ControllerOnH2CData(h);
    }
    default:
      return {PduError{Fes::kInvalidHeaderField, 0}};
  }
}

PduReader::Placement TcpQueuePair::ControllerOnCommand(
    const PduLayout& layout, const CapsuleCmdHeader& h) {
  if (layout.data_len > max_icd()) {
    return {PduError{Fes::kDataTransferLimitExceeded, 0}};
  }
  Capsule* raw = TakeFromPool(true);
  if (raw == nullptr) {
    // More commands outstanding than the queue can hold.
    return {PduError{Fes::kDataTransferLimitExceeded, 0}};
  }
  TcpCapsule& cmd = Cast(*raw);
  cmd.mutable_sqe() = h.ccsqe;
  cmd.icd_length_ = layout.data_len;
  cmd.icd_data_ = nullptr;
  cmd.icd_taken_ = 0;
  cmd.icd_digest_error_ = false;
  cmd.request_head_ = cmd.request_count_ = 0;
  rx_capsule_ = &cmd;
  if (layout.data_len == 0) return {};
  if (!cmd.icd_) {
    // Once per capsule: after this the buffer is reused.
    cmd.icd_ = std::make_unique<uint8_t[]>(
        std::max(kAdminIcd, ctrl_limits_.max_io_icd));
  }
  // In place when it all came with the header: the command is delivered
  // (and its data normally taken) while the receive buffer still holds it.
  return {PduError{}, MemDesc(cmd.icd_.get(), layout.data_len), 0, true};
}

PduReader::Placement TcpQueuePair::ControllerOnH2CData(const H2CDataHeader& h) {
  // TTAG is the command's index in the pool; it must name a command that
  // has an R2T outstanding.
  if (h.ttag >= pool_capacity_) {
    return {PduError{Fes::kInvalidHeaderField, kTtagOffset}};
  }
  TcpCapsule& cmd = capsules_[h.ttag];
  if (cmd.refs_in_use() == 0 || !cmd.is_command() || cmd.request_count_ == 0) {
    return {PduError{Fes::kInvalidHeaderField, kTtagOffset}};
  }
  if (h.cccid != cmd.sqe().cid) {
    return {PduError{Fes::kInvalidHeaderField, kCccidOffset}};
  }
  if (h.datal > ctrl_limits_.max_h2c_data) {
    return {PduError{Fes::kDataTransferLimitExceeded, 0}};
  }
  const TcpCapsule::ReceiveRequest& req = cmd.requests_[cmd.request_head_];
  const uint64_t end = uint64_t{h.datao} + h.datal;
  if (h.datao != req.offset + cmd.r2t_received_ ||
      end > uint64_t{req.offset} + req.length) {
    return {PduError{Fes::kDataTransferOutOfRange, 0}};
  }
  const bool last = end == uint64_t{req.offset} + req.length;
  if (((h.ch.flags & kPduFlagLastPdu) != 0) != last) {
    return {PduError{Fes::kPduSequenceError, 0}};
  }
  rx_capsule_ = &cmd;
  return {PduError{}, req.mem, h.datao - req.offset};
}

PduError TcpQueuePair::ControllerOnEnd(bool ddgst_ok) {
  TcpCapsule* cmd = rx_capsule_;
  rx_capsule_ = nullptr;
  switch (rx_type_) {
    case PduType::kICReq:
      SetupDone();
      return {};
    case PduType::kCapsuleCmd: {
      // A digest error fails only this command: Validate() says 0x22.
      cmd->icd_digest_error_ = !ddgst_ok;
      const uint8_t* in_place = reader_.in_place();
      cmd->icd_data_ = in_place != nullptr ? in_place : cmd->icd_.get();
      DeliverCapsule(CapsulePtr(cmd));
      // Delivery usually takes the data straight from the receive buffer
      // into its destination (one copy instead of two). When the command
      // still holds data it has not taken, keep it before the buffer is
      // reused. (The slot may now be a response: only commands have ICD.)
      if (in_place != nullptr && cmd->refs_in_use() != 0 && cmd->is_command() &&
          cmd->icd_data_ == in_place) {
        if (cmd->icd_taken_ < cmd->icd_length_) {
          std::memcpy(cmd->icd_.get(), in_place, cmd->icd_length_);
          cmd->icd_data_ = cmd->icd_.get();
        } else {
          cmd->icd_data_ = nullptr;
        }
      }
      return {};
    }
    case PduType::kH2CData: {
      if (!ddgst_ok) cmd->r2t_digest_error_ = true;
      cmd->r2t_received_ += rx_datal_;
      const TcpCapsule::ReceiveRequest& req =
          cmd->requests_[cmd->request_head_];
      if (cmd->r2t_received_ == req.length) {
        FinishReceiveRequest(
            *cmd, cmd->r2t_digest_error_
                      ? DataLossError("data digest mismatch on H2CData")
                      : Status());
      }
      return {};
    }
    default:
      return {};
  }
}

NvmeStatus TcpQueuePair::DoValidate(const Capsule& c) const {
  if (Cast(c).icd_digest_error_) {
    return GenericStatus(sc::kTransientTransportError);
  }
  return QueuePair::DoValidate(c);
}

void TcpQueuePair::DoReceiveData(Capsule& c, uint32_t offset,
                                 const MemDesc& mem, DataCallback done) {
  TcpCapsule& cmd = Cast(c);
  const uint64_t end = uint64_t{offset} + mem.length();
  if (end > cmd.data_length() || mem.length() == 0) {
    completions_.Post(std::move(done),
                      OutOfRangeError("beyond the command's data"));
    return;
  }
  if (cmd.icd_length_ > 0) {
    if (cmd.icd_digest_error_) {
      completions_.Post(std::move(done), DataLossError("data digest mismatch"));
      return;
    }
    if (cmd.icd_data_ == nullptr) {
      // Taken once, straight from the receive buffer, which has moved on.
      completions_.Post(
          std::move(done),
          FailedPreconditionError("in-capsule data was already received"));
      return;
    }
    mem.CopyIn(0, cmd.icd_data_ + offset, mem.length());
    cmd.icd_taken_ += static_cast<uint32_t>(mem.length());
    completions_.Post(std::move(done), Status());
    return;
  }
  if (state_ != State::kReady) {
    completions_.Post(std::move(done), UnavailableError("connection is down"));
    return;
  }
  if (cmd.request_count_ == TcpCapsule::kMaxReceiveRequests) {
    completions_.Post(
        std::move(done),
        ResourceExhaustedError("too many ReceiveData pieces at once"));
    return;
  }
  int slot = (cmd.request_head_ + cmd.request_count_) %
             TcpCapsule::kMaxReceiveRequests;
  TcpCapsule::ReceiveRequest& req = cmd.requests_[slot];
  req.offset = offset;
  req.length = static_cast<uint32_t>(mem.length());
  req.mem = mem;
  req.done = std::move(done);
  if (++cmd.request_count_ == 1) SendR2T(cmd);
}

// A CapsuleResp PDU; the capsule is held until it is sent.
Status TcpQueuePair::ControllerTransmitResponse(TcpCapsule& rsp) {
  CapsuleRespHeader h = MakeCapsuleResp(rsp.cqe(), tx_format_);
  TxItem* item = BuildItem(
      &h, ComputeLayout(PduType::kCapsuleResp, tx_format_, 0), nullptr, 0);
  rsp.AddRef();
  item->capsule = &rsp;
  QueueItem(item);
  return Status();
}

// One R2T at a time per command, for the request at the head: the host's
// MAXR2T is 0-based and Linux sends 0.
void TcpQueuePair::SendR2T(TcpCapsule& cmd) {
  const TcpCapsule::ReceiveRequest& req = cmd.requests_[cmd.request_head_];
  cmd.r2t_received_ = 0;
  cmd.r2t_digest_error_ = false;
  R2THeader h =
      MakeR2T(cmd.sqe().cid, cmd.index_, req.offset, req.length, tx_format_);
  QueueItem(
      BuildItem(&h, ComputeLayout(PduType::kR2T, tx_format_, 0), nullptr, 0));
}

void TcpQueuePair::FinishReceiveRequest(TcpCapsule& cmd, Status status) {
  TcpCapsule::ReceiveRequest& req = cmd.requests_[cmd.request_head_];
  completions_.Post(req.done.Take(), std::move(status));
  req.mem = MemDesc();
  cmd.request_head_ = static_cast<uint8_t>((cmd.request_head_ + 1) %
                                           TcpCapsule::kMaxReceiveRequests);
  if (--cmd.request_count_ > 0 && state_ == State::kReady) SendR2T(cmd);
}

SendDataResult TcpQueuePair::DoSendData(Capsule& c, uint32_t offset,
                                        const MemDesc& mem, bool may_complete,
                                        DataCallback released) {
  TcpCapsule& cmd = Cast(c);
  const uint64_t end = uint64_t{offset} + mem.length();
  if (end > cmd.data_length() || mem.length() == 0) {
    return {SendDataOutcome::kFailed, GenericStatus(sc::kDataTransferError)};
  }
  if (state_ != State::kReady) {
    return {SendDataOutcome::kFailed,
            GenericStatus(sc::kTransientTransportError)};
  }
  const bool last = end == cmd.data_length();
  const bool success = may_complete && last && sq_flow_control_disabled();
  const uint32_t max_pdu = ctrl_limits_.max_c2h_data;
  size_t done = 0;
  const size_t total = mem.length();
  TxItem* last_item = nullptr;
  while (done < total) {
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(total - done, max_pdu));
    iovec probe[TxItem::kMaxDataIov];
    while (mem.Slice(done, n, probe, TxItem::kMaxDataIov) == 0 && n > 1) n /= 2;
    const bool final_pdu = done + n == total;
    C2HEnd e = !(final_pdu && last) ? C2HEnd::kMore
               : success            ? C2HEnd::kLastWithSuccess
                                    : C2HEnd::kLast;
    C2HDataHeader h = MakeC2HData(
        cmd.sqe().cid, static_cast<uint32_t>(offset + done), n, e, tx_format_);
    TxItem* item = BuildItem(
        &h, ComputeLayout(PduType::kC2HData, tx_format_, n), &mem, done);
    QueueItem(item);
    last_item = item;
    done += n;
  }
  // The last PDU's completion frees the caller's buffer: it is sent last.
  // (Queued items are sent at the end of the turn, so setting it now is
  // in time.)
  if (released) last_item->done = std::move(released);
  return {success ? SendDataOutcome::kCompleted : SendDataOutcome::kQueued,
          kNvmeSuccess};
}

void TcpQueuePair::ControllerCancelAll(const Status& why) {
  for (size_t i = 0; i < pool_capacity_; ++i) {
    TcpCapsule& cmd = capsules_[i];
    while (cmd.request_count_ > 0) {
      TcpCapsule::ReceiveRequest& req = cmd.requests_[cmd.request_head_];
      completions_.Post(req.done.Take(), why);
      req.mem = MemDesc();
      cmd.request_head_ = static_cast<uint8_t>((cmd.request_head_ + 1) %
                                               TcpCapsule::kMaxReceiveRequests);
      --cmd.request_count_;
    }
  }
}

}  // namespace nvmeof::tcp
