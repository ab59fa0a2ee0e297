// TargetImpl, what hosts reach: ports and their listeners, discovery
// referrals, and the discovery log's view and generation counter.

#include "controller/target_impl.h"

#include <algorithm>
#include <future>

#include "nvmeof/log.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

namespace {

bool SameAddress(const Port& p, uint8_t trtype, const std::string& traddr,
                 const std::string& trsvcid) {
  return p.trtype == trtype && p.traddr == traddr && p.trsvcid == trsvcid;
}

}  // namespace

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
      // TLS is the port's: a listener cannot change it.
      auto mode = [](const ListenParams& p) {
        return p.transport.tls != nullptr ? p.transport.tls->mode
                                          : TlsMode::kNone;
      };
      if (mode(ps->port->params) != mode(params)) {
        return InvalidArgumentError(
            traddr + ":" + trsvcid + " already listens with TLS " +
            std::string(TlsModeName(mode(ps->port->params))) +
            ": a secure channel is set per port (a listener on another port "
            "can differ)");
      }
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
  if (qp_params.tls != nullptr) {
    auto tls = std::make_shared<TlsServerParams>(*qp_params.tls);
    tls->find_psk = [this, port](std::string_view identity) {
      return FindTlsPsk(*port, identity);
    };
    qp_params.tls = std::move(tls);
  }
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

}  // namespace nvmeof::controller
