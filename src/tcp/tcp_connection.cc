// The connection machinery both roles share: stream readiness, reading,
// the send queue, setup timeouts, fatal errors (TermReq) and close.

#include "tcp/tcp_connection.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "nvmeof/log.h"

namespace nvmeof::tcp {

namespace {
// After a TermReq, how long the peer has to read it before the stream
// closes anyway.
constexpr auto kTermReqGrace = std::chrono::milliseconds(200);
}  // namespace

TcpConnection::TcpConnection(EventLoop* loop, QueuePairRole role,
                             std::unique_ptr<ByteStream> stream,
                             size_t rx_buffer_size, PduType term_req_type)
    : QueuePair(loop, role, 0),
      stream_(std::move(stream)),
      state_(State::kAwaitIc),
      reader_(this, rx_buffer_size),
      completions_(loop),
      term_req_type_(term_req_type) {
  reader_.context().controller = role == QueuePairRole::kController;
  Result<SocketAddress> peer = stream_->PeerAddress();
  peer_name_ = peer.ok() ? peer->ToString() : "(unknown peer)";
}

TcpConnection::~TcpConnection() {
  loop_->Unschedule(this);
  if (ic_timer_) loop_->CancelTimer(ic_timer_);
  if (grace_timer_) loop_->CancelTimer(grace_timer_);
  CloseStream();
  // Items still queued hold capsule references: drop them quietly. (A
  // role's destructor has dropped its own references already.)
  tx_.DropAll([this](TxItem* item) {
    if (item->capsule != nullptr) ReleaseCapsule(*item->capsule);
    tx_.Recycle(item);
  });
}

// ---- readiness ----

void TcpConnection::UpdateInterest() {
  if (stream_ == nullptr) return;
  uint32_t want = 0;
  if (state_ == State::kConnecting) {
    want = EPOLLOUT;
  } else {
    if (state_ != State::kTerminating || draining_) want |= EPOLLIN;
    if (!tx_.empty()) want |= EPOLLOUT;
    want = stream_->Interest(want);
  }
  if (registered_ && want == interest_) return;
  if (!registered_ && want == 0) return;
  const int fd = stream_->fd();
  Status s = registered_ ? loop_->ModifyFd(fd, want, this)
                         : loop_->AddFd(fd, want, this);
  if (!s.ok()) {
    // The kernel is out of epoll memory (ENOMEM, ENOSPC: max_user_watches).
    // Not reported from here (this runs inside transmit calls): the
    // connection hears nothing and its timers (ICReq, Connect, keep-alive)
    // end it.
    NVMEOF_LOG(kError, "connection %s: %s", peer_name_.c_str(),
               s.ToString().c_str());
    return;
  }
  registered_ = true;
  interest_ = want;
}

void TcpConnection::OnFdEvents(uint32_t events) {
  if (state_ == State::kConnecting) {
    Status s = FinishConnect(stream_->fd());
    if (!s.ok()) {
      SetupFailed(s);  // "connect: Connection refused"
      return;
    }
    state_ = State::kAwaitIc;
    if (Result<SocketAddress> peer = stream_->PeerAddress(); peer.ok()) {
      peer_name_ = peer->ToString();
    }
    OnStreamConnected();
    UpdateInterest();
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable();
  if (stream_ != nullptr && (events & EPOLLOUT)) {
    Flush();  // updates the interest
  } else if (stream_ != nullptr && state_ != State::kDown) {
    // What the stream waits for may have changed while it read (a TLS
    // handshake that finished: the queued ICReq can go now).
    UpdateInterest();
  }
}

void TcpConnection::OnReadable() {
  if (draining_) {
    uint8_t scratch[4096];
    iovec iov{scratch, sizeof(scratch)};
    ssize_t n = stream_->Read(&iov, 1);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      EndTermination();
    }
    return;
  }
  do {
    if (state_ == State::kTerminating || state_ == State::kDown) return;
    PduReader::Outcome o = reader_.ReadFrom(*stream_);
    switch (o) {
      case PduReader::Outcome::kOk:
        break;
      case PduReader::Outcome::kClosed:
        ConnectionLost(Status());
        return;
      case PduReader::Outcome::kClosedMidPdu:
        ConnectionLost(UnavailableError("peer closed the connection mid-PDU"));
        return;
      case PduReader::Outcome::kIoError:
        ConnectionLost(
            reader_.error().ok()
                ? UnavailableError("connection failed")
                : Status(StatusCode::kUnavailable, reader_.error().message()));
        return;
      case PduReader::Outcome::kFatal:
        if (state_ != State::kTerminating && state_ != State::kDown) {
          Fatal(reader_.fatal(), reader_.offending_header());
        }
        return;
    }
    // A stream that holds input of its own (TLS records already
    // decrypted) is read again: no readiness event will say so.
  } while (stream_ != nullptr && stream_->HasBufferedInput());
}

// ---- sending ----

void TcpConnection::QueueItem(TxItem* item) {
  tx_.Push(item);
  loop_->Schedule(this);  // flushed at the end of the turn, with the rest
}

void TcpConnection::QueueRaw(const void* pdu, size_t len) {
  TxItem* item = tx_.NewItem();
  std::memcpy(item->header, pdu, len);
  item->header_len = static_cast<uint32_t>(len);
  QueueItem(item);
}

void TcpConnection::Run() { Flush(); }

void TcpConnection::Flush() {
  if (stream_ == nullptr) return;
  Status error;
  TxQueue::FlushResult r = tx_.Flush(
      *stream_, [this](TxItem* item) { CompleteItem(item, Status()); },
      &error);
  if (r == TxQueue::FlushResult::kError) {
    ConnectionLost(error);
    return;
  }
  if (state_ == State::kTerminating && term_req_item_ == nullptr &&
      !draining_ && !stream_->HasPendingOutput()) {
    // The TermReq went out. Half-close so that a FIN follows it, and read
    // until the peer closes (or the grace ends): closing with unread input
    // would send an RST, which can destroy the TermReq at the peer.
    stream_->ShutdownWrite();
    draining_ = true;
  }
  UpdateInterest();
}

TxItem* TcpConnection::BuildItem(const void* header, const PduLayout& layout,
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

// An item is sent (or dropped): its callback is posted, its capsule hears
// of it and loses the item's reference.
void TcpConnection::CompleteItem(TxItem* item, const Status& status) {
  if (item == term_req_item_) term_req_item_ = nullptr;
  if (item->done) completions_.Post(std::move(item->done), status);
  if (Capsule* c = item->capsule) {
    if (item->command_data) OnCommandDataSent(*item, status);
    ReleaseCapsule(*c);
  }
  tx_.Recycle(item);
}

TransportAddress TcpConnection::local_address() const {
  TransportAddress a;
  a.trtype = TransportType::kTcp;
  if (stream_ == nullptr) return a;
  Result<SocketAddress> local = stream_->LocalAddress();
  if (local.ok()) {
    a.traddr = local->Host();
    a.trsvcid = std::to_string(local->Port());
  }
  return a;
}

// ---- errors and teardown ----

void TcpConnection::Fatal(const PduError& e,
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
  if (!e.send_term_req || stream_ == nullptr) {
    ConnectionLost(fatal_status_);
    return;
  }
  TermReqPdu pdu = MakeTermReq(term_req_type_ == PduType::kC2HTermReq, e.fes,
                               e.fei, offending);
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
  if (in_setup()) {
    SetupFailed(fatal_status_);  // never handed over: nobody to report to
  } else {
    ReportError(fatal_status_);
  }
}

void TcpConnection::ConnectionLost(Status why) {
  if (close_done_) {
    EndTermination();  // the upper layer closed already and waits for it
    return;
  }
  CloseStream();
  state_ = State::kDown;
  if (in_setup()) {
    SetupFailed(why.ok() ? UnavailableError("peer closed the connection")
                         : why);
    return;
  }
  ReportError(std::move(why));
}

void TcpConnection::EndTermination() {
  if (grace_timer_) {
    loop_->CancelTimer(grace_timer_);
    grace_timer_ = 0;
  }
  draining_ = false;
  CloseStream();
  state_ = State::kDown;
  if (close_done_) {
    // Close() came during the termination: what did not go out is
    // cancelled, then the upper layer hears the close is done.
    Status cancelled = CancelledError("queue pair closed");
    tx_.DropAll([&](TxItem* item) { CompleteItem(item, cancelled); });
    CancelAll(cancelled);
    completions_.Post(
        [done = std::move(close_done_)](const Status&) { done(); }, Status());
    close_done_ = nullptr;
  }
  if (self_owned_) loop_->Defer([this] { delete this; });
}

void TcpConnection::CloseStream() {
  if (stream_ == nullptr) return;
  // Registered with no events still reports HUP and ERR: always removed,
  // so that no event of this batch reaches a handler about to go.
  if (registered_) loop_->RemoveFd(stream_->fd(), this);
  registered_ = false;
  interest_ = 0;
  stream_->Close();
  stream_.reset();
}

void TcpConnection::StartIcTimer(EventLoop::Clock::duration timeout,
                                 std::string why) {
  ic_timer_ = loop_->AddTimer(timeout, [this, why = std::move(why)] {
    ic_timer_ = 0;
    SetupFailed(DeadlineExceededError(why));
  });
}

// A queue pair that was never handed to the upper layer failed: the host
// hears it through its ConnectCallback; a controller connection just goes
// away. Either way the queue pair deletes itself, later on the loop.
void TcpConnection::SetupFailed(Status why) {
  if (self_owned_) return;  // failed already
  if (ic_timer_) {
    loop_->CancelTimer(ic_timer_);
    ic_timer_ = 0;
  }
  if (state_ != State::kTerminating) {
    CloseStream();
    state_ = State::kDown;
  }
  // Deleted later on the loop, once any TermReq has gone out (a
  // self-owned queue pair in termination deletes itself at its end).
  self_owned_ = true;
  const bool now = state_ != State::kTerminating;
  loop_->Defer([this, why = std::move(why), now]() mutable {
    ReportSetupFailure(std::move(why));
    if (now) delete this;
  });
}

void TcpConnection::FinishSetup() {
  if (ic_timer_) {
    loop_->CancelTimer(ic_timer_);
    ic_timer_ = 0;
  }
  state_ = State::kReady;
  HandOver();
}

void TcpConnection::DoClose(std::function<void()> done) {
  Status cancelled = CancelledError("queue pair closed");
  DropPartialPdu();
  if (state_ == State::kTerminating && stream_ != nullptr) {
    // A fatal error's TermReq is on its way (the upper layer closes as soon
    // as it hears of the error): let it go out, with whatever was queued
    // before it, and the graceful close follow; `done` runs at its end
    // (EndTermination, within the grace period).
    close_done_ = std::move(done);
    CancelAll(cancelled);
    return;
  }
  CloseStream();
  state_ = State::kDown;
  if (grace_timer_) {
    loop_->CancelTimer(grace_timer_);
    grace_timer_ = 0;
  }
  tx_.DropAll([&](TxItem* item) { CompleteItem(item, cancelled); });
  CancelAll(cancelled);
  completions_.Post(
      [done = std::move(done)](const Status&) {
        if (done) done();
      },
      Status());
}

// ---- received PDUs ----

PduReader::Placement TcpConnection::OnPduHeader(const PduLayout& layout,
                                                const uint8_t* hdr) {
  rx_type_ = layout.type;
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
  return OnHeader(layout, hdr);
}

PduError TcpConnection::OnPduEnd(bool ddgst_ok) {
  if (IsTermReq(rx_type_)) {
    // The peer ends the connection; there is nothing to answer.
    ConnectionLost(fatal_status_);
    return PduError{Fes::kPduSequenceError, 0, false};  // stop parsing
  }
  if (state_ != State::kReady && state_ != State::kAwaitIc) return {};
  return OnEnd(ddgst_ok);
}

}  // namespace nvmeof::tcp
