#include "tcp/tcp_controller.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "nvmeof/log.h"

namespace nvmeof::tcp {

namespace {
constexpr size_t kRxBufferSize = 128 * 1024;
constexpr uint32_t kCccidOffset = 8;
constexpr uint32_t kTtagOffset = 10;
constexpr uint32_t kAdminIcd = 8192;

constexpr bool Allowed(ControllerCapsuleState from, ControllerCapsuleState to) {
  using S = ControllerCapsuleState;
  switch (to) {
    case S::kIdle:
      return true;
    case S::kReceiving:
    case S::kResponse:
      return from == S::kIdle;
    case S::kDelivered:
      return from == S::kReceiving || from == S::kAwaitingH2C;
    case S::kAwaitingH2C:
      return from == S::kDelivered;
  }
  return false;
}
}  // namespace

void ControllerCapsule::SetState(ControllerCapsuleState next) {
  assert(Allowed(state_, next) && "controller capsule state step not allowed");
  (void)Allowed;
  state_ = next;
}

void TcpControllerQueuePair::Start(EventLoop* loop,
                                   std::unique_ptr<ByteStream> stream,
                                   std::shared_ptr<const Setup> setup) {
  auto* qp = new TcpControllerQueuePair(loop, std::move(stream), setup);
  const ControllerQueuePairParams& p = setup->params;
  qp->reader().context().max_data_len =
      std::max({kAdminIcd, p.max_io_icd, p.max_h2c_data});
  qp->set_state(State::kAwaitIc);
  qp->UpdateInterest();
  qp->StartIcTimer(p.ic_timeout, "no ICReq from the host in time");
}

TcpControllerQueuePair::TcpControllerQueuePair(
    EventLoop* loop, std::unique_ptr<ByteStream> stream,
    std::shared_ptr<const Setup> setup)
    : TcpConnection(loop, QueuePairRole::kController, std::move(stream),
                    kRxBufferSize, PduType::kC2HTermReq),
      setup_(std::move(setup)),
      port_budget_(setup_->port_budget),
      shared_budget_(setup_->params.shared_connections),
      // Commands and their responses, for a full queue.
      pool_capacity_(2 * size_t{setup_->params.max_queue_size} + 1) {}

bool TcpControllerQueuePair::GrowPool() {
  if (capsules_made_ >= pool_capacity_) return false;
  chunks_.push_back(std::make_unique<ControllerCapsule[]>(kChunk));
  ControllerCapsule* chunk = chunks_.back().get();
  for (size_t i = 0; i < kChunk && capsules_made_ < pool_capacity_; ++i) {
    chunk[i].index_ = static_cast<uint16_t>(capsules_made_++);
    AddToPool(&chunk[i]);
  }
  return true;
}

TcpControllerQueuePair::~TcpControllerQueuePair() {
  DropPartialPdu();
  if (port_budget_) port_budget_->Release();
  if (shared_budget_) shared_budget_->Release();
}

uint32_t TcpControllerQueuePair::max_icd() const {
  // Until Connect names the queue, the admin limit (Connect's own data is
  // 1024 bytes).
  if (is_admin()) return kAdminIcd;
  return limits_.max_io_icd;
}

void TcpControllerQueuePair::HandOver() {
  std::shared_ptr<const Setup> setup = std::move(setup_);
  setup->on_accept(std::unique_ptr<QueuePair>(this));
}

void TcpControllerQueuePair::ReportSetupFailure(Status why) {
  // A connection that never got going: nobody to tell but the operator.
  NVMEOF_LOG(kInfo, "connection from %s dropped before its ICReq: %s",
             peer_name().c_str(), why.ToString().c_str());
  setup_.reset();
}

void TcpControllerQueuePair::OnCapsuleFreed(Capsule& c) {
  Cast(c).SetState(ControllerCapsuleState::kIdle);
}

// A command whose header arrived but whose in-capsule data never did holds
// a capsule from the pool that nobody else knows of.
void TcpControllerQueuePair::DropPartialPdu() {
  if (rx_capsule_ != nullptr &&
      rx_capsule_->state_ == ControllerCapsuleState::kReceiving) {
    ReleaseCapsule(*rx_capsule_);
  }
  rx_capsule_ = nullptr;
}

PduError TcpControllerQueuePair::OnICReq(const ICReqPdu& req) {
  const ControllerQueuePairParams& p = setup_->params;
  const bool hdgst = (req.dgst & kDgstHdgstEnable) && p.allow_header_digest;
  const bool ddgst = (req.dgst & kDgstDdgstEnable) && p.allow_data_digest;
  limits_ = p;
  maxr2t_ = req.maxr2t;
  // Our CPDA is 0: Linux hosts refuse anything else.
  ICRespPdu resp = MakeICResp(0, hdgst, ddgst, p.max_h2c_data);
  QueueRaw(&resp, sizeof(resp));
  set_tx_format(PduFormat{hdgst, ddgst, req.hpda});
  PduCheckContext& ctx = reader().context();
  ctx.initialized = true;
  ctx.hdgst = hdgst;
  ctx.ddgst = ddgst;
  ctx.rx_pda = 0;
  return {};
}

PduReader::Placement TcpControllerQueuePair::OnHeader(const PduLayout& layout,
                                                      const uint8_t* hdr) {
  rx_capsule_ = nullptr;
  switch (layout.type) {
    case PduType::kICReq: {
      ICReqPdu req;
      std::memcpy(&req, hdr, sizeof(req));
      return {OnICReq(req)};
    }
    case PduType::kCapsuleCmd: {
      CapsuleCmdHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return OnCommand(layout, h);
    }
    case PduType::kH2CData: {
      H2CDataHeader h;
      std::memcpy(&h, hdr, sizeof(h));
      return OnH2CData(h);
    }
    default:
      return {PduError{Fes::kInvalidHeaderField, 0}};
  }
}

PduReader::Placement TcpControllerQueuePair::OnCommand(
    const PduLayout& layout, const CapsuleCmdHeader& h) {
  if (layout.data_len > max_icd()) {
    return {PduError{Fes::kDataTransferLimitExceeded, 0}};
  }
  Capsule* raw = TakeFromPool(true);
  if (raw == nullptr) {
    // More commands outstanding than the queue can hold.
    return {PduError{Fes::kDataTransferLimitExceeded, 0}};
  }
  ControllerCapsule& cmd = Cast(*raw);
  cmd.SetState(ControllerCapsuleState::kReceiving);
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
    cmd.icd_ = std::make_unique<uint8_t[]>(std::max(kAdminIcd, limits_.max_io_icd));
  }
  // In place when it all came with the header: the command is delivered
  // (and its data normally taken) while the receive buffer still holds it.
  return {PduError{}, MemDesc(cmd.icd_.get(), layout.data_len), 0, true};
}

