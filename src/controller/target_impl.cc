#include "controller/target_impl.h"

#include <algorithm>
#include <cstdio>
#include <future>

#include "controller/queue.h"
#include "nvmeof/cpu.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

namespace {

bool SameAddress(const Port& p, uint8_t trtype, const std::string& traddr,
                 const std::string& trsvcid) {
  return p.trtype == trtype && p.traddr == traddr && p.trsvcid == trsvcid;
}

}  // namespace

TargetImpl::TargetImpl()
    : discovery_(std::make_shared<Subsystem>(std::string(kDiscoveryNqn),
                                             SubsystemType::kDiscovery)) {
  discovery_->serial = "nvmeof-discovery";
  discovery_->model = "nvmeof discovery";
}

TargetImpl::~TargetImpl() { Stop(); }

// ---- subsystems ----

Status TargetImpl::AddSubsystem(std::shared_ptr<Subsystem> subsystem) {
  if (subsystem->nqn() == kDiscoveryNqn || subsystem->is_discovery()) {
    return InvalidArgumentError("the discovery NQN is reserved");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subsystems_.count(subsystem->nqn()) != 0) {
      return AlreadyExistsError("subsystem " + subsystem->nqn() +
                                " already exists");
    }
    created_.push_back(subsystem);
    subsystems_[subsystem->nqn()] = std::move(subsystem);
  }
  return Status();
}

Status TargetImpl::DeleteSubsystem(std::string_view nqn) {
  std::shared_ptr<Subsystem> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = subsystems_.find(nqn);
    if (it == subsystems_.end()) {
      return NotFoundError("subsystem " + std::string(nqn) +
                           " does not exist");
    }
    gone = it->second;
    subsystems_.erase(it);
    std::erase(created_, gone);
    // Its named backends are free to serve another namespace.
    for (const auto& [nsid, ns] : gone->namespaces()->by_nsid) {
      for (NamedBackend& b : backends_) {
        if (!ns->backend_name.empty() && b.name == ns->backend_name) {
          b.user_nqn.clear();
          b.user_nsid = 0;
        }
      }
    }
  }
  EndAssociations([&](const Controller& c) {
    return &c.subsystem() == gone.get();
  });
  // Ports made only for this subsystem close; the others stop naming it.
  std::vector<PortState*> empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& ps : ports_) {
      if (ps->port->Unexpose(gone->nqn()) && !ps->keep &&
          ps->port->subsystems().empty()) {
        empty.push_back(ps.get());
      }
    }
  }
  for (PortState* ps : empty) ClosePort(*ps);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(ports_, [&](const std::unique_ptr<PortState>& ps) {
      return std::find(empty.begin(), empty.end(), ps.get()) != empty.end();
    });
  }
  DiscoveryChanged();
  return Status();
}

std::shared_ptr<Subsystem> TargetImpl::FindNvmLocked(
    std::string_view nqn) const {
  auto it = subsystems_.find(nqn);
  return it == subsystems_.end() ? nullptr : it->second;
}

std::shared_ptr<Subsystem> TargetImpl::GetSubsystem(
    std::string_view nqn) const {
  std::lock_guard<std::mutex> lock(mu_);
  return FindNvmLocked(nqn);
}

std::vector<std::shared_ptr<Subsystem>> TargetImpl::subsystems() const {
  std::lock_guard<std::mutex> lock(mu_);
  return created_;
}

std::shared_ptr<const Subsystem> TargetImpl::FindSubsystem(
    std::string_view nqn) const {
  if (nqn == discovery_->nqn()) return discovery_;
  std::lock_guard<std::mutex> lock(mu_);
  return FindNvmLocked(nqn);
}

// ---- namespaces ----

Status TargetImpl::AddNamespace(std::string_view nqn,
                                std::shared_ptr<Namespace> ns) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  const uint32_t nsid = ns->nsid;
  if (nsid == 0 || nsid == 0xFFFFFFFF) {
    return InvalidArgumentError("NSID " + std::to_string(nsid) +
                                " is not 1..0xFFFFFFFE");
  }
  if (nsid > s->max_namespaces) {
    return InvalidArgumentError(
        "NSID " + std::to_string(nsid) + " is more than the " +
        std::to_string(s->max_namespaces) + " namespaces subsystem " +
        std::string(nqn) + " may have (max_namespaces)");
  }
  if (!s->AddNamespace(std::move(ns))) {
    return AlreadyExistsError("NSID " + std::to_string(nsid) +
                              " is in use in subsystem " + std::string(nqn));
  }
  TellNamespaceChanged(nqn, nsid);
  return Status();
}

