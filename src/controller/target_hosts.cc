// TargetImpl: the hosts a subsystem allows, their DH-HMAC-CHAP keys and
// their TLS PSKs.
//
// Keys live in a keyring, by name, each read from a file only its owner
// may read (SPDK's keyring_file_add_key); a host entry names its keys and
// holds them as they were when it was added or its keys were set (a key
// removed from the keyring stays with the hosts that use it, as in SPDK;
// setting the host's keys again, or a reload, takes the keyring's current
// ones). A queue of a host with a key authenticates (Authenticator) with
// the hashes and DH groups the target allows. A host with a PSK connects
// over TLS: its listener finds the PSK by the identity it offers
// (FindTlsPsk), and Connect checks that the identity is that host's.

#include "auth/key_file.h"
#include "controller/target_impl.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

// ---- the keyring ----

Result<KeyMaterial> ReadKeyMaterial(const std::string& path, bool compat) {
  NVMEOF_ASSIGN_OR_RETURN(auth::SecretBytes text, auth::ReadKeyFileText(path));
  const std::string_view view(reinterpret_cast<const char*>(text.data()),
                              text.size());
  KeyMaterial m;
  m.compat = compat;
  if (view.starts_with("NVMeTLSkey-1:")) {
    Result<auth::TlsKey> k = auth::TlsKey::Parse(view);
    if (!k.ok()) return k.status().WithContext("key file " + path);
    m.tls = std::make_shared<const auth::TlsKey>(std::move(k).value());
    return m;
  }
  Result<auth::DhchapKey> k = auth::DhchapKey::Parse(view);
  if (!k.ok()) return k.status().WithContext("key file " + path);
  m.dhchap = std::make_shared<const auth::DhchapKey>(std::move(k).value());
  return m;
}

Status TargetImpl::AddKey(const std::string& name, const std::string& path,
                          bool compat) {
  if (Status v = auth::ValidateKeyName(name); !v.ok()) {
    return v.WithContext("key '" + name + "'");
  }
  if (path.empty() || path[0] != '/') {
    return InvalidArgumentError("key " + name + ": the path must be absolute");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (FindKeyLocked(name) != nullptr) {
      return AlreadyExistsError("key " + name + " already exists");
    }
  }
  NVMEOF_ASSIGN_OR_RETURN(KeyMaterial key, ReadKeyMaterial(path, compat));
  std::lock_guard<std::mutex> lock(mu_);
  if (FindKeyLocked(name) != nullptr) {
    return AlreadyExistsError("key " + name + " already exists");
  }
  keys_.push_back({name, path, std::move(key)});
  return Status();
}

void TargetImpl::SetKey(const std::string& name, const std::string& path,
                        KeyMaterial key) {
  KeyMaterial shared = std::move(key);
  std::lock_guard<std::mutex> lock(mu_);
  for (KeyEntry& k : keys_) {
    if (k.name == name) {
      k.path = path;
      k.key = std::move(shared);
      return;
    }
  }
  keys_.push_back({name, path, std::move(shared)});
}

Status TargetImpl::RemoveKey(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = keys_.begin(); it != keys_.end(); ++it) {
    if (it->name == name) {
      keys_.erase(it);
      return Status();
    }
  }
  return NotFoundError("key " + std::string(name) + " does not exist");
}

std::vector<KeyInfo> TargetImpl::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KeyInfo> out;
  for (const KeyEntry& k : keys_) {
    size_t users = 0;
    for (const auto& s : created_) {
      for (const auto& [host, e] : s->host_entries()) {
        users += (e.dhchap_key == k.name) + (e.dhchap_ctrlr_key == k.name) +
                 (e.psk == k.name);
      }
    }
    out.push_back({k.name, k.path, users, k.key.tls != nullptr, k.key.compat});
  }
  return out;
}

