// A running target changed to serve another config (target_impl.h,
// ApplyConfig): the difference between what it serves and what the config
// says, applied through the run-time operations, so that what did not
// change keeps running and keeps its connections.

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "auth/key_file.h"
#include "controller/backend_registry.h"
#include "controller/backends/common.h"
#include "controller/target_impl.h"

namespace nvmeof::controller {
namespace {

// `to` is `from` grown: the same backend but for a larger size.
bool IsGrowth(const BackendConfig& from, const BackendConfig& to) {
  if (from.type != to.type || !(from.options.block_size == to.options.block_size) ||
      from.options.read_only != to.options.read_only) {
    return false;
  }
  if (!from.params.contains("size") || !to.params.contains("size")) {
    return false;
  }
  config_internal::Json a = from.params, b = to.params;
  a.erase("size");
  b.erase("size");
  return a == b && ParamSize(to.params, "size") > ParamSize(from.params, "size");
}

// A namespace that stays but whose inline backend grows.
bool IsNamespaceGrowth(const NamespaceConfig& from, const NamespaceConfig& to) {
  return from.bdev_name.empty() && to.bdev_name.empty() &&
         from.nsid == to.nsid && from.uuid == to.uuid &&
         from.nguid == to.nguid && from.eui64 == to.eui64 &&
         IsGrowth(from.backend, to.backend);
}

// The same namespace. One over a bdev is the same whatever the bdev's
// settings (its own changes are the bdev's: grown, or made again).
bool SameNamespace(const NamespaceConfig& a, const NamespaceConfig& b) {
  if (!a.bdev_name.empty() || !b.bdev_name.empty()) {
    return a.bdev_name == b.bdev_name && a.nsid == b.nsid &&
           a.uuid == b.uuid && a.nguid == b.nguid && a.eui64 == b.eui64;
  }
  return a == b;
}

// What a subsystem is that cannot change while it is published.
bool SameIdentity(const SubsystemConfig& a, const SubsystemConfig& b) {
  return a.serial == b.serial && a.model == b.model &&
         a.max_namespaces == b.max_namespaces && a.min_cntlid == b.min_cntlid &&
         a.max_cntlid == b.max_cntlid;
}

// Where a port listens and how (all but what it exposes).
bool SameListener(const PortConfig& a, const PortConfig& b) {
  return a.transport == b.transport && a.family == b.family &&
         a.address == b.address && a.port == b.port && a.params == b.params;
}

template <typename T>
std::map<std::string, const T*> ByName(const std::vector<T>& items,
                                       std::string T::*key) {
  std::map<std::string, const T*> out;
  for (const T& i : items) out[i.*key] = &i;
  return out;
}

const NamespaceConfig* FindNs(const SubsystemConfig& s, uint32_t nsid) {
  for (const NamespaceConfig& n : s.namespaces) {
    if (n.nsid == nsid) return &n;
  }
  return nullptr;
}

std::shared_ptr<Namespace> NamespaceOf(const NamespaceConfig& nc,
                                       std::unique_ptr<Backend> backend) {
  std::shared_ptr<Namespace> ns =
      backend != nullptr ? Namespace::Create(nc.nsid, std::move(backend))
                         : std::make_shared<Namespace>();
  ns->nsid = nc.nsid;
  if (nc.bdev_name.empty()) ns->inline_config = nc.backend;
  ns->uuid = nc.uuid;
  ns->nguid = nc.nguid;
  ns->eui64 = nc.eui64;
  return ns;
}

class Applier {
 public:
  Applier(TargetImpl& t, const TargetConfig& now, const TargetConfig& want)
      : t_(t), now_(now), want_(want) {}

  Result<std::vector<std::string>> Run() {
    Plan();
    NVMEOF_RETURN_IF_ERROR(OpenBackends());  // nothing has changed yet
    NVMEOF_RETURN_IF_ERROR(Apply());
    return std::move(done_);
  }