PduReader::Placement TcpControllerQueuePair::OnH2CData(const H2CDataHeader& h) {
  // TTAG is the command's index in the pool; it must name a command that
  // has an R2T outstanding.
  if (h.ttag >= capsules_made_) {
    return {PduError{Fes::kInvalidHeaderField, kTtagOffset}};
  }
  ControllerCapsule& cmd = capsule(h.ttag);
  if (cmd.state_ != ControllerCapsuleState::kAwaitingH2C) {
    return {PduError{Fes::kInvalidHeaderField, kTtagOffset}};
  }
  if (h.cccid != cmd.sqe().cid) {
    return {PduError{Fes::kInvalidHeaderField, kCccidOffset}};
  }
  if (h.datal > limits_.max_h2c_data) {
    return {PduError{Fes::kDataTransferLimitExceeded, 0}};
  }
  const ControllerCapsule::ReceiveRequest& req =
      cmd.requests_[cmd.request_head_];
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

PduError TcpControllerQueuePair::OnEnd(bool ddgst_ok) {
  ControllerCapsule* cmd = rx_capsule_;
  rx_capsule_ = nullptr;
  switch (rx_type()) {
    case PduType::kICReq:
      FinishSetup();
      return {};
    case PduType::kCapsuleCmd:
      EndCommandPdu(*cmd, ddgst_ok);
      return {};
    case PduType::kH2CData:
      EndH2CData(*cmd, ddgst_ok);
      return {};
    default:
      return {};
  }
}

void TcpControllerQueuePair::EndCommandPdu(ControllerCapsule& cmd,
                                           bool ddgst_ok) {
  // A digest error fails only this command: Validate() says 0x22.
  cmd.icd_digest_error_ = !ddgst_ok;
  const uint8_t* in_place = reader().in_place();
  cmd.icd_data_ = in_place != nullptr ? in_place : cmd.icd_.get();
  cmd.SetState(ControllerCapsuleState::kDelivered);
  DeliverCapsule(CapsulePtr(&cmd));
  // Delivery usually takes the data straight from the receive buffer into
  // its destination (one copy instead of two). When the command still
  // holds data it has not taken, keep it before the buffer is reused. (The
  // slot may be free again, or a response now: only a delivered command
  // has in-capsule data.)
  if (in_place != nullptr && cmd.state_ != ControllerCapsuleState::kIdle &&
      cmd.state_ != ControllerCapsuleState::kResponse &&
      cmd.icd_data_ == in_place) {
    if (cmd.icd_taken_ < cmd.icd_length_) {
      std::memcpy(cmd.icd_.get(), in_place, cmd.icd_length_);
      cmd.icd_data_ = cmd.icd_.get();
    } else {
      cmd.icd_data_ = nullptr;
    }
  }
}

void TcpControllerQueuePair::EndH2CData(ControllerCapsule& cmd,
                                        bool ddgst_ok) {
  if (!ddgst_ok) cmd.r2t_digest_error_ = true;
  cmd.r2t_received_ += rx_datal();
  const ControllerCapsule::ReceiveRequest& req =
      cmd.requests_[cmd.request_head_];
  if (cmd.r2t_received_ == req.length) {
    FinishReceiveRequest(cmd, cmd.r2t_digest_error_
                                  ? DataLossError("data digest mismatch on "
                                                  "H2CData")
                                  : Status());
  }
}

NvmeStatus TcpControllerQueuePair::DoValidate(const Capsule& c) const {
  if (Cast(c).icd_digest_error_) {
    return GenericStatus(sc::kTransientTransportError);
  }
  return QueuePair::DoValidate(c);
}

void TcpControllerQueuePair::DoReceiveData(Capsule& c, uint32_t offset,
                                           const MemDesc& mem,
                                           DataCallback done) {
  ControllerCapsule& cmd = Cast(c);
  const uint64_t end = uint64_t{offset} + mem.length();
  if (end > cmd.data_length() || mem.length() == 0) {
    completions().Post(std::move(done),
                       OutOfRangeError("beyond the command's data"));
    return;
  }
  if (cmd.icd_length_ > 0) {
    if (cmd.icd_digest_error_) {
      completions().Post(std::move(done),
                         DataLossError("data digest mismatch"));
      return;
    }
    if (cmd.icd_data_ == nullptr) {
      // Taken once, straight from the receive buffer, which has moved on.
      completions().Post(
          std::move(done),
          FailedPreconditionError("in-capsule data was already received"));
      return;
    }
    mem.CopyIn(0, cmd.icd_data_ + offset, mem.length());
    cmd.icd_taken_ += static_cast<uint32_t>(mem.length());
    completions().Post(std::move(done), Status());
    return;
  }
  if (state() != State::kReady) {
    completions().Post(std::move(done),
                       UnavailableError("connection is down"));
    return;
  }
  if (cmd.request_count_ == ControllerCapsule::kMaxReceiveRequests) {
    completions().Post(
        std::move(done),
        ResourceExhaustedError("too many ReceiveData pieces at once"));
    return;
  }
  int slot = (cmd.request_head_ + cmd.request_count_) %
             ControllerCapsule::kMaxReceiveRequests;
  ControllerCapsule::ReceiveRequest& req = cmd.requests_[slot];
  req.offset = offset;
  req.length = static_cast<uint32_t>(mem.length());
  req.mem = mem;
  req.done = std::move(done);
  if (++cmd.request_count_ == 1) SendR2T(cmd);
}

// A CapsuleResp PDU; the capsule is held until it is sent.
Status TcpControllerQueuePair::DoTransmit(Capsule& c) {
  if (state() != State::kReady) return UnavailableError("connection is down");
  ControllerCapsule& rsp = Cast(c);
  rsp.SetState(ControllerCapsuleState::kResponse);
  CapsuleRespHeader h = MakeCapsuleResp(rsp.cqe(), tx_format());
  TxItem* item = BuildItem(
      &h, ComputeLayout(PduType::kCapsuleResp, tx_format(), 0), nullptr, 0);
  AddCapsuleRef(rsp);
  item->capsule = &rsp;
  QueueItem(item);
  return Status();
}

// One R2T at a time per command, for the request at the head: the host's
// MAXR2T is 0-based and Linux sends 0.
void TcpControllerQueuePair::SendR2T(ControllerCapsule& cmd) {
  const ControllerCapsule::ReceiveRequest& req =
      cmd.requests_[cmd.request_head_];
  cmd.r2t_received_ = 0;
  cmd.r2t_digest_error_ = false;
  cmd.SetState(ControllerCapsuleState::kAwaitingH2C);
  R2THeader h =
      MakeR2T(cmd.sqe().cid, cmd.index_, req.offset, req.length, tx_format());
  QueueItem(
      BuildItem(&h, ComputeLayout(PduType::kR2T, tx_format(), 0), nullptr, 0));
}

void TcpControllerQueuePair::FinishReceiveRequest(ControllerCapsule& cmd,
                                                  Status status) {
  ControllerCapsule::ReceiveRequest& req = cmd.requests_[cmd.request_head_];
  completions().Post(req.done.Take(), std::move(status));
  req.mem = MemDesc();
  cmd.request_head_ = static_cast<uint8_t>(
      (cmd.request_head_ + 1) % ControllerCapsule::kMaxReceiveRequests);
  cmd.SetState(ControllerCapsuleState::kDelivered);
  if (--cmd.request_count_ > 0 && state() == State::kReady) SendR2T(cmd);
}

SendDataResult TcpControllerQueuePair::DoSendData(Capsule& c, uint32_t offset,
                                                  const MemDesc& mem,
                                                  bool may_complete,
                                                  DataCallback released) {
  ControllerCapsule& cmd = Cast(c);
  const uint64_t end = uint64_t{offset} + mem.length();
  if (end > cmd.data_length() || mem.length() == 0) {
    return {SendDataOutcome::kFailed, GenericStatus(sc::kDataTransferError)};
  }
  if (state() != State::kReady) {
    return {SendDataOutcome::kFailed,
            GenericStatus(sc::kTransientTransportError)};
  }
  const bool last = end == cmd.data_length();
  const bool success = may_complete && last && sq_flow_control_disabled();
  const uint32_t max_pdu = limits_.max_c2h_data;
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
    C2HDataHeader h = MakeC2HData(cmd.sqe().cid,
                                  static_cast<uint32_t>(offset + done), n, e,
                                  tx_format());
    TxItem* item = BuildItem(
        &h, ComputeLayout(PduType::kC2HData, tx_format(), n), &mem, done);
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

void TcpControllerQueuePair::CancelAll(const Status& why) {
  for (size_t i = 0; i < capsules_made_; ++i) {
    ControllerCapsule& cmd = capsule(i);
    while (cmd.request_count_ > 0) {
      ControllerCapsule::ReceiveRequest& req = cmd.requests_[cmd.request_head_];
      completions().Post(req.done.Take(), why);
      req.mem = MemDesc();
      cmd.request_head_ = static_cast<uint8_t>(
          (cmd.request_head_ + 1) % ControllerCapsule::kMaxReceiveRequests);
      --cmd.request_count_;
    }
    if (cmd.state_ == ControllerCapsuleState::kAwaitingH2C) {
      cmd.SetState(ControllerCapsuleState::kDelivered);
    }
  }
}

}  // namespace nvmeof::tcp
