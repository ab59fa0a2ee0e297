// Failure and reconnect: the target goes away mid-I/O and comes back (on
// the same file); the association returns, no acknowledged write is lost,
// no command completes twice; ctrl_loss_tmo fails what waits.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "nvmeof/host.h"
#include "nvmeof/tcp.h"
#include "controller/target_impl.h"
#include "controller/backend_registry.h"

namespace nvmeof {
namespace {

constexpr char kNqn[] = "nqn.2024-11.io.nvmeof.test:reconnect";
constexpr uint64_t kSize = 16 << 20;

class ReconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    char dir[] = "/tmp/nvmeof-reconnect.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/ns.img";
    loop_ = std::move(EventLoop::Create()).value();
    StartTarget("0");
  }
  void TearDown() override {
    ctrl_.reset();
    if (target_) target_->Stop();
    target_.reset();
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  // A target serving the file namespace on 127.0.0.1:`port`.
  void StartTarget(const std::string& port) {
    target_ = std::make_unique<controller::TargetImpl>();
    auto s =
        std::make_unique<controller::Subsystem>(kNqn, controller::SubsystemType::kNvm);
    BackendConfig bc;
    bc.type = "file";
    bc.params["path"] = path_;
    bc.params["size"] = kSize;
    auto backend = controller::OpenBackend(bc);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    auto ns = controller::Namespace::Create(1, std::move(backend).value());
    s->AddNamespace(std::move(ns));
    ASSERT_TRUE(target_->AddSubsystem(std::move(s)).ok());
    ASSERT_TRUE(
        target_->AddPort(1, TransportType::kTcp, "127.0.0.1", port, {}, {})
            .ok());
    ASSERT_TRUE(target_->Start(1).ok());
    port_ = target_->listen_addresses()[0].trsvcid;
  }
  void StopTarget() {
    target_->Stop();
    target_.reset();
  }

  host::ConnectOptions Options() {
    host::ConnectOptions o;
    o.address = {TransportType::kTcp, "127.0.0.1", port_};
    o.subnqn = kNqn;
    o.hostnqn = "nqn.2024-11.io.nvmeof.test:host";
    o.nr_io_queues = 2;
    o.queue_size = 16;
    o.reconnect_delay = std::chrono::milliseconds(50);
    o.ctrl_loss_tmo = std::chrono::seconds(20);
    return o;
  }

  // Writes of 4 KiB, each to its own LBA range with its own pattern, kept
  // `depth` deep while `writing`.
  struct Write {
    std::vector<uint8_t> data;
    int completions = 0;
    bool acked = false;
    Status status;
  };
  void Submit(uint32_t seq) {
    Write& w = writes_[seq];
    w.data.assign(4096, static_cast<uint8_t>(seq * 37 + 1));
    std::memcpy(w.data.data(), &seq, sizeof(seq));
    Sqe sqe{};
    sqe.opcode = 0x01;
    sqe.nsid = 1;
    sqe.cdw10 = seq * 8;
    sqe.cdw12 = 7;
    ++outstanding_;
    ctrl_->SubmitIo(1 + seq % 2, sqe, MemDesc(w.data.data(), w.data.size()),
                    true, [this, seq](host::Completion c) {
                      Write& done = writes_[seq];
                      ++done.completions;
                      done.acked = c.ok();
                      done.status = c.status;
                      --outstanding_;
                      ++completed_;
                      if (writing_) Submit(next_seq_++);
                    });
  }

  std::string dir_, path_, port_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<controller::TargetImpl> target_;
  std::unique_ptr<host::Association> ctrl_;
  std::map<uint32_t, Write> writes_;
  uint32_t next_seq_ = 0;
  int outstanding_ = 0;
  int completed_ = 0;
  bool writing_ = true;
};

TEST_F(ReconnectTest, AssociationComesBackAndNoAcknowledgedWriteIsLost) {
  auto c = host::Association::Connect(*loop_, Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ctrl_ = std::move(c).value();
  for (int i = 0; i < 16; ++i) Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return completed_ >= 300; },
                              std::chrono::seconds(20)));

  // The target goes away with writes in flight, and comes back on the same
  // port and file.
  const std::string port = port_;
  StopTarget();
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return ctrl_->state() == host::Association::State::kReconnecting; },
      std::chrono::seconds(10)));
  StartTarget(port);
  ASSERT_TRUE(loop_->RunUntil([&] { return ctrl_->reconnects() == 1; },
                              std::chrono::seconds(20)));
  const int before = completed_;
  ASSERT_TRUE(loop_->RunUntil([&] { return completed_ >= before + 300; },
                              std::chrono::seconds(20)));
  writing_ = false;
  ASSERT_TRUE(loop_->RunUntil([&] { return outstanding_ == 0; },
                              std::chrono::seconds(20)));

  // Every command completed exactly once, all of them acknowledged (the
  // ones in flight at the failure were retried), and every acknowledged
  // write is on the namespace.
  EXPECT_EQ(ctrl_->state(), host::Association::State::kLive);
  std::vector<uint8_t> back(4096);
  for (auto& [seq, w] : writes_) {
    ASSERT_EQ(w.completions, 1) << "seq " << seq;
    ASSERT_TRUE(w.acked) << "seq " << seq << ": " << w.status.ToString();
    Sqe read{};
    read.opcode = 0x02;
    read.nsid = 1;
    read.cdw10 = seq * 8;
    read.cdw12 = 7;
    host::Completion r =
        ctrl_->IoSync(1, read, MemDesc(back.data(), back.size()));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(back, w.data) << "seq " << seq;
  }
}