Status TargetImpl::RemoveNamespace(std::string_view nqn, uint32_t nsid) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  std::shared_ptr<Namespace> gone = s->RemoveNamespace(nsid);
  if (gone == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) +
                         " has no namespace " + std::to_string(nsid));
  }
  if (!gone->backend_name.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (NamedBackend& b : backends_) {
      if (b.name == gone->backend_name) b.user_nqn.clear(), b.user_nsid = 0;
    }
  }
  TellNamespaceChanged(nqn, nsid);
  return Status();
}

Status TargetImpl::NamespaceResized(std::string_view nqn, uint32_t nsid) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr || s->FindNamespace(nsid) == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) +
                         " has no namespace " + std::to_string(nsid));
  }
  TellNamespaceChanged(nqn, nsid);
  return Status();
}

void TargetImpl::TellNamespaceChanged(std::string_view nqn, uint32_t nsid) {
  std::vector<std::weak_ptr<Controller>> ctrls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, c] : controllers_) {
      if (c->subsystem().nqn() == nqn) ctrls.push_back(c);
    }
  }
  for (const std::weak_ptr<Controller>& w : ctrls) {
    std::shared_ptr<Controller> c = w.lock();
    if (c == nullptr) continue;
    c->loop().Post([w, nsid] {
      if (std::shared_ptr<Controller> c = w.lock()) {
        c->NotifyNamespaceChanged(nsid);
      }
    });
  }
  if (!started_ || stopped_) return;
  // Idle queues let go of a removed namespace now, not at their next
  // command.
  for (auto& t : threads_) {
    IoThread* thread = t.get();
    t->loop->Post([thread] {
      for (auto& [id, q] : thread->queues) q->RefreshNamespaces();
    });
  }
}

// ---- named backends ----

Status TargetImpl::AddBackend(NamedBackend backend) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const NamedBackend& b : backends_) {
    if (b.name == backend.name) {
      return AlreadyExistsError("a backend named " + backend.name +
                                " already exists");
    }
  }
  backends_.push_back(std::move(backend));
  return Status();
}

Status TargetImpl::DeleteBackend(std::string_view name) {
  std::string nqn;
  uint32_t nsid = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(backends_.begin(), backends_.end(),
                           [&](const NamedBackend& b) { return b.name == name; });
    if (it == backends_.end()) {
      return NotFoundError("no backend named " + std::string(name));
    }
    nqn = it->user_nqn;
    nsid = it->user_nsid;
  }
  if (!nqn.empty()) RemoveNamespace(nqn, nsid).IgnoreError();
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(backends_,
                [&](const NamedBackend& b) { return b.name == name; });
  return Status();
}

std::vector<NamedBackend> TargetImpl::backends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return backends_;
}

Result<NamedBackend> TargetImpl::GetBackend(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const NamedBackend& b : backends_) {
    if (b.name == name) return b;
  }
  return NotFoundError("no backend named " + std::string(name));
}

Status TargetImpl::AddNamespaceFromBackend(
    std::string_view nqn, std::string_view name,
    std::shared_ptr<Namespace> ns_template) {
  NamedBackend* b = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (NamedBackend& x : backends_) {
      if (x.name == name) b = &x;
    }
    if (b == nullptr) {
      return NotFoundError("no backend named " + std::string(name));
    }
    if (!b->user_nqn.empty()) {
      return FailedPreconditionError(
          "backend " + std::string(name) + " already serves namespace " +
          std::to_string(b->user_nsid) + " of " + b->user_nqn);
    }
    // Claimed now, so that a second add of the same backend fails even
    // while this one is published.
    b->user_nqn = std::string(nqn);
    b->user_nsid = ns_template->nsid;
  }
  std::shared_ptr<Namespace> ns = Namespace::Create(ns_template->nsid,
                                                    b->backend);
  ns->backend_name = std::string(name);
  ns->uuid = ns_template->uuid;
  ns->nguid = ns_template->nguid;
  ns->eui64 = ns_template->eui64;
  Status s = AddNamespace(nqn, std::move(ns));
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (NamedBackend& x : backends_) {
      if (x.name == name) x.user_nqn.clear(), x.user_nsid = 0;
    }
  }
  return s;
}

namespace {

// Grows `backend` to `new_size` bytes: only a multiple of its block size,
// never smaller.
Status GrowTo(Backend& backend, uint64_t new_size, const std::string& what) {
  if (new_size % backend.block_size() != 0) {
    return InvalidArgumentError(
        "the new size " + std::to_string(new_size) +
        " is not a multiple of the block size " +
        std::to_string(backend.block_size()));
  }
  if (new_size < backend.size_bytes()) {
    return InvalidArgumentError("backends only grow: " +
                                std::to_string(new_size) + " is less than " +
                                std::to_string(backend.size_bytes()));
  }
  return backend.Grow(new_size).WithContext(what);
}

}  // namespace

