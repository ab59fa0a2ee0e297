#include "controller/target_impl.h"

#include <algorithm>
#include <cstdio>
#include <future>

#include "controller/queue.h"
#include "nvmeof/cpu.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

TargetImpl::TargetImpl()
    : discovery_(std::make_shared<Subsystem>(std::string(kDiscoveryNqn),
                                             SubsystemType::kDiscovery)) {
  discovery_->serial = "nvmeof-discovery";
  discovery_->model = "nvmeof discovery";
}

TargetImpl::~TargetImpl() { Stop(); }

// ---- controllers ----

std::vector<ControllerInfo> TargetImpl::Controllers(
    std::string_view nqn) const {
  std::vector<ControllerInfo> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, c] : controllers_) {
    if (!nqn.empty() && c->subsystem().nqn() != nqn) continue;
    ControllerInfo i;
    i.cntlid = id;
    i.subnqn = c->subsystem().nqn();
    i.hostnqn = c->hostnqn();
    i.hostid = c->hostid();
    i.port_id = c->port().id;
    i.traddr = c->port().traddr;
    i.trsvcid = c->port().trsvcid;
    i.io_queues = c->io_queue_count();
    out.push_back(std::move(i));
  }
  return out;
}

void TargetImpl::EndAssociations(
    const std::function<bool(const Controller&)>& pick) {
  std::vector<QueueRef> admin;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, c] : controllers_) {
      if (pick(*c)) {
        NVMEOF_LOG(kInfo, "controller %u (%s for %s): ending the association",
                   id, c->subsystem().nqn().c_str(), c->hostnqn().c_str());
        admin.push_back(c->admin_queue());
      }
    }
  }
  for (QueueRef ref : admin) CloseQueue(ref);
}

void TargetImpl::ForEachThread(
    const std::function<void(IoThread&, size_t)>& fn) {
  if (!started_ || stopped_) return;
  for (size_t i = 0; i < threads_.size(); ++i) {
    std::promise<void> done;
    IoThread* thread = threads_[i].get();
    thread->loop->Post([thread, i, &fn, &done] {
      fn(*thread, i);
      done.set_value();
    });
    done.get_future().wait();
  }
}

void TargetImpl::ForEachQueue(
    const std::function<void(ControllerQueue&)>& fn) {
  ForEachThread([&fn](IoThread& thread, size_t) {
    std::vector<ControllerQueue*> qs;
    for (auto& [id, q] : thread.queues) qs.push_back(q);
    for (ControllerQueue* q : qs) fn(*q);
  });
}

void TargetImpl::QueueBound(EventLoop* loop, uint16_t qid) {
  // On `loop`: its own counters.
  for (auto& t : threads_) {
    if (t->loop == loop) ++(qid == 0 ? t->admin_total : t->io_total);
  }
}

std::vector<QueuePairInfo> TargetImpl::QueuePairs(std::string_view nqn) {
  std::vector<QueuePairInfo> out;
  std::mutex out_mu;
  ForEachThread([&](IoThread& thread, size_t index) {
    for (auto& [id, q] : thread.queues) {
      const Controller* c = q->bound_controller();
      if (c == nullptr) continue;
      if (!nqn.empty() && c->subsystem().nqn() != nqn) continue;
      QueuePairInfo i;
      i.cntlid = c->cntlid();
      i.qid = q->qid();
      i.thread = index;
      i.subnqn = c->subsystem().nqn();
      i.hostnqn = c->hostnqn();
      i.peer = q->peer_name();
      i.local = q->local_address();
      const ControllerQueue::IoStats& st = q->io_stats();
      i.read_commands = st.read_commands;
      i.write_commands = st.write_commands;
      i.bytes_read = st.bytes_read;
      i.bytes_written = st.bytes_written;
      i.errors = st.errors;
      i.io = st;
      i.in_flight = q->in_flight();
      std::lock_guard<std::mutex> lock(out_mu);
      out.push_back(std::move(i));
    }
  });
  std::lock_guard<std::mutex> lock(mu_);
  for (QueuePairInfo& i : out) {
    // The port object, by the controller's port.
    auto it = controllers_.find(i.cntlid);
    if (it == controllers_.end()) continue;
    for (const auto& ps : ports_) {
      if (ps->port.get() == &it->second->port()) i.port = ps->port;
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.cntlid != b.cntlid ? a.cntlid < b.cntlid : a.qid < b.qid;
  });
  return out;
}

