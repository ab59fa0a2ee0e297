#include "transport/loopback.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <memory>
#include <mutex>

#include "nvmeof/callback_queue.h"

namespace nvmeof {
namespace {

class LoopbackQueuePair;

class LoopbackCapsule final : public Capsule {
 private:
  friend class LoopbackQueuePair;
  // Controller command: the host command whose data is still to move.
  LoopbackCapsule* host_cmd_ = nullptr;
  // Host command: data bytes moved so far.
  uint32_t moved_ = 0;
  // Controller command: the in-capsule data buffer.
  std::unique_ptr<uint8_t[]> icd_;
  // Delivery FIFO link.
  LoopbackCapsule* next_ = nullptr;
};

class LoopbackQueuePair final : public QueuePair, private EventLoop::Task {
 public:
  LoopbackQueuePair(EventLoop* loop, QueuePairRole role, uint16_t qid,
                    size_t pool_size, uint32_t icd_capacity)
      : QueuePair(loop, role, qid),
        completions_(loop),
        capsules_(std::make_unique<LoopbackCapsule[]>(pool_size)),
        pool_size_(pool_size) {
    for (size_t i = 0; i < pool_size; ++i) {
      if (icd_capacity > 0) {
        capsules_[i].icd_ = std::make_unique<uint8_t[]>(icd_capacity);
      }
      AddToPool(&capsules_[i]);
    }
    icd_capacity_ = icd_capacity;
  }

  ~LoopbackQueuePair() override {
    loop_->Unschedule(this);
    DropDeliveries();
    Detach(CancelledError("queue pair destroyed"));
  }

  TransportType transport_type() const override {
    return TransportType::kLoopback;
  }

  void set_peer(LoopbackQueuePair* peer) { peer_ = peer; }
  void set_max_icd(uint32_t max_icd) { max_icd_ = max_icd; }

 protected:
  Status DoTransmit(Capsule& c) override;
  void DoReceiveData(Capsule& c, uint32_t offset, const MemDesc& mem,
                     DataCallback done) override;
  SendDataResult DoSendData(Capsule& c, uint32_t offset, const MemDesc& mem,
                            bool may_complete, DataCallback released) override;
  void DoClose(std::function<void()> done) override;
  void OnCapsuleFreed(Capsule& c) override;

 private:
  static LoopbackCapsule& Cast(Capsule& c) {
    return static_cast<LoopbackCapsule&>(c);
  }
  Status TransmitCommand(LoopbackCapsule& cmd);
  Status TransmitResponse(LoopbackCapsule& rsp);
  // Queues `c` (holding one reference, handed over) for on_receive.
  void Enqueue(LoopbackCapsule* c);
  void Run() override;  // delivers the queued capsules
  void DropDeliveries();
  // Host command data moved: completes its callback once all moved.
  void FinishHostData(LoopbackCapsule& cmd, Status status);
  // Cuts the links to the peer (both ways). Host transfers still waiting
  // for the controller end with `host_data_status`.
  void Detach(const Status& host_data_status);

