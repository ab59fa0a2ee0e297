#include "host/host_queue.h"

#include <cassert>

namespace nvmeof::host {

namespace {
using SlotState = HostQueue::SlotState;
constexpr bool Allowed(SlotState from, SlotState to) {
  switch (to) {
    case SlotState::kFree:
      return true;
    case SlotState::kAwaitingBoth:
      return from == SlotState::kFree;
    case SlotState::kAwaitingResponse:
    case SlotState::kAwaitingData:
      return from == SlotState::kAwaitingBoth || from == SlotState::kFree;
  }
  return false;
}
}  // namespace

void HostQueue::Slot::SetState(SlotState next) {
  assert(Allowed(state, next) && "host slot state step not allowed");
  (void)Allowed;
  state = next;
}

HostQueue::HostQueue(EventLoop* loop, uint16_t qid, uint16_t size,
                     std::chrono::milliseconds command_timeout,
                     std::function<void(Status)> on_failed)
    : loop_(loop),
      qid_(qid),
      slots_(std::make_unique<Slot[]>(size)),
      size_(size),
      command_timeout_(command_timeout),
      on_failed_(std::move(on_failed)) {
  for (uint16_t i = 0; i < size; ++i) free_.Push(&slots_[i]);
}

HostQueue::~HostQueue() {
  Close(CancelledError("queue closed"));
  if (deadline_timer_) loop_->CancelTimer(deadline_timer_);
}

Result<std::unique_ptr<HostQueue>> HostQueue::Connect(
    EventLoop& loop, const TransportAddress& address,
    const HostQueuePairParams& params, std::chrono::milliseconds timeout,
    std::chrono::milliseconds command_timeout,
    std::function<void(Status)> on_failed) {
  Transport* t = TransportRegistry::Global().Find(address.trtype);
  if (t == nullptr) {
    return UnavailableError("transport " +
                            std::string(TransportTypeName(address.trtype)) +
                            " is not available");
  }
  std::unique_ptr<HostQueue> q(new HostQueue(&loop, params.qid,
                                             params.queue_size, command_timeout,
                                             std::move(on_failed)));
  HostQueue* raw = q.get();
  bool done = false;
  Status status;
  HostQueuePairParams p = params;
  p.connect_timeout = timeout;
  t->Connect(loop, address, p,
             QueuePairCallbacks{
                 [raw](const Status& s) {
                   raw->Fail(s.ok() ? UnavailableError(
                                          "controller closed the connection")
                                    : s);
                 },
                 [raw](CapsulePtr c) { raw->OnResponse(std::move(c)); }},
             [&](Result<std::unique_ptr<QueuePair>> r) {
               done = true;
               if (r.ok()) {
                 raw->qp_ = std::move(r).value();
               } else {
                 status = r.status();
               }
             });
  if (!loop.RunUntil([&] { return done; }, timeout + std::chrono::seconds(1))) {
    return DeadlineExceededError("connect timed out");
  }
  if (!status.ok()) return status;
  raw->deadline_timer_ =
      loop.AddTimer(std::chrono::seconds(1), [raw] { raw->CheckDeadlines(); });
  return q;
}

void HostQueue::FailLater(CompletionCallback done, const Status& why) {
  // Never inside Submit(): through the loop (this allocates, but only on
  // the failure path).
  auto* cb = new CompletionCallback(std::move(done));
  loop_->Defer([cb, why] {
    std::unique_ptr<CompletionCallback> owned(cb);
    Completion c;
    c.status = why;
    (*owned)(std::move(c));
  });
}

void HostQueue::Submit(const Sqe& sqe, const MemDesc& data, bool to_controller,
                       CompletionCallback done) {
  if (failed_ || qp_ == nullptr) {
    FailLater(std::move(done),
              failure_.ok() ? UnavailableError("queue is down") : failure_);
    return;
  }
  if (free_.empty()) {
    FailLater(std::move(done), ResourceExhaustedError("queue full"));
    return;
  }
  Slot* s = free_.Pop();
  const uint16_t cid = static_cast<uint16_t>(s - slots_.get());
  Sqe cmd = sqe;
  cmd.cid = cid;
  s->cmd = qp_->AllocateCommand(cmd);
  if (!s->cmd) {
    free_.PushFront(s);
    FailLater(std::move(done),
              ResourceExhaustedError("capsule pool exhausted"));
    return;
  }
  s->SetState(data.empty() ? SlotState::kAwaitingResponse
                            : SlotState::kAwaitingBoth);
  s->data_status = Status();
  s->done = std::move(done);
  s->deadline = loop_->Now() + command_timeout_;
  ++in_flight_;
  if (!data.empty()) {
    s->cmd->AppendData(data, to_controller,
                       [this, s](Status st) { OnData(s, std::move(st)); });
  }
  Status st = qp_->Transmit(*s->cmd);
  if (!st.ok()) {
    // Nothing was sent and no callback will come for its data.
    Completion c;
    c.status = st;
    CompletionCallback cb = std::move(s->done);
    s->cmd.reset();
    s->SetState(SlotState::kFree);
    free_.PushFront(s);
    --in_flight_;
    auto* held = new CompletionCallback(std::move(cb));
    loop_->Defer([held, c = std::move(c)]() mutable {
      std::unique_ptr<CompletionCallback> owned(held);
      (*owned)(std::move(c));
    });
  }
}

void HostQueue::OnResponse(CapsulePtr rsp) {
  const uint16_t cid = rsp->cqe().cid;
  if (cid >= size_) return;
  Slot* s = &slots_[cid];
  if (s->state != SlotState::kAwaitingBoth &&
      s->state != SlotState::kAwaitingResponse) {
    return;  // not outstanding, or answered already
  }
  s->cqe = rsp->cqe();
  if (s->state == SlotState::kAwaitingBoth) {
    s->SetState(SlotState::kAwaitingData);
    return;
  }
  Finish(s, Completion{s->data_status, s->cqe});
}

void HostQueue::OnData(Slot* s, Status status) {
  // kAborted: the response came first (the command failed before moving
  // its data); the response tells why, so that is not a transport error.
  if (!status.ok() && status.code() != StatusCode::kAborted)
    s->data_status = std::move(status);
  switch (s->state) {
    case SlotState::kAwaitingBoth:
      s->SetState(SlotState::kAwaitingResponse);
      return;
    case SlotState::kAwaitingData:
      Finish(s, Completion{s->data_status, s->cqe});
      return;
    default:
      return;  // failed with the queue already
  }
}

void HostQueue::Finish(Slot* s, Completion c) {
  CompletionCallback done = std::move(s->done);
  s->cmd.reset();
  s->SetState(SlotState::kFree);
  free_.Push(s);
  --in_flight_;
  if (done) done(std::move(c));
}

void HostQueue::CheckDeadlines() {
  deadline_timer_ = 0;
  if (failed_ || closed_) return;
  const auto now = loop_->Now();
  for (uint16_t i = 0; i < size_; ++i) {
    if (slots_[i].busy() && slots_[i].deadline <= now) {
      Fail(DeadlineExceededError("command timed out (qid " +
                                 std::to_string(qid_) + ", cid " +
                                 std::to_string(i) + ")"));
      return;
    }
  }
  deadline_timer_ =
      loop_->AddTimer(std::chrono::seconds(1), [this] { CheckDeadlines(); });
}

void HostQueue::Fail(const Status& why) {
  if (failed_) return;
  failed_ = true;
  failure_ = why;
  // Closing the queue pair ends every pending data transfer; commands then
  // complete with the failure (no response will come).
  if (qp_ != nullptr && !closed_) {
    closed_ = true;
    qp_->Close([this, why] {
      for (uint16_t i = 0; i < size_; ++i) {
        Slot* s = &slots_[i];
        if (!s->busy()) continue;
        Completion c;
        c.status = why;
        c.cqe = s->cqe;
        Finish(s, std::move(c));
      }
    });
  }
  if (on_failed_) on_failed_(why);
}

void HostQueue::Close(const Status& why) {
  if (qp_ == nullptr) return;
  if (!closed_) {
    failed_ = true;
    failure_ = why;
    closed_ = true;
    bool done = false;
    qp_->Close([this, &done, why] {
      for (uint16_t i = 0; i < size_; ++i) {
        Slot* s = &slots_[i];
        if (!s->busy()) continue;
        Completion c;
        c.status = why;
        Finish(s, std::move(c));
      }
      done = true;
    });
    loop_->RunUntil([&] { return done; }, std::chrono::seconds(10));
  } else {
    loop_->RunUntil([this] { return in_flight_ == 0; },
                    std::chrono::seconds(10));
  }
  qp_.reset();
}

}  // namespace nvmeof::host
