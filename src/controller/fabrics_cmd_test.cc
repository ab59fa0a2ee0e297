// The fabrics command family alone (Connect, properties), over the fakes
// of command_test_util.h.

#include "controller/fabrics_cmd.h"

#include <gtest/gtest.h>

#include "controller/command_test_util.h"
#include "nvmeof/proto/fabrics.h"

namespace nvmeof::controller {
namespace {

using test_util::CommandFixture;
using test_util::Outcome;

constexpr char kPrivateNqn[] = "nqn.2024-01.io.nvmeof.test:private";

class FabricsCmdTest : public CommandFixture {
 protected:
  void SetUp() override {
    CommandFixture::SetUp();
    private_ = std::make_unique<Subsystem>(kPrivateNqn, SubsystemType::kNvm);
    private_->set_allow_any_host(false);
    private_->AddHost(test_util::kTestHostNqn);
    port_.Expose(private_->nqn());
    services_.subsystems.push_back(private_.get());
    port_.params.max_io_queues = 4;
  }
  Outcome Connect(uint16_t qid, uint16_t sqsize, const std::string& subnqn,
                  const std::string& hostnqn, uint16_t cntlid = 0xFFFF,
                  uint32_t kato = 5000) {
    ConnectCommand cmd;
    cmd.qid = qid;
    cmd.sqsize = sqsize;
    cmd.kato = kato;
    ConnectData data{};
    data.hostid[0] = 0xAB;
    data.cntlid = cntlid;
    std::memcpy(data.subnqn, subnqn.data(), subnqn.size());
    std::memcpy(data.hostnqn, hostnqn.data(), hostnqn.size());
    std::vector<uint8_t> bytes(sizeof(data));
    std::memcpy(bytes.data(), &data, sizeof(data));
    return Run(ExecuteFabrics, BuildConnectSqe(cmd), sizeof(data), bytes);
  }
  std::unique_ptr<Subsystem> private_;
};

TEST_F(FabricsCmdTest, AdminConnectCreatesAndBindsAController) {
  Outcome o = Connect(0, 31, test_util::kTestNqn, test_util::kTestHostNqn);
  ASSERT_EQ(o.status, kNvmeSuccess);
  const uint16_t cntlid = ConnectResponse::FromDw0(o.dw0).cntlid;
  EXPECT_EQ(cntlid, 1);
  ASSERT_TRUE(queue_->bound());
  EXPECT_EQ(queue_->qid(), 0);
  EXPECT_EQ(queue_->sqsize_, 32);
  EXPECT_EQ(queue_->controller().hostnqn(), test_util::kTestHostNqn);
  // A second Connect on the bound queue.
  o = Connect(0, 31, test_util::kTestNqn, test_util::kTestHostNqn);
  EXPECT_EQ(o.status, GenericStatus(sc::kCommandSequenceError, true));
}

TEST_F(FabricsCmdTest, RefusedConnectsAreLoggedWithWhoAndWhy) {
  test_util::LogCapture log;
  Connect(0, 31, "nqn.2024-01.io.nvmeof.test:none", test_util::kTestHostNqn);
  EXPECT_TRUE(log.Has({"192.0.2.9:40000", test_util::kTestHostNqn,
                       "nqn.2024-01.io.nvmeof.test:none", "no such subsystem"}))
      << log.All();
  Connect(0, 31, kPrivateNqn, "nqn.2024-01.io.nvmeof.test:stranger");
  EXPECT_TRUE(log.Has({"192.0.2.9:40000", "stranger", kPrivateNqn,
                       "not allowed"}))
      << log.All();
  Connect(0, 3, test_util::kTestNqn, test_util::kTestHostNqn);
  EXPECT_TRUE(log.Has({"admin SQSIZE 3"})) << log.All();
  Connect(2, 31, test_util::kTestNqn, test_util::kTestHostNqn, 9);
  EXPECT_TRUE(log.Has({"queue 2", "no controller 9"})) << log.All();
}

TEST_F(FabricsCmdTest, ConnectRefusalsPointAtTheField) {
  Outcome o = Connect(0, 31, "nqn.2024-01.io.nvmeof.test:none",
                      test_util::kTestHostNqn);
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kConnectInvalidParameters));
  EXPECT_EQ(o.dw0, (ConnectInvalidParameter{256, true}.ToDw0()));
  o = Connect(0, 3, test_util::kTestNqn, test_util::kTestHostNqn);  // SQSIZE
  EXPECT_EQ(o.dw0, (ConnectInvalidParameter{44, false}.ToDw0()));
  o = Connect(0, 31, test_util::kTestNqn, test_util::kTestHostNqn, 7);  // CNTLID
  EXPECT_EQ(o.dw0, (ConnectInvalidParameter{16, true}.ToDw0()));
  o = Connect(0, 31, test_util::kTestNqn, "not-an-nqn");
  EXPECT_EQ(o.dw0, (ConnectInvalidParameter{512, true}.ToDw0()));
  o = Connect(0, 31, kPrivateNqn, "nqn.2024-01.io.nvmeof.test:stranger");
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kConnectInvalidHost));
  EXPECT_FALSE(queue_->bound());
}

