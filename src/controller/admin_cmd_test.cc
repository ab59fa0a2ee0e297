// The admin command family alone, over the fakes of command_test_util.h.

#include "controller/admin_cmd.h"

#include <gtest/gtest.h>

#include "controller/command_test_util.h"
#include "nvmeof/proto/features.h"
#include "nvmeof/proto/identify.h"
#include "nvmeof/proto/log_pages.h"

namespace nvmeof::controller {
namespace {

using test_util::CommandFixture;

constexpr NvmeStatus kInvalidField = GenericStatus(sc::kInvalidField, true);

class AdminCmdTest : public CommandFixture {
 protected:
  void SetUp() override {
    CommandFixture::SetUp();
    BindReady(0);
  }
  test_util::Outcome Identify(Cns cns, uint32_t nsid, uint8_t csi = 0) {
    IdentifyCommand c;
    c.cns = cns;
    c.nsid = nsid;
    c.csi = csi;
    return Run(ExecuteAdmin, BuildIdentifySqe(c), kIdentifyDataSize);
  }
  test_util::Outcome GetLog(uint8_t lid, uint32_t len, uint64_t lpo = 0) {
    GetLogPageCommand c;
    c.lid = lid;
    c.numd = NumdFromBytes(len);
    c.lpo = lpo;
    return Run(ExecuteAdmin, BuildGetLogPageSqe(c), len);
  }
};

TEST_F(AdminCmdTest, IdentifyControllerDescribesTheController) {
  test_util::Outcome o = Identify(Cns::kController, 0);
  ASSERT_EQ(o.status, kNvmeSuccess);
  ASSERT_EQ(o.data.size(), kIdentifyDataSize);
  IdentifyController id;
  std::memcpy(&id, o.data.data(), sizeof(id));
  EXPECT_EQ(id.cntlid, queue_->controller().cntlid());
  EXPECT_EQ(std::string(id.subnqn), test_util::kTestNqn);
  // NN is the most namespaces the subsystem may hold, so that one added
  // later has an NSID the host already accepts.
  EXPECT_EQ(id.nn, Subsystem::kDefaultMaxNamespaces);
  EXPECT_EQ(id.cntrltype, kCntrltypeIo);
  EXPECT_NE(id.sgls, 0u);
  EXPECT_EQ(id.elpe, Controller::kErrorLogEntries - 1);
  EXPECT_EQ(std::string(id.sn, 9), "SN-FAMILY");
}

TEST_F(AdminCmdTest, IdentifyNamespaceAndLists) {
  test_util::Outcome o = Identify(Cns::kNamespace, 3);
  ASSERT_EQ(o.status, kNvmeSuccess);
  IdentifyNamespace ns;
  std::memcpy(&ns, o.data.data(), sizeof(ns));
  EXPECT_EQ(ns.nsze, (1u << 20) / 4096);
  EXPECT_EQ(ns.lbaf[0].lbads, 12);
  EXPECT_EQ(ns.nsattr, 1);  // write protected
  // An inactive NSID within NN reads as zeros; beyond it, it is invalid.
  o = Identify(Cns::kNamespace, 2);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.data, std::vector<uint8_t>(kIdentifyDataSize, 0));
  o = Identify(Cns::kNamespace, 4);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.data, std::vector<uint8_t>(kIdentifyDataSize, 0));
  o = Identify(Cns::kNamespace, Subsystem::kDefaultMaxNamespaces + 1);
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeNsid).value);
  // The active list, above the NSID given.
  o = Identify(Cns::kActiveNamespaceList, 1);
  ASSERT_EQ(o.status, kNvmeSuccess);
  uint32_t ids[3];
  std::memcpy(ids, o.data.data(), sizeof(ids));
  EXPECT_EQ(ids[0], 3u);
  EXPECT_EQ(ids[1], 0u);
}

TEST_F(AdminCmdTest, BadIdentifyFieldsGiveTheirLocation) {
  test_util::Outcome o = Identify(static_cast<Cns>(0x55), 0);
  EXPECT_EQ(o.status, kInvalidField);
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10).value);
  o = Identify(Cns::kIoCommandSetController, 0, /*csi=*/2);
  EXPECT_EQ(o.status, kInvalidField);
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw11 + 3).value);
  o = Identify(Cns::kNamespaceIdDescriptorList, 2);
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
}

TEST_F(AdminCmdTest, LogPagesHonorOffsetAndRefuseBadFields) {
  test_util::Outcome o = GetLog(0x02, 512);  // SMART
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.data.size(), 512u);
  o = GetLog(0x02, 4, /*lpo=*/2);  // not dword aligned
  EXPECT_EQ(o.status, kInvalidField);
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw12).value);
  o = GetLog(0x02, 4, /*lpo=*/4096);  // beyond the page
  EXPECT_EQ(o.status, kInvalidField);
  o = GetLog(0x70, 1024);  // discovery, on an I/O controller
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kInvalidLogPage));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10).value);
  // The length must match the SGL.
  GetLogPageCommand c;
  c.lid = 0x02;
  c.numd = NumdFromBytes(512);
  o = Run(ExecuteAdmin, BuildGetLogPageSqe(c), 1024);
  EXPECT_EQ(o.status, kInvalidField);
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10 + 2).value);
}