const TargetImpl::KeyEntry* TargetImpl::FindKeyLocked(
    std::string_view name) const {
  for (const KeyEntry& k : keys_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Result<HostEntry> TargetImpl::ResolveHost(const HostConfig& host) const {
  HostEntry e;
  e.dhchap_key = host.dhchap_key;
  e.dhchap_ctrlr_key = host.dhchap_ctrlr_key;
  if (host.dhchap_key.empty() && !host.dhchap_ctrlr_key.empty()) {
    return InvalidArgumentError(
        "dhchap_ctrlr_key: a controller key needs a host key (dhchap_key)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!host.dhchap_key.empty()) {
    const KeyEntry* k = FindKeyLocked(host.dhchap_key);
    if (k == nullptr) {
      return NotFoundError("dhchap_key: no key " + host.dhchap_key +
                           " in the keyring");
    }
    if (k->key.dhchap == nullptr) {
      return InvalidArgumentError("dhchap_key: key " + host.dhchap_key +
                                  " is a TLS PSK, not a DH-HMAC-CHAP secret");
    }
    e.host_key = k->key.dhchap;
  }
  if (!host.dhchap_ctrlr_key.empty()) {
    const KeyEntry* k = FindKeyLocked(host.dhchap_ctrlr_key);
    if (k == nullptr) {
      return NotFoundError("dhchap_ctrlr_key: no key " +
                           host.dhchap_ctrlr_key + " in the keyring");
    }
    if (k->key.dhchap == nullptr) {
      return InvalidArgumentError("dhchap_ctrlr_key: key " +
                                  host.dhchap_ctrlr_key +
                                  " is a TLS PSK, not a DH-HMAC-CHAP secret");
    }
    e.ctrl_key = k->key.dhchap;
  }
  if (!host.psk.empty()) {
    const KeyEntry* k = FindKeyLocked(host.psk);
    if (k == nullptr) {
      return NotFoundError("psk: no key " + host.psk + " in the keyring");
    }
    if (k->key.tls == nullptr) {
      return InvalidArgumentError("psk: key " + host.psk +
                                  " is a DH-HMAC-CHAP secret, not a TLS PSK "
                                  "(NVMeTLSkey-1)");
    }
    e.psk = host.psk;
    e.tls_key = k->key.tls;
    e.tls_compat = k->key.compat;
  }
  return e;
}

// ---- what DH-HMAC-CHAP may use ----

Result<DhchapPolicy> ToDhchapPolicy(const std::vector<std::string>& digests,
                                    const std::vector<std::string>& dhgroups) {
  DhchapPolicy p;
  for (const std::string& d : digests) {
    Result<auth::HashId> h = auth::ParseHashName(d);
    if (!h.ok()) return h.status().WithContext("dhchap_digests");
    p.hashes.push_back(*h);
  }
  for (const std::string& d : dhgroups) {
    Result<auth::DhGroup> g = auth::ParseDhGroupName(d);
    if (!g.ok()) return g.status().WithContext("dhchap_dhgroups");
    p.dhgroups.push_back(*g);
  }
  return p;
}

void FromDhchapPolicy(const DhchapPolicy& policy,
                      std::vector<std::string>* digests,
                      std::vector<std::string>* dhgroups) {
  digests->clear();
  dhgroups->clear();
  for (auth::HashId h : policy.hashes) {
    digests->emplace_back(auth::HashName(h));
  }
  for (auth::DhGroup g : policy.dhgroups) {
    dhgroups->emplace_back(auth::DhGroupName(g));
  }
}

void TargetImpl::SetDhchapPolicy(DhchapPolicy policy) {
  std::lock_guard<std::mutex> lock(mu_);
  dhchap_ = std::move(policy);
}

DhchapPolicy TargetImpl::dhchap_policy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dhchap_;
}

std::unique_ptr<auth::ControllerAuth> TargetImpl::Authenticator(
    const Subsystem& subsystem, const std::string& hostnqn) const {
  std::optional<HostEntry> h = subsystem.FindHost(hostnqn);
  if (!h || h->host_key == nullptr) return nullptr;
  auth::ControllerAuthConfig c;
  c.hostnqn = hostnqn;
  c.subnqn = subsystem.nqn();
  c.host_key = h->host_key;
  c.ctrl_key = h->ctrl_key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    c.hashes = dhchap_.hashes;
    c.dhgroups = dhchap_.dhgroups;
  }
  return std::make_unique<auth::ControllerAuth>(std::move(c));
}

// ---- TLS ----

Result<TlsPsk> TargetImpl::FindTlsPsk(const Port& port,
                                      std::string_view identity) const {
  NVMEOF_ASSIGN_OR_RETURN(auth::TlsIdentity id,
                          auth::ParseTlsIdentity(identity));
  std::optional<HostEntry> entry;
  if (id.subnqn == kDiscoveryNqn) {
    // Discovery over TLS: the host's key on any subsystem it may use.
    for (const auto& s : subsystems()) {
      std::optional<HostEntry> h = s->FindHost(id.hostnqn);
      if (h && h->tls_key != nullptr) {
        entry = std::move(h);
        break;
      }
    }
  } else {
    std::shared_ptr<const Subsystem> s = FindSubsystem(id.subnqn);
    if (s == nullptr) {
      return NotFoundError("subsystem " + id.subnqn + " does not exist");
    }
    if (!port.Exposes(s.get())) {
      return NotFoundError("subsystem " + id.subnqn +
                           " is not exposed on this port");
    }
    entry = s->FindHost(id.hostnqn);
  }
  if (!entry || entry->tls_key == nullptr) {
    return NotFoundError("host " + id.hostnqn + " has no PSK for " +
                         id.subnqn);
  }
  NVMEOF_ASSIGN_OR_RETURN(
      auth::SecretBytes psk,
      auth::TlsPskForIdentity(*entry->tls_key, id, entry->tls_compat));
  TlsPsk out;
  out.key.assign(psk.data(), psk.data() + psk.size());
  out.sha384 = id.hash == auth::TlsHash::kSha384;
  return out;
}

// ---- hosts ----

Status TargetImpl::AddHost(std::string_view nqn, const HostConfig& host) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  if (Status v = ValidateNqn(host.nqn); !v.ok()) return v.WithContext("host");
  NVMEOF_ASSIGN_OR_RETURN(HostEntry e, ResolveHost(host));
  if (!s->AddHost(host.nqn, std::move(e))) {
    return AlreadyExistsError("host " + host.nqn + " is already allowed on " +
                              std::string(nqn));
  }
  DiscoveryChanged();
  return Status();
}

Status TargetImpl::SetHostKeys(std::string_view nqn, const HostConfig& host) {
  std::shared_ptr<Subsystem> s = GetSubsystem(nqn);
  if (s == nullptr) {
    return NotFoundError("subsystem " + std::string(nqn) + " does not exist");
  }
  NVMEOF_ASSIGN_OR_RETURN(HostEntry e, ResolveHost(host));
  if (!s->SetHostKeys(host.nqn, std::move(e))) {
    return NotFoundError("host " + host.nqn + " is not on the list of " +
                         std::string(nqn));
  }
  // Live queues keep their association; the new keys count from the next
  // Connect or re-authentication.
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

}  // namespace nvmeof::controller
