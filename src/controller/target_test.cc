// The controller end to end: a TargetImpl with two I/O threads on 127.0.0.1
// and the host library driving it from the test thread.

#include "controller/target_impl.h"

#include "controller/backend_registry.h"
#include "controller/command_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "host/host_queue.h"
#include "nvmeof/host.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/nqn.h"
#include "nvmeof/tcp.h"

namespace nvmeof::controller {
namespace {

constexpr char kNqn[] = "nqn.2024-01.io.nvmeof.test:ram";
constexpr char kPrivateNqn[] = "nqn.2024-01.io.nvmeof.test:private";
constexpr char kHostNqn[] = "nqn.2024-01.io.nvmeof.test:host-a";
constexpr char kOtherHostNqn[] = "nqn.2024-01.io.nvmeof.test:host-b";
constexpr uint64_t kRamSize = 16 << 20;

using testing::RamNamespace;

// Every test runs over NVMe/TCP on 127.0.0.1 and over the in-process
// loopback transport.
class TargetTest : public ::testing::TestWithParam<TransportType> {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    auto s = std::make_unique<Subsystem>(kNqn, SubsystemType::kNvm);
    s->serial = "SN-TEST-0001";
    s->model = "nvmeof test";
    s->AddNamespace(RamNamespace(1, 512, kRamSize));
    s->AddNamespace(RamNamespace(2, 4096, kRamSize, /*read_only=*/true));
    ASSERT_TRUE(target_.AddSubsystem(std::move(s)).ok());
    auto p = std::make_unique<Subsystem>(kPrivateNqn, SubsystemType::kNvm);
    p->allow_any_host = false;
    p->hosts.insert(kHostNqn);
    p->AddNamespace(RamNamespace(1, 512, 1 << 20));
    ASSERT_TRUE(target_.AddSubsystem(std::move(p)).ok());
    ListenParams params;
    params.transport.max_queue_size = 64;
    params.max_io_queues = 4;
    type_ = GetParam();
    const std::string traddr =
        type_ == TransportType::kTcp
            ? "127.0.0.1"
            : std::string("target-test-") + ::testing::UnitTest::GetInstance()
                                                ->current_test_info()
                                                ->name();
    ASSERT_TRUE(target_
                    .AddPort(1, type_, traddr,
                             type_ == TransportType::kTcp ? "0" : "", {},
                             params)
                    .ok());
    ASSERT_TRUE(target_.Start(2).ok());
    traddr_ = target_.listen_addresses()[0].traddr;
    port_ = target_.listen_addresses()[0].trsvcid;
    loop_ = std::move(EventLoop::Create()).value();
  }
  void TearDown() override {
    ctrl_.reset();
    target_.Stop();
  }

  host::ConnectOptions Options(const std::string& nqn = kNqn) {
    host::ConnectOptions o;
    o.address = {type_, traddr_, port_};
    o.subnqn = nqn;
    o.hostnqn = kHostNqn;
    o.nr_io_queues = 2;
    o.queue_size = 32;
    return o;
  }
  void ConnectDefault() {
    auto c = host::Association::Connect(*loop_, Options());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ctrl_ = std::move(c).value();
  }
  host::Completion Rw(uint8_t opcode, uint32_t nsid, uint64_t slba,
                      uint32_t nlb, std::vector<uint8_t>& buf,
                      uint16_t qid = 1) {
    Sqe sqe{};
    sqe.opcode = opcode;
    sqe.nsid = nsid;
    sqe.cdw10 = static_cast<uint32_t>(slba);
    sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
    sqe.cdw12 = nlb - 1;
    return ctrl_->IoSync(qid, sqe, MemDesc(buf.data(), buf.size()),
                         opcode != 0x02);
  }

  TargetImpl target_;
  TransportType type_ = TransportType::kTcp;
  std::string traddr_;
  std::string port_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<host::Association> ctrl_;
};

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
  EXPECT_EQ(id.nn, 2u);
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

