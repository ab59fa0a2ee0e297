#include "controller/discovery.h"

#include <cstring>

#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

std::vector<uint8_t> BuildDiscoveryLog(const Port& port,
                                       const DiscoveryView& view,
                                       const std::string& hostnqn,
                                       const std::string& local_traddr) {
  std::vector<DiscoveryLogEntry> entries;
  std::string traddr = port.traddr;
  if ((traddr == "0.0.0.0" || traddr == "::") && !local_traddr.empty()) {
    traddr = local_traddr;
  }
  auto add = [&](const std::string& nqn, uint8_t subtype, uint16_t eflags,
                 const Referral* referral = nullptr) {
    DiscoveryEntryFields f;
    f.trtype = port.trtype;
    f.adrfam = port.ipv6 ? kAdrfamIpv6 : kAdrfamIpv4;
    f.subtype = subtype;
    // Secure channel not specified, SQ flow control may be disabled: the
    // value Linux nvmet sends, which nvme-cli 2.3 can name (it prints
    // "unrecognized" for "not required" with the flag). A port that
    // requires TLS says so, with TLS 1.3 in TSAS. One that merely allows it
    // reports plain TCP, which every host can use: "not required" with TLS
    // 1.3 would make libnvme's connect-all ask for secure concatenation
    // (SECURITY.md 2.1), which is not TLS with a configured PSK.
    const bool tls_required = port.params.transport.tls != nullptr &&
                              port.params.transport.tls->mode ==
                                  TlsMode::kRequired;
    f.treq = (tls_required ? kTreqSecureChannelRequired
                           : kTreqSecureChannelNotSpecified) |
             kTreqDisableSqFlowControl;
    f.portid = port.id;
    f.cntlid = kCntlidDynamic;
    f.asqsz = 32;
    f.eflags = eflags;
    f.trsvcid = port.trsvcid;
    f.traddr = traddr;
    f.subnqn = nqn;
    f.sectype = tls_required ? kSectypeTls13 : kSectypeNone;
    if (referral != nullptr) {
      f.trtype = referral->trtype;
      f.adrfam = referral->ipv6 ? kAdrfamIpv6 : kAdrfamIpv4;
      f.traddr = referral->traddr;
      f.trsvcid = referral->trsvcid;
      f.portid = 0;
      f.sectype = kSectypeNone;
      if (referral->secure_channel) {
        f.treq = kTreqSecureChannelRequired;
        f.sectype = kSectypeTls13;
      }
    }
    Result<DiscoveryLogEntry> e = BuildDiscoveryLogEntry(f, '\0');
    if (e.ok()) entries.push_back(*e);
  };
  for (const auto& s : view.subsystems) {
    if (s->HostAllowed(hostnqn)) add(s->nqn(), kSubtypeNvm, 0);
  }
  for (const Referral& ref : view.referrals) {
    // A referral to a discovery service (subtype 1), or to an NVM
    // subsystem behind another port (subtype 2), as SPDK writes them.
    const bool to_discovery =
        ref.subnqn.empty() || ref.subnqn == kDiscoveryNqn;
    add(to_discovery ? std::string(kDiscoveryNqn) : ref.subnqn,
        to_discovery ? kSubtypeReferral : kSubtypeNvm, 0, &ref);
  }
  add(std::string(kDiscoveryNqn), kSubtypeCurrentDiscovery,
      kEflagsExplicitPersistentConnection | kEflagsDuplicateReturnedInfo);

  std::vector<uint8_t> out(DiscoveryLogPageSize(entries.size()), 0);
  auto* h = reinterpret_cast<DiscoveryLogHeader*>(out.data());
  h->genctr = view.genctr;
  h->numrec = entries.size();
  h->recfmt = 0;
  std::memcpy(out.data() + sizeof(DiscoveryLogHeader), entries.data(),
              entries.size() * sizeof(DiscoveryLogEntry));
  return out;
}

}  // namespace nvmeof::controller