TEST_F(FabricsCmdTest, AnEmptyHostNqnIsAcceptedOnlyWhereAnyHostMayConnect) {
  // SPDK's spdk_nvme_perf sends one when its transport ID names no host;
  // Linux nvmet and SPDK accept it where any host is allowed.
  Outcome o = Connect(0, 31, kPrivateNqn, "");
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kConnectInvalidHost));
  EXPECT_FALSE(queue_->bound());
  o = Connect(0, 31, test_util::kTestNqn, "");
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(queue_->controller().hostnqn(), "");
}

TEST_F(FabricsCmdTest, IoConnectBeforeNumberOfQueuesIsGrantedUpToTheLimit) {
  // The host "should" set Number of Queues first; Linux nvmet and SPDK
  // take an I/O queue without it, up to their maximum.
  Outcome o = Connect(0, 31, test_util::kTestNqn, test_util::kTestHostNqn);
  ASSERT_EQ(o.status, kNvmeSuccess);
  std::shared_ptr<Controller> ctrl = services_.FindController(1);
  CcRegister cc;
  cc.en = true;
  cc.iosqes = 6;
  cc.iocqes = 4;
  ASSERT_TRUE(
      ctrl->SetProperty(kPropertyCc, PropertySize::k4Bytes, cc.ToU32()).ok());
  queue_->ctrl_.reset();  // a fresh connection for the I/O queue
  o = Connect(4, 63, test_util::kTestNqn, test_util::kTestHostNqn, 1, 0);
  ASSERT_EQ(o.status, kNvmeSuccess) << NvmeStatusToString(*o.status, true);
  EXPECT_EQ(queue_->qid(), 4);
  queue_->ctrl_.reset();
  o = Connect(5, 63, test_util::kTestNqn, test_util::kTestHostNqn, 1, 0);
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kConnectInvalidParameters));
  EXPECT_EQ(o.dw0, (ConnectInvalidParameter{42, false}.ToDw0()));  // QID
}

TEST_F(FabricsCmdTest, PropertiesOnTheAdminQueue) {
  PropertyGetCommand get;
  get.ofst = kPropertyVs;
  // Before Connect: refused.
  Outcome o = Run(ExecuteFabrics, BuildPropertyGetSqe(get));
  EXPECT_EQ(o.status, GenericStatus(sc::kCommandSequenceError, true));
  ASSERT_EQ(Connect(0, 31, test_util::kTestNqn, test_util::kTestHostNqn).status,
            kNvmeSuccess);
  o = Run(ExecuteFabrics, BuildPropertyGetSqe(get));
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.dw0, 0x00010400u);
  get.ofst = kPropertyCap;
  get.size = PropertySize::k8Bytes;
  o = Run(ExecuteFabrics, BuildPropertyGetSqe(get));
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.dw0 & 0xFFFF, 127u);  // MQES
  EXPECT_NE(o.dw1, 0u);             // CSS and the rest in the upper dword
  get.ofst = 0x40;  // no such property
  o = Run(ExecuteFabrics, BuildPropertyGetSqe(get));
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidField, true));
  PropertySetCommand set;
  set.ofst = kPropertyCc;
  CcRegister cc;
  cc.en = true;
  cc.iosqes = 6;
  cc.iocqes = 4;
  set.value = cc.ToU32();
  ASSERT_EQ(Run(ExecuteFabrics, BuildPropertySetSqe(set)).status,
            kNvmeSuccess);
  EXPECT_TRUE(queue_->controller().ready());
}

}  // namespace
}  // namespace nvmeof::controller
