// A controller queue's lifecycle, command dispatch and completion.

#include "controller/queue.h"

#include <malloc.h>

#include "base/annotations.h"
#include "controller/admin_cmd.h"
#include "controller/fabrics_cmd.h"
#include "controller/io_cmd.h"
#include "nvmeof/log.h"

namespace nvmeof::controller {

namespace {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizedHeap = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizedHeap = true;
#else
constexpr bool kSanitizedHeap = false;
#endif
#else
constexpr bool kSanitizedHeap = false;
#endif

// Memory freed by connections that ended goes back to the OS: glibc keeps
// freed heap memory otherwise (1,000 idle connections gone still held
// ~360 MB). At most once a second per loop, a second after an end.
void TrimSoon(EventLoop* loop) {
  thread_local bool scheduled = false;
  if (scheduled) return;
  scheduled = true;
  loop->AddTimer(std::chrono::seconds(1), [] {
    scheduled = false;
    // Under a sanitizer the heap is the sanitizer's: glibc's malloc_trim
    // has nothing to give back, and calling it from an I/O thread set up
    // glibc's arena for that thread, which glibc then found inconsistent
    // when the thread ended (ASan: "malloc assertion failure in
    // __malloc_arena_thread_freeres").
    if (!kSanitizedHeap) malloc_trim(0);
  });
}

// Requests per queue: the transport's capsule pool holds twice the queue
// size; a well-behaved host never has more than a queue's worth in flight.
constexpr size_t kSlack = 8;
// After a failed DH-HMAC-CHAP transaction, how long the queue stays for
// its last message to leave (SPDK waits as long).
constexpr std::chrono::milliseconds kAuthFailureLinger{100};
}  // namespace

// A queue's hold on one namespace table: the commands that use it count.
struct TablePin {
  std::shared_ptr<const NamespaceTable> table;
  uint32_t users = 0;
};

ControllerQueue::ControllerQueue(QueueRegistry* target, EventLoop* loop,
                                 std::shared_ptr<const Port> port,
                                 std::unique_ptr<QueuePair> qp, uint64_t id)
    : target_(target),
      loop_(loop),
      port_holder_(std::move(port)),
      port_(port_holder_.get()),
      qp_(std::move(qp)),
      id_(id),
      // Grown as commands come, up to a queue's worth and some slack.
      requests_(0, 8,
                port_->params.transport.max_queue_size +
                    kSlack) {
  thread_index_ = target_->RegisterQueue(loop_, this);
  const ListenParams& params = port_->params;
  if (params.connect_timeout.count() > 0) {
    connect_timer_ = loop_->AddTimer(params.connect_timeout, [this, params] {
      connect_timer_ = 0;
      if (bound()) return;
      NVMEOF_LOG(kWarn,
                 "connection from %s: no Fabrics Connect within %lld ms: "
                 "closing it",
                 peer_name().c_str(),
                 static_cast<long long>(params.connect_timeout.count()));
      Close();
    });
  }
  qp_->SetCallbacks(
      QueuePairCallbacks{[this](const Status& s) { OnError(s); },
                         [this](CapsulePtr c) { OnCommand(std::move(c)); }});
}

ControllerQueue::~ControllerQueue() {
  CancelTimers();
  // Every request is free (Teardown): only the current pin is left. The
  // backend queues go before the namespaces they serve.
  backend_queues_.clear();
  delete pin_;
}

void ControllerQueue::CancelTimers() {
  for (EventLoop::TimerId* t : {&connect_timer_, &enable_timer_, &auth_timer_}) {
    if (*t) loop_->CancelTimer(*t);
    *t = 0;
  }
}

void ControllerQueue::OnCommand(CapsulePtr capsule) {
  if (closing_) return;
  Request* r = requests_.Get();
  if (r != nullptr) r->queue = this;
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
  r->SetState(RequestState::kParsing);
  // Arrived by the start of this turn of the loop (read once per turn).
  r->start = loop_->Now();
  r->counted = false;
  r->rw = 0;
  r->cmd = std::move(capsule);
  r->dw0 = r->dw1 = 0;
  r->ns = nullptr;
  r->error_location = ErrorLocation{};
  r->error_lba = 0;
  // Each command consumes one SQ entry (SQHD is reported in every CQE).
  if (sqsize_ != 0) sqhd_ = static_cast<uint16_t>((sqhd_ + 1) % sqsize_);
  Dispatch(*r);
}

void ControllerQueue::Dispatch(Request& r) {
  const Sqe& sqe = r.sqe();
  if (NvmeStatus v = r.cmd->Validate(); !v.ok()) {
    Fail(r, v, ErrorLocation::At(kSqeSgl1));
    return;
  }
  if ((sqe.flags & kSqeFlagsFuseMask) != 0) {
    // No fused commands.
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(kSqeFlags));
    return;
  }
  if (sqe.opcode == kFabricsOpcode) {
    ExecuteFabrics(r);
    return;
  }
  if (!authenticated_) {
    Fail(r, CommandSpecificStatus(sc::kAuthenticationRequired));
    return;
  }
  if (!bound() || !ctrl_->ready()) {
    // Only Fabrics commands before Connect and CC.EN.
    Fail(r, GenericStatus(sc::kCommandSequenceError, true));
    return;
  }
  if (qid_ == 0) {
    ctrl_->Touch();
    ExecuteAdmin(r);
  } else {
    ExecuteIo(r);
  }
}

