#include "controller/target_impl.h"

#include <cstdio>
#include <future>

#include "nvmeof/cpu.h"
#include "nvmeof/proto/nqn.h"
#include "controller/queue.h"

namespace nvmeof::controller {

TargetImpl::TargetImpl()
    : discovery_(std::make_unique<Subsystem>(std::string(kDiscoveryNqn),
                                             SubsystemType::kDiscovery)) {
  discovery_->serial = "nvmeof-discovery";
  discovery_->model = "nvmeof discovery";
}

TargetImpl::~TargetImpl() { Stop(); }

Status TargetImpl::AddSubsystem(std::unique_ptr<Subsystem> subsystem) {
  if (started_) return FailedPreconditionError("target already started");
  if (FindSubsystem(subsystem->nqn()) != nullptr) {
    return AlreadyExistsError("subsystem " + subsystem->nqn() + " exists");
  }
  subsystems_.push_back(std::move(subsystem));
  return Status();
}

Status TargetImpl::AddPort(uint16_t id, TransportType trtype,
                       const std::string& traddr, const std::string& trsvcid,
                       const std::vector<std::string>& subsystems,
                       const ListenParams& params) {
  if (started_) return FailedPreconditionError("target already started");
  auto port = std::make_unique<Port>();
  port->id = id;
  port->trtype = static_cast<uint8_t>(trtype);
  port->traddr = traddr;
  port->trsvcid = trsvcid;
  port->ipv6 = traddr.find(':') != std::string::npos;
  if (subsystems.empty()) {
    for (auto& s : subsystems_) port->subsystems.push_back(s.get());
  } else {
    for (const std::string& nqn : subsystems) {
      const Subsystem* s = FindSubsystem(nqn);
      if (s == nullptr || s->is_discovery()) {
        return NotFoundError("port " + std::to_string(id) + ": no subsystem " +
                             nqn);
      }
      port->subsystems.push_back(s);
    }
  }
  ports_.push_back(std::move(port));
  port_params_.push_back(params);
  port_trtypes_.push_back(trtype);
  return Status();
}

Subsystem* TargetImpl::MutableSubsystem(std::string_view nqn) {
  if (started_) return nullptr;
  for (const auto& s : subsystems_) {
    if (s->nqn() == nqn) return s.get();
  }
  return nullptr;
}

const Subsystem* TargetImpl::FindSubsystem(std::string_view nqn) const {
  if (nqn == discovery_->nqn()) return discovery_.get();
  for (const auto& s : subsystems_) {
    if (s->nqn() == nqn) return s.get();
  }
  return nullptr;
}

const ListenParams& TargetImpl::port_params(const Port& port) const {
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i].get() == &port) return port_params_[i];
  }
  return port_params_.front();
}