 private:
  void Plan() {
    const auto now_b = ByName(now_.bdevs, &BdevConfig::name);
    const auto want_b = ByName(want_.bdevs, &BdevConfig::name);
    for (const auto& [name, b] : now_b) {
      auto it = want_b.find(name);
      if (it == want_b.end()) {
        delete_bdevs_.insert(name);
      } else if (!(*it->second == *b)) {
        if (b->uuid == it->second->uuid &&
            IsGrowth(b->backend, it->second->backend)) {
          grow_bdevs_[name] = ParamSize(it->second->backend.params, "size");
        } else {
          delete_bdevs_.insert(name);
          create_bdevs_.push_back(it->second);
        }
      }
    }
    for (const auto& [name, b] : want_b) {
      if (now_b.count(name) == 0) create_bdevs_.push_back(b);
    }

    const auto now_s = ByName(now_.subsystems, &SubsystemConfig::nqn);
    const auto want_s = ByName(want_.subsystems, &SubsystemConfig::nqn);
    for (const auto& [nqn, s] : now_s) {
      auto it = want_s.find(nqn);
      if (it == want_s.end()) {
        delete_subsystems_.push_back(nqn);
      } else if (!SameIdentity(*s, *it->second)) {
        delete_subsystems_.push_back(nqn);
        create_subsystems_.push_back(it->second);
      } else {
        PlanNamespaces(*s, *it->second);
      }
    }
    for (const SubsystemConfig& s : want_.subsystems) {
      if (now_s.count(s.nqn) == 0) create_subsystems_.push_back(&s);
    }
  }

  // A kept subsystem's namespaces: removed, changed (removed and added
  // back), grown, or added.
  void PlanNamespaces(const SubsystemConfig& now, const SubsystemConfig& want) {
    kept_.push_back({&now, &want});
    for (const NamespaceConfig& n : now.namespaces) {
      const NamespaceConfig* w = FindNs(want, n.nsid);
      const bool bdev_remade =
          !n.bdev_name.empty() && delete_bdevs_.count(n.bdev_name) != 0;
      if (w != nullptr && SameNamespace(n, *w) && !bdev_remade) continue;
      if (w != nullptr && IsNamespaceGrowth(n, *w)) {
        grow_namespaces_.push_back({now.nqn, n.nsid, ParamSize(w->backend.params, "size")});
        continue;
      }
      remove_ns_.push_back({now.nqn, n.nsid});
      if (w != nullptr) add_ns_.push_back({now.nqn, w});
    }
    for (const NamespaceConfig& w : want.namespaces) {
      if (FindNs(now, w.nsid) == nullptr) add_ns_.push_back({now.nqn, &w});
    }
  }

  // Every backend the new config needs that is not open yet.
  Status OpenBackends() {
    for (const BdevConfig* b : create_bdevs_) {
      Result<std::unique_ptr<Backend>> opened = OpenBackend(b->backend);
      if (!opened.ok()) return opened.status().WithContext("bdev " + b->name);
      opened_bdevs_[b->name] = std::move(opened).value();
    }
    auto open_inline = [&](const std::string& nqn,
                           const NamespaceConfig& n) -> Status {
      if (!n.bdev_name.empty()) return Status();
      Result<std::unique_ptr<Backend>> opened = OpenBackend(n.backend);
      if (!opened.ok()) {
        return opened.status().WithContext("subsystem " + nqn +
                                            " namespace " +
                                            std::to_string(n.nsid));
      }
      opened_ns_[{nqn, n.nsid}] = std::move(opened).value();
      return Status();
    };
    for (const auto& [nqn, n] : add_ns_) {
      NVMEOF_RETURN_IF_ERROR(open_inline(nqn, *n));
    }
    for (const SubsystemConfig* s : create_subsystems_) {
      for (const NamespaceConfig& n : s->namespaces) {
        NVMEOF_RETURN_IF_ERROR(open_inline(s->nqn, n));
      }
    }
    // Every key file is read now (it may have changed): one that cannot be
    // changes nothing.
    for (const KeyConfig& k : want_.keys) {
      Result<KeyMaterial> key = ReadKeyMaterial(k.path, k.compat);
      if (!key.ok()) return key.status().WithContext("key " + k.name);
      read_keys_.emplace(k.name, std::move(key).value());
    }
    NVMEOF_ASSIGN_OR_RETURN(
        policy_, ToDhchapPolicy(want_.dhchap_digests, want_.dhchap_dhgroups));
    return Status();
  }

