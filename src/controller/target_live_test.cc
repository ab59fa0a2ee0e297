// What the target serves, changed while hosts are connected: namespaces
// added, removed and resized, hosts and subsystems removed, listeners and
// referrals added and removed; and that churn on one subsystem never
// touches the I/O or keep-alive of another (target_test_util.h).

#include <atomic>
#include <future>
#include <thread>

#include "controller/target_test_util.h"

namespace nvmeof::controller {
namespace {

using namespace target_testing;  // NOLINT(google-build-using-namespace)

class TargetLiveTest : public TargetTest {
 protected:
  // An AER of our own (the library's are off in AerOptions), completed
  // into `aer_` when an event comes.
  host::ConnectOptions AerOptions(const std::string& nqn, uint32_t aec) {
    host::ConnectOptions o = Options(nqn);
    o.async_events = false;
    aec_ = aec;
    return o;
  }
  // Options of a host that does not reconnect: an ended association
  // stays failed, where the test can see it.
  host::ConnectOptions Once(const std::string& nqn) {
    host::ConnectOptions o = Options(nqn);
    o.ctrl_loss_tmo = std::chrono::milliseconds(0);
    return o;
  }
  void ArmAer(host::Association& a) {
    Sqe set{};
    set.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
    set.cdw10 = static_cast<uint8_t>(FeatureId::kAsyncEventConfiguration);
    set.cdw11 = aec_;
    ASSERT_TRUE(a.AdminSync(set).ok());
    Submit(a);
  }
  void Submit(host::Association& a) {
    aer_done_ = false;
    Sqe aer{};
    aer.opcode = static_cast<uint8_t>(AdminOpcode::kAsyncEventRequest);
    a.SubmitAdmin(aer, {}, false, [this](host::Completion c) {
      aer_ = std::move(c);
      aer_done_ = true;
    });
  }
  AsyncEvent AwaitEvent() {
    EXPECT_TRUE(
        loop_->RunUntil([&] { return aer_done_; }, std::chrono::seconds(10)))
        << "no asynchronous event";
    EXPECT_TRUE(aer_.ok());
    return AsyncEvent::FromDw0(aer_.cqe.dw0);
  }
  std::vector<uint32_t> ChangedList(host::Association& a) {
    auto page = a.GetLogPage(0x04, 0, 0, 4096);
    EXPECT_TRUE(page.ok());
    std::vector<uint32_t> out;
    const auto* ids = reinterpret_cast<const uint32_t*>(page->data());
    for (size_t i = 0; i < 1024 && ids[i] != 0; ++i) out.push_back(ids[i]);
    return out;
  }
  IdentifyNamespace IdNs(host::Association& a, uint32_t nsid) {
    auto data = a.Identify(0x00, nsid);
    EXPECT_TRUE(data.ok());
    IdentifyNamespace id;
    std::memcpy(&id, data->data(), sizeof(id));
    return id;
  }
  // Everything posted to the controller's loop so far has run, and what it
  // sent the host has arrived (a Keep Alive's answer comes after it).
  void Settle(host::Association& a) {
    std::shared_ptr<Controller> c = target_.FindController(a.cntlid());
    ASSERT_NE(c, nullptr);
    // Awaited by running the host's loop: with the loopback transport the
    // controller's loop may be that one.
    auto ran = std::make_shared<std::atomic<bool>>(false);
    c->loop().Post([ran] { ran->store(true); });
    ASSERT_TRUE(Await([&] { return ran->load(); }));
    Sqe ka{};
    ka.opcode = static_cast<uint8_t>(AdminOpcode::kKeepAlive);
    ASSERT_TRUE(a.AdminSync(ka).ok());
  }
  // Runs the host loop until `pred` holds (or 10 s: a hang).
  bool Await(const std::function<bool()>& pred) {
    return loop_->RunUntil(pred, std::chrono::seconds(10));
  }