  CallbackQueue<Status> completions_;
  std::unique_ptr<LoopbackCapsule[]> capsules_;
  size_t pool_size_;
  uint32_t icd_capacity_ = 0;  // controller: in-capsule data buffer size
  uint32_t max_icd_ = 0;       // host: largest write sent in the capsule
  LoopbackQueuePair* peer_ = nullptr;
  LoopbackCapsule* deliver_head_ = nullptr;
  LoopbackCapsule* deliver_tail_ = nullptr;
};

Status LoopbackQueuePair::DoTransmit(Capsule& c) {
  if (peer_ == nullptr) return UnavailableError("peer has closed");
  return is_host() ? TransmitCommand(Cast(c)) : TransmitResponse(Cast(c));
}

Status LoopbackQueuePair::TransmitCommand(LoopbackCapsule& cmd) {
  Sqe& sqe = cmd.mutable_sqe();
  const uint32_t len =
      cmd.has_data_ ? static_cast<uint32_t>(cmd.data_.length()) : 0;
  const bool icd =
      cmd.has_data_ && cmd.data_to_controller_ && len > 0 && len <= max_icd_;
  // SGL1 as NVMe/TCP puts it (TCP transport 3.5.2).
  sqe.flags =
      static_cast<uint8_t>((sqe.flags & ~kSqeFlagsPsdtMask) | kSqeFlagsPsdtSgl);
  sqe.sgl1 = SglDescriptor{};
  sqe.sgl1.length = len;
  sqe.sgl1.type = icd ? kSglIcdType : kSglTransportType;

  if (icd && len > peer_->icd_capacity_) {
    // NVMe/TCP would end the connection (FES: data transfer limit exceeded).
    Status err =
        ProtocolError("in-capsule data larger than the controller accepts");
    peer_->ReportError(err);
    ReportError(err);
    return err;
  }
  Capsule* raw = peer_->TakeFromPool(true);
  if (raw == nullptr) {
    return ResourceExhaustedError("controller queue is full");
  }
  LoopbackCapsule& rx = Cast(*raw);
  rx.mutable_sqe() = sqe;
  if (icd) {
    cmd.data_.CopyOut(0, rx.icd_.get(), len);
    rx.icd_length_ = len;
    cmd.moved_ = len;
    completions_.Post(cmd.data_done_.Take(), Status());
  } else if (cmd.has_data_ && len > 0) {
    cmd.moved_ = 0;
    cmd.AddRef();  // held until its data has moved
    rx.host_cmd_ = &cmd;
  } else if (cmd.has_data_) {
    completions_.Post(cmd.data_done_.Take(), Status());  // nothing to move
  }
  peer_->Enqueue(&rx);
  return Status();
}

Status LoopbackQueuePair::TransmitResponse(LoopbackCapsule& rsp) {
  Capsule* raw = peer_->TakeFromPool(false);
  if (raw == nullptr)
    return ResourceExhaustedError("host response pool is full");
  Cast(*raw).mutable_cqe() = rsp.cqe();
  peer_->Enqueue(&Cast(*raw));
  return Status();
}

void LoopbackQueuePair::FinishHostData(LoopbackCapsule& cmd, Status status) {
  // Runs on the host's queue pair (the peer of the controller that moved
  // the data); both are on one loop.
  completions_.Post(cmd.data_done_.Take(), std::move(status));
  cmd.Release();  // the reference TransmitCommand took
}

void LoopbackQueuePair::DoReceiveData(Capsule& c, uint32_t offset,
                                      const MemDesc& mem, DataCallback done) {
  LoopbackCapsule& rx = Cast(c);
  const uint64_t end = uint64_t{offset} + mem.length();
  if (end > rx.data_length()) {
    completions_.Post(std::move(done),
                      OutOfRangeError("beyond the command's data"));
    return;
  }
  if (rx.icd_length_ > 0) {
    mem.CopyIn(0, rx.icd_.get() + offset, mem.length());
    completions_.Post(std::move(done), Status());
    return;
  }
  LoopbackCapsule* host = rx.host_cmd_;
  if (host == nullptr || peer_ == nullptr) {
    completions_.Post(std::move(done), UnavailableError("host has gone"));
    return;
  }
  if (!host->data_to_controller_) {
    completions_.Post(std::move(done),
                      InvalidArgumentError("command data goes to the host"));
    return;
  }
  mem.CopyFrom(0, host->data_, offset, mem.length());
  host->moved_ += static_cast<uint32_t>(mem.length());
  if (host->moved_ >= rx.data_length()) {
    rx.host_cmd_ = nullptr;
    peer_->FinishHostData(*host, Status());
  }
  completions_.Post(std::move(done), Status());
}

SendDataResult LoopbackQueuePair::DoSendData(Capsule& c, uint32_t offset,
                                             const MemDesc& mem,
                                             bool may_complete,
                                             DataCallback released) {
  LoopbackCapsule& rx = Cast(c);
  const uint64_t end = uint64_t{offset} + mem.length();
  LoopbackCapsule* host = rx.host_cmd_;
  if (end > rx.data_length() || host == nullptr || peer_ == nullptr ||
      host->data_to_controller_ || end > host->data_.length()) {
    return {SendDataOutcome::kFailed, GenericStatus(sc::kDataTransferError)};
  }
  host->data_.CopyFrom(offset, mem, 0, mem.length());
  host->moved_ += static_cast<uint32_t>(mem.length());
  const bool last = end == rx.data_length();
  if (host->moved_ >= rx.data_length()) {
    rx.host_cmd_ = nullptr;
    peer_->FinishHostData(*host, Status());
  }
  if (released) completions_.Post(std::move(released), Status());
  if (may_complete && last && sq_flow_control_disabled()) {
    // The SUCCESS flag: the host's transport makes the completion itself.
    Capsule* raw = peer_->TakeFromPool(false);
    if (raw != nullptr) {
      Cqe& cqe = Cast(*raw).mutable_cqe();
      cqe = Cqe{};
      cqe.cid = rx.sqe().cid;
      cqe.sqid = qid();
      peer_->Enqueue(&Cast(*raw));
      return {SendDataOutcome::kCompleted, kNvmeSuccess};
    }
  }
  return {SendDataOutcome::kQueued, kNvmeSuccess};
}

void LoopbackQueuePair::OnCapsuleFreed(Capsule& c) {
  LoopbackCapsule& lc = Cast(c);
  if (lc.host_cmd_ != nullptr) {
    // The controller finished with a command whose data never all moved:
    // the host's transfer ends now.
    LoopbackCapsule* host = lc.host_cmd_;
    lc.host_cmd_ = nullptr;
    if (peer_ != nullptr) {
      peer_->FinishHostData(
          *host, AbortedError("command completed before its data moved"));
    }
  }
  lc.moved_ = 0;
  lc.next_ = nullptr;
}

void LoopbackQueuePair::Enqueue(LoopbackCapsule* c) {
  c->next_ = nullptr;
  if (deliver_tail_ == nullptr) {
    deliver_head_ = deliver_tail_ = c;
  } else {
    deliver_tail_->next_ = c;
    deliver_tail_ = c;
  }
  loop_->Schedule(this);
}

void LoopbackQueuePair::Run() {
  LoopbackCapsule* c = deliver_head_;
  deliver_head_ = deliver_tail_ = nullptr;
  while (c != nullptr) {
    LoopbackCapsule* next = c->next_;
    c->next_ = nullptr;
    if (failed() || closing()) {
      c->Release();
    } else {
      DeliverCapsule(CapsulePtr(c));
    }
    c = next;
  }
}

void LoopbackQueuePair::DropDeliveries() {
  while (deliver_head_ != nullptr) {
    LoopbackCapsule* c = deliver_head_;
    deliver_head_ = c->next_;
    c->next_ = nullptr;
    c->Release();
  }
  deliver_tail_ = nullptr;
}

void LoopbackQueuePair::Detach(const Status& host_data_status) {
  if (peer_ == nullptr) return;
  LoopbackQueuePair* peer = peer_;
  peer_ = nullptr;
  peer->peer_ = nullptr;
  // Controller commands still linked to host commands whose data has not
  // all moved: those host transfers end now, with `host_data_status`.
  LoopbackQueuePair* host_qp = is_host() ? this : peer;
  LoopbackQueuePair* ctrl = is_host() ? peer : this;
  for (size_t i = 0; i < ctrl->pool_size_; ++i) {
    LoopbackCapsule& rx = ctrl->capsules_[i];
    if (rx.host_cmd_ == nullptr) continue;
    LoopbackCapsule* host = rx.host_cmd_;
    rx.host_cmd_ = nullptr;
    host_qp->completions_.Post(host->data_done_.Take(), host_data_status);
    host->Release();  // the transport's reference
  }
}

void LoopbackQueuePair::DoClose(std::function<void()> done) {
  LoopbackQueuePair* peer = peer_;
  Detach(is_host() ? CancelledError("queue pair closed")
                   : UnavailableError("controller closed the connection"));
  DropDeliveries();
  if (peer != nullptr) {
    // The other end sees a clean close, later on the loop.
    peer->completions_.Post(
        [peer](const Status&) { peer->ReportError(Status()); }, Status());
  }
  // Host data transfers not yet handed to the controller end as cancelled.
  for (size_t i = 0; i < pool_size_; ++i) {
    LoopbackCapsule& c = capsules_[i];
    if (c.is_command() && c.data_done_) {
      completions_.Post(c.data_done_.Take(),
                        CancelledError("queue pair closed"));
    }
  }
  // Last: the FIFO runs every cancellation above before `done`.
  completions_.Post(
      [done = std::move(done)](const Status&) {
        if (done) done();
      },
      Status());
}

// ---- Listeners, by name ----

class LoopbackListener;

std::mutex& ListenersMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
std::map<std::string, LoopbackListener*>& Listeners() {
  static auto* m = new std::map<std::string, LoopbackListener*>();
  return *m;
}

class LoopbackListener final : public Listener {
 public:
  LoopbackListener(TransportAddress address, ControllerQueuePairParams params,
                   AcceptCallback on_accept)
      : address_(std::move(address)),
        params_(std::move(params)),
        on_accept_(std::move(on_accept)) {}
  ~LoopbackListener() override {
    std::lock_guard<std::mutex> lock(ListenersMutex());
    Listeners().erase(address_.traddr);
  }
  TransportAddress address() const override { return address_; }
  const ControllerQueuePairParams& params() const { return params_; }
  const AcceptCallback& on_accept() const { return on_accept_; }

