#include "controller/build_target.h"

#include <bit>

#include "controller/backend_registry.h"

namespace nvmeof::controller {

namespace {

Result<std::unique_ptr<Namespace>> OpenNamespace(const NamespaceConfig& nc) {
  NVMEOF_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                          OpenBackend(nc.backend));
  std::unique_ptr<Namespace> ns = Namespace::Create(nc.nsid, std::move(backend));
  ns->uuid = nc.uuid;
  ns->nguid = nc.nguid;
  ns->eui64 = nc.eui64;
  return ns;
}

}  // namespace

Result<std::unique_ptr<Target>> BuildTarget(const TargetConfig& config) {
  auto target = std::make_unique<Target>();
  for (const SubsystemConfig& sc : config.subsystems) {
    auto s = std::make_unique<Subsystem>(sc.nqn, SubsystemType::kNvm);
    s->serial = sc.serial;
    s->model = sc.model;
    s->allow_any_host = sc.allow_any_host;
    s->hosts.insert(sc.hosts.begin(), sc.hosts.end());
    for (const NamespaceConfig& nc : sc.namespaces) {
      Result<std::unique_ptr<Namespace>> ns = OpenNamespace(nc);
      if (!ns.ok()) {
        return ns.status().WithContext("subsystem " + sc.nqn + " namespace " +
                                       std::to_string(nc.nsid));
      }
      s->AddNamespace(std::move(ns).value());
    }
    NVMEOF_RETURN_IF_ERROR(target->AddSubsystem(std::move(s)));
  }
  for (const PortConfig& pc : config.ports) {
    ListenParams lp;
    lp.transport = ToQueuePairParams(pc.params);
    lp.max_io_queues = pc.params.max_io_queues;
    NVMEOF_RETURN_IF_ERROR(target->AddPort(pc.id, pc.transport, pc.address,
                                           std::to_string(pc.port),
                                           pc.subsystems, lp));
  }
  return target;
}

}  // namespace nvmeof::controller
