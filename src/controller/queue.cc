// A controller queue's lifecycle, command dispatch and completion.

#include "controller/queue.h"

#include <cstdlib>
#include <cstring>

#include "nvmeof/log.h"
#include "controller/target.h"

namespace nvmeof::controller {

namespace {
// Requests per queue: the transport's capsule pool holds twice the queue
// size; a well-behaved host never has more than a queue's worth in flight.
constexpr size_t kSlack = 8;
}  // namespace

uint8_t* Request::Buffer(size_t n) {
  if (n <= buf_size) return buf;
  std::free(buf);
  buf = nullptr;
  buf_size = 0;
  size_t size = (n + 4095) & ~size_t{4095};
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size) != 0) return nullptr;
  buf = static_cast<uint8_t*>(p);
  buf_size = size;
  return buf;
}

Request::~Request() { std::free(buf); }

ControllerQueue::ControllerQueue(Target* target, EventLoop* loop,
                                 const Port* port,
                                 std::unique_ptr<QueuePair> qp, uint64_t id)
    : target_(target), loop_(loop), port_(port), qp_(std::move(qp)), id_(id) {
  const ListenParams& params = target_->port_params(*port_);
  const size_t n = params.transport.max_queue_size + kSlack;
  requests_ = std::make_unique<Request[]>(n);
  for (size_t i = 0; i < n; ++i) {
    requests_[i].queue = this;
    requests_[i].next_free = free_requests_;
    free_requests_ = &requests_[i];
  }
  thread_index_ = target_->RegisterQueue(loop_, this);
  qp_->SetCallbacks(
      QueuePairCallbacks{[this](const Status& s) { OnError(s); },
                         [this](CapsulePtr c) { OnCommand(std::move(c)); }});
}

ControllerQueue::~ControllerQueue() = default;

Request* ControllerQueue::AllocateRequest() {
  Request* r = free_requests_;
  if (r != nullptr) {
    free_requests_ = r->next_free;
    r->next_free = nullptr;
    ++in_flight_;
  }
  return r;
}

void ControllerQueue::OnCommand(CapsulePtr capsule) {
  if (closing_) return;
  Request* r = AllocateRequest();
  if (r == nullptr) {
    // More commands than the queue holds: the host broke SQ flow control.
    Cqe cqe{};
    cqe.cid = capsule->sqe().cid;
    cqe.sqid = qid_;
    cqe.status = GenericStatus(sc::kCommandSequenceError, true).ToCqeStatus();
    CapsulePtr rsp = qp_->AllocateResponse(cqe);
    if (rsp) qp_->Transmit(*rsp).IgnoreError();
    return;
  }
  r->cmd = std::move(capsule);
  r->dw0 = 0;
  r->ns = nullptr;
  // Each command consumes one SQ entry (SQHD is reported in every CQE).
  if (sqsize_ != 0) sqhd_ = static_cast<uint16_t>((sqhd_ + 1) % sqsize_);
  Dispatch(r);
}

void ControllerQueue::Dispatch(Request* r) {
  const Sqe& sqe = r->sqe();
  if (NvmeStatus v = r->cmd->Validate(); !v.ok()) {
    Complete(r, v);
    return;
  }
  if ((sqe.flags & kSqeFlagsFuseMask) != 0) {
    Complete(r, GenericStatus(sc::kInvalidField, true));  // no fused commands
    return;
  }
  if (sqe.opcode == kFabricsOpcode) {
    HandleFabrics(r);
    return;
  }
  if (!bound_ || !ctrl_->ready()) {
    // Only Fabrics commands before Connect and CC.EN.
    Complete(r, GenericStatus(sc::kCommandSequenceError, true));
    return;
  }
  if (qid_ == 0) {
    ctrl_->Touch();
    HandleAdmin(r);
  } else {
    HandleIo(r);
  }
}

