#include "controller/build_target.h"

#include <bit>

namespace nvmeof::controller {

namespace {

BackendConfig::Kind ToBackendKind(BackendKind k) {
  switch (k) {
    case BackendKind::kRam:
      return BackendConfig::Kind::kRam;
    case BackendKind::kNull:
      return BackendConfig::Kind::kNull;
    case BackendKind::kFile:
      return BackendConfig::Kind::kFile;
    case BackendKind::kBlock:
      return BackendConfig::Kind::kBlock;
  }
  return BackendConfig::Kind::kRam;
}

Result<std::unique_ptr<Namespace>> OpenNamespace(const NamespaceConfig& nc) {
  BackendConfig bc;
  bc.kind = ToBackendKind(nc.backend);
  bc.path = nc.path;
  bc.size = nc.size;
  bc.block_size = nc.block_size;
  bc.direct = nc.direct;
  bc.read_only = nc.read_only;
  NVMEOF_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, Backend::Open(bc));
  auto ns = std::make_unique<Namespace>();
  ns->nsid = nc.nsid;
  ns->block_size = nc.block_size;
  ns->lbads = static_cast<uint8_t>(std::countr_zero(nc.block_size));
  ns->num_blocks = backend->size_bytes() / nc.block_size;
  ns->read_only = nc.read_only;
  ns->uuid = nc.uuid;
  ns->nguid = nc.nguid;
  ns->eui64 = nc.eui64;
  ns->backend = std::move(backend);
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