void ControllerQueue::RequireAuthentication(
    std::unique_ptr<auth::ControllerAuth> a,
    std::chrono::milliseconds timeout) {
  auth_ = std::move(a);
  authenticated_ = false;
  if (auth_timer_) loop_->CancelTimer(auth_timer_);
  auth_timer_ = loop_->AddTimer(timeout, [this, timeout] {
    auth_timer_ = 0;
    if (authenticated_) return;
    auth_reported_ = true;
    NVMEOF_LOG(kWarn,
               "controller %u: queue %u from %s (host %s) did not "
               "authenticate within %lld ms: closed",
               ctrl_->cntlid(), qid_, peer_name().c_str(),
               ctrl_->hostnqn().c_str(),
               static_cast<long long>(timeout.count()));
    Close();
  });
}

void ControllerQueue::AuthenticationEnded(bool succeeded) {
  if (succeeded) {
    const bool first = !authenticated_;
    authenticated_ = true;
    if (auth_timer_) loop_->CancelTimer(auth_timer_);
    auth_timer_ = 0;
    const std::string what =
        "controller " + std::to_string(ctrl_->cntlid()) + ": queue " +
        std::to_string(qid_) + " of host " + ctrl_->hostnqn() + " from " +
        peer_name() + " authenticated (DH-HMAC-CHAP " +
        std::string(auth::HashName(auth_->hash())) + ", " +
        std::string(auth::DhGroupName(auth_->dhgroup())) +
        (auth_->bidirectional() ? ", bidirectional)" : ")");
    if (first && qid_ == 0) {
      NVMEOF_LOG(kInfo, "%s", what.c_str());
    } else {
      NVMEOF_LOG(kDebug, "%s", what.c_str());
    }
    return;
  }
  NVMEOF_LOG(kWarn,
             "controller %u: queue %u of host %s from %s failed "
             "DH-HMAC-CHAP: %s",
             ctrl_->cntlid(), qid_, ctrl_->hostnqn().c_str(),
             peer_name().c_str(), auth_->failure().c_str());
  authenticated_ = false;
  auth_reported_ = true;
  // The last message (AUTH_Failure1, or the response to the host's
  // AUTH_Failure2) is on its way: the queue ends shortly after, as SPDK
  // does, rather than racing it.
  if (auth_timer_) loop_->CancelTimer(auth_timer_);
  auth_timer_ = loop_->AddTimer(kAuthFailureLinger, [this] {
    auth_timer_ = 0;
    Close();
  });
}