void ControllerQueue::Complete(Request* r, NvmeStatus status) {
  Cqe cqe{};
  cqe.dw0 = r->dw0;
  cqe.sqhd = sqhd_;
  cqe.sqid = qid_;
  cqe.cid = r->sqe().cid;
  cqe.status = status.ToCqeStatus();
  if (!closing_) {
    CapsulePtr rsp = qp_->AllocateResponse(cqe);
    // A dead connection refuses it: the host will not see this completion
    // anyway, and the request is freed the same.
    if (rsp) qp_->Transmit(*rsp).IgnoreError();
  }
  Release(r);
}

void ControllerQueue::Release(Request* r) {
  r->cmd.reset();
  r->ns = nullptr;
  r->next_free = free_requests_;
  free_requests_ = r;
  --in_flight_;
  if (closing_ && in_flight_ == 0 && qp_closed_) Teardown();
}

void ControllerQueue::ReceiveAll(Request* r,
                                 void (*next)(Request*, const Status&)) {
  const uint32_t len = r->cmd->data_length();
  uint8_t* buf = r->Buffer(len);
  if (buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  r->cmd->ReceiveData(0, MemDesc(buf, len),
                      [r, next](const Status& s) { next(r, s); });
}

void ControllerQueue::SendAndComplete(Request* r, const uint8_t* data,
                                      uint32_t len) {
  SendAndComplete(r, MemDesc(const_cast<uint8_t*>(data), len));
}

void ControllerQueue::SendAndComplete(Request* r, const MemDesc& data) {
  if (data.empty()) {
    Complete(r, kNvmeSuccess);
    return;
  }
  // Admin data is small and built per command: the request's buffer keeps
  // it alive until the response is sent, which the transport orders after
  // the data.
  SendDataResult res = r->cmd->SendData(0, data, r->dw0 == 0, nullptr);
  switch (res.outcome) {
    case SendDataOutcome::kCompleted:
      Release(r);
      return;
    case SendDataOutcome::kQueued:
      Complete(r, kNvmeSuccess);
      return;
    case SendDataOutcome::kFailed:
      Complete(r, res.status);
      return;
  }
}

void ControllerQueue::OnError(const Status& status) {
  // A failed or closed connection: either way the queue ends.
  if (!status.ok()) {
    NVMEOF_LOG(
        kWarn, "queue %u%s: %s", qid_,
        ctrl_ ? (" of controller " + std::to_string(ctrl_->cntlid())).c_str()
              : "",
        status.ToString().c_str());
  }
  Close();
}

void ControllerQueue::Close() {
  if (closing_) return;
  closing_ = true;
  // Held Asynchronous Event Requests end without a response.
  if (ctrl_ != nullptr && qid_ == 0) ctrl_->CancelAers();
  qp_->Close([this] {
    // The queue pair's callbacks are over; pending data callbacks have run
    // (cancelled), so every request that waited on one has been released
    // or is in a backend. Those still hold capsules from the queue pair's
    // pool: it lives until the last of them is released.
    qp_closed_ = true;
    if (in_flight_ == 0) Teardown();
  });
}

// The queue pair is gone and no request is in flight: detach from the
// controller (an admin queue ends the association) and delete.
void ControllerQueue::Teardown() {
  target_->UnregisterQueue(loop_, id_);
  if (ctrl_ != nullptr) {
    if (qid_ == 0) {
      NVMEOF_LOG(kInfo, "controller %u: association ended", ctrl_->cntlid());
      target_->RemoveController(ctrl_->cntlid());
      for (QueueRef ref : ctrl_->TakeIoQueues()) target_->CloseQueue(ref);
    } else {
      ctrl_->DetachIoQueue(qid_);
    }
  }
  ctrl_.reset();
  // Later, not inside the callback that got here (a backend queue's own
  // completion, or the queue pair's close): the destructor frees the
  // backend queues and the queue pair.
  loop_->Defer([this] { delete this; });
}

BackendQueue* ControllerQueue::QueueFor(const Namespace* ns) {
  for (auto& [n, q] : backend_queues_) {
    if (n == ns) return q.get();
  }
  Result<std::unique_ptr<BackendQueue>> q = ns->backend->OpenQueue(*loop_);
  if (!q.ok()) return nullptr;
  backend_queues_.emplace_back(ns, std::move(q).value());
  return backend_queues_.back().second.get();
}

}  // namespace nvmeof::controller
