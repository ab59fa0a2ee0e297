#include "controller/discovery.h"

#include <gtest/gtest.h>

#include <cstring>

#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {
namespace {

TEST(DiscoveryLogTest, ListsWhatTheHostMayReachThenItself) {
  Subsystem open("nqn.2024-01.io.example:open", SubsystemType::kNvm);
  Subsystem closed("nqn.2024-01.io.example:closed", SubsystemType::kNvm);
  closed.set_allow_any_host(false);
  closed.AddHost("nqn.2024-01.io.example:friend");
  Port port;
  port.id = 7;
  port.traddr = "0.0.0.0";
  port.trsvcid = "4420";
  DiscoveryView view;
  view.subsystems = {
      std::shared_ptr<const Subsystem>(std::shared_ptr<void>(), &open),
      std::shared_ptr<const Subsystem>(std::shared_ptr<void>(), &closed)};
  view.genctr = 9;
  std::vector<uint8_t> page = BuildDiscoveryLog(
      port, view, "nqn.2024-01.io.example:stranger", "10.1.2.3");
  DiscoveryLogHeader h;
  std::memcpy(&h, page.data(), sizeof(h));
  EXPECT_EQ(h.genctr, 9u);
  ASSERT_EQ(h.numrec, 2u);
  ASSERT_EQ(page.size(), DiscoveryLogPageSize(2));
  DiscoveryLogEntry e[2];
  std::memcpy(e, page.data() + sizeof(h), sizeof(e));
  EXPECT_EQ(std::string(e[0].subnqn), open.nqn());
  EXPECT_EQ(e[0].subtype, kSubtypeNvm);
  EXPECT_EQ(e[0].portid, 7);
  // A wildcard port reports the address the host reached.
  EXPECT_EQ(std::string(e[0].traddr).substr(0, 8), "10.1.2.3");
  EXPECT_EQ(std::string(e[1].subnqn), kDiscoveryNqn);
  EXPECT_EQ(e[1].subtype, kSubtypeCurrentDiscovery);

  page = BuildDiscoveryLog(port, view, "nqn.2024-01.io.example:friend", "");
  std::memcpy(&h, page.data(), sizeof(h));
  EXPECT_EQ(h.numrec, 3u);

  // A referral: another discovery service, between the subsystems and
  // the current discovery subsystem.
  Referral ref;
  ref.traddr = "127.0.0.2";
  ref.trsvcid = "8009";
  view.referrals.push_back(ref);
  page = BuildDiscoveryLog(port, view, "nqn.2024-01.io.example:stranger", "");
  std::memcpy(&h, page.data(), sizeof(h));
  ASSERT_EQ(h.numrec, 3u);
  std::memcpy(e, page.data() + sizeof(h) + sizeof(DiscoveryLogEntry),
              sizeof(e));
  EXPECT_EQ(e[0].subtype, kSubtypeReferral);
  EXPECT_EQ(std::string(e[0].subnqn), kDiscoveryNqn);
  EXPECT_EQ(std::string(e[0].traddr).substr(0, 9), "127.0.0.2");
  EXPECT_EQ(std::string(e[0].trsvcid).substr(0, 4), "8009");
  EXPECT_EQ(e[1].subtype, kSubtypeCurrentDiscovery);
}

// TLS: a port that requires it says so (TREQ required, TSAS TLS 1.3); one
// that only allows it reports plain TCP, which every host can use (TLS 1.3
// with "not required" would make libnvme ask for secure concatenation).
TEST(DiscoveryLogTest, TlsPortsReportTheirSecureChannel) {
  Subsystem open("nqn.2024-01.io.example:open", SubsystemType::kNvm);
  DiscoveryView view;
  view.subsystems = {
      std::shared_ptr<const Subsystem>(std::shared_ptr<void>(), &open)};
  for (TlsMode mode : {TlsMode::kNone, TlsMode::kAllowed, TlsMode::kRequired}) {
    Port port;
    port.traddr = "127.0.0.1";
    port.trsvcid = "4420";
    auto tls = std::make_shared<TlsServerParams>();
    tls->mode = mode;
    if (mode != TlsMode::kNone) port.params.transport.tls = tls;
    std::vector<uint8_t> page = BuildDiscoveryLog(port, view, "", "");
    DiscoveryLogEntry e[2];
    std::memcpy(e, page.data() + sizeof(DiscoveryLogHeader), sizeof(e));
    for (const DiscoveryLogEntry& x : e) {
      const bool required = mode == TlsMode::kRequired;
      EXPECT_EQ(x.treq & kTreqSecureChannelMask,
                required ? kTreqSecureChannelRequired
                         : kTreqSecureChannelNotSpecified)
          << TlsModeName(mode);
      EXPECT_EQ(x.tsas[0], required ? kSectypeTls13 : kSectypeNone)
          << TlsModeName(mode);
    }
  }
}

}  // namespace
}  // namespace nvmeof::controller