Status TargetImpl::GrowBackend(std::string_view name, uint64_t new_size) {
  NVMEOF_ASSIGN_OR_RETURN(NamedBackend b, GetBackend(name));
  NVMEOF_RETURN_IF_ERROR(
      GrowTo(*b.backend, new_size, "backend " + std::string(name)));
  if (b.user_nqn.empty()) return Status();
  std::shared_ptr<Subsystem> s = GetSubsystem(b.user_nqn);
  if (s == nullptr) return Status();
  if (const Namespace* ns = s->FindNamespace(b.user_nsid)) {
    ns->set_num_blocks(b.backend->num_blocks());
  }
  return NamespaceResized(b.user_nqn, b.user_nsid);
}

Status TargetImpl::GrowNamespace(std::string_view nqn, uint32_t nsid,
                                 uint64_t new_size) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  std::shared_ptr<const NamespaceTable> table = s->namespaces();
  const Namespace* ns = table->Find(nsid);
  if (ns == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " has no NSID " +
                         std::to_string(nsid));
  }
  NVMEOF_RETURN_IF_ERROR(GrowTo(*ns->backend, new_size,
                                "namespace " + std::to_string(nsid) + " of " +
                                    std::string(nqn)));
  ns->set_num_blocks(ns->backend->num_blocks());
  return NamespaceResized(nqn, nsid);
}

// ---- hosts ----

Status TargetImpl::AddHost(std::string_view nqn, const std::string& hostnqn) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  if (Status v = ValidateNqn(hostnqn); !v.ok()) return v.WithContext("host");
  if (!s->AddHost(hostnqn)) {
    return AlreadyExistsError("host " + hostnqn + " is already allowed on " +
                              std::string(nqn));
  }
  DiscoveryChanged();
  return Status();
}

Status TargetImpl::RemoveHost(std::string_view nqn,
                              const std::string& hostnqn) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  if (!s->RemoveHost(hostnqn)) {
    return NotFoundError("host " + hostnqn + " is not on the list of " +
                         std::string(nqn));
  }
  EndAssociations([&](const Controller& c) {
    return &c.subsystem() == s.get() && !s->HostAllowed(c.hostnqn());
  });
  DiscoveryChanged();
  return Status();
}

Status TargetImpl::SetAllowAnyHost(std::string_view nqn, bool allow) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  s->set_allow_any_host(allow);
  if (!allow) {
    EndAssociations([&](const Controller& c) {
      return &c.subsystem() == s.get() && !s->HostAllowed(c.hostnqn());
    });
  }
  DiscoveryChanged();
  return Status();
}

// ---- ports ----

TargetImpl::PortState* TargetImpl::FindPortLocked(uint8_t trtype,
                                                  const std::string& traddr,
                                                  const std::string& trsvcid) {
  for (auto& ps : ports_) {
    if (SameAddress(*ps->port, trtype, traddr, trsvcid)) return ps.get();
  }
  return nullptr;
}

Status TargetImpl::AddPort(uint16_t id, TransportType trtype,
                           const std::string& traddr,
                           const std::string& trsvcid,
                           const std::vector<std::string>& subsystems,
                           const ListenParams& params, bool all_when_empty) {
  auto ps = std::make_unique<PortState>();
  ps->port = std::make_shared<Port>();
  ps->trtype = trtype;
  ps->keep = true;
  Port& port = *ps->port;
  port.id = id;
  port.trtype = static_cast<uint8_t>(trtype);
  port.traddr = traddr;
  port.trsvcid = trsvcid;
  port.ipv6 = traddr.find(':') != std::string::npos;
  port.params = params;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& other : ports_) {
      if (other->port->id == id) {
        return AlreadyExistsError("port " + std::to_string(id) +
                                  " exists already");
      }
    }
    if (subsystems.empty() && all_when_empty) {
      for (const auto& s : created_) port.Expose(s->nqn());
    } else {
      for (const std::string& nqn : subsystems) {
        if (FindNvmLocked(nqn) == nullptr) {
          return NotFoundError("port " + std::to_string(id) +
                               ": no subsystem " + nqn);
        }
        port.Expose(nqn);
      }
    }
    next_port_id_ = std::max<uint16_t>(next_port_id_, id + 1);
  }
  if (started_) NVMEOF_RETURN_IF_ERROR(Listen(*ps));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ports_.push_back(std::move(ps));
  }
  if (started_) DiscoveryChanged();
  return Status();
}

