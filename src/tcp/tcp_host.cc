// The host side of an NVMe/TCP queue pair: ICReq/ICResp, commands with
// in-capsule data, H2CData in answer to R2Ts, C2HData (with SUCCESS) and
// responses.

#include <cstring>

#include "tcp/tcp_queue_pair.h"

namespace nvmeof::tcp {

namespace {
// The header's byte offset of a field, for FEI.
constexpr uint32_t kCccidOffset = 8;
constexpr uint32_t kCqeCidOffset = 8 + 12;
constexpr uint32_t kDgstOffset = 11;
}  // namespace

void TcpQueuePair::StartHost(EventLoop* loop, const SocketAddress& address,
                             HostSetup setup) {
  Result<Fd> fd = StartConnectTcp(address);
  if (!fd.ok()) {
    loop->Defer(
        [cb = std::move(setup.on_connected), s = fd.status()] { cb(s); });
    return;
  }
  const HostQueuePairParams& p = setup.params;
  auto* qp = new TcpQueuePair(loop, QueuePairRole::kHost, std::move(fd).value(),
                              2 * size_t{p.queue_size} + 1);
  qp->SetConnected(p.qid, false);
  qp->max_icd_ = p.max_icd;
  qp->asked_hdgst_ = p.header_digest;
  qp->asked_ddgst_ = p.data_digest;
  qp->reader_.context().max_data_len = 0xFFFFFFFFu;  // bounded per command
  EventLoop::Clock::duration timeout = p.connect_timeout;
  qp->host_setup_ = std::make_unique<HostSetup>(std::move(setup));
  qp->state_ = State::kConnecting;
  qp->UpdateInterest();
  qp->StartIcTimer(timeout);
}

void TcpQueuePair::HostSendICReq() {
  // HPDA 0 and MAXR2T 0, as Linux sends them: one R2T per command at a time.
  ICReqPdu req = MakeICReq(0, asked_hdgst_, asked_ddgst_, 0);
  TxItem* item = tx_.NewItem();
  std::memcpy(item->header, &req, sizeof(req));
  item->header_len = sizeof(req);
  QueueItem(item);
}

PduError TcpQueuePair::HostOnICResp(const ICRespPdu& resp) {
  const bool hdgst = resp.dgst & kDgstHdgstEnable;
  const bool ddgst = resp.dgst & kDgstDdgstEnable;
  if ((hdgst && !asked_hdgst_) || (ddgst && !asked_ddgst_)) {
    // The controller enabled a digest we did not ask for.
    return PduError{Fes::kInvalidHeaderField, kDgstOffset};
  }
  maxh2cdata_ = resp.maxh2cdata;
  tx_format_ = PduFormat{hdgst, ddgst, resp.cpda};
  PduCheckContext& ctx = reader_.context();
  ctx.initialized = true;
  ctx.hdgst = hdgst;
  ctx.ddgst = ddgst;
  ctx.rx_pda = 0;  // the HPDA we sent
  return {};
}

PduReader::Placement TcpQueuePair::HostOnHeader(const PduLayout& layout,
                                                const uint8_t* hdr) {
  switch (layout.type) {
    case PduType::kICResp: {
      ICRespPdu resp;
      std::memcpy(&resp, hdr, sizeof(resp));
      return {HostOnICResp(resp)};
    }
    case PduType::kR2T: {
      R2THeader r2t;
      std::memcpy(&r2t, hdr, sizeof(r2t));
      return {HostOnR2T(r2t)};
    }
    case PduType::kC2HData: {
      C2HDataHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return HostOnC2HData(h);
    }
    case PduType::kCapsuleResp: {
      CapsuleRespHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return {HostOnResponse(h.rccqe)};
    }
    default:
      // The validator lets through only what a host receives.
      return {PduError{Fes::kInvalidHeaderField, 0}};
  }
}

PduError TcpQueuePair::HostOnEnd(bool ddgst_ok) {
  if (rx_type_ == PduType::kICResp) {
    SetupDone();
    return {};
  }
  if (rx_type_ != PduType::kC2HData || rx_capsule_ == nullptr) return {};
  TcpCapsule& cmd = *rx_capsule_;
  rx_capsule_ = nullptr;
  cmd.c2h_received_ += rx_datal_;
  if (!ddgst_ok && cmd.data_error_.ok()) {
    // Only this command fails; the connection stays up.
    cmd.data_error_ = DataLossError("data digest mismatch on C2HData");
  }
  const bool success = rx_flags_ & kPduFlagSuccess;
  const uint16_t cid = cmd.sqe().cid;
  MaybeFinishHostData(cmd);
  if (success) {
    // The controller completed the command with its data: make the
    // completion here (TCP transport, SUCCESS flag).
    Cqe cqe{};
    cqe.cid = cid;
    cqe.sqid = qid();
    return HostOnResponse(cqe);
  }
  return {};
}

Status TcpQueuePair::HostTransmit(TcpCapsule& cmd) {
  Sqe& sqe = cmd.mutable_sqe();
  const uint32_t len =
      cmd.has_data_ ? static_cast<uint32_t>(cmd.data_.length()) : 0;
  iovec probe[TxItem::kMaxDataIov];
  const bool icd = cmd.has_data_ && cmd.data_to_controller_ && len > 0 &&
                   len <= max_icd_ &&
                   cmd.data_.Slice(0, len, probe, TxItem::kMaxDataIov) > 0;
  sqe.flags =
      static_cast<uint8_t>((sqe.flags & ~kSqeFlagsPsdtMask) | kSqeFlagsPsdtSgl);
  sqe.sgl1 = SglDescriptor{};
  sqe.sgl1.length = len;
  sqe.sgl1.type = icd ? kSglIcdType : kSglTransportType;

  if (!cids_.Insert(sqe.cid, &cmd)) {
    return InvalidArgumentError("CID " + std::to_string(sqe.cid) +
                                " is already outstanding on this queue");
  }
  cmd.AddRef();  // held while in the CID table
  cmd.h2c_queued_ = cmd.h2c_sent_ = cmd.c2h_received_ = 0;
  cmd.tx_inflight_ = 0;
  cmd.responded_ = false;
  cmd.data_error_ = Status();

  CapsuleCmdHeader h = MakeCapsuleCmd(sqe, tx_format_, icd ? len : 0);
  const PduLayout layout =
      ComputeLayout(PduType::kCapsuleCmd, tx_format_, icd ? len : 0);
  TxItem* item = BuildItem(&h, layout, icd ? &cmd.data_ : nullptr, 0);
  if (icd) {
    cmd.AddRef();
    item->capsule = &cmd;
    item->host_data = true;
    cmd.h2c_queued_ = len;
    ++cmd.tx_inflight_;
  }
  QueueItem(item);
  if (cmd.has_data_ && len == 0) MaybeFinishHostData(cmd);
  return Status();
}

PduError TcpQueuePair::HostOnR2T(const R2THeader& r2t) {
  TcpCapsule* cmd = cids_.Find(r2t.cccid);
  if (cmd == nullptr || !cmd->has_data_ || !cmd->data_to_controller_ ||
      cmd->responded_) {
    return PduError{Fes::kInvalidHeaderField, kCccidOffset};
  }
  const uint64_t end = uint64_t{r2t.r2to} + r2t.r2tl;
  if (end > cmd->data_length())
    return PduError{Fes::kDataTransferOutOfRange, 0};
  if (r2t.r2to != cmd->h2c_queued_) {
    // Data is asked for in order, once; anything else breaks MAXR2T 0.
    return PduError{Fes::kPduSequenceError, 0};
  }
  QueueH2CData(*cmd, r2t.ttag, r2t.r2to, r2t.r2tl);
  return {};
}

void TcpQueuePair::QueueH2CData(TcpCapsule& cmd, uint16_t ttag, uint32_t offset,
                                uint32_t length) {
  const uint32_t end = offset + length;
  while (offset < end) {
    uint32_t n = std::min(end - offset, maxh2cdata_);
    // A PDU's data must fit the item's iovecs: shorten it if the buffer is
    // too fragmented there.
    iovec probe[TxItem::kMaxDataIov];
    while (cmd.data_.Slice(offset, n, probe, TxItem::kMaxDataIov) == 0 &&
           n > 1) {
      n /= 2;
    }
    const bool last = offset + n == end;
    H2CDataHeader h =
        MakeH2CData(cmd.sqe().cid, ttag, offset, n, last, tx_format_);
    TxItem* item =
        BuildItem(&h, ComputeLayout(PduType::kH2CData, tx_format_, n),
                  &cmd.data_, offset);
    cmd.AddRef();
    item->capsule = &cmd;
    item->host_data = true;
    ++cmd.tx_inflight_;
    QueueItem(item);
    offset += n;
  }
  cmd.h2c_queued_ = end;
}

PduReader::Placement TcpQueuePair::HostOnC2HData(const C2HDataHeader& h) {
  TcpCapsule* cmd = cids_.Find(h.cccid);
  if (cmd == nullptr || !cmd->has_data_ || cmd->data_to_controller_ ||
      cmd->responded_) {
    return {PduError{Fes::kInvalidHeaderField, kCccidOffset}};
  }
  const uint64_t end = uint64_t{h.datao} + h.datal;
  if (end > cmd->data_.length() || end > cmd->data_length() ||
      h.datao != cmd->c2h_received_) {
    return {PduError{Fes::kDataTransferOutOfRange, 0}};
  }
  if ((h.ch.flags & kPduFlagLastPdu) && end != cmd->data_length()) {
    return {PduError{Fes::kPduSequenceError, 0}};
  }
  rx_capsule_ = cmd;
  return {PduError{}, cmd->data_, h.datao};
}

PduError TcpQueuePair::HostOnResponse(const Cqe& cqe) {
  TcpCapsule* cmd = cids_.Erase(cqe.cid);
  if (cmd == nullptr) return PduError{Fes::kInvalidHeaderField, kCqeCidOffset};
  cmd->responded_ = true;
  MaybeFinishHostData(*cmd);
  cmd->Release();  // the CID table's reference
  HostDeliverResponse(cqe);
  return {};
}

void TcpQueuePair::HostDeliverResponse(const Cqe& cqe) {
  Capsule* rsp = TakeFromPool(false);
  if (rsp == nullptr) {
    // The upper layer holds every capsule: ours to fix, not the peer's.
    ReportError(ResourceExhaustedError("host capsule pool exhausted"));
    CloseSocket();
    state_ = State::kDown;
    return;
  }
  Cast(*rsp).mutable_cqe() = cqe;
  DeliverCapsule(CapsulePtr(rsp));
}

// A host command's data callback runs once all its data moved, or once its
// response arrived with nothing of it still being sent.
void TcpQueuePair::MaybeFinishHostData(TcpCapsule& cmd) {
  if (!cmd.data_done_) return;
  const uint32_t total = cmd.data_length();
  const bool all_moved = cmd.data_to_controller_ ? cmd.h2c_sent_ >= total
                                                 : cmd.c2h_received_ >= total;
  if (!all_moved && !(cmd.responded_ && cmd.tx_inflight_ == 0)) return;
  Status s = !cmd.data_error_.ok() ? cmd.data_error_
             : all_moved
                 ? Status()
                 : AbortedError("command completed before its data moved");
  completions_.Post(cmd.data_done_.Take(), std::move(s));
}

void TcpQueuePair::HostCancelAll(const Status& why) {
  cids_.ForEach([&](uint16_t, TcpCapsule* c) {
    if (c->data_done_) completions_.Post(c->data_done_.Take(), why);
    c->Release();
  });
  cids_.Clear();
  // Commands not yet in the table hold no data callback (set at transmit).
}

}  // namespace nvmeof::tcp