TEST_F(AdminCmdTest, AnEmptyErrorLogIsOneZeroEntry) {
  // What spdk_nvme_identify reads first; it once crashed the target under
  // UBSan (a memcpy from an empty vector's null data).
  test_util::Outcome o = GetLog(0x01, sizeof(ErrorInformationEntry));
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.data, std::vector<uint8_t>(sizeof(ErrorInformationEntry), 0));
}

TEST_F(AdminCmdTest, ErrorLogListsRecordedErrorsNewestFirst) {
  Controller& ctrl = queue_->controller();
  ctrl.RecordError(1, 7, GenericStatus(sc::kLbaOutOfRange, true),
                   ErrorLocation::At(kSqeCdw10).value, 99, 1);
  ctrl.RecordError(2, 8, kInvalidField, ErrorLocation::kNone, 0, 3);
  test_util::Outcome o = GetLog(0x01, 2 * sizeof(ErrorInformationEntry));
  ASSERT_EQ(o.status, kNvmeSuccess);
  ErrorInformationEntry e[2];
  std::memcpy(e, o.data.data(), sizeof(e));
  EXPECT_EQ(e[0].error_count, 2u);
  EXPECT_EQ(e[0].sqid, 2);
  EXPECT_EQ(e[0].cid, 8);
  EXPECT_EQ(e[1].error_count, 1u);
  EXPECT_EQ(e[1].lba, 99u);
  EXPECT_EQ(e[1].parameter_error_location, ErrorLocation::At(kSqeCdw10).value);
  EXPECT_EQ(NvmeStatus::FromCqeStatus(e[1].status_info),
            GenericStatus(sc::kLbaOutOfRange, true));
}

TEST_F(AdminCmdTest, FeaturesGetAndSet) {
  Sqe set{};
  set.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  set.cdw10 = static_cast<uint8_t>(FeatureId::kNumberOfQueues);
  set.cdw11 = NumberOfQueues::FromCounts(16, 16).ToDword();
  test_util::Outcome o = Run(ExecuteAdmin, set);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(NumberOfQueues::FromDword(o.dw0).sq_count(), 4u);  // the limit
  EXPECT_EQ(queue_->controller().granted_io_queues(), 4);
  set.cdw10 = static_cast<uint8_t>(FeatureId::kKeepAliveTimer);
  set.cdw11 = 7000;
  ASSERT_EQ(Run(ExecuteAdmin, set).status, kNvmeSuccess);
  Sqe get{};
  get.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
  get.cdw10 = static_cast<uint8_t>(FeatureId::kKeepAliveTimer);
  o = Run(ExecuteAdmin, get);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.dw0, 7000u);
  // Saved values are not supported; unknown features are invalid.
  get.cdw10 |= 2u << 8;  // SEL saved
  o = Run(ExecuteAdmin, get);
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kFeatureIdNotSaveable));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10 + 1).value);
  get.cdw10 = 0x7E;
  o = Run(ExecuteAdmin, get);
  EXPECT_EQ(o.status, kInvalidField);
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10).value);
  set.cdw10 = static_cast<uint8_t>(FeatureId::kKeepAliveTimer) | 1u << 31;
  o = Run(ExecuteAdmin, set);
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kFeatureIdNotSaveable));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10 + 3, 7).value);
}

TEST_F(AdminCmdTest, AbortKeepAliveAndUnknownOpcodes) {
  Sqe abort{};
  abort.opcode = static_cast<uint8_t>(AdminOpcode::kAbort);
  test_util::Outcome o = Run(ExecuteAdmin, abort);
  EXPECT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.dw0, 1u);  // not aborted
  Sqe ka{};
  ka.opcode = static_cast<uint8_t>(AdminOpcode::kKeepAlive);
  EXPECT_EQ(Run(ExecuteAdmin, ka).status, kNvmeSuccess);
  Sqe bogus{};
  bogus.opcode = 0xC3;
  o = Run(ExecuteAdmin, bogus);
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidOpcode, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeOpcode).value);
}

TEST_F(AdminCmdTest, AsyncEventsAreHeldThenCompleted) {
  Controller& ctrl = queue_->controller();
  ctrl.async_event_config = kAecNamespaceAttribute;
  Sqe aer{};
  aer.opcode = static_cast<uint8_t>(AdminOpcode::kAsyncEventRequest);
  // A pending event completes the AER at once.
  ctrl.NotifyNamespaceChanged(1);
  test_util::Outcome o = Run(ExecuteAdmin, aer);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(AsyncEvent::FromDw0(o.dw0).info,
            kAenNoticeNamespaceAttributeChanged);
  // The Changed Namespace List has it, once.
  o = GetLog(0x04, 4096);
  ASSERT_EQ(o.status, kNvmeSuccess);
  uint32_t first;
  std::memcpy(&first, o.data.data(), 4);
  EXPECT_EQ(first, 1u);
  o = GetLog(0x04, 4096);
  std::memcpy(&first, o.data.data(), 4);
  EXPECT_EQ(first, 0u);
  // Otherwise it is held: cancelled here, it ends without a response.
  request_.queue = queue_.get();
  request_.cmd = qp_->Command(aer, 0);
  request_.SetState(RequestState::kParsing);
  ExecuteAdmin(request_);
  EXPECT_EQ(request_.state(), RequestState::kHeld);
  ctrl.CancelAers();
  EXPECT_EQ(queue_->released, 1);
  EXPECT_EQ(request_.state(), RequestState::kFree);
}

}  // namespace
}  // namespace nvmeof::controller