TEST_F(ReconnectTest, ControllerLossTimeoutFailsWaitingCommands) {
  host::ConnectOptions o = Options();
  o.ctrl_loss_tmo = std::chrono::milliseconds(300);
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  for (int i = 0; i < 8; ++i) Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return completed_ >= 50; },
                              std::chrono::seconds(20)));
  writing_ = false;
  StopTarget();  // and it never comes back
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return ctrl_->state() != host::Association::State::kLive; },
      std::chrono::seconds(10)));
  // Writes submitted while reconnecting wait, then fail at ctrl_loss_tmo.
  const uint32_t first_late = next_seq_;
  for (int i = 0; i < 4; ++i) Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return outstanding_ == 0; },
                              std::chrono::seconds(20)));
  EXPECT_EQ(ctrl_->state(), host::Association::State::kFailed);
  EXPECT_NE(ctrl_->failure().message().find("controller loss timeout"),
            std::string::npos)
      << ctrl_->failure().ToString();
  for (auto& [seq, w] : writes_) {
    EXPECT_EQ(w.completions, 1) << "seq " << seq;
    if (seq >= first_late) {
      EXPECT_FALSE(w.acked) << "seq " << seq;
      EXPECT_EQ(w.status.code(), StatusCode::kUnavailable)
          << w.status.ToString();
    }
  }
  // New I/O fails at once (later, through the loop), with the same reason.
  bool done = false;
  Status st;
  Sqe sqe{};
  sqe.opcode = 0x00;
  sqe.nsid = 1;
  ctrl_->SubmitIo(1, sqe, {}, false, [&](host::Completion r) {
    done = true;
    st = r.status;
  });
  EXPECT_FALSE(done);
  ASSERT_TRUE(loop_->RunUntil([&] { return done; }, std::chrono::seconds(5)));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
}

TEST_F(ReconnectTest, WithoutRetryInFlightCommandsFailAtOnce) {
  host::ConnectOptions o = Options();
  o.retry_after_reconnect = false;
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  for (int i = 0; i < 8; ++i) Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return completed_ >= 50; },
                              std::chrono::seconds(20)));
  writing_ = false;
  const std::string port = port_;
  StopTarget();
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return ctrl_->state() == host::Association::State::kReconnecting; },
      std::chrono::seconds(10)));
  // Writes in flight end with the connection (no wait for ctrl_loss_tmo);
  // those the target had answered already are acknowledged.
  ASSERT_TRUE(loop_->RunUntil([&] { return outstanding_ == 0; },
                              std::chrono::seconds(10)));
  EXPECT_EQ(ctrl_->state(), host::Association::State::kReconnecting);
  for (auto& [seq, w] : writes_) EXPECT_EQ(w.completions, 1) << "seq " << seq;
  StartTarget(port);
  ASSERT_TRUE(loop_->RunUntil([&] { return ctrl_->reconnects() == 1; },
                              std::chrono::seconds(20)));
}

// fast_io_fail_tmo: I/O waiting for a reconnect fails after it, while the
// reconnect goes on (ctrl_loss_tmo is far away).
TEST_F(ReconnectTest, FastIoFailTimeoutFailsWaitingIo) {
  host::ConnectOptions o = Options();
  o.fast_io_fail_tmo = std::chrono::milliseconds(100);
  auto c = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(c.ok());
  ctrl_ = std::move(c).value();
  writing_ = false;
  const std::string port = port_;
  StopTarget();
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return ctrl_->state() == host::Association::State::kReconnecting; },
      std::chrono::seconds(10)));
  for (int i = 0; i < 4; ++i) Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return outstanding_ == 0; },
                              std::chrono::seconds(10)));
  EXPECT_EQ(ctrl_->state(), host::Association::State::kReconnecting);
  for (auto& [seq, w] : writes_) {
    EXPECT_EQ(w.completions, 1);
    EXPECT_EQ(w.status.code(), StatusCode::kUnavailable) << w.status.ToString();
  }
  // New I/O now fails at once; once the target is back, it works again.
  Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return outstanding_ == 0; },
                              std::chrono::seconds(5)));
  StartTarget(port);
  ASSERT_TRUE(loop_->RunUntil([&] { return ctrl_->reconnects() == 1; },
                              std::chrono::seconds(20)));
  auto f = ctrl_->GetFeature(0x07);  // Number of Queues, through the helper
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Submit(next_seq_++);
  ASSERT_TRUE(loop_->RunUntil([&] { return outstanding_ == 0; },
                              std::chrono::seconds(5)));
  EXPECT_TRUE(writes_[next_seq_ - 1].acked);
}

}  // namespace
}  // namespace nvmeof