  uint32_t aec_ = 0;
  bool aer_done_ = false;
  host::Completion aer_;
};

TEST_P(TargetLiveTest, ANamespaceAddedReachesTheHost) {
  auto c = host::Association::Connect(
      *loop_, AerOptions(kNqn, kAecNamespaceAttribute));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ctrl_ = std::move(c).value();
  ArmAer(*ctrl_);
  ASSERT_TRUE(
      target_.AddNamespace(kNqn, RamNamespace(7, 512, 2 << 20)).ok());
  AsyncEvent e = AwaitEvent();
  EXPECT_EQ(e.type, kAsyncEventTypeNotice);
  EXPECT_EQ(e.info, kAenNoticeNamespaceAttributeChanged);
  EXPECT_EQ(e.lid, 0x04);
  EXPECT_EQ(ChangedList(*ctrl_), (std::vector<uint32_t>{7}));
  EXPECT_EQ(IdNs(*ctrl_, 7).nsze, (2u << 20) / 512);
  // I/O on it works at once, on a queue that saw the old table.
  std::vector<uint8_t> data(512, 0x3C), back(512);
  ASSERT_TRUE(Rw(0x01, 7, 3, 1, data).ok());
  ASSERT_TRUE(Rw(0x02, 7, 3, 1, back).ok());
  EXPECT_EQ(back, data);
  // A taken NSID is refused, and so is one beyond max_namespaces.
  Status taken = target_.AddNamespace(kNqn, RamNamespace(7, 512, 1 << 20));
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(taken.message().find("NSID 7 is in use"), std::string::npos);
  EXPECT_FALSE(
      target_.AddNamespace(kNqn, RamNamespace(5000, 512, 1 << 20)).ok());
}

TEST_P(TargetLiveTest, ARemovedNamespaceFinishesWhatRunsAndGoesAway) {
  ConnectDefault();
  std::weak_ptr<Namespace> ns;
  {
    std::shared_ptr<Namespace> added = RamNamespace(9, 512, 4 << 20);
    ns = added;
    ASSERT_TRUE(target_.AddNamespace(kNqn, std::move(added)).ok());
  }
  // Commands in flight on both queues when it goes.
  std::vector<std::vector<uint8_t>> bufs(32, std::vector<uint8_t>(4096));
  int done = 0, ok = 0, invalid = 0;
  for (size_t i = 0; i < bufs.size(); ++i) {
    Sqe sqe{};
    sqe.opcode = 0x02;
    sqe.nsid = 9;
    sqe.cdw10 = static_cast<uint32_t>(i * 8);
    sqe.cdw12 = 7;
    ctrl_->SubmitIo(static_cast<uint16_t>(1 + i % 2), sqe,
                    MemDesc(bufs[i].data(), 4096), false,
                    [&](host::Completion c) {
                      ++done;
                      if (c.ok()) ++ok;
                      if (c.nvme().sc == sc::kInvalidNamespaceOrFormat) {
                        ++invalid;
                      }
                    });
  }
  ASSERT_TRUE(target_.RemoveNamespace(kNqn, 9).ok());
  ASSERT_TRUE(Await([&] { return done == 32; }));
  // Each either ran (it started before) or was refused cleanly.
  EXPECT_EQ(ok + invalid, 32);
  std::vector<uint8_t> buf(512);
  EXPECT_EQ(Rw(0x02, 9, 0, 1, buf).nvme().sc, sc::kInvalidNamespaceOrFormat);
  // Once no command uses it, no queue keeps it (or its memory).
  EXPECT_TRUE(Await([&] { return ns.expired(); }));
  // The other namespaces never noticed.
  EXPECT_TRUE(Rw(0x02, 1, 0, 1, buf).ok());
  EXPECT_FALSE(target_.RemoveNamespace(kNqn, 9).ok());
}

TEST_P(TargetLiveTest, AResizeShowsInIdentifyAndTheEvent) {
  auto c = host::Association::Connect(
      *loop_, AerOptions(kNqn, kAecNamespaceAttribute));
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  ArmAer(*ctrl_);
  const Namespace* ns = target_.GetSubsystem(kNqn)->FindNamespace(1);
  ASSERT_NE(ns, nullptr);
  std::vector<uint8_t> buf(512);
  const uint64_t old_blocks = ns->num_blocks();
  EXPECT_EQ(Rw(0x02, 1, old_blocks, 1, buf).nvme().sc, sc::kLbaOutOfRange);
  // What a backend's resize does once it has grown (the RAM namespace of
  // the fixture was sized with room to spare: kRamSize).
  ns->set_num_blocks(old_blocks / 2);
  ASSERT_TRUE(target_.NamespaceResized(kNqn, 1).ok());
  EXPECT_EQ(AwaitEvent().info, kAenNoticeNamespaceAttributeChanged);
  EXPECT_EQ(ChangedList(*ctrl_), (std::vector<uint32_t>{1}));
  EXPECT_EQ(IdNs(*ctrl_, 1).nsze, old_blocks / 2);
  EXPECT_EQ(Rw(0x02, 1, old_blocks / 2, 1, buf).nvme().sc,
            sc::kLbaOutOfRange);
  // One notice until the host reads the list: a second change before that
  // is in the list, not a second event.
  Submit(*ctrl_);
  ASSERT_TRUE(target_.NamespaceResized(kNqn, 1).ok());
  ASSERT_TRUE(target_.NamespaceResized(kNqn, 2).ok());
  EXPECT_EQ(AwaitEvent().info, kAenNoticeNamespaceAttributeChanged);
  Submit(*ctrl_);
  ASSERT_TRUE(target_.NamespaceResized(kNqn, 1).ok());
  Settle(*ctrl_);
  EXPECT_FALSE(aer_done_);
  EXPECT_EQ(ChangedList(*ctrl_), (std::vector<uint32_t>{1, 2}));
  // Read: the next change is told again.
  ASSERT_TRUE(target_.NamespaceResized(kNqn, 1).ok());
  EXPECT_EQ(AwaitEvent().info, kAenNoticeNamespaceAttributeChanged);
  ns->set_num_blocks(old_blocks);
}

TEST_P(TargetLiveTest, ARemovedHostOrSubsystemLosesItsAssociation) {
  auto c = host::Association::Connect(*loop_, Once(kPrivateNqn));
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  ASSERT_TRUE(target_.RemoveHost(kPrivateNqn, kHostNqn).ok());
  EXPECT_TRUE(Await([&] {
    return ctrl_->state() == host::Association::State::kFailed;
  }));
  auto again = host::Association::Connect(*loop_, Options(kPrivateNqn));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("Connect Invalid Host"),
            std::string::npos);
  EXPECT_EQ(target_.RemoveHost(kPrivateNqn, kHostNqn).code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(target_.AddHost(kPrivateNqn, kHostNqn).ok());
  EXPECT_TRUE(host::Association::Connect(*loop_, Options(kPrivateNqn)).ok());

  // Closing a subsystem to hosts not listed ends theirs, not the others'.
  ctrl_.reset();
  c = host::Association::Connect(*loop_, Once(kNqn));
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  ASSERT_TRUE(target_.SetAllowAnyHost(kNqn, false).ok());
  EXPECT_TRUE(Await([&] {
    return ctrl_->state() == host::Association::State::kFailed;
  }));
  ASSERT_TRUE(target_.SetAllowAnyHost(kNqn, true).ok());

  // A deleted subsystem: its associations end, Connect finds nothing.
  ctrl_.reset();
  c = host::Association::Connect(*loop_, Once(kNqn));
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  ASSERT_TRUE(target_.DeleteSubsystem(kNqn).ok());
  EXPECT_TRUE(Await([&] {
    return ctrl_->state() == host::Association::State::kFailed;
  }));
  again = host::Association::Connect(*loop_, Options(kNqn));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("Connect Invalid Parameters"),
            std::string::npos);
  EXPECT_TRUE(target_.Controllers(kNqn).empty());
  EXPECT_EQ(target_.DeleteSubsystem(kNqn).code(), StatusCode::kNotFound);
}

TEST_P(TargetLiveTest, DiscoveryChangesReachPersistentDiscoveryControllers) {
  host::ConnectOptions o =
      AerOptions(std::string(kDiscoveryNqn), kAecDiscoveryLogChange);
  o.kato_ms = 0;
  auto disc = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(disc.ok()) << disc.status().ToString();
  ArmAer(**disc);
  auto read = [&] {
    auto page = (*disc)->ReadDiscoveryLog();
    EXPECT_TRUE(page.ok());
    DiscoveryLogHeader h;
    std::memcpy(&h, page->data(), sizeof(h));
    std::vector<std::pair<uint8_t, std::string>> out;
    for (uint64_t i = 0; i < h.numrec; ++i) {
      DiscoveryLogEntry e;
      std::memcpy(&e, page->data() + sizeof(h) + i * sizeof(e), sizeof(e));
      out.emplace_back(e.subtype, ParseDiscoveryLogEntry(e)->subnqn);
    }
    return std::make_pair(h.genctr, out);
  };
  const uint64_t genctr0 = read().first;
  // A subsystem no host sees on this port yet changes nothing...
  auto s = std::make_shared<Subsystem>("nqn.2024-01.io.nvmeof.test:new",
                                       SubsystemType::kNvm);
  ASSERT_TRUE(target_.AddSubsystem(s).ok());
  EXPECT_EQ(read().first, genctr0);
  // ...until it listens on this port: an event, a new GENCTR, the entry.
  ListenParams params;
  ASSERT_TRUE(target_
                  .AddListener(s->nqn(), type_, traddr_, port_, params)
                  .ok());
  AsyncEvent e = AwaitEvent();
  EXPECT_EQ(e.info, kAenNoticeDiscoveryLogChanged);
  EXPECT_EQ(e.lid, 0x70);
  auto [genctr1, entries] = read();
  EXPECT_NE(genctr1, genctr0);
  EXPECT_NE(std::find(entries.begin(), entries.end(),
                      std::make_pair(kSubtypeNvm, s->nqn())),
            entries.end());
  EXPECT_EQ(target_.AddListener(s->nqn(), type_, traddr_, port_, params)
                .code(),
            StatusCode::kAlreadyExists);
  // A referral.
  Submit(**disc);
  Referral ref;
  ref.traddr = "127.0.0.9";
  ref.trsvcid = "8009";
  ASSERT_TRUE(target_.AddReferral(ref).ok());
  ASSERT_TRUE(target_.AddReferral(ref).ok());  // twice: no error, one entry
  EXPECT_EQ(AwaitEvent().info, kAenNoticeDiscoveryLogChanged);
  entries = read().second;
  EXPECT_EQ(std::count(entries.begin(), entries.end(),
                       std::make_pair(kSubtypeReferral,
                                      std::string(kDiscoveryNqn))),
            1);
  // Removed again: the log is back to what it was, GENCTR too.
  Submit(**disc);
  ASSERT_TRUE(target_.RemoveReferral(ref).ok());
  EXPECT_EQ(AwaitEvent().info, kAenNoticeDiscoveryLogChanged);
  EXPECT_EQ(target_.RemoveReferral(ref).code(), StatusCode::kNotFound);
  // Read, which also unmasks the next notice.
  entries = read().second;
  EXPECT_EQ(std::count(entries.begin(), entries.end(),
                       std::make_pair(kSubtypeReferral,
                                      std::string(kDiscoveryNqn))),
            0);
  Submit(**disc);
  ASSERT_TRUE(
      target_.RemoveListener(s->nqn(), type_, traddr_, port_).ok());
  EXPECT_EQ(AwaitEvent().info, kAenNoticeDiscoveryLogChanged);
  EXPECT_EQ(read().first, genctr0);
  // The configured port stays: this discovery controller is still served.
  EXPECT_TRUE((*disc)->ReadDiscoveryLog().ok());
}

TEST_P(TargetLiveTest, AListenerOpensAndClosesItsPort) {
  if (type_ != TransportType::kTcp) GTEST_SKIP() << "TCP ports only";
  ListenParams params;
  ASSERT_TRUE(
      target_.AddListener(kNqn, type_, "127.0.0.1", "0", params).ok());
  std::string port2;
  for (const auto& p : target_.ports()) {
    if (p->trsvcid != port_) port2 = p->trsvcid;
  }
  ASSERT_FALSE(port2.empty());
  host::ConnectOptions o = Once(kNqn);
  o.address.trsvcid = port2;
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ctrl_ = std::move(c).value();
  // Another subsystem is not exposed there.
  o.subnqn = kPrivateNqn;
  EXPECT_FALSE(host::Association::Connect(*loop_, o).ok());
  // Removed: the association through it ends and the port closes.
  ASSERT_TRUE(
      target_.RemoveListener(kNqn, type_, "127.0.0.1", port2).ok());
  EXPECT_TRUE(Await([&] {
    return ctrl_->state() == host::Association::State::kFailed;
  }));
  o.subnqn = kNqn;
  auto refused = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("refused"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(target_.ports().size(), 1u);
}

// The control plane churns one subsystem while a host runs I/O on another
// with a short keep-alive: the host sees no error and no reconnect.
TEST_P(TargetLiveTest, ChurnElsewhereNeverTouchesThisSubsystem) {
  host::ConnectOptions o = Options(kNqn);
  o.kato_ms = 1000;  // a missed keep-alive would end it within ~1.5 s
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  Status churn_status;
  std::thread churn([&] {
    for (int i = 0; i < 300 && !stop; ++i) {
      Status s = target_.AddNamespace(kPrivateNqn,
                                      RamNamespace(2, 512, 1 << 20));
      if (s.ok()) s = target_.RemoveNamespace(kPrivateNqn, 2);
      if (!s.ok()) {
        churn_status = s;
        break;
      }
      ++rounds;
    }
  });
  std::vector<uint8_t> buf(4096);
  int ios = 0, errors = 0;
  while (rounds < 300 && churn_status.ok() && errors == 0) {
    host::Completion r = Rw(0x02, 1, (ios * 8) % 1024, 8, buf,
                            static_cast<uint16_t>(1 + ios % 2));
    if (!r.ok()) ++errors;
    ++ios;
    if (ios > 1000000) break;
  }
  stop = true;
  churn.join();
  EXPECT_TRUE(churn_status.ok()) << churn_status.ToString();
  EXPECT_EQ(rounds, 300);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(ctrl_->state(), host::Association::State::kLive);
  EXPECT_EQ(ctrl_->reconnects(), 0);
}

// A config applied to the running target (a reload) changes what it names
// and leaves the rest running: the association on an unchanged subsystem
// keeps going with no reconnect.
TEST_P(TargetLiveTest, AReconfigureKeepsWhatDidNotChange) {
  if (type_ != TransportType::kTcp) GTEST_SKIP() << "a config names TCP ports";
  ConnectDefault();
  const std::vector<ControllerInfo> before = target_.Controllers(kNqn);
  ASSERT_EQ(before.size(), 1u);
  Result<TargetConfig> now = RunningConfig(target_, TargetConfig{});
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  TargetConfig wanted = *now;
  std::erase_if(wanted.subsystems, [](const SubsystemConfig& s) {
    return s.nqn == kPrivateNqn;
  });
  SubsystemConfig added;
  added.nqn = "nqn.2024-01.io.nvmeof.test:added";
  added.serial = "SN-ADDED";
  NamespaceConfig ns;
  ns.backend.params["size"] = 1 << 20;
  ns.uuid[0] = ns.nguid[0] = 0x77;
  added.namespaces.push_back(ns);
  wanted.subsystems.push_back(added);
  for (PortConfig& p : wanted.ports) p.subsystems = {kNqn, added.nqn};

  Result<std::vector<std::string>> done = ApplyConfig(target_, {}, wanted);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(*done, (std::vector<std::string>{
                       std::string("subsystem ") + kPrivateNqn + " deleted",
                       "subsystem " + added.nqn + " created",
                       "namespace 1 of " + added.nqn + " added",
                       "port 1 exposes " + added.nqn}));
  EXPECT_EQ(target_.GetSubsystem(kPrivateNqn), nullptr);
  ASSERT_NE(target_.GetSubsystem(added.nqn), nullptr);
  EXPECT_NE(target_.GetSubsystem(added.nqn)->FindNamespace(1), nullptr);

  std::vector<uint8_t> data(4096, 0x5A), back(4096);
  ASSERT_TRUE(Rw(0x01, 1, 64, 8, data).ok());
  ASSERT_TRUE(Rw(0x02, 1, 64, 8, back, 2).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(ctrl_->state(), host::Association::State::kLive);
  EXPECT_EQ(ctrl_->reconnects(), 0);
  const std::vector<ControllerInfo> after = target_.Controllers(kNqn);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].cntlid, before[0].cntlid) << "the same controller";
  // The new subsystem is served on the same port.
  host::ConnectOptions o = Once(added.nqn);
  auto c = host::Association::Connect(*loop_, o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Transports, TargetLiveTest,
                         ::testing::Values(TransportType::kTcp,
                                           TransportType::kLoopback),
                         TransportName);

}  // namespace
}  // namespace nvmeof::controller
