// The discovery log page (LID 0x70; NVMe Base 2.0, 5.16.1.23): for the
// connecting host, the subsystems it may reach on this port, then the
// current discovery subsystem itself.

#include <cstring>

#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/nqn.h"
#include "controller/queue.h"
#include "controller/target.h"

namespace nvmeof::controller {

void ControllerQueue::BuildDiscoveryLog(std::vector<uint8_t>& out) {
  std::vector<DiscoveryLogEntry> entries;
  // A port on a wildcard address reports the address this host reached
  // (as Linux nvmet does): 0.0.0.0 is no address to connect to.
  std::string traddr = port_->traddr;
  if (traddr == "0.0.0.0" || traddr == "::") {
    TransportAddress local = qp_->local_address();
    if (!local.traddr.empty()) traddr = local.traddr;
  }
  auto add = [&](const std::string& nqn, uint8_t subtype, uint16_t eflags) {
    DiscoveryEntryFields f;
    f.trtype = port_->trtype;
    f.adrfam = port_->ipv6 ? kAdrfamIpv6 : kAdrfamIpv4;
    f.subtype = subtype;
    // Secure channel not specified (no TLS here), SQ flow control may be
    // disabled: the value Linux nvmet sends, which nvme-cli 2.3 can name
    // (it prints "unrecognized" for "not required" with the flag).
    f.treq = kTreqSecureChannelNotSpecified | kTreqDisableSqFlowControl;
    f.portid = port_->id;
    f.cntlid = kCntlidDynamic;
    f.asqsz = 32;
    f.eflags = eflags;
    f.trsvcid = port_->trsvcid;
    f.traddr = traddr;
    f.subnqn = nqn;
    f.sectype = kSectypeNone;
    Result<DiscoveryLogEntry> e = BuildDiscoveryLogEntry(f, '\0');
    if (e.ok()) entries.push_back(*e);
  };
  for (const Subsystem* s : port_->subsystems) {
    if (s->HostAllowed(ctrl_->hostnqn())) add(s->nqn(), kSubtypeNvm, 0);
  }
  add(std::string(kDiscoveryNqn), kSubtypeCurrentDiscovery,
      kEflagsExplicitPersistentConnection | kEflagsDuplicateReturnedInfo);

  out.assign(DiscoveryLogPageSize(entries.size()), 0);
  auto* h = reinterpret_cast<DiscoveryLogHeader*>(out.data());
  h->genctr = target_->discovery_genctr();
  h->numrec = entries.size();
  h->recfmt = 0;
  std::memcpy(out.data() + sizeof(DiscoveryLogHeader), entries.data(),
              entries.size() * sizeof(DiscoveryLogEntry));
}

}  // namespace nvmeof::controller
