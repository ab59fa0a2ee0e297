// The host's failure handling: I/O requests tracked so that they can be
// retried, the association torn down and set up again every
// reconnect_delay until ctrl_loss_tmo, fast_io_fail_tmo for waiting I/O.

#include <cstring>

#include "host/host_queue.h"
#include "nvmeof/host.h"
#include "nvmeof/log.h"

namespace nvmeof::host {

Association::IoRequest* Association::NewRequest() { return requests_.Get(); }

void Association::FreeRequest(IoRequest* r) {
  r->done.Reset();
  r->data = MemDesc();
  requests_.Put(r);
}

void Association::SubmitIo(uint16_t qid, const Sqe& sqe, const MemDesc& data,
                          bool to_controller, CompletionCallback done) {
  IoRequest* r = NewRequest();
  r->qid = qid;
  r->sqe = sqe;
  r->data = data;
  r->to_controller = to_controller;
  r->done = std::move(done);
  switch (state_) {
    case State::kLive:
      Dispatch(r);
      return;
    case State::kReconnecting:
      if (!fast_io_failed_) {
        held_.Push(r);
        return;
      }
      [[fallthrough]];
    case State::kFailed:
      // Never inside SubmitIo: the queue's own failure path defers it.
      FailRequest(r, failure_.ok()
                         ? UnavailableError("controller is not connected")
                         : failure_);
      return;
  }
}

void Association::Dispatch(IoRequest* r) {
  // A new association may grant fewer queues: spread over what there is.
  const uint16_t n = io_queue_count();
  const uint16_t qid = static_cast<uint16_t>(n == 0 ? 1 : (r->qid - 1) % n + 1);
  io_queues_[qid - 1]->Submit(
      r->sqe, r->data, r->to_controller,
      [this, r](Completion c) { OnIoDone(r, std::move(c)); });
}

void Association::OnIoDone(IoRequest* r, Completion c) {
  // A command that ended with its connection (not with an NVMe status)
  // waits for the association to come back, if the application said so.
  if (!c.status.ok() && state_ == State::kReconnecting &&
      options_.retry_after_reconnect && !fast_io_failed_) {
    held_.Push(r);
    return;
  }
  CompletionCallback done = std::move(r->done);
  FreeRequest(r);
  if (done) done(std::move(c));
}

void Association::FailRequest(IoRequest* r, const Status& why) {
  // Through the loop, never inside the caller's call.
  loop_->Defer([this, r, why] {
    CompletionCallback done = std::move(r->done);
    FreeRequest(r);
    Completion c;
    c.status = why;
    if (done) done(std::move(c));
  });
}

void Association::FailHeld(const Status& why) {
  IntrusiveFifo<IoRequest> failing = std::move(held_);
  while (!failing.empty()) {
    IoRequest* r = failing.Pop();
    CompletionCallback done = std::move(r->done);
    FreeRequest(r);
    Completion c;
    c.status = why;
    if (done) done(std::move(c));
  }
}

void Association::OnQueueFailed(Status why) {
  if (state_ != State::kLive || disconnected_) return;
  failure_ = why.ok() ? UnavailableError("controller closed the connection")
                      : std::move(why);
  lost_at_ = std::chrono::steady_clock::now();
  if (keep_alive_timer_) {
    loop_->CancelTimer(keep_alive_timer_);
    keep_alive_timer_ = 0;
  }
  if (options_.ctrl_loss_tmo.count() == 0) {
    state_ = State::kFailed;
    NVMEOF_LOG(kWarn, "controller %u lost: %s", cntlid_,
               failure_.ToString().c_str());
    loop_->Defer([this] { TearDownQueues(failure_); });
    return;
  }
  state_ = State::kReconnecting;
  NVMEOF_LOG(kWarn, "controller %u lost (%s): reconnecting", cntlid_,
             failure_.ToString().c_str());
  if (options_.fast_io_fail_tmo.count() >= 0) {
    fast_fail_timer_ = loop_->AddTimer(options_.fast_io_fail_tmo, [this] {
      fast_fail_timer_ = 0;
      fast_io_failed_ = true;
      FailHeld(failure_);
    });
  }
  // Not inside the failing queue's callback: the teardown closes queues.
  loop_->Defer([this] {
    TearDownQueues(failure_);
    ScheduleReconnect();
  });
}

// Closes every queue; their outstanding commands complete with `why` (and
// are held for retry by OnIoDone when that is the policy).
void Association::TearDownQueues(const Status& why) {
  for (auto& q : io_queues_) q->Close(why);
  io_queues_.clear();
  if (admin_ != nullptr) admin_->Close(why);
  admin_.reset();
}

void Association::ScheduleReconnect() {
  if (state_ != State::kReconnecting) return;
  reconnect_timer_ = loop_->AddTimer(options_.reconnect_delay, [this] {
    reconnect_timer_ = 0;
    TryReconnect();
  });
}

Status Association::Reestablish() {
  NVMEOF_RETURN_IF_ERROR(ConnectAdmin());
  NVMEOF_RETURN_IF_ERROR(EnableController());
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> id, Identify(0x01, 0));
  IdentifyController fresh;
  std::memcpy(&fresh, id.data(), sizeof(fresh));
  if (std::string(fresh.subnqn) != std::string(id_.subnqn)) {
    return FailedPreconditionError(
        "a different subsystem answered at that address");
  }
  id_ = fresh;
  return ConnectIoQueues();
}

void Association::TryReconnect() {
  if (state_ != State::kReconnecting || disconnected_) return;
  Status s = Reestablish();
  if (s.ok()) {
    state_ = State::kLive;
    failure_ = Status();
    ++reconnects_;
    if (fast_fail_timer_) {
      loop_->CancelTimer(fast_fail_timer_);
      fast_fail_timer_ = 0;
    }
    fast_io_failed_ = false;
    NVMEOF_LOG(kInfo, "controller reconnected: cntlid %u", cntlid_);
    StartKeepAlive();
    EnableAsyncEvents().IgnoreError();
    IntrusiveFifo<IoRequest> resumed = std::move(held_);
    while (!resumed.empty()) Dispatch(resumed.Pop());
    return;
  }
  TearDownQueues(s);
  const auto waited = std::chrono::steady_clock::now() - lost_at_;
  if (options_.ctrl_loss_tmo.count() > 0 && waited >= options_.ctrl_loss_tmo) {
    state_ = State::kFailed;
    failure_ = UnavailableError(
        "controller loss timeout expired; last attempt: " + s.ToString());
    NVMEOF_LOG(kError, "%s", failure_.ToString().c_str());
    FailHeld(failure_);
    return;
  }
  ScheduleReconnect();
}

}  // namespace nvmeof::host