  // The keyring as `want_` has it, with the secrets OpenBackends read (a
  // rotated file's new one). Keys no longer named go after the hosts
  // (ApplyKeysGone).
  Status ApplyKeys() {
    const auto now_k = ByName(now_.keys, &KeyConfig::name);
    for (const KeyConfig& k : want_.keys) {
      auto it = now_k.find(k.name);
      t_.SetKey(k.name, k.path, std::move(read_keys_.at(k.name)));
      if (it == now_k.end() || it->second->path != k.path) {
        Did("key " + k.name + " added from " + k.path);
      }
    }
    if (policy_.hashes != t_.dhchap_policy().hashes ||
        policy_.dhgroups != t_.dhchap_policy().dhgroups) {
      t_.SetDhchapPolicy(policy_);
      Did("DH-HMAC-CHAP digests and DH groups set");
    }
    return Status();
  }
  Status ApplyKeysGone() {
    const auto want_k = ByName(want_.keys, &KeyConfig::name);
    for (const KeyConfig& k : now_.keys) {
      if (want_k.count(k.name) != 0) continue;
      NVMEOF_RETURN_IF_ERROR(t_.RemoveKey(k.name));
      Did("key " + k.name + " removed");
    }
    return Status();
  }

  Status Apply() {
    NVMEOF_RETURN_IF_ERROR(ApplyKeys());
    for (const std::string& nqn : delete_subsystems_) {
      NVMEOF_RETURN_IF_ERROR(t_.DeleteSubsystem(nqn));
      Did("subsystem " + nqn + " deleted");
    }
    for (const auto& [nqn, nsid] : remove_ns_) {
      NVMEOF_RETURN_IF_ERROR(t_.RemoveNamespace(nqn, nsid));
      Did("namespace " + std::to_string(nsid) + " of " + nqn + " removed");
    }
    for (const std::string& name : delete_bdevs_) {
      NVMEOF_RETURN_IF_ERROR(t_.DeleteBackend(name));
      Did("bdev " + name + " deleted");
    }
    for (const BdevConfig* b : create_bdevs_) {
      NamedBackend nb;
      nb.name = b->name;
      nb.config = b->backend;
      nb.backend = std::move(opened_bdevs_[b->name]);
      nb.uuid = b->uuid;
      NVMEOF_RETURN_IF_ERROR(t_.AddBackend(std::move(nb)));
      Did("bdev " + b->name + " created");
    }
    for (const auto& [name, size] : grow_bdevs_) {
      NVMEOF_RETURN_IF_ERROR(t_.GrowBackend(name, size));
      Did("bdev " + name + " grown to " + std::to_string(size) + " bytes");
    }
    for (const auto& [nqn, nsid, size] : grow_namespaces_) {
      NVMEOF_RETURN_IF_ERROR(t_.GrowNamespace(nqn, nsid, size));
      Did("namespace " + std::to_string(nsid) + " of " + nqn + " grown to " +
          std::to_string(size) + " bytes");
    }
    for (const SubsystemConfig* s : create_subsystems_) {
      auto sub = std::make_shared<Subsystem>(s->nqn, SubsystemType::kNvm);
      sub->serial = s->serial;
      sub->model = s->model;
      sub->max_namespaces = s->max_namespaces;
      sub->min_cntlid = s->min_cntlid;
      sub->max_cntlid = s->max_cntlid;
      sub->set_allow_any_host(s->allow_any_host);
      for (const HostConfig& h : s->hosts) {
        NVMEOF_ASSIGN_OR_RETURN(HostEntry e, t_.ResolveHost(h));
        sub->AddHost(h.nqn, std::move(e));
      }
      NVMEOF_RETURN_IF_ERROR(t_.AddSubsystem(std::move(sub)));
      Did("subsystem " + s->nqn + " created");
      for (const NamespaceConfig& n : s->namespaces) {
        NVMEOF_RETURN_IF_ERROR(AddNamespace(s->nqn, n));
      }
    }
    for (const auto& [nqn, n] : add_ns_) {
      NVMEOF_RETURN_IF_ERROR(AddNamespace(nqn, *n));
    }
    for (const auto& [now, want] : kept_) {
      NVMEOF_RETURN_IF_ERROR(ApplyHosts(*now, *want));
    }
    NVMEOF_RETURN_IF_ERROR(ApplyKeysGone());
    NVMEOF_RETURN_IF_ERROR(ApplyPorts());
    return ApplyReferrals();
  }