std::vector<ThreadStats> TargetImpl::ThreadStatistics() {
  std::vector<ThreadStats> out(threads_.size());
  ForEachThread([&](IoThread& thread, size_t index) {
    ThreadStats& s = out[index];
    s.index = index;
    s.admin_total = thread.admin_total;
    s.io_total = thread.io_total;
    s.busy = thread.loop->busy_time();
    for (auto& [id, q] : thread.queues) {
      if (q->bound_controller() == nullptr) {
        ++s.unbound_now;
      } else if (q->qid() == 0) {
        ++s.admin_now;
      } else {
        ++s.io_now;
      }
    }
  });
  return out;
}

// ---- running ----

Status TargetImpl::Start(int threads, const std::vector<int>& cpus,
                         bool busy_poll, std::chrono::microseconds poll_idle) {
  if (started_) return FailedPreconditionError("target already started");
  if (threads <= 0)
    threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  // Each thread has a counter slot of its own in every namespace, unless
  // there are more threads than slots (IoCounters::Add).
  if (static_cast<size_t>(threads) > kCounterSlots) {
    IoCounters::shared_slots = true;
  }
  for (int i = 0; i < threads; ++i) {
    auto t = std::make_unique<IoThread>();
    NVMEOF_ASSIGN_OR_RETURN(t->owned, EventLoop::Create());
    t->loop = t->owned.get();
    threads_.push_back(std::move(t));
  }
  // Listeners are created on thread 0's loop before it runs: the loop is
  // not yet bound to a thread, and nothing else touches it.
  for (auto& ps : ports_) {
    Status s = Listen(*ps);
    if (!s.ok()) {
      for (auto& p : ports_) p->listener.reset();
      threads_.clear();
      return s;
    }
  }
  started_ = true;
  start_time_ = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    genctr_.store(ComputeGenctrLocked(), std::memory_order_relaxed);
  }
  for (size_t i = 0; i < threads_.size(); ++i) {
    EventLoop* loop = threads_[i]->loop;
    loop->set_busy_poll(busy_poll);
    loop->set_poll_idle(poll_idle);
    const int cpu = cpus.empty() ? -1 : cpus[i % cpus.size()];
    threads_[i]->thread = std::thread([loop, cpu] {
      // As before: a CPU that cannot be had leaves the thread unpinned.
      if (cpu >= 0) PinCurrentThread(cpu).IgnoreError();
      loop->Run();
    });
  }
  return Status();
}

uint64_t TargetImpl::UptimeHours() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::hours>(
          std::chrono::steady_clock::now() - start_time_)
          .count());
}

std::vector<TransportAddress> TargetImpl::listen_addresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TransportAddress> out;
  for (const auto& ps : ports_) {
    if (ps->listener != nullptr) out.push_back(ps->listener->address());
  }
  return out;
}

EventLoop* TargetImpl::NextLoop() {
  // Called on thread 0 only (the listeners' loop).
  EventLoop* loop = threads_[next_thread_]->loop;
  next_thread_ = (next_thread_ + 1) % threads_.size();
  return loop;
}

TargetImpl::IoThread* TargetImpl::ThreadOf(EventLoop* loop) const {
  for (const auto& t : threads_) {
    if (t->loop == loop) return t.get();
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : foreign_) {
    if (t->loop == loop) return t.get();
  }
  return nullptr;
}

void TargetImpl::OnAccept(std::shared_ptr<const Port> port,
                          std::unique_ptr<QueuePair> qp) {
  EventLoop* loop = &qp->loop();
  // The queue owns itself from here on and registers with its loop.
  new ControllerQueue(this, loop, std::move(port), std::move(qp),
                      NextQueueId());
}