 private:
  TransportAddress address_;
  ControllerQueuePairParams params_;
  AcceptCallback on_accept_;
};

}  // namespace

void LoopbackTransport::Connect(EventLoop& loop,
                                const TransportAddress& address,
                                const HostQueuePairParams& params,
                                QueuePairCallbacks callbacks,
                                ConnectCallback on_connected) {
  ControllerQueuePairParams cparams;
  AcceptCallback accept;
  {
    std::lock_guard<std::mutex> lock(ListenersMutex());
    auto it = Listeners().find(address.traddr);
    if (it != Listeners().end()) {
      cparams = it->second->params();
      accept = it->second->on_accept();
    }
  }
  if (!accept) {
    loop.Defer([on_connected = std::move(on_connected), name = address.traddr] {
      on_connected(
          UnavailableError("no loopback listener named '" + name + "'"));
    });
    return;
  }
  const size_t host_pool = 2 * size_t{params.queue_size} + 1;
  auto host = std::make_unique<LoopbackQueuePair>(&loop, QueuePairRole::kHost,
                                                  params.qid, host_pool, 0);
  host->set_max_icd(params.max_icd);
  host->SetCallbacks(std::move(callbacks));
  const uint32_t icd_capacity = std::max<uint32_t>(8192, cparams.max_io_icd);
  auto ctrl = std::make_unique<LoopbackQueuePair>(
      &loop, QueuePairRole::kController, 0,
      2 * size_t{cparams.max_queue_size} + 1, icd_capacity);
  host->set_peer(ctrl.get());
  ctrl->set_peer(host.get());
  // The controller accepts first, so that its callbacks are set before the
  // host can send anything.
  loop.Defer([accept = std::move(accept), ctrl = ctrl.release(),
              host = host.release(), on_connected = std::move(on_connected)] {
    accept(std::unique_ptr<QueuePair>(ctrl));
    on_connected(std::unique_ptr<QueuePair>(host));
  });
}

Result<std::unique_ptr<Listener>> LoopbackTransport::Listen(
    EventLoop& loop, const TransportAddress& address,
    const ControllerQueuePairParams& params, AcceptCallback on_accept) {
  (void)loop;
  std::lock_guard<std::mutex> lock(ListenersMutex());
  if (Listeners().count(address.traddr) != 0) {
    return AlreadyExistsError("loopback listener '" + address.traddr +
                              "' exists");
  }
  auto l =
      std::make_unique<LoopbackListener>(address, params, std::move(on_accept));
  Listeners()[address.traddr] = l.get();
  return std::unique_ptr<Listener>(std::move(l));
}

}  // namespace nvmeof