  EXPECT_FALSE(ctrl_->Identify(0x00, 7).ok());  // beyond NN: invalid
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

TEST_P(TargetTest, DiscoveryLogListsWhatTheHostMaySee) {
  for (const char* host : {kHostNqn, kOtherHostNqn}) {
    host::ConnectOptions o = Options(std::string(kDiscoveryNqn));
    o.hostnqn = host;
    o.kato_ms = 0;
    auto disc = host::Association::Connect(*loop_, o);
    ASSERT_TRUE(disc.ok()) << disc.status().ToString();
    EXPECT_TRUE((*disc)->is_discovery());
    auto page = (*disc)->ReadDiscoveryLog();
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    DiscoveryLogHeader h;
    std::memcpy(&h, page->data(), sizeof(h));
    std::vector<std::string> nqns;
    for (uint64_t i = 0; i < h.numrec; ++i) {
      DiscoveryLogEntry e;
      std::memcpy(&e, page->data() + sizeof(h) + i * sizeof(e), sizeof(e));
      auto f = ParseDiscoveryLogEntry(e);
      ASSERT_TRUE(f.ok());
      EXPECT_EQ(f->trtype, static_cast<uint8_t>(type_));
      EXPECT_EQ(f->traddr, traddr_);
      EXPECT_EQ(f->trsvcid, port_);  // the real port, not "0"
      nqns.emplace_back(f->subnqn);
    }
    const bool allowed = std::string(host) == kHostNqn;
    std::vector<std::string> expect = {kNqn};
    if (allowed) expect.push_back(kPrivateNqn);
    expect.push_back(std::string(kDiscoveryNqn));
    EXPECT_EQ(nqns, expect) << host;
  }
}

TEST_P(TargetTest, AccessControlAndConnectChecks) {
  // A host not on the list.
  host::ConnectOptions o = Options(kPrivateNqn);
  o.hostnqn = kOtherHostNqn;
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("Connect Invalid Host"),
            std::string::npos)
      << c.status().ToString();
  // The allowed host gets in.
  o.hostnqn = kHostNqn;
  EXPECT_TRUE(host::Association::Connect(*loop_, o).ok());
  // Unknown subsystem.
  c = host::Association::Connect(*loop_,
                                Options("nqn.2024-01.io.nvmeof.test:none"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("Connect Invalid Parameters"),
            std::string::npos);
  // KATO 0 on an I/O controller.
  o = Options();
  o.kato_ms = 0;
  EXPECT_FALSE(host::Association::Connect(*loop_, o).ok());
  // More I/O queues than the port allows: granted 4.
  o = Options();
  o.nr_io_queues = 8;
  auto many = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ((*many)->io_queue_count(), 4);
}

TEST_P(TargetTest, AsyncEventCompletesOnNamespaceChange) {
  // The test sends its own AERs: the library's are off.
  host::ConnectOptions o = Options();
  o.async_events = false;
  auto connected = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(connected.ok());
  ctrl_ = std::move(connected).value();
  Sqe aec{};
  aec.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  aec.cdw10 = static_cast<uint8_t>(FeatureId::kAsyncEventConfiguration);
  aec.cdw11 = kAecNamespaceAttribute;
  ASSERT_TRUE(ctrl_->AdminSync(aec).ok());
  bool done = false;
  host::Completion got;
  Sqe aer{};
  aer.opcode = static_cast<uint8_t>(AdminOpcode::kAsyncEventRequest);
  ctrl_->SubmitAdmin(aer, {}, false, [&](host::Completion c) {
    got = std::move(c);
    done = true;
  });
  // Held: a Keep Alive goes through while the AER waits.
  Sqe ka{};
  ka.opcode = static_cast<uint8_t>(AdminOpcode::kKeepAlive);
  ASSERT_TRUE(ctrl_->AdminSync(ka).ok());
  EXPECT_FALSE(done);
  // A namespace changes: the controller's own loop posts the event.
  std::shared_ptr<Controller> c = target_.FindController(ctrl_->cntlid());
  ASSERT_NE(c, nullptr);
  c->loop().Post([c] { c->NotifyNamespaceChanged(2); });
  ASSERT_TRUE(loop_->RunUntil([&] { return done; }, std::chrono::seconds(5)));
  ASSERT_TRUE(got.ok());
  AsyncEvent e = AsyncEvent::FromDw0(got.cqe.dw0);
  EXPECT_EQ(e.type, kAsyncEventTypeNotice);
  EXPECT_EQ(e.info, kAenNoticeNamespaceAttributeChanged);
  EXPECT_EQ(e.lid, 0x04);
  auto changed = ctrl_->GetLogPage(0x04, 0, 0, 4096);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(reinterpret_cast<const uint32_t*>(changed->data())[0], 2u);
  // Read once, the list is empty again.
  changed = ctrl_->GetLogPage(0x04, 0, 0, 4096);
  EXPECT_EQ(reinterpret_cast<const uint32_t*>(changed->data())[0], 0u);
  // A fifth AER beyond AERL + 1 = 4 is refused.
  int refused = 0, pending = 0;
  for (int i = 0; i < 5; ++i) {
    ++pending;
    ctrl_->SubmitAdmin(aer, {}, false, [&](host::Completion r) {
      --pending;
      if (r.nvme().sc == sc::kAsyncEventRequestLimitExceeded) ++refused;
    });
  }
  ASSERT_TRUE(
      loop_->RunUntil([&] { return refused == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(pending, 4);  // held until the association ends
  ctrl_.reset();          // they end (cancelled) while `pending` still lives
  EXPECT_EQ(pending, 0);
}

// The library splits a transfer larger than MDTS (1 MiB here) into
// several commands and completes it once.
TEST_P(TargetTest, TransfersLargerThanMdtsAreSplit) {
  ConnectDefault();
  ASSERT_EQ(ctrl_->max_transfer(), 1u << 20);
  std::vector<uint8_t> data((3u << 20) + 4096);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i * 13 + i / 4096);
  auto rw = [&](uint8_t opcode, std::vector<uint8_t>& buf, uint64_t slba) {
    bool done = false;
    host::Completion out;
    ctrl_->SubmitRw(1, opcode, 1, slba, 512, MemDesc(buf.data(), buf.size()),
                    [&](host::Completion c) {
                      EXPECT_FALSE(done) << "completed twice";
                      out = std::move(c);
                      done = true;
                    });
    EXPECT_TRUE(
        loop_->RunUntil([&] { return done; }, std::chrono::seconds(10)));
    return out;
  };
  host::Completion w = rw(0x01, data, 100);
  ASSERT_TRUE(w.ok()) << w.status.ToString() << NvmeStatusToString(w.nvme());
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(rw(0x02, back, 100).ok());
  EXPECT_EQ(back, data);
  EXPECT_TRUE(rw(0x05, data, 100).ok());  // Compare, split too
  // A range that runs off the end: the failing chunk's status, once.
  host::Completion bad = rw(0x02, back, kRamSize / 512 - 4096);
  EXPECT_EQ(bad.nvme().sc, sc::kLbaOutOfRange);
}

// The host keeps an AER outstanding; on a namespace-attribute notice it
// rereads the namespace list and tells the application.
TEST_P(TargetTest, HostHandlesNamespaceChangeNotices) {
  host::ConnectOptions o = Options();
  std::vector<uint32_t> told;
  int calls = 0;
  o.on_namespaces_changed = [&](const std::vector<uint32_t>& active) {
    told = active;
    ++calls;
  };
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ctrl_ = std::move(c).value();
  EXPECT_EQ(ctrl_->active_namespaces(), (std::vector<uint32_t>{1, 2}));
  std::shared_ptr<Controller> target_ctrl =
      target_.FindController(ctrl_->cntlid());
  ASSERT_NE(target_ctrl, nullptr);
  for (int round = 1; round <= 2; ++round) {
    target_ctrl->loop().Post(
        [target_ctrl] { target_ctrl->NotifyNamespaceChanged(1); });
    ASSERT_TRUE(loop_->RunUntil([&] { return calls == round; },
                                std::chrono::seconds(5)));
    EXPECT_EQ(told, (std::vector<uint32_t>{1, 2}));
  }
  EXPECT_EQ(ctrl_->async_events(), 2);  // and the AER was re-armed each time
}

TEST_P(TargetTest, DiscoveryGenctrFollowsTheConfiguration) {
  host::ConnectOptions o = Options(std::string(kDiscoveryNqn));
  o.kato_ms = 0;
  auto disc = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(disc.ok());
  auto page = (*disc)->ReadDiscoveryLog();
  ASSERT_TRUE(page.ok());
  DiscoveryLogHeader h;
  std::memcpy(&h, page->data(), sizeof(h));
  EXPECT_EQ(h.genctr, target_.discovery_genctr());
  EXPECT_NE(h.genctr, 0u);
  // Another target with one more allowed host: another GENCTR.
  TargetImpl other;
  auto s = std::make_unique<Subsystem>(kNqn, SubsystemType::kNvm);
  s->allow_any_host = false;
  s->hosts.insert(kHostNqn);
  ASSERT_TRUE(other.AddSubsystem(std::move(s)).ok());
  ASSERT_TRUE(
      other.AddPort(1, TransportType::kTcp, "127.0.0.1", "0", {}, {}).ok());
  ASSERT_TRUE(other.Start(1).ok());
  EXPECT_NE(other.discovery_genctr(), target_.discovery_genctr());
  other.Stop();
}

// Below the Controller: a raw admin queue, to send what a well-behaved host
// would not.
class RawQueueTest : public TargetTest {
 protected:
  std::unique_ptr<host::HostQueue> RawAdmin(
      uint32_t kato, std::function<void(Status)> on_failed) {
    HostQueuePairParams p;
    p.queue_size = 32;
    auto q = host::HostQueue::Connect(
        *loop_, Options().address, p, std::chrono::seconds(5),
        std::chrono::seconds(5), std::move(on_failed));
    EXPECT_TRUE(q.ok());
    ConnectCommand cmd;
    cmd.sqsize = 31;
    cmd.kato = kato;
    std::array<uint8_t, 16> hostid{1};
    auto data = BuildConnectData(hostid, kCntlidDynamic, kNqn, kHostNqn);
    host::Completion done;
    bool got = false;
    (*q)->Submit(BuildConnectSqe(cmd), MemDesc(&*data, sizeof(*data)), true,
                 [&](host::Completion c) {
                   done = std::move(c);
                   got = true;
                 });
    EXPECT_TRUE(loop_->RunUntil([&] { return got; }, std::chrono::seconds(5)));
    EXPECT_TRUE(done.ok()) << NvmeStatusToString(done.nvme(), true);
    return std::move(q).value();
  }
  host::Completion Send(host::HostQueue& q, const Sqe& sqe) {
    host::Completion out;
    bool got = false;
    q.Submit(sqe, {}, false, [&](host::Completion c) {
      out = std::move(c);
      got = true;
    });
    EXPECT_TRUE(loop_->RunUntil([&] { return got; }, std::chrono::seconds(5)));
    return out;
  }
};

TEST_P(RawQueueTest, CommandsBeforeEnableAreRefused) {
  auto q = RawAdmin(5000, nullptr);
  Sqe identify{};
  identify.opcode = static_cast<uint8_t>(AdminOpcode::kKeepAlive);
  host::Completion c = Send(*q, identify);
  EXPECT_EQ(c.nvme().sc, sc::kCommandSequenceError);
  // A second Connect on a bound queue.
  q->Close(CancelledError("done"));
}

TEST_P(RawQueueTest, KeepAliveExpiryEndsTheAssociation) {
  bool failed = false;
  auto q = RawAdmin(300, [&](Status) { failed = true; });
  // No Keep Alive is sent: the controller ends the association and closes
  // the connection.
  ASSERT_TRUE(
      loop_->RunUntil([&] { return failed; }, std::chrono::seconds(10)));
  q->Close(CancelledError("done"));
}

std::string TransportName(const ::testing::TestParamInfo<TransportType>& info) {
  return std::string(TransportTypeName(info.param));
}
INSTANTIATE_TEST_SUITE_P(Transports, TargetTest,
                         ::testing::Values(TransportType::kTcp,
                                           TransportType::kLoopback),
                         TransportName);
INSTANTIATE_TEST_SUITE_P(Transports, RawQueueTest,
                         ::testing::Values(TransportType::kTcp,
                                           TransportType::kLoopback),
                         TransportName);

}  // namespace
}  // namespace nvmeof::controller