size_t TargetImpl::RegisterQueue(EventLoop* loop, ControllerQueue* q) {
  for (size_t i = 0; i < threads_.size(); ++i) {
    if (threads_[i]->loop == loop) {
      threads_[i]->queues[q->id()] = q;
      return i;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < foreign_.size(); ++i) {
    if (foreign_[i]->loop == loop) {
      foreign_[i]->queues[q->id()] = q;
      return threads_.size() + i;
    }
  }
  auto t = std::make_unique<IoThread>();
  t->loop = loop;
  t->queues[q->id()] = q;
  foreign_.push_back(std::move(t));
  const size_t index = threads_.size() + foreign_.size() - 1;
  if (index >= kCounterSlots) IoCounters::shared_slots = true;
  return index;
}

void TargetImpl::UnregisterQueue(EventLoop* loop, uint64_t id) {
  IoThread* t = ThreadOf(loop);
  if (t != nullptr) t->queues.erase(id);
}

void TargetImpl::CloseQueue(QueueRef ref) {
  IoThread* t = ThreadOf(ref.loop);
  if (t == nullptr) return;
  ref.loop->Post([t, id = ref.id] {
    auto it = t->queues.find(id);
    if (it != t->queues.end()) it->second->Close();
  });
}

std::shared_ptr<Controller> TargetImpl::CreateController(
    std::shared_ptr<const Subsystem> subsystem, const Port* port,
    std::string hostnqn, std::array<uint8_t, 16> hostid, EventLoop* loop,
    ControllerLimits limits, QueueRef admin_queue) {
  std::lock_guard<std::mutex> lock(mu_);
  // CNTLIDs in the subsystem's range (1..0xFFEF by default), the next free
  // one after the last given out.
  const uint16_t lo = std::max<uint16_t>(subsystem->min_cntlid, 1);
  const uint16_t hi = std::min<uint16_t>(subsystem->max_cntlid, 0xFFEF);
  if (lo > hi) return nullptr;
  for (int tries = 0; tries <= hi - lo; ++tries) {
    uint16_t id = next_cntlid_;
    if (id < lo || id > hi) id = lo;
    next_cntlid_ = id >= 0xFFEF ? 1 : static_cast<uint16_t>(id + 1);
    if (controllers_.count(id) != 0) continue;
    auto c = std::make_shared<Controller>(std::move(subsystem), port, id,
                                          std::move(hostnqn), hostid, loop,
                                          limits, admin_queue);
    controllers_[id] = c;
    return c;
  }
  return nullptr;
}

std::shared_ptr<Controller> TargetImpl::FindController(uint16_t cntlid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = controllers_.find(cntlid);
  return it == controllers_.end() ? nullptr : it->second;
}

void TargetImpl::RemoveController(uint16_t cntlid) {
  std::lock_guard<std::mutex> lock(mu_);
  controllers_.erase(cntlid);
}

void TargetImpl::Stop() {
  if (!started_ || stopped_) return;
  // 1. Stop accepting (the listeners belong to thread 0's loop).
  {
    std::promise<void> done;
    threads_[0]->loop->Post([this, &done] {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& ps : ports_) ps->listener.reset();
      done.set_value();
    });
    done.get_future().wait();
  }
  // 2. Close every queue, on its loop, and wait until each loop has none.
  ForEachQueue([](ControllerQueue& q) { q.Close(); });
  stopped_ = true;
  for (auto& t : threads_) {
    IoThread* thread = t.get();
    for (;;) {
      std::promise<bool> empty;
      t->loop->Post(
          [thread, &empty] { empty.set_value(thread->queues.empty()); });
      if (empty.get_future().get()) break;
      // Closing takes a few loop turns; ask again after the loop had them.
      std::promise<void> turn;
      t->loop->Post([&turn] { turn.set_value(); });
      turn.get_future().wait();
    }
  }
  // 3. Stop the loops and join.
  for (auto& t : threads_) t->loop->Stop();
  for (auto& t : threads_) {
    if (t->thread.joinable()) t->thread.join();
  }
  // 4. Make what was written durable.
  for (const std::shared_ptr<Subsystem>& s : subsystems()) {
    for (auto& [nsid, ns] : s->namespaces()->by_nsid) {
      Status synced = ns->backend->Sync();
      if (!synced.ok()) {
        std::fprintf(stderr, "nvmeof-target: namespace %u: %s\n", nsid,
                     synced.ToString().c_str());
      }
    }
  }
}

ControllerQueuePairParams ToQueuePairParams(const PortParams& params) {
  ControllerQueuePairParams q;
  q.max_queue_size = params.max_queue_size;
  q.max_io_icd = params.in_capsule_data_size;
  q.max_h2c_data = params.max_h2c_data;
  q.max_c2h_data = params.c2h_data_pdu_size;
  q.allow_header_digest = params.header_digest;
  q.allow_data_digest = params.data_digest;
  q.max_connections = static_cast<int>(params.max_connections);
  if (params.tls != TlsMode::kNone) {
    // The PSK lookup is the target's: TargetImpl::Listen adds it.
    auto tls = std::make_shared<TlsServerParams>();
    tls->mode = params.tls;
    tls->allow_psk_only = params.tls_psk_ke;
    q.tls = std::move(tls);
  }
  return q;
}

}  // namespace nvmeof::controller
