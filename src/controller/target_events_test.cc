// The controller end to end: discovery, access control, events, and the
// raw admin queue's sequence and keep-alive rules (target_test_util.h).

#include "controller/target_test_util.h"

namespace nvmeof::controller {
namespace {

using namespace target_testing;  // NOLINT(google-build-using-namespace)

class TargetEventsTest : public TargetTest {};

TEST_P(TargetEventsTest, DiscoveryLogListsWhatTheHostMaySee) {
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

TEST_P(TargetEventsTest, AccessControlAndConnectChecks) {
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
  // KATO 0 on an I/O controller: no keep-alive, as Linux nvmet allows (it
  // was refused before issue 12, item 7); an absurd KATO is capped.
  o = Options();
  o.kato_ms = 0;
  auto no_kato = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(no_kato.ok()) << no_kato.status().ToString();
  auto kato = (*no_kato)->GetFeature(0x0F);  // Keep Alive Timer
  ASSERT_TRUE(kato.ok());
  EXPECT_EQ(*kato, 0u);
  ASSERT_TRUE((*no_kato)->SetFeature(0x0F, 0xFFFFFFF0u).ok());
  kato = (*no_kato)->GetFeature(0x0F);
  ASSERT_TRUE(kato.ok());
  EXPECT_EQ(*kato, 3600u * 1000u);
  // More I/O queues than the port allows: granted 4.
  o = Options();
  o.nr_io_queues = 8;
  auto many = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ((*many)->io_queue_count(), 4);
}

TEST_P(TargetEventsTest, AsyncEventCompletesOnNamespaceChange) {
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
TEST_P(TargetEventsTest, TransfersLargerThanMdtsAreSplit) {
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
TEST_P(TargetEventsTest, HostHandlesNamespaceChangeNotices) {
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

TEST_P(TargetEventsTest, DiscoveryGenctrFollowsTheConfiguration) {
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
  s->set_allow_any_host(false);
  s->AddHost(kHostNqn);
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

INSTANTIATE_TEST_SUITE_P(Transports, TargetEventsTest,
                         ::testing::Values(TransportType::kTcp,
                                           TransportType::kLoopback),
                         TransportName);
INSTANTIATE_TEST_SUITE_P(Transports, RawQueueTest,
                         ::testing::Values(TransportType::kTcp,
                                           TransportType::kLoopback),
                         TransportName);

}  // namespace
}  // namespace nvmeof::controller