Status TargetImpl::AddListener(std::string_view nqn, TransportType trtype,
                               const std::string& traddr,
                               const std::string& trsvcid,
                               const ListenParams& params) {
  const bool discovery_only = nqn == kDiscoveryNqn;
  std::unique_ptr<PortState> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!discovery_only && FindNvmLocked(nqn) == nullptr) {
      return NotFoundError("subsystem " + std::string(nqn) +
                           " does not exist");
    }
    if (PortState* ps = FindPortLocked(static_cast<uint8_t>(trtype), traddr,
                                       trsvcid)) {
      if (discovery_only) {
        if (ps->keep) {
          return AlreadyExistsError("the discovery service already listens "
                                    "on " + traddr + ":" + trsvcid);
        }
        ps->keep = true;
        return Status();
      }
      if (!ps->port->Expose(std::string(nqn))) {
        return AlreadyExistsError("subsystem " + std::string(nqn) +
                                  " already listens on " + traddr + ":" +
                                  trsvcid);
      }
    } else {
      fresh = std::make_unique<PortState>();
      fresh->port = std::make_shared<Port>();
      fresh->trtype = trtype;
      fresh->keep = discovery_only;
      Port& port = *fresh->port;
      port.id = next_port_id_++;
      port.trtype = static_cast<uint8_t>(trtype);
      port.traddr = traddr;
      port.trsvcid = trsvcid;
      port.ipv6 = traddr.find(':') != std::string::npos;
      port.params = params;
      if (!discovery_only) port.Expose(std::string(nqn));
    }
  }
  if (fresh != nullptr) {
    if (started_) NVMEOF_RETURN_IF_ERROR(Listen(*fresh));
    std::lock_guard<std::mutex> lock(mu_);
    ports_.push_back(std::move(fresh));
  }
  DiscoveryChanged();
  return Status();
}

Status TargetImpl::RemoveListener(std::string_view nqn, TransportType trtype,
                                  const std::string& traddr,
                                  const std::string& trsvcid) {
  const bool discovery_only = nqn == kDiscoveryNqn;
  PortState* ps = nullptr;
  bool close = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ps = FindPortLocked(static_cast<uint8_t>(trtype), traddr, trsvcid);
    const std::string where = traddr + ":" + trsvcid;
    if (ps == nullptr) {
      return NotFoundError("nothing listens on " + where);
    }
    if (discovery_only) {
      if (!ps->keep) {
        return NotFoundError("the discovery service has no listener of its "
                             "own on " + where);
      }
      ps->keep = false;
    } else if (!ps->port->Unexpose(std::string(nqn))) {
      return NotFoundError("subsystem " + std::string(nqn) +
                           " does not listen on " + where);
    }
    close = !ps->keep && ps->port->subsystems().empty();
  }
  const Port* port = ps->port.get();
  if (!discovery_only) {
    EndAssociations([&](const Controller& c) {
      return &c.port() == port && c.subsystem().nqn() == nqn;
    });
  }
  if (close) {
    ClosePort(*ps);
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(ports_, [&](const std::unique_ptr<PortState>& p) {
      return p.get() == ps;
    });
  }
  DiscoveryChanged();
  return Status();
}

Status TargetImpl::RemovePort(uint16_t id) {
  PortState* ps = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : ports_) {
      if (p->port->id == id) ps = p.get();
    }
  }
  if (ps == nullptr) return NotFoundError("no port " + std::to_string(id));
  ClosePort(*ps);  // its queues end with it
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(ports_, [&](const std::unique_ptr<PortState>& p) {
      return p.get() == ps;
    });
  }
  DiscoveryChanged();
  return Status();
}

std::vector<std::shared_ptr<const Port>> TargetImpl::ports() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Port>> out;
  for (const auto& ps : ports_) out.push_back(ps->port);
  return out;
}

