// The connection machinery of a TCP queue pair, for both roles: socket
// readiness, reading, the send queue, setup timeouts, fatal errors
// (TermReq) and close.

#include "tcp/tcp_queue_pair.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace nvmeof::tcp {

namespace {
constexpr size_t kRxBufferSize = 128 * 1024;
// After a TermReq, how long the peer has to read it before the socket
// closes anyway.
constexpr auto kTermReqGrace = std::chrono::milliseconds(200);
}  // namespace

TcpQueuePair::TcpQueuePair(EventLoop* loop, QueuePairRole role, Fd fd,
                           size_t pool_size)
    : QueuePair(loop, role, 0),
      fd_(std::move(fd)),
      state_(State::kAwaitIc),
      reader_(this, kRxBufferSize),
      completions_(loop),
      capsules_(std::make_unique<TcpCapsule[]>(pool_size)),
      pool_capacity_(pool_size),
      cids_(pool_size) {
  for (size_t i = 0; i < pool_size; ++i) {
    capsules_[i].index_ = static_cast<uint16_t>(i);
    AddToPool(&capsules_[i]);
  }
  reader_.context().controller = role == QueuePairRole::kController;
}

TcpQueuePair::~TcpQueuePair() {
  loop_->Unschedule(this);
  if (ic_timer_) loop_->CancelTimer(ic_timer_);
  if (grace_timer_) loop_->CancelTimer(grace_timer_);
  DropPartialCommand();
  CloseSocket();
  // Items still queued hold capsule references: drop them quietly.
  tx_.DropAll([this](TxItem* item) {
    if (item->capsule != nullptr) item->capsule->Release();
    tx_.Recycle(item);
  });
  cids_.ForEach([](uint16_t, TcpCapsule* c) { c->Release(); });
  cids_.Clear();
}

// ---- readiness ----

void TcpQueuePair::UpdateInterest() {
  if (!fd_.valid()) return;
  uint32_t want = 0;
  if (state_ == State::kConnecting) {
    want = EPOLLOUT;
  } else {
    if (state_ != State::kTerminating || draining_) want |= EPOLLIN;
    if (!tx_.empty()) want |= EPOLLOUT;
  }
  if (want == interest_) return;
  Status s = interest_ == 0 ? loop_->AddFd(fd_.get(), want, this)
                            : loop_->ModifyFd(fd_.get(), want, this);
  s.IgnoreError();  // only fails for a closed fd, which we never pass
  interest_ = want;
}