Status TargetImpl::Start(int threads, const std::vector<int>& cpus, bool busy_poll,
                     std::chrono::microseconds poll_idle) {
  if (started_) return FailedPreconditionError("target already started");
  if (threads <= 0)
    threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  for (int i = 0; i < threads; ++i) {
    auto t = std::make_unique<IoThread>();
    NVMEOF_ASSIGN_OR_RETURN(t->owned, EventLoop::Create());
    t->loop = t->owned.get();
    threads_.push_back(std::move(t));
  }
  // Listeners are created on thread 0's loop before it runs: the loop is
  // not yet bound to a thread, and nothing else touches it.
  EventLoop* acceptor = threads_[0]->loop;
  for (size_t i = 0; i < ports_.size(); ++i) {
    Transport* transport = TransportRegistry::Global().Find(port_trtypes_[i]);
    if (transport == nullptr) {
      listeners_.clear();
      threads_.clear();
      return UnavailableError("transport " +
                              std::string(TransportTypeName(port_trtypes_[i])) +
                              " is not available");
    }
    ControllerQueuePairParams qp_params = port_params_[i].transport;
    qp_params.choose_loop = [this] { return NextLoop(); };
    qp_params.shared_connections = connections_;
    const Port* port = ports_[i].get();
    auto l = transport->Listen(
        *acceptor,
        TransportAddress{port_trtypes_[i], port->traddr, port->trsvcid},
        qp_params, [this, port](std::unique_ptr<QueuePair> qp) {
          OnAccept(port, std::move(qp));
        });
    if (!l.ok()) {
      listeners_.clear();
      threads_.clear();
      return l.status().WithContext("listen on " + port->traddr + ":" +
                                    port->trsvcid);
    }
    // A port of "0" is resolved now, so that the discovery log names the
    // real service id.
    ports_[i]->trsvcid = (*l)->address().trsvcid;
    listeners_.push_back(std::move(l).value());
  }
  started_ = true;
  start_time_ = std::chrono::steady_clock::now();
  genctr_ = ComputeGenctr();
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

// GENCTR: a hash (FNV-1a, 64-bit) of everything the discovery log shows,
// so that it differs whenever the configuration behind the log does, even
// across restarts; never 0.
uint64_t TargetImpl::ComputeGenctr() const {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= 0xFF;
    h *= 0x100000001b3ull;
  };
  for (const auto& p : ports_) {
    mix(std::to_string(p->id) + "/" + std::to_string(p->trtype) + "/" +
        p->traddr + "/" + p->trsvcid);
    for (const Subsystem* s : p->subsystems) {
      mix(s->nqn());
      mix(s->allow_any_host ? "*" : "");
      for (const std::string& host : s->hosts) mix(host);
    }
  }
  return h == 0 ? 1 : h;
}

uint64_t TargetImpl::UptimeHours() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::hours>(
          std::chrono::steady_clock::now() - start_time_)
          .count());
}

std::vector<TransportAddress> TargetImpl::listen_addresses() const {
  std::vector<TransportAddress> out;
  for (const auto& l : listeners_) out.push_back(l->address());
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

void TargetImpl::OnAccept(const Port* port, std::unique_ptr<QueuePair> qp) {
  EventLoop* loop = &qp->loop();
  // The queue owns itself from here on and registers with its loop.
  new ControllerQueue(this, loop, port, std::move(qp), NextQueueId());
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
  return threads_.size() + foreign_.size() - 1;
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
    const Subsystem* subsystem, const Port* port, std::string hostnqn,
    std::array<uint8_t, 16> hostid, EventLoop* loop, ControllerLimits limits) {
  std::lock_guard<std::mutex> lock(mu_);
  // CNTLIDs 1..0xFFEF, the next free one after the last given out.
  for (int tries = 0; tries < 0xFFEF; ++tries) {
    uint16_t id = next_cntlid_;
    next_cntlid_ = id >= 0xFFEF ? 1 : static_cast<uint16_t>(id + 1);
    if (controllers_.count(id) != 0) continue;
    auto c = std::make_shared<Controller>(subsystem, port, id,
                                          std::move(hostnqn), hostid, loop,
                                          limits);
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
  stopped_ = true;
  // 1. Stop accepting (the listeners belong to thread 0's loop).
  {
    std::promise<void> done;
    threads_[0]->loop->Post([this, &done] {
      listeners_.clear();
      done.set_value();
    });
    done.get_future().wait();
  }
  // 2. Close every queue, on its loop, and wait until each loop has none.
  for (auto& t : threads_) {
    std::promise<void> done;
    IoThread* thread = t.get();
    t->loop->Post([thread, &done] {
      std::vector<ControllerQueue*> qs;
      for (auto& [id, q] : thread->queues) qs.push_back(q);
      for (ControllerQueue* q : qs) q->Close();
      done.set_value();
    });
    done.get_future().wait();
  }
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
  for (auto& s : subsystems_) {
    for (auto& [nsid, ns] : s->namespaces()) {
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
  return q;
}

}  // namespace nvmeof::controller
