// The controller end to end: identify, I/O, log pages and features, over
// NVMe/TCP and the loopback transport (target_test_util.h).

#include "controller/target_test_util.h"

namespace nvmeof::controller {
namespace {

using namespace target_testing;  // NOLINT(google-build-using-namespace)

TEST_P(TargetTest, IdentifyControllerHasWhatLinuxRequires) {
  ConnectDefault();
  const IdentifyController& id = ctrl_->identify();
  EXPECT_EQ(id.cntrltype, kCntrltypeIo);
  EXPECT_NE(id.sgls & kSglsSupportedMask, 0u);
  EXPECT_EQ(id.ioccsz, (64u + 8192u) / 16u);
  EXPECT_EQ(id.iorcsz, 1u);
  EXPECT_EQ(id.icdoff, 0);
  EXPECT_GE(id.msdbd, 1);
  EXPECT_EQ(std::string(id.subnqn), kNqn);
  EXPECT_EQ(id.maxcmd, 64);
  EXPECT_GT(id.kas, 0);
  EXPECT_TRUE(id.vwc & kVwcPresent);
  EXPECT_TRUE(id.oncs & kOncsWriteZeroes);
  EXPECT_TRUE(id.oncs & kOncsDatasetManagement);
  EXPECT_TRUE(id.oncs & kOncsCompare);
  EXPECT_EQ(id.nn, Subsystem::kDefaultMaxNamespaces);
  EXPECT_EQ(id.sqes, 0x66);
  EXPECT_EQ(id.cqes, 0x44);
  EXPECT_EQ(ReadAsciiField(id.sn), "SN-TEST-0001");
  EXPECT_EQ(ReadAsciiField(id.mn), "nvmeof test");
  EXPECT_EQ(id.cntlid, ctrl_->cntlid());
  EXPECT_EQ(ctrl_->io_queue_count(), 2);
}

TEST_P(TargetTest, IdentifyNamespacesAndLists) {
  ConnectDefault();
  auto ns1 = ctrl_->Identify(0x00, 1);
  ASSERT_TRUE(ns1.ok()) << ns1.status().ToString();
  IdentifyNamespace id;
  std::memcpy(&id, ns1->data(), sizeof(id));
  EXPECT_EQ(id.nsze, kRamSize / 512);
  EXPECT_EQ(id.lbaf[FlbasIndex(id.flbas)].lbads, 9);
  auto ns2 = ctrl_->Identify(0x00, 2);
  ASSERT_TRUE(ns2.ok());
  std::memcpy(&id, ns2->data(), sizeof(id));
  EXPECT_EQ(id.lbaf[0].lbads, 12);
  EXPECT_EQ(id.nsattr & 1, 1);  // write protected

  auto list = ctrl_->Identify(0x02, 0);
  ASSERT_TRUE(list.ok());
  const uint32_t* ids = reinterpret_cast<const uint32_t*>(list->data());
  EXPECT_EQ(ids[0], 1u);
  EXPECT_EQ(ids[1], 2u);
  EXPECT_EQ(ids[2], 0u);

  auto desc = ctrl_->Identify(0x03, 1);
  ASSERT_TRUE(desc.ok());
  auto decoded = DecodeNsIdDescriptorList(*desc);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_TRUE(decoded->nguid.has_value());
  EXPECT_EQ((*decoded->nguid)[0], 16);
  ASSERT_TRUE(decoded->uuid.has_value());

  EXPECT_FALSE(ctrl_->Identify(0x00, Subsystem::kDefaultMaxNamespaces + 1)
                   .ok());  // beyond NN: invalid
  EXPECT_FALSE(ctrl_->Identify(0x42, 0).ok());  // unknown CNS
}

TEST_P(TargetTest, WriteThenReadBackAcrossQueues) {
  ConnectDefault();
  for (uint32_t nlb : {1u, 8u, 16u, 64u, 256u, 2048u}) {  // 512 B .. 1 MiB
    std::vector<uint8_t> data(nlb * 512);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<uint8_t>(i * 7 + nlb);
    host::Completion w = Rw(0x01, 1, 1000, nlb, data, 1);
    ASSERT_TRUE(w.ok()) << w.status.ToString() << " "
                        << NvmeStatusToString(w.nvme());
    std::vector<uint8_t> back(data.size());
    host::Completion r = Rw(0x02, 1, 1000, nlb, back, 2);
    ASSERT_TRUE(r.ok()) << r.status.ToString() << " "
                        << NvmeStatusToString(r.nvme());
    EXPECT_EQ(back, data) << "nlb " << nlb;
  }
}

TEST_P(TargetTest, IoErrorsGetTheRightStatus) {
  ConnectDefault();
  std::vector<uint8_t> buf(512);
  // Past the end.
  host::Completion c = Rw(0x02, 1, kRamSize / 512, 1, buf);
  EXPECT_TRUE(c.status.ok());
  EXPECT_EQ(c.nvme().sc, sc::kLbaOutOfRange);
  // No such namespace.
  c = Rw(0x02, 9, 0, 1, buf);
  EXPECT_EQ(c.nvme().sc, sc::kInvalidNamespaceOrFormat);
  // Write to the read-only namespace.
  std::vector<uint8_t> block(4096);
  c = Rw(0x01, 2, 0, 1, block);
  EXPECT_EQ(c.nvme().sc, sc::kNamespaceWriteProtected);
  // Data length that does not match NLB.
  c = Rw(0x02, 1, 0, 2, buf);
  EXPECT_EQ(c.nvme().sc, sc::kDataSglLengthInvalid);
  // An opcode the NVM command set does not have here.
  Sqe sqe{};
  sqe.opcode = 0x7E;
  sqe.nsid = 1;
  c = ctrl_->IoSync(1, sqe);
  EXPECT_EQ(c.nvme().sc, sc::kInvalidOpcode);
  EXPECT_TRUE(c.nvme().dnr);
}

TEST_P(TargetTest, FlushWriteZeroesDeallocateCompareVerify) {
  ConnectDefault();
  std::vector<uint8_t> data(8 * 512, 0xAB);
  ASSERT_TRUE(Rw(0x01, 1, 50, 8, data).ok());
  Sqe sqe{};
  sqe.opcode = 0x00;  // Flush
  sqe.nsid = 1;
  EXPECT_TRUE(ctrl_->IoSync(1, sqe).ok());
  sqe.nsid = 0xFFFFFFFF;
  EXPECT_TRUE(ctrl_->IoSync(1, sqe).ok());

  // Compare: equal, then different.
  EXPECT_TRUE(Rw(0x05, 1, 50, 8, data).ok());
  std::vector<uint8_t> other(data);
  other[100] ^= 1;
  host::Completion c = Rw(0x05, 1, 50, 8, other);
  EXPECT_EQ(c.nvme().sct, StatusCodeType::kMediaError);
  EXPECT_EQ(c.nvme().sc, sc::kCompareFailure);

  // Write Zeroes on blocks 50..53.
  sqe = Sqe{};
  sqe.opcode = 0x08;
  sqe.nsid = 1;
  sqe.cdw10 = 50;
  sqe.cdw12 = 3;
  EXPECT_TRUE(ctrl_->IoSync(1, sqe).ok());
  std::vector<uint8_t> back(8 * 512);
  ASSERT_TRUE(Rw(0x02, 1, 50, 8, back).ok());
  EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 2048,
                          [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::all_of(back.begin() + 2048, back.end(),
                          [](uint8_t b) { return b == 0xAB; }));

  // Deallocate blocks 54..57: they read back as zeros.
  struct Range {
    uint32_t attributes, nlb;
    uint64_t slba;
  } range{0, 4, 54};
  sqe = Sqe{};
  sqe.opcode = 0x09;
  sqe.nsid = 1;
  sqe.cdw10 = 0;       // one range
  sqe.cdw11 = 1 << 2;  // AD
  c = ctrl_->IoSync(1, sqe, MemDesc(&range, sizeof(range)), true);
  EXPECT_TRUE(c.ok()) << NvmeStatusToString(c.nvme());
  ASSERT_TRUE(Rw(0x02, 1, 50, 8, back).ok());
  EXPECT_TRUE(
      std::all_of(back.begin(), back.end(), [](uint8_t b) { return b == 0; }));
  // As Linux sends it: NR 0 in a 4096-byte buffer (the rest zero).
  std::vector<uint8_t> linux_buf(4096, 0);
  range = {0, 2, 60};
  std::memcpy(linux_buf.data(), &range, sizeof(range));
  ASSERT_TRUE(Rw(0x01, 1, 60, 1, data = std::vector<uint8_t>(512, 0x5A)).ok());
  c = ctrl_->IoSync(1, sqe, MemDesc(linux_buf.data(), linux_buf.size()), true);
  EXPECT_TRUE(c.ok()) << NvmeStatusToString(c.nvme());
  std::vector<uint8_t> one(512);
  ASSERT_TRUE(Rw(0x02, 1, 60, 1, one).ok());
  EXPECT_TRUE(
      std::all_of(one.begin(), one.end(), [](uint8_t b) { return b == 0; }));
  // Too short for NR+1 ranges.
  sqe.cdw10 = 1;  // two ranges, one given
  range = {0, 4, 54};
  c = ctrl_->IoSync(1, sqe, MemDesc(&range, sizeof(range)), true);
  EXPECT_EQ(c.nvme().sc, sc::kDataSglLengthInvalid);
  sqe.cdw10 = 0;
  // A range beyond the namespace.
  range = {0, 4, kRamSize / 512};
  c = ctrl_->IoSync(1, sqe, MemDesc(&range, sizeof(range)), true);
  EXPECT_EQ(c.nvme().sc, sc::kLbaOutOfRange);

  // Verify: in range succeeds, out of range fails.
  sqe = Sqe{};
  sqe.opcode = 0x0C;
  sqe.nsid = 1;
  sqe.cdw10 = 0;
  sqe.cdw12 = 7;
  EXPECT_TRUE(ctrl_->IoSync(1, sqe).ok());
  sqe.cdw10 = static_cast<uint32_t>(kRamSize / 512 - 2);
  EXPECT_EQ(ctrl_->IoSync(1, sqe).nvme().sc, sc::kLbaOutOfRange);
}

TEST_P(TargetTest, LogPagesAndOffsets) {
  ConnectDefault();
  std::vector<uint8_t> data(4096, 1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Rw(0x01, 1, 0, 8, data).ok());
  ASSERT_TRUE(Rw(0x02, 1, 0, 8, data, 2).ok());
  auto smart = ctrl_->GetLogPage(0x02, 0xFFFFFFFF, 0, 512);
  ASSERT_TRUE(smart.ok()) << smart.status().ToString();
  SmartHealthLog log;
  std::memcpy(&log, smart->data(), sizeof(log));
  EXPECT_EQ(
      LoadCounter128(std::span<const uint8_t, 16>(log.host_write_commands, 16))
          .SaturatedU64(),
      3u);
  EXPECT_EQ(
      LoadCounter128(std::span<const uint8_t, 16>(log.host_read_commands, 16))
          .SaturatedU64(),
      1u);
  EXPECT_EQ(
      LoadCounter128(std::span<const uint8_t, 16>(log.data_units_written, 16))
          .SaturatedU64(),
      1u);
  EXPECT_EQ(log.available_spare, 100);

  // Offset: the second half of the SMART page equals what a whole read has.
  auto part = ctrl_->GetLogPage(0x02, 0xFFFFFFFF, 256, 256);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(std::equal(part->begin(), part->end(), smart->begin() + 256));
  EXPECT_FALSE(
      ctrl_->GetLogPage(0x02, 0xFFFFFFFF, 2, 8).ok());  // not dword aligned

  auto fw = ctrl_->GetLogPage(0x03, 0, 0, 512);
  ASSERT_TRUE(fw.ok());
  EXPECT_EQ((*fw)[0] & 0x7, 1);
  auto effects = ctrl_->GetLogPage(0x05, 0, 0, 4096);
  ASSERT_TRUE(effects.ok());
  CommandsSupportedAndEffects e;
  std::memcpy(&e, effects->data(), sizeof(e));
  EXPECT_TRUE(e.iocs[0x01] & kEffectsCsupp);
  EXPECT_TRUE(e.iocs[0x01] & kEffectsLbcc);
  EXPECT_TRUE(e.acs[0x06] & kEffectsCsupp);
  EXPECT_TRUE(ctrl_->GetLogPage(0x01, 0, 0, 64).ok());
  EXPECT_TRUE(ctrl_->GetLogPage(0x04, 0, 0, 4096).ok());
  EXPECT_FALSE(
      ctrl_->GetLogPage(0x70, 0, 0, 1024).ok());  // not a discovery controller
  EXPECT_FALSE(ctrl_->GetLogPage(0xC0, 0, 0, 512).ok());
}

TEST_P(TargetTest, Features) {
  ConnectDefault();
  Sqe get{};
  get.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
  get.cdw10 = static_cast<uint8_t>(FeatureId::kNumberOfQueues);
  host::Completion c = ctrl_->AdminSync(get);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(NumberOfQueues::FromDword(c.cqe.dw0).sq_count(), 2u);

  get.cdw10 = static_cast<uint8_t>(FeatureId::kKeepAliveTimer);
  c = ctrl_->AdminSync(get);
  EXPECT_EQ(c.cqe.dw0, 5000u);
  Sqe set{};
  set.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  set.cdw10 = static_cast<uint8_t>(FeatureId::kVolatileWriteCache);
  set.cdw11 = 0;
  EXPECT_TRUE(ctrl_->AdminSync(set).ok());
  get.cdw10 = static_cast<uint8_t>(FeatureId::kVolatileWriteCache);
  EXPECT_EQ(ctrl_->AdminSync(get).cqe.dw0, 0u);

  get.cdw10 = 0x7D;  // not a feature we have
  EXPECT_EQ(ctrl_->AdminSync(get).nvme().sc, sc::kInvalidField);
  set.cdw10 =
      static_cast<uint8_t>(FeatureId::kVolatileWriteCache) | (1u << 31);  // SV
  EXPECT_EQ(ctrl_->AdminSync(set).nvme().sc, sc::kFeatureIdNotSaveable);
  Sqe unknown{};
  unknown.opcode = 0xC1;
  EXPECT_EQ(ctrl_->AdminSync(unknown).nvme().sc, sc::kInvalidOpcode);
}


INSTANTIATE_TEST_SUITE_P(Transports, TargetTest,
                         ::testing::Values(TransportType::kTcp,
                                           TransportType::kLoopback),
                         TransportName);

}  // namespace
}  // namespace nvmeof::controller
