// TargetImpl, the served model: subsystems, namespaces and named backends,
// changed while the target runs (the hosts concerned are told). Hosts and
// their keys are in target_hosts.cc.

#include "controller/target_impl.h"

#include <algorithm>

#include "nvmeof/log.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

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

}  // namespace nvmeof::controller
