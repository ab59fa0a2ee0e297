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
  closed.allow_any_host = false;
  closed.hosts.insert("nqn.2024-01.io.example:friend");
  Port port;
  port.id = 7;
  port.traddr = "0.0.0.0";
  port.trsvcid = "4420";
  port.subsystems = {&open, &closed};
  std::vector<uint8_t> page =
      BuildDiscoveryLog(port, "nqn.2024-01.io.example:stranger", 9, "10.1.2.3");
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

  page = BuildDiscoveryLog(port, "nqn.2024-01.io.example:friend", 9, "");
  std::memcpy(&h, page.data(), sizeof(h));
  EXPECT_EQ(h.numrec, 3u);
}

}  // namespace
}  // namespace nvmeof::controller