void ControllerQueue::Bind(std::shared_ptr<Controller> ctrl, uint16_t qid,
                           uint16_t sqsize, bool sq_flow_control_disabled) {
  ctrl_ = std::move(ctrl);
  qid_ = qid;
  sqsize_ = sqsize;
  target_->QueueBound(loop_, qid);
  qp_->SetConnected(qid, sq_flow_control_disabled);
  if (connect_timer_) {
    loop_->CancelTimer(connect_timer_);
    connect_timer_ = 0;
  }
  const std::chrono::milliseconds enable =
      port_->params.enable_timeout;
  if (qid == 0 && enable.count() > 0) {
    enable_timer_ = loop_->AddTimer(enable, [this, enable] {
      enable_timer_ = 0;
      if (ctrl_ == nullptr || ctrl_->ready()) return;
      NVMEOF_LOG(kWarn,
                 "controller %u (%s from %s): not enabled (CC.EN) within "
                 "%lld ms of its Connect: ending the association",
                 ctrl_->cntlid(), ctrl_->hostnqn().c_str(),
                 peer_name().c_str(), static_cast<long long>(enable.count()));
      Close();
    });
  }
}

void ControllerQueue::Complete(Request& r, NvmeStatus status) {
  Respond(r, status);
  Release(r);
}

void ControllerQueue::Respond(Request& r, NvmeStatus status) {
  // Before whatever the host sends once it sees this (annotations.h).
  if (r.ns != nullptr) NVMEOF_HAPPENS_BEFORE(r.ns);
  Cqe cqe{};
  cqe.dw0 = r.dw0;
  cqe.dw1 = r.dw1;
  cqe.sqhd = sqhd_;
  cqe.sqid = qid_;
  cqe.cid = r.sqe().cid;
  cqe.status = status.ToCqeStatus();
  if (!status.ok() && ctrl_ != nullptr) {
    ctrl_->RecordError(qid_, cqe.cid, status, r.error_location.value,
                       r.error_lba, r.sqe().nsid);
  }
  if (!status.ok() && r.counted) {
    const auto code = static_cast<uint16_t>(
        (static_cast<uint16_t>(status.sct) << 8) | status.sc);
    ++io_stats_.errors;
    r.ns->counters(thread_index()).RecordError(code);
    bool kept = false;
    for (size_t i = 0; i < IoCounters::kErrorKinds && !kept; ++i) {
      if (io_stats_.error_code[i] == 0) io_stats_.error_code[i] = code;
      if (io_stats_.error_code[i] == code) {
        ++io_stats_.error_count[i];
        kept = true;
      }
    }
    if (!kept) ++io_stats_.other_errors;
  }
  if (!closing_) {
    CapsulePtr rsp = qp_->AllocateResponse(cqe);
    // A dead connection refuses it: the host will not see this completion
    // anyway, and the request is freed the same.
    if (rsp) qp_->Transmit(*rsp).IgnoreError();
  }
}

void ControllerQueue::Release(Request& r) {
  if (r.counted) {
    IoCounters& c = r.ns->counters(thread_index());
    IoCounters::Add(c.completed, 1);
    if (r.rw == 1) {
      ++io_stats_.read_commands;
      io_stats_.bytes_read += r.length;
    } else if (r.rw == 2) {
      ++io_stats_.write_commands;
      io_stats_.bytes_written += r.length;
    }
    if (untimed_ == 0) {  // this queue's first I/O command, then one in N
      const auto ns = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::steady_clock::now() - r.start)
              .count());
      c.RecordLatency(ns);
      ++io_stats_.latency[IoCounters::LatencyBucket(ns)];
      io_stats_.latency_sum_ns += ns;
      untimed_ = IoCounters::kLatencySampleEvery;
    }
    --untimed_;
    r.counted = false;
  }
  r.SetState(RequestState::kFree);
  r.cmd.reset();
  r.ns = nullptr;
  Unpin(r);
  requests_.Put(&r);
  if (closing_ && requests_.in_use() == 0 && qp_closed_) Teardown();
}

void ControllerQueue::OnError(const Status& status) {
  // A failed or closed connection: either way the queue ends.
  if (!status.ok()) {
    NVMEOF_LOG(
        kWarn, "connection from %s, queue %u%s: %s: closing it",
        peer_name().c_str(), qid_,
        ctrl_ ? (" of controller " + std::to_string(ctrl_->cntlid())).c_str()
              : "",
        status.ToString().c_str());
  }
  Close();
}

