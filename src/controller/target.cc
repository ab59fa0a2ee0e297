// nvmeof::Target: the public face of TargetImpl. Builds one from a
// TargetConfig (opening every backend, through the backend registry) or
// from the Add* calls.

#include "nvmeof/target.h"

#include "controller/backend_registry.h"
#include "controller/config_values.h"
#include "controller/target_impl.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof {

namespace {

using controller::ToListenParams;

using controller::Namespace;
using controller::Subsystem;
using controller::SubsystemType;
using controller::TargetImpl;

Result<std::shared_ptr<Namespace>> OpenNamespace(const NamespaceConfig& nc) {
  NVMEOF_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                          controller::OpenBackend(nc.backend));
  std::shared_ptr<Namespace> ns = Namespace::Create(nc.nsid, std::move(backend));
  ns->inline_config = nc.backend;
  ns->uuid = nc.uuid;
  ns->nguid = nc.nguid;
  ns->eui64 = nc.eui64;
  return ns;
}

}  // namespace

Target::Target(std::unique_ptr<TargetImpl> impl) : impl_(std::move(impl)) {}

Target::~Target() { Stop(); }

std::unique_ptr<Target> Target::Create() {
  return std::unique_ptr<Target>(new Target(std::make_unique<TargetImpl>()));
}

Result<std::unique_ptr<Target>> Target::Create(const TargetConfig& config) {
  std::unique_ptr<Target> target = Create();
  TargetImpl& impl = *target->impl_;
  impl.set_max_connections(static_cast<int>(config.max_connections));
  for (const KeyConfig& k : config.keys) {
    NVMEOF_RETURN_IF_ERROR(impl.AddKey(k.name, k.path, k.compat));
  }
  NVMEOF_ASSIGN_OR_RETURN(
      controller::DhchapPolicy policy,
      controller::ToDhchapPolicy(config.dhchap_digests, config.dhchap_dhgroups));
  impl.SetDhchapPolicy(std::move(policy));
  for (const BdevConfig& bc : config.bdevs) {
    Result<std::unique_ptr<Backend>> backend =
        controller::OpenBackend(bc.backend);
    if (!backend.ok()) return backend.status().WithContext("bdev " + bc.name);
    controller::NamedBackend nb;
    nb.name = bc.name;
    nb.config = bc.backend;
    nb.backend = std::move(backend).value();
    nb.uuid = bc.uuid;
    NVMEOF_RETURN_IF_ERROR(impl.AddBackend(std::move(nb)));
  }
  for (const SubsystemConfig& sc : config.subsystems) {
    auto s = std::make_shared<Subsystem>(sc.nqn, SubsystemType::kNvm);
    s->serial = sc.serial;
    s->model = sc.model;
    s->max_namespaces = sc.max_namespaces;
    s->min_cntlid = sc.min_cntlid;
    s->max_cntlid = sc.max_cntlid;
    s->set_allow_any_host(sc.allow_any_host);
    for (const HostConfig& h : sc.hosts) {
      Result<controller::HostEntry> e = impl.ResolveHost(h);
      if (!e.ok()) {
        return e.status().WithContext("subsystem " + sc.nqn + " host " + h.nqn);
      }
      s->AddHost(h.nqn, std::move(e).value());
    }
    for (const NamespaceConfig& nc : sc.namespaces) {
      if (!nc.bdev_name.empty()) continue;  // below, once it is published
      Result<std::shared_ptr<Namespace>> ns = OpenNamespace(nc);
      if (!ns.ok()) {
        return ns.status().WithContext("subsystem " + sc.nqn + " namespace " +
                                       std::to_string(nc.nsid));
      }
      s->AddNamespace(std::move(ns).value());
    }
    NVMEOF_RETURN_IF_ERROR(impl.AddSubsystem(std::move(s)));
    for (const NamespaceConfig& nc : sc.namespaces) {
      if (nc.bdev_name.empty()) continue;
      auto ns = std::make_shared<Namespace>();
      ns->nsid = nc.nsid;
      ns->uuid = nc.uuid;
      ns->nguid = nc.nguid;
      ns->eui64 = nc.eui64;
      Status added = impl.AddNamespaceFromBackend(sc.nqn, nc.bdev_name, ns);
      if (!added.ok()) {
        return added.WithContext("subsystem " + sc.nqn + " namespace " +
                                 std::to_string(nc.nsid));
      }
    }
  }
  for (const PortConfig& pc : config.ports) {
    // The config lists every subsystem a port exposes (an empty list: the
    // discovery service alone).
    NVMEOF_RETURN_IF_ERROR(impl.AddPort(
        pc.id, pc.transport, pc.address, std::to_string(pc.port),
        pc.subsystems, ToListenParams(pc.params), /*all_when_empty=*/false));
  }
  for (const ReferralConfig& rc : config.referrals) {
    NVMEOF_RETURN_IF_ERROR(impl.AddReferral(controller::ToReferral(rc)));
  }
  return target;
}

Status Target::AddSubsystem(const SubsystemOptions& options) {
  if (Status s = ValidateNqn(options.nqn); !s.ok()) {
    return s.WithContext("subsystem NQN");
  }
  if (options.nqn == kDiscoveryNqn) {
    return InvalidArgumentError("the discovery NQN is reserved");
  }
  if (options.allow_any_host && !options.hosts.empty()) {
    return InvalidArgumentError(
        "allow_any_host contradicts a non-empty host list");
  }
  auto s = std::make_shared<Subsystem>(options.nqn, SubsystemType::kNvm);
  s->serial = options.serial.empty()
                  ? controller::config_internal::DeriveSerial(options.nqn)
                  : options.serial;
  s->model = options.model;
  s->set_allow_any_host(options.allow_any_host);
  for (const std::string& h : options.hosts) s->AddHost(h);
  return impl_->AddSubsystem(std::move(s));
}

Status Target::AddNamespace(std::string_view subnqn,
                            const NamespaceOptions& options,
                            std::unique_ptr<Backend> backend) {
  if (backend == nullptr || backend->num_blocks() == 0) {
    return InvalidArgumentError("namespace " + std::to_string(options.nsid) +
                                ": no backend, or an empty one");
  }
  std::shared_ptr<Namespace> ns =
      Namespace::Create(options.nsid, std::move(backend));
  const std::array<uint8_t, 16> zero{};
  ns->uuid = options.uuid != zero ? options.uuid
                                  : controller::config_internal::DeriveUuid(
                                        subnqn, options.nsid);
  ns->nguid = options.nguid != zero ? options.nguid
                                    : controller::config_internal::DeriveNguid(
                                          subnqn, options.nsid);
  ns->eui64 = options.eui64;
  return impl_->AddNamespace(subnqn, std::move(ns));
}

Status Target::AddPort(const PortOptions& options) {
  // The target's own counter: ports a reload or the control plane added
  // have taken theirs from it too.
  const uint16_t id = impl_->NextPortId();
  return impl_->AddPort(id, options.transport, options.address,
                        std::to_string(options.port), options.subsystems,
                        ToListenParams(options.params));
}

Status Target::Start(const TargetRunOptions& options) {
  return impl_->Start(options.threads, options.cpus, options.busy_poll,
                      options.poll_idle);
}

std::vector<TransportAddress> Target::listen_addresses() const {
  return impl_->listen_addresses();
}

size_t Target::thread_count() const { return impl_->thread_count(); }

void Target::Stop() { impl_->Stop(); }

Result<std::vector<std::string>> Target::Reconfigure(
    const TargetConfig& config) {
  return controller::ApplyConfig(*impl_, config, config);
}

}  // namespace nvmeof