  Status ApplyReferrals() {
    auto has = [](const std::vector<ReferralConfig>& list,
                  const ReferralConfig& r) {
      return std::find(list.begin(), list.end(), r) != list.end();
    };
    auto name = [](const ReferralConfig& r) {
      return (r.family == AddressFamily::kIpv6 ? "[" + r.address + "]"
                                               : r.address) +
             ":" + std::to_string(r.port) +
             (r.subnqn.empty() ? "" : " (" + r.subnqn + ")");
    };
    for (const ReferralConfig& r : now_.referrals) {
      if (has(want_.referrals, r)) continue;
      NVMEOF_RETURN_IF_ERROR(t_.RemoveReferral(ToReferral(r)));
      Did("referral " + name(r) + " removed");
    }
    for (const ReferralConfig& r : want_.referrals) {
      if (has(now_.referrals, r)) continue;
      NVMEOF_RETURN_IF_ERROR(t_.AddReferral(ToReferral(r)));
      Did("referral " + name(r) + " added");
    }
    return Status();
  }

  Status AddNamespace(const std::string& nqn, const NamespaceConfig& n) {
    if (!n.bdev_name.empty()) {
      NVMEOF_RETURN_IF_ERROR(
          t_.AddNamespaceFromBackend(nqn, n.bdev_name, NamespaceOf(n, nullptr)));
    } else {
      NVMEOF_RETURN_IF_ERROR(t_.AddNamespace(
          nqn, NamespaceOf(n, std::move(opened_ns_[{nqn, n.nsid}]))));
    }
    Did("namespace " + std::to_string(n.nsid) + " of " + nqn + " added");
    return Status();
  }

  Status ApplyHosts(const SubsystemConfig& now, const SubsystemConfig& want) {
    // Opened to any host first: a host dropped from the list stays
    // connected then (its connections end only if it is no longer allowed).
    const bool opens = want.allow_any_host && !now.allow_any_host;
    if (opens) {
      NVMEOF_RETURN_IF_ERROR(t_.SetAllowAnyHost(now.nqn, true));
      Did("any host may connect to " + now.nqn);
    }
    const auto had = ByName(now.hosts, &HostConfig::nqn);
    const auto wants = ByName(want.hosts, &HostConfig::nqn);
    for (const auto& [nqn, h] : wants) {
      auto it = had.find(nqn);
      if (it == had.end()) {
        NVMEOF_RETURN_IF_ERROR(t_.AddHost(now.nqn, *h));
        Did("host " + nqn + " allowed on " + now.nqn);
        continue;
      }
      if (h->dhchap_key.empty() && it->second->dhchap_key.empty()) continue;
      // The keyring's current keys (ApplyKeys read them again).
      NVMEOF_RETURN_IF_ERROR(t_.SetHostKeys(now.nqn, *h));
      if (*h != *it->second) Did("keys of host " + nqn + " on " + now.nqn + " set");
    }
    for (const auto& [nqn, h] : had) {
      if (wants.count(nqn) != 0) continue;
      NVMEOF_RETURN_IF_ERROR(t_.RemoveHost(now.nqn, nqn));
      Did("host " + nqn + " no longer allowed on " + now.nqn);
    }
    if (now.allow_any_host && !want.allow_any_host) {
      NVMEOF_RETURN_IF_ERROR(t_.SetAllowAnyHost(now.nqn, false));
      Did("only listed hosts may connect to " + now.nqn);
    }
    return Status();
  }

