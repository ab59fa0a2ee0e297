// The running state of a target as a TargetConfig (target_impl.h,
// RunningConfig): what the control plane's nvmeof_save_config writes, and
// what `nvmeof-target --config` loads back.

#include <charconv>

#include "controller/backends/common.h"
#include "controller/target_impl.h"

namespace nvmeof::controller {
namespace {

// A backend's settings with its size as it is now (a RAM or null backend
// that was resized is saved at its new size).
BackendConfig CurrentSettings(BackendConfig config, const Backend& backend) {
  if (config.params.contains("size")) {
    config.params["size"] = SizeJson(backend.num_blocks() * backend.block_size());
  }
  return config;
}

}  // namespace

Referral ToReferral(const ReferralConfig& config) {
  Referral r;
  r.trtype = static_cast<uint8_t>(TransportType::kTcp);
  r.ipv6 = config.family == AddressFamily::kIpv6;
  r.traddr = config.address;
  r.trsvcid = std::to_string(config.port);
  r.subnqn = config.subnqn;
  r.secure_channel = config.secure_channel;
  return r;
}

ReferralConfig ToReferralConfig(const Referral& referral) {
  ReferralConfig c;
  c.family = referral.ipv6 ? AddressFamily::kIpv6 : AddressFamily::kIpv4;
  c.address = referral.traddr;
  unsigned port = 0;
  std::from_chars(referral.trsvcid.data(),
                  referral.trsvcid.data() + referral.trsvcid.size(), port);
  c.port = static_cast<uint16_t>(port);
  c.subnqn = referral.subnqn;
  c.secure_channel = referral.secure_channel;
  return c;
}

ListenParams ToListenParams(const PortParams& params) {
  ListenParams lp;
  lp.transport = ToQueuePairParams(params);
  lp.max_io_queues = params.max_io_queues;
  return lp;
}

PortParams ToPortParams(const ListenParams& params) {
  PortParams p;
  const ControllerQueuePairParams& q = params.transport;
  p.in_capsule_data_size = q.max_io_icd;
  p.max_h2c_data = q.max_h2c_data;
  p.c2h_data_pdu_size = q.max_c2h_data;
  p.header_digest = q.allow_header_digest;
  p.data_digest = q.allow_data_digest;
  p.max_queue_size = q.max_queue_size;
  p.max_io_queues = params.max_io_queues;
  if (q.max_connections > 0) {
    p.max_connections = static_cast<uint32_t>(q.max_connections);
  }
  if (q.tls != nullptr) {
    p.tls = q.tls->mode;
    p.tls_psk_ke = q.tls->allow_psk_only;
  }
  return p;
}

Result<TargetConfig> RunningConfig(const TargetImpl& target,
                                   const TargetConfig& base) {
  TargetConfig out;
  out.threads = base.threads;
  out.log_level = base.log_level;
  out.max_connections = base.max_connections;
  for (const KeyInfo& k : target.keys()) {
    out.keys.push_back({k.name, k.path, k.compat});
  }
  FromDhchapPolicy(target.dhchap_policy(), &out.dhchap_digests,
                   &out.dhchap_dhgroups);

  for (const NamedBackend& b : target.backends()) {
    BdevConfig bc;
    bc.name = b.name;
    bc.backend = CurrentSettings(b.config, *b.backend);
    bc.uuid = b.uuid;
    out.bdevs.push_back(std::move(bc));
  }

  for (const std::shared_ptr<Subsystem>& s : target.subsystems()) {
    SubsystemConfig sc;
    sc.nqn = s->nqn();
    sc.serial = s->serial;
    sc.model = s->model;
    sc.allow_any_host = s->allow_any_host();
    for (const auto& [nqn, e] : s->host_entries()) {
      sc.hosts.push_back({nqn, e.dhchap_key, e.dhchap_ctrlr_key, e.psk});
    }
    sc.max_namespaces = s->max_namespaces;
    sc.min_cntlid = s->min_cntlid;
    sc.max_cntlid = s->max_cntlid;
    for (const auto& [nsid, ns] : s->namespaces()->by_nsid) {
      NamespaceConfig nc;
      nc.nsid = nsid;
      if (!ns->backend_name.empty()) {
        nc.bdev_name = ns->backend_name;
        for (const BdevConfig& b : out.bdevs) {
          if (b.name == nc.bdev_name) nc.backend = b.backend;  // as parsed
        }
      } else if (ns->inline_config.has_value()) {
        nc.backend = CurrentSettings(*ns->inline_config, *ns->backend);
      } else {
        return FailedPreconditionError(
            "namespace " + std::to_string(nsid) + " of " + sc.nqn +
            " is served by a backend added in code, which no config "
            "describes");
      }
      nc.uuid = ns->uuid;
      nc.nguid = ns->nguid;
      nc.eui64 = ns->eui64;
      sc.namespaces.push_back(std::move(nc));
    }
    out.subsystems.push_back(std::move(sc));
  }

  for (const std::shared_ptr<const Port>& port : target.ports()) {
    if (port->trtype != static_cast<uint8_t>(TransportType::kTcp)) {
      return FailedPreconditionError("port " + std::to_string(port->id) +
                                     " is not a TCP port");
    }
    PortConfig pc;
    pc.id = port->id;
    pc.transport = TransportType::kTcp;
    pc.family = port->ipv6 ? AddressFamily::kIpv6 : AddressFamily::kIpv4;
    pc.address = port->traddr;
    unsigned number = 0;
    const char* end = port->trsvcid.data() + port->trsvcid.size();
    auto [ptr, ec] = std::from_chars(port->trsvcid.data(), end, number);
    if (ec != std::errc() || ptr != end || number == 0 || number > 65535) {
      return FailedPreconditionError(
          "port " + std::to_string(port->id) + " listens on service '" +
          port->trsvcid + "', which a config cannot name");
    }
    pc.port = static_cast<uint16_t>(number);
    pc.subsystems = port->subsystems();
    pc.params = ToPortParams(port->params);
    out.ports.push_back(std::move(pc));
  }
  // The target lists the newest first; the file, in the order to add them.
  const std::vector<Referral> referrals = target.referrals();
  for (auto it = referrals.rbegin(); it != referrals.rend(); ++it) {
    out.referrals.push_back(ToReferralConfig(*it));
  }
  return out;
}

}  // namespace nvmeof::controller
