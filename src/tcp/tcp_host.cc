#include "tcp/tcp_host.h"

#include <cassert>
#include <cstring>

#include "tcp/tls_stream.h"

namespace nvmeof::tcp {

namespace {
constexpr size_t kRxBufferSize = 128 * 1024;
// The header's byte offset of a field, for FEI.
constexpr uint32_t kCccidOffset = 8;
constexpr uint32_t kCqeCidOffset = 8 + 12;
constexpr uint32_t kDgstOffset = 11;

constexpr bool Allowed(HostCapsuleState from, HostCapsuleState to) {
  using S = HostCapsuleState;
  switch (to) {
    case S::kIdle:
      return true;
    case S::kInFlight:
      return from == S::kIdle;
    case S::kResponded:
      return from == S::kInFlight;
  }
  return false;
}
}  // namespace

void HostCapsule::SetState(HostCapsuleState next) {
  assert(Allowed(state_, next) && "host capsule state step not allowed");
  (void)Allowed;
  state_ = next;
}

void TcpHostQueuePair::Start(EventLoop* loop, const SocketAddress& address,
                             Setup setup) {
  Result<Fd> fd = StartConnectTcp(address);
  if (!fd.ok()) {
    loop->Defer(
        [cb = std::move(setup.on_connected), s = fd.status()] { cb(s); });
    return;
  }
  const std::chrono::milliseconds timeout = setup.params.connect_timeout;
  std::shared_ptr<const TlsClientParams> tls = setup.params.tls;
  auto* qp = new TcpHostQueuePair(
      loop, MakeClientStream(std::move(fd).value(), std::move(tls)),
      std::make_unique<Setup>(std::move(setup)));
  qp->set_state(State::kConnecting);
  qp->UpdateInterest();
  qp->StartIcTimer(timeout, "no ICResp from the controller in time");
}

TcpHostQueuePair::TcpHostQueuePair(EventLoop* loop,
                                   std::unique_ptr<ByteStream> stream,
                                   std::unique_ptr<Setup> setup)
    : TcpConnection(loop, QueuePairRole::kHost, std::move(stream),
                    kRxBufferSize, PduType::kH2CTermReq),
      setup_(std::move(setup)),
      cids_(2 * size_t{setup_->params.queue_size} + 1) {
  const HostQueuePairParams& p = setup_->params;
  const size_t pool = 2 * size_t{p.queue_size} + 1;
  capsules_ = std::make_unique<HostCapsule[]>(pool);
  for (size_t i = 0; i < pool; ++i) AddToPool(&capsules_[i]);
  SetConnected(p.qid, false);
  max_icd_ = p.max_icd;
  asked_hdgst_ = p.header_digest;
  asked_ddgst_ = p.data_digest;
  reader().context().max_data_len = 0xFFFFFFFFu;  // bounded per command
}

TcpHostQueuePair::~TcpHostQueuePair() {
  cids_.ForEach([](uint16_t, HostCapsule* c) { ReleaseCapsule(*c); });
  cids_.Clear();
}

void TcpHostQueuePair::OnCapsuleFreed(Capsule& c) {
  Cast(c).SetState(HostCapsuleState::kIdle);
}

void TcpHostQueuePair::OnStreamConnected() {
  // HPDA 0 and MAXR2T 0, as Linux sends them: one R2T per command at a time.
  ICReqPdu req = MakeICReq(0, asked_hdgst_, asked_ddgst_, 0);
  QueueRaw(&req, sizeof(req));
}

void TcpHostQueuePair::HandOver() {
  std::unique_ptr<Setup> setup = std::move(setup_);
  SetCallbacks(std::move(setup->callbacks));
  setup->on_connected(std::unique_ptr<QueuePair>(this));
}

void TcpHostQueuePair::ReportSetupFailure(Status why) {
  std::unique_ptr<Setup> setup = std::move(setup_);
  if (setup && setup->on_connected) setup->on_connected(std::move(why));
}

PduError TcpHostQueuePair::OnICResp(const ICRespPdu& resp) {
  const bool hdgst = resp.dgst & kDgstHdgstEnable;
  const bool ddgst = resp.dgst & kDgstDdgstEnable;
  if ((hdgst && !asked_hdgst_) || (ddgst && !asked_ddgst_)) {
    // The controller enabled a digest we did not ask for.
    return PduError{Fes::kInvalidHeaderField, kDgstOffset};
  }
  maxh2cdata_ = resp.maxh2cdata;
  set_tx_format(PduFormat{hdgst, ddgst, resp.cpda});
  PduCheckContext& ctx = reader().context();
  ctx.initialized = true;
  ctx.hdgst = hdgst;
  ctx.ddgst = ddgst;
  ctx.rx_pda = 0;  // the HPDA we sent
  return {};
}

PduReader::Placement TcpHostQueuePair::OnHeader(const PduLayout& layout,
                                                const uint8_t* hdr) {
  rx_capsule_ = nullptr;
  switch (layout.type) {
    case PduType::kICResp: {
      ICRespPdu resp;
      std::memcpy(&resp, hdr, sizeof(resp));
      return {OnICResp(resp)};
    }
    case PduType::kR2T: {
      R2THeader r2t;
      std::memcpy(&r2t, hdr, sizeof(r2t));
      return {OnR2T(r2t)};
    }
    case PduType::kC2HData: {
      C2HDataHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return OnC2HData(h);
    }
    case PduType::kCapsuleResp: {
      CapsuleRespHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return {OnResponse(h.rccqe)};
    }
    default:
      // The validator lets through only what a host receives.
      return {PduError{Fes::kInvalidHeaderField, 0}};
  }
}

PduError TcpHostQueuePair::OnEnd(bool ddgst_ok) {
  if (rx_type() == PduType::kICResp) {
    FinishSetup();
    return {};
  }
  if (rx_type() != PduType::kC2HData || rx_capsule_ == nullptr) return {};
  HostCapsule& cmd = *rx_capsule_;
  rx_capsule_ = nullptr;
  cmd.c2h_received_ += rx_datal();
  if (rx_flags() & kPduFlagLastPdu) cmd.c2h_last_ = true;
  if (!ddgst_ok && cmd.data_error_.ok()) {
    // Only this command fails; the connection stays up.
    cmd.data_error_ = DataLossError("data digest mismatch on C2HData");
  }
  const bool success = rx_flags() & kPduFlagSuccess;
  const uint16_t cid = cmd.sqe().cid;
  MaybeFinishData(cmd);
  if (success) {
    // The controller completed the command with its data: make the
    // completion here (TCP transport, SUCCESS flag).
    Cqe cqe{};
    cqe.cid = cid;
    cqe.sqid = qid();
    return OnResponse(cqe);
  }
  return {};
}

Status TcpHostQueuePair::DoTransmit(Capsule& c) {
  if (state() != State::kReady) return UnavailableError("connection is down");
  HostCapsule& cmd = Cast(c);
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
  AddCapsuleRef(cmd);  // held while in the CID table
  cmd.SetState(HostCapsuleState::kInFlight);
  cmd.h2c_queued_ = cmd.h2c_sent_ = cmd.c2h_received_ = 0;
  cmd.c2h_last_ = false;
  cmd.tx_inflight_ = 0;
  cmd.data_error_ = Status();

  CapsuleCmdHeader h = MakeCapsuleCmd(sqe, tx_format(), icd ? len : 0);
  const PduLayout layout =
      ComputeLayout(PduType::kCapsuleCmd, tx_format(), icd ? len : 0);
  TxItem* item = BuildItem(&h, layout, icd ? &cmd.data_ : nullptr, 0);
  if (icd) {
    AddCapsuleRef(cmd);
    item->capsule = &cmd;
    item->command_data = true;
    cmd.h2c_queued_ = len;
    ++cmd.tx_inflight_;
  }
  QueueItem(item);
  if (cmd.has_data_ && len == 0) MaybeFinishData(cmd);
  return Status();
}

PduError TcpHostQueuePair::OnR2T(const R2THeader& r2t) {
  HostCapsule* cmd = cids_.Find(r2t.cccid);
  if (cmd == nullptr || !cmd->has_data_ || !cmd->data_to_controller_ ||
      cmd->state_ != HostCapsuleState::kInFlight) {
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

void TcpHostQueuePair::QueueH2CData(HostCapsule& cmd, uint16_t ttag,
                                    uint32_t offset, uint32_t length) {
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
        MakeH2CData(cmd.sqe().cid, ttag, offset, n, last, tx_format());
    TxItem* item =
        BuildItem(&h, ComputeLayout(PduType::kH2CData, tx_format(), n),
                  &cmd.data_, offset);
    AddCapsuleRef(cmd);
    item->capsule = &cmd;
    item->command_data = true;
    ++cmd.tx_inflight_;
    QueueItem(item);
    offset += n;
  }
  cmd.h2c_queued_ = end;
}

// A data PDU of a command went out (or was dropped): it counts toward the
// command's data.
void TcpHostQueuePair::OnCommandDataSent(TxItem& item, const Status& status) {
  HostCapsule& cmd = Cast(*item.capsule);
  --cmd.tx_inflight_;
  if (status.ok()) {
    cmd.h2c_sent_ += item.data_len;
  } else if (cmd.data_error_.ok()) {
    cmd.data_error_ = status;
  }
  MaybeFinishData(cmd);
}

PduReader::Placement TcpHostQueuePair::OnC2HData(const C2HDataHeader& h) {
  HostCapsule* cmd = cids_.Find(h.cccid);
  if (cmd == nullptr || !cmd->has_data_ || cmd->data_to_controller_ ||
      cmd->state_ != HostCapsuleState::kInFlight) {
    return {PduError{Fes::kInvalidHeaderField, kCccidOffset}};
  }
  const uint64_t end = uint64_t{h.datao} + h.datal;
  if (end > cmd->data_.length() || end > cmd->data_length() ||
      h.datao != cmd->c2h_received_) {
    return {PduError{Fes::kDataTransferOutOfRange, 0}};
  }
  // The last PDU may end short of the buffer (a controller may move less
  // than the host has room for); nothing may follow it.
  if (cmd->c2h_last_) return {PduError{Fes::kPduSequenceError, 0}};
  rx_capsule_ = cmd;
  return {PduError{}, cmd->data_, h.datao};
}

PduError TcpHostQueuePair::OnResponse(const Cqe& cqe) {
  HostCapsule* cmd = cids_.Erase(cqe.cid);
  if (cmd == nullptr) return PduError{Fes::kInvalidHeaderField, kCqeCidOffset};
  cmd->SetState(HostCapsuleState::kResponded);
  MaybeFinishData(*cmd);
  ReleaseCapsule(*cmd);  // the CID table's reference
  DeliverResponse(cqe);
  return {};
}

void TcpHostQueuePair::DeliverResponse(const Cqe& cqe) {
  Capsule* rsp = TakeFromPool(false);
  if (rsp == nullptr) {
    // The upper layer holds every capsule: ours to fix, not the peer's.
    ReportError(ResourceExhaustedError("host capsule pool exhausted"));
    CloseStream();
    set_state(State::kDown);
    return;
  }
  Cast(*rsp).mutable_cqe() = cqe;
  DeliverCapsule(CapsulePtr(rsp));
}

// A command's data callback runs once all its data moved, or once its
// response arrived with nothing of it still being sent.
void TcpHostQueuePair::MaybeFinishData(HostCapsule& cmd) {
  if (!cmd.data_done_) return;
  const uint32_t total = cmd.data_length();
  const bool all_moved = cmd.data_to_controller_ ? cmd.h2c_sent_ >= total
                                                 : cmd.c2h_received_ >= total ||
                                                       cmd.c2h_last_;
  const bool responded = cmd.state_ == HostCapsuleState::kResponded;
  if (!all_moved && !(responded && cmd.tx_inflight_ == 0)) return;
  Status s = !cmd.data_error_.ok() ? cmd.data_error_
             : all_moved
                 ? Status()
                 : AbortedError("command completed before its data moved");
  completions().Post(cmd.data_done_.Take(), std::move(s));
}

void TcpHostQueuePair::CancelAll(const Status& why) {
  cids_.ForEach([&](uint16_t, HostCapsule* c) {
    if (c->data_done_) completions().Post(c->data_done_.Take(), why);
    ReleaseCapsule(*c);
  });
  cids_.Clear();
  // Commands not yet in the table hold no data callback (set at transmit).
}

}  // namespace nvmeof::tcp