Status TargetImpl::Listen(PortState& ps) {
  Transport* transport = TransportRegistry::Global().Find(ps.trtype);
  if (transport == nullptr) {
    return UnavailableError("transport " +
                            std::string(TransportTypeName(ps.trtype)) +
                            " is not available");
  }
  ControllerQueuePairParams qp_params = ps.port->params.transport;
  qp_params.choose_loop = [this] { return NextLoop(); };
  qp_params.shared_connections = connections_;
  std::shared_ptr<Port> port = ps.port;
  auto listen = [&]() -> Result<std::unique_ptr<Listener>> {
    return transport->Listen(
        *threads_[0]->loop,
        TransportAddress{ps.trtype, port->traddr, port->trsvcid}, qp_params,
        [this, port](std::unique_ptr<QueuePair> qp) {
          OnAccept(port, std::move(qp));
        });
  };
  Result<std::unique_ptr<Listener>> l = InvalidArgumentError("not run");
  if (!started_) {
    // Before the loop runs nothing else touches it.
    l = listen();
  } else {
    std::promise<void> done;
    threads_[0]->loop->Post([&] {
      l = listen();
      done.set_value();
    });
    done.get_future().wait();
  }
  if (!l.ok()) {
    return l.status().WithContext("listen on " + port->traddr + ":" +
                                  port->trsvcid);
  }
  // A port of "0" is resolved now, so that the discovery log names the
  // real service id. Nothing reads it before the port is published.
  port->trsvcid = (*l)->address().trsvcid;
  ps.listener = std::move(l).value();
  return Status();
}

void TargetImpl::ClosePort(PortState& ps) {
  if (started_ && !stopped_ && ps.listener != nullptr) {
    std::promise<void> done;
    threads_[0]->loop->Post([&] {
      ps.listener.reset();
      done.set_value();
    });
    done.get_future().wait();
  } else {
    ps.listener.reset();
  }
  const Port* port = ps.port.get();
  ForEachQueue([port](ControllerQueue& q) {
    if (&q.port() == port) q.Close();
  });
}

// ---- referrals ----

Status TargetImpl::AddReferral(const Referral& referral) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::find(referrals_.begin(), referrals_.end(), referral) !=
        referrals_.end()) {
      return Status();
    }
    referrals_.insert(referrals_.begin(), referral);  // newest first
  }
  DiscoveryChanged();
  return Status();
}

Status TargetImpl::RemoveReferral(const Referral& referral) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(referrals_.begin(), referrals_.end(), referral);
    if (it == referrals_.end()) {
      return NotFoundError("no referral to " + referral.traddr + ":" +
                           referral.trsvcid);
    }
    referrals_.erase(it);
  }
  DiscoveryChanged();
  return Status();
}

std::vector<Referral> TargetImpl::referrals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return referrals_;
}

// ---- discovery ----

DiscoveryView TargetImpl::Discovery(const Port& port) const {
  DiscoveryView v;
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& nqn : port.subsystems()) {
    if (std::shared_ptr<Subsystem> s = FindNvmLocked(nqn)) {
      v.subsystems.push_back(std::move(s));
    }
  }
  v.referrals = referrals_;
  v.genctr = genctr_.load(std::memory_order_relaxed);
  return v;
}

uint64_t TargetImpl::discovery_genctr() const {
  return genctr_.load(std::memory_order_relaxed);
}

// GENCTR: a hash (FNV-1a, 64-bit) of everything the discovery log shows,
// so that it differs whenever the configuration behind the log does, even
// across restarts; never 0.
uint64_t TargetImpl::ComputeGenctrLocked() const {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= 0xFF;
    h *= 0x100000001b3ull;
  };
  for (const auto& ps : ports_) {
    const Port& p = *ps->port;
    mix(std::to_string(p.id) + "/" + std::to_string(p.trtype) + "/" +
        p.traddr + "/" + p.trsvcid);
    for (const std::string& nqn : p.subsystems()) {
      std::shared_ptr<Subsystem> s = FindNvmLocked(nqn);
      if (s == nullptr) continue;
      mix(s->nqn());
      mix(s->allow_any_host() ? "*" : "");
      for (const std::string& host : s->hosts()) mix(host);
    }
  }
  for (const Referral& r : referrals_) {
    mix("referral/" + std::to_string(r.trtype) + "/" + r.traddr + "/" +
        r.trsvcid + "/" + r.subnqn + (r.secure_channel ? "/tls" : ""));
  }
  return h == 0 ? 1 : h;
}

void TargetImpl::DiscoveryChanged() {
  std::vector<std::weak_ptr<Controller>> ctrls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t next = ComputeGenctrLocked();
    if (next == genctr_.load(std::memory_order_relaxed)) return;
    genctr_.store(next, std::memory_order_relaxed);
    for (const auto& [id, c] : controllers_) {
      if (c->subsystem().is_discovery()) ctrls.push_back(c);
    }
  }
  for (const std::weak_ptr<Controller>& w : ctrls) {
    std::shared_ptr<Controller> c = w.lock();
    if (c == nullptr) continue;
    c->loop().Post([w] {
      if (std::shared_ptr<Controller> c = w.lock()) c->NotifyDiscoveryChanged();
    });
  }
}

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
  return q;
}

}  // namespace nvmeof::controller