  // Ports by ID: gone or moved ones close, new ones open, and the others
  // expose what the config lists (read from the target now: a subsystem
  // made again above is exposed nowhere yet).
  Status ApplyPorts() {
    std::map<uint16_t, const PortConfig*> want;
    for (const PortConfig& p : want_.ports) want[p.id] = &p;
    std::map<uint16_t, const PortConfig*> now;
    for (const PortConfig& p : now_.ports) now[p.id] = &p;
    // A port made by the control plane closes by itself once it exposes
    // nothing (a subsystem deleted above may have done it): what is there
    // is read from the target each time.
    auto present = [&](uint16_t id) {
      for (const auto& port : t_.ports()) {
        if (port->id == id) return true;
      }
      return false;
    };
    for (const auto& [id, p] : now) {
      auto it = want.find(id);
      if (it != want.end() && SameListener(*p, *it->second)) continue;
      if (!present(id)) continue;
      NVMEOF_RETURN_IF_ERROR(t_.RemovePort(id));
      Did("port " + std::to_string(id) + " closed");
    }
    auto open_missing = [&]() -> Status {
      for (const auto& [id, p] : want) {
        if (present(id)) continue;
        NVMEOF_RETURN_IF_ERROR(t_.AddPort(id, p->transport, p->address,
                                          std::to_string(p->port),
                                          p->subsystems,
                                          ToListenParams(p->params),
                                          /*all_when_empty=*/false));
        Did("port " + std::to_string(id) + " opened");
      }
      return Status();
    };
    NVMEOF_RETURN_IF_ERROR(open_missing());
    for (const std::shared_ptr<const Port>& port : t_.ports()) {
      auto it = want.find(port->id);
      if (it == want.end()) continue;
      const std::vector<std::string> exposed = port->subsystems();
      const std::set<std::string> has(exposed.begin(), exposed.end());
      const std::set<std::string> wants(it->second->subsystems.begin(),
                                        it->second->subsystems.end());
      const TransportType trtype = static_cast<TransportType>(port->trtype);
      for (const std::string& nqn : wants) {
        if (has.count(nqn) != 0) continue;
        NVMEOF_RETURN_IF_ERROR(t_.AddListener(nqn, trtype, port->traddr,
                                              port->trsvcid, port->params));
        Did("port " + std::to_string(port->id) + " exposes " + nqn);
      }
      for (const std::string& nqn : has) {
        if (wants.count(nqn) != 0) continue;
        NVMEOF_RETURN_IF_ERROR(
            t_.RemoveListener(nqn, trtype, port->traddr, port->trsvcid));
        Did("port " + std::to_string(port->id) + " no longer exposes " + nqn);
      }
    }
    // One that closed as it stopped exposing its last subsystem, where the
    // config keeps it (for discovery alone): opened again, as configured.
    return open_missing();
  }

  void Did(std::string what) { done_.push_back(std::move(what)); }

  struct Grow {
    std::string nqn;
    uint32_t nsid;
    uint64_t size;
  };

  TargetImpl& t_;
  const TargetConfig& now_;
  const TargetConfig& want_;
  std::set<std::string> delete_bdevs_;
  std::vector<const BdevConfig*> create_bdevs_;
  std::map<std::string, uint64_t> grow_bdevs_;
  std::vector<std::string> delete_subsystems_;
  std::vector<const SubsystemConfig*> create_subsystems_;
  std::vector<std::pair<const SubsystemConfig*, const SubsystemConfig*>> kept_;
  std::vector<std::pair<std::string, uint32_t>> remove_ns_;
  std::vector<std::pair<std::string, const NamespaceConfig*>> add_ns_;
  std::vector<Grow> grow_namespaces_;
  std::map<std::string, std::unique_ptr<Backend>> opened_bdevs_;
  DhchapPolicy policy_;
  std::map<std::string, KeyMaterial> read_keys_;  // want_'s, by name
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<Backend>>
      opened_ns_;
  std::vector<std::string> done_;
};

}  // namespace

Result<std::vector<std::string>> ApplyConfig(TargetImpl& target,
                                             const TargetConfig& base,
                                             const TargetConfig& wanted) {
  NVMEOF_ASSIGN_OR_RETURN(TargetConfig now, RunningConfig(target, base));
  return Applier(target, now, wanted).Run();
}

}  // namespace nvmeof::controller