void TcpQueuePair::OnFdEvents(uint32_t events) {
  if (state_ == State::kConnecting) {
    Status s = FinishConnect(fd_.get());
    if (!s.ok()) {
      SetupFailed(s.WithContext("connect"));
      return;
    }
    state_ = State::kAwaitIc;
    HostSendICReq();
    UpdateInterest();
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable();
  if (fd_.valid() && (events & EPOLLOUT)) Flush();
}

void TcpQueuePair::OnReadable() {
  if (draining_) {
    uint8_t scratch[4096];
    ssize_t n = recv(fd_.get(), scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      EndTermination();
    }
    return;
  }
  if (state_ == State::kTerminating || state_ == State::kDown) return;
  PduReader::Outcome o = reader_.ReadFrom(fd_.get());
  switch (o) {
    case PduReader::Outcome::kOk:
      break;
    case PduReader::Outcome::kClosed:
      ConnectionLost(Status());
      break;
    case PduReader::Outcome::kClosedMidPdu:
      ConnectionLost(UnavailableError("peer closed the connection mid-PDU"));
      break;
    case PduReader::Outcome::kIoError:
      ConnectionLost(
          reader_.error().ok()
              ? UnavailableError("connection failed")
              : Status(StatusCode::kUnavailable, reader_.error().message()));
      break;
    case PduReader::Outcome::kFatal:
      if (state_ != State::kTerminating && state_ != State::kDown) {
        Fatal(reader_.fatal(), reader_.offending_header());
      }
      break;
  }
}

// ---- sending ----

void TcpQueuePair::QueueItem(TxItem* item) {
  tx_.Push(item);
  loop_->Schedule(this);  // flushed at the end of the turn, with the rest
}

void TcpQueuePair::Run() { Flush(); }

void TcpQueuePair::Flush() {
  if (!fd_.valid()) return;
  Status error;
  TxQueue::FlushResult r = tx_.Flush(
      fd_.get(), [this](TxItem* item) { CompleteItem(item, Status()); },
      &error);
  if (r == TxQueue::FlushResult::kError) {
    ConnectionLost(error);
    return;
  }
  if (state_ == State::kTerminating && term_req_item_ == nullptr &&
      !draining_) {
    // The TermReq went out. Half-close so that a FIN follows it, and read
    // until the peer closes (or the grace ends): closing with unread input
    // would send an RST, which can destroy the TermReq at the peer.
    shutdown(fd_.get(), SHUT_WR);
    draining_ = true;
  }
  UpdateInterest();
}

TxItem* TcpQueuePair::BuildItem(const void* header, const PduLayout& layout,
                                const MemDesc* data, size_t data_offset) {
  TxItem* item = tx_.NewItem();
  std::memcpy(item->header, header, layout.hlen);
  uint32_t len = layout.hlen;
  if (layout.hdgst_len != 0) {
    uint32_t d = HeaderDigest(item->header, layout.hlen);
    std::memcpy(item->header + len, &d, 4);
    len += 4;
  }
  if (layout.data_len != 0) {
    std::memset(item->header + len, 0, layout.pad_len());
    len += layout.pad_len();
    item->data_iov_count = static_cast<uint32_t>(data->Slice(
        data_offset, layout.data_len, item->data, TxItem::kMaxDataIov));
    item->data_len = layout.data_len;
    if (layout.ddgst_len != 0) {
      Crc32c crc;
      for (uint32_t i = 0; i < item->data_iov_count; ++i) {
        crc.Update(item->data[i].iov_base, item->data[i].iov_len);
      }
      uint32_t d = crc.Finish();
      std::memcpy(item->ddgst, &d, 4);
      item->ddgst_len = 4;
    }
  }
  item->header_len = len;
  return item;
}

// Runs an item's completion: drops its capsule reference, posts its
// callback, and for host data counts it toward the command.
void TcpQueuePair::CompleteItem(TxItem* item, const Status& status) {
  if (item == term_req_item_) term_req_item_ = nullptr;
  if (item->done) completions_.Post(std::move(item->done), status);
  TcpCapsule* c = item->capsule;
  if (c != nullptr) {
    if (item->host_data) {
      --c->tx_inflight_;
      if (status.ok()) {
        c->h2c_sent_ += item->data_len;
      } else if (c->data_error_.ok()) {
        c->data_error_ = status;
      }
      MaybeFinishHostData(*c);
    }
    c->Release();
  }
  tx_.Recycle(item);
}

TransportAddress TcpQueuePair::local_address() const {
  TransportAddress a;
  a.trtype = TransportType::kTcp;
  if (!fd_.valid()) return a;
  Result<SocketAddress> local = LocalAddress(fd_.get());
  if (local.ok()) {
    a.traddr = local->Host();
    a.trsvcid = std::to_string(local->Port());
  }
  return a;
}

Status TcpQueuePair::DoTransmit(Capsule& c) {
  if (state_ != State::kReady) return UnavailableError("connection is down");
  return is_host() ? HostTransmit(Cast(c))
                   : ControllerTransmitResponse(Cast(c));
}

// ---- errors and teardown ----

void TcpQueuePair::Fatal(const PduError& e,
                         std::span<const uint8_t> offending) {
  std::string why = "NVMe/TCP fatal error: ";
  why += FesName(e.fes);
  why += " (FES " + std::to_string(static_cast<int>(e.fes)) + ", FEI " +
         std::to_string(e.fei) + ")";
  fatal_status_ = ProtocolError(why);
  if (ic_timer_) {
    loop_->CancelTimer(ic_timer_);
    ic_timer_ = 0;
  }
  if (!e.send_term_req || !fd_.valid()) {
    ConnectionLost(fatal_status_);
    return;
  }
  TermReqPdu pdu = MakeTermReq(!is_host(), e.fes, e.fei, offending);
  TxItem* item = tx_.NewItem();
  std::memcpy(item->header, &pdu, pdu.size());
  item->header_len = pdu.size();
  term_req_item_ = item;
  state_ = State::kTerminating;
  QueueItem(item);
  UpdateInterest();
  grace_timer_ = loop_->AddTimer(kTermReqGrace, [this] {
    grace_timer_ = 0;
    EndTermination();
  });
  if (host_setup_ || ctrl_setup_) {
    SetupFailed(fatal_status_);  // never handed over: nobody to report to
  } else {
    ReportError(fatal_status_);
  }
}

void TcpQueuePair::ConnectionLost(Status why) {
  CloseSocket();
  state_ = State::kDown;
  if (host_setup_ || ctrl_setup_) {
    SetupFailed(why.ok() ? UnavailableError("peer closed the connection")
                         : why);
    return;
  }
  ReportError(std::move(why));
}

void TcpQueuePair::EndTermination() {
  if (grace_timer_) {
    loop_->CancelTimer(grace_timer_);
    grace_timer_ = 0;
  }
  draining_ = false;
  CloseSocket();
  state_ = State::kDown;
  if (self_owned_) loop_->Defer([this] { delete this; });
}

void TcpQueuePair::CloseSocket() {
  if (!fd_.valid()) return;
  if (interest_ != 0) loop_->RemoveFd(fd_.get(), this);
  interest_ = 0;
  fd_.reset();
}

void TcpQueuePair::StartIcTimer(EventLoop::Clock::duration timeout) {
  ic_timer_ = loop_->AddTimer(timeout, [this] {
    ic_timer_ = 0;
    SetupFailed(DeadlineExceededError(
        is_host() ? "no ICResp from the controller in time"
                  : "no ICReq from the host in time"));
  });
}

// A queue pair that was never handed to the upper layer failed: the host
// hears it through on_connected; a controller connection just goes away.
// Either way the queue pair deletes itself, later on the loop.
void TcpQueuePair::SetupFailed(Status why) {
  if (ic_timer_) {
    loop_->CancelTimer(ic_timer_);
    ic_timer_ = 0;
  }
  if (state_ != State::kTerminating) {
    CloseSocket();
    state_ = State::kDown;
  }
  ConnectCallback on_connected;
  if (host_setup_) on_connected = std::move(host_setup_->on_connected);
  host_setup_.reset();
  ctrl_setup_.reset();
  // Deleted later on the loop, once any TermReq has gone out (a
  // self-owned queue pair in termination deletes itself at its end).
  self_owned_ = true;
  const bool now = state_ != State::kTerminating;
  loop_->Defer([this, on_connected = std::move(on_connected),
                why = std::move(why), now]() mutable {
    if (on_connected) on_connected(std::move(why));
    if (now) delete this;
  });
}

void TcpQueuePair::SetupDone() {
  if (ic_timer_) {
    loop_->CancelTimer(ic_timer_);
    ic_timer_ = 0;
  }
  state_ = State::kReady;
  if (host_setup_) {
    std::unique_ptr<HostSetup> setup = std::move(host_setup_);
    SetCallbacks(std::move(setup->callbacks));
    setup->on_connected(std::unique_ptr<QueuePair>(this));
  } else {
    std::shared_ptr<const ControllerSetup> setup = std::move(ctrl_setup_);
    setup->on_accept(std::unique_ptr<QueuePair>(this));
  }
}

// A command whose header arrived but whose in-capsule data never did holds
// a capsule from the pool that nobody else knows of.
void TcpQueuePair::DropPartialCommand() {
  if (rx_capsule_ != nullptr && rx_type_ == PduType::kCapsuleCmd &&
      !is_host()) {
    rx_capsule_->Release();
  }
  rx_capsule_ = nullptr;
}

void TcpQueuePair::DoClose(std::function<void()> done) {
  Status cancelled = CancelledError("queue pair closed");
  DropPartialCommand();
  CloseSocket();
  state_ = State::kDown;
  if (grace_timer_) {
    loop_->CancelTimer(grace_timer_);
    grace_timer_ = 0;
  }
  tx_.DropAll([&](TxItem* item) { CompleteItem(item, cancelled); });
  if (is_host()) {
    HostCancelAll(cancelled);
  } else {
    ControllerCancelAll(cancelled);
  }
  completions_.Post(
      [done = std::move(done)](const Status&) {
        if (done) done();
      },
      Status());
}

// ---- received PDUs, by role ----

PduReader::Placement TcpQueuePair::OnPduHeader(const PduLayout& layout,
                                               const uint8_t* hdr) {
  rx_type_ = layout.type;
  rx_capsule_ = nullptr;
  rx_datal_ = layout.data_len;
  rx_flags_ = hdr[1];
  if (IsTermReq(layout.type)) {
    TermReqHeader t;
    std::memcpy(&t, hdr, sizeof(t));
    std::string why = "peer sent a TermReq: ";
    why += FesName(static_cast<Fes>(t.fes));
    why += " (FES " + std::to_string(t.fes) + ", FEI " +
           std::to_string(t.fei()) + ")";
    fatal_status_ = ProtocolError(why);
    return {};
  }
  if (state_ != State::kReady && state_ != State::kAwaitIc) return {};
  return is_host() ? HostOnHeader(layout, hdr)
                   : ControllerOnHeader(layout, hdr);
}

PduError TcpQueuePair::OnPduEnd(bool ddgst_ok) {
  if (IsTermReq(rx_type_)) {
    // The peer ends the connection; there is nothing to answer.
    ConnectionLost(fatal_status_);
    return PduError{Fes::kPduSequenceError, 0, false};  // stop parsing
  }
  if (state_ != State::kReady && state_ != State::kAwaitIc) return {};
  return is_host() ? HostOnEnd(ddgst_ok) : ControllerOnEnd(ddgst_ok);
}

}  // namespace nvmeof::tcp