void ControllerQueue::Close() {
  if (closing_) return;
  closing_ = true;
  CancelTimers();
  // Held Asynchronous Event Requests end without a response.
  if (ctrl_ != nullptr && qid_ == 0) ctrl_->CancelAers();
  qp_->Close([this] {
    // The queue pair's callbacks are over; pending data callbacks have run
    // (cancelled), so every request that waited on one has been released
    // or is in a backend. Those still hold capsules from the queue pair's
    // pool: it lives until the last of them is released.
    qp_closed_ = true;
    if (requests_.in_use() == 0) Teardown();
  });
}

// The queue pair is gone and no request is in flight: detach from the
// controller (an admin queue ends the association) and delete.
void ControllerQueue::Teardown() {
  target_->UnregisterQueue(loop_, id_);
  if (ctrl_ != nullptr && auth_ != nullptr && !authenticated_ &&
      !auth_reported_) {
    // A host that never tried (nvme-cli without --dhchap-secret closes at
    // once), or gave up part way.
    NVMEOF_LOG(kWarn,
               "controller %u: queue %u of host %s from %s closed before it "
               "authenticated (DH-HMAC-CHAP required)",
               ctrl_->cntlid(), qid_, ctrl_->hostnqn().c_str(),
               peer_name().c_str());
  }
  if (ctrl_ != nullptr) {
    if (qid_ == 0) {
      NVMEOF_LOG(kInfo, "controller %u: association ended", ctrl_->cntlid());
      ctrl_->StopKeepAlive();
      target_->RemoveController(ctrl_->cntlid());
      for (QueueRef ref : ctrl_->TakeIoQueues()) target_->CloseQueue(ref);
    } else {
      ctrl_->DetachIoQueue(qid_);
    }
  }
  ctrl_.reset();
  TrimSoon(loop_);
  // Later, not inside the callback that got here (a backend queue's own
  // completion, or the queue pair's close): the destructor frees the
  // backend queues and the queue pair.
  loop_->Defer([this] { delete this; });
}

const NamespaceTable& ControllerQueue::Namespaces(Request& r) {
  if (pin_ == nullptr ||
      ctrl_->subsystem().namespace_version() != pin_version_) {
    Refresh();
  }
  if (r.pin != pin_) {
    Unpin(r);
    r.pin = pin_;
    ++pin_->users;
  }
  return *pin_->table;
}

void ControllerQueue::RefreshNamespaces() {
  if (ctrl_ == nullptr || closing_) return;
  if (pin_ != nullptr &&
      ctrl_->subsystem().namespace_version() == pin_version_) {
    return;
  }
  Refresh();
}

void ControllerQueue::Refresh() {
  const Subsystem& s = ctrl_->subsystem();
  // The version first: a change between the two reads is seen next time.
  const uint64_t version = s.namespace_version();
  TablePin* old = pin_;
  pin_ = new TablePin{s.namespaces(), 0};
  pin_version_ = version;
  if (old == nullptr) return;
  ++retired_pins_;
  if (old->users == 0) Retire(old);
}

void ControllerQueue::Unpin(Request& r) {
  TablePin* p = r.pin;
  if (p == nullptr) return;
  r.pin = nullptr;
  if (--p->users == 0 && p != pin_) Retire(p);
}

void ControllerQueue::Retire(TablePin* pin) {
  // The backend queues of removed namespaces close while the old table
  // still keeps those namespaces (and their backends) alive.
  if (--retired_pins_ == 0) SweepBackendQueues();
  delete pin;
}

void ControllerQueue::SweepBackendQueues() {
  const NamespaceTable* now = pin_ != nullptr ? pin_->table.get() : nullptr;
  for (size_t i = 0; i < backend_queues_.size();) {
    const Namespace* ns = backend_queues_[i].first;
    if (now != nullptr && now->Find(ns->nsid) == ns) {
      ++i;
      continue;
    }
    backend_queues_.erase(backend_queues_.begin() +
                          static_cast<std::ptrdiff_t>(i));
  }
}

BackendQueue* ControllerQueue::BackendFor(const Namespace& ns) {
  for (auto& [n, q] : backend_queues_) {
    if (n == &ns) return q.get();
  }
  Result<std::unique_ptr<BackendQueue>> q = ns.backend->OpenQueue(*loop_);
  if (!q.ok()) return nullptr;
  backend_queues_.emplace_back(&ns, std::move(q).value());
  return backend_queues_.back().second.get();
}

}  // namespace nvmeof::controller
