// The host's DH-HMAC-CHAP against the project's own controller: every queue
// authenticates (one-way and bidirectional), the failures say why (and
// never show a secret), Reauthenticate runs a new transaction on every
// queue, and a reconnect authenticates again.

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/dhchap.h"
#include "controller/target_impl.h"
#include "host/host_test_util.h"
#include "nvmeof/host.h"
#include "nvmeof/log.h"
#include "nvmeof/tcp.h"

namespace nvmeof {
namespace {

constexpr char kNqn[] = "nqn.2024-11.io.nvmeof.test:auth";
constexpr char kHost[] = "nqn.2024-11.io.nvmeof.test:auth-host";

std::vector<uint8_t> Bytes(uint8_t first, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}

// A DHHC-1 secret of `n` bytes from `first` on, transformed with `hmac`.
auth::DhchapKey Key(uint8_t hmac, uint8_t first, size_t n) {
  auth::DhchapKey k;
  k.transform = hmac;
  k.secret = auth::SecretBytes(Bytes(first, n));
  return k;
}

class HostAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    loop_ = std::move(EventLoop::Create()).value();
    host_key_ = Key(1, 0x00, 32);
    ctrl_key_ = Key(2, 0x40, 48);
    StartTarget("0");
  }
  void TearDown() override {
    assoc_.reset();
    if (target_) target_->Stop();
  }

  void StartTarget(const std::string& port) {
    target_ = std::make_unique<controller::TargetImpl>();
    auto s = host_test::RamSubsystem(kNqn);
    ASSERT_NE(s, nullptr);
    controller::HostEntry e;
    e.host_key = std::make_shared<const auth::DhchapKey>(host_key_);
    e.ctrl_key = std::make_shared<const auth::DhchapKey>(ctrl_key_);
    ASSERT_TRUE(s->AddHost(kHost, std::move(e)));
    ASSERT_TRUE(target_->AddSubsystem(std::move(s)).ok());
    ASSERT_TRUE(
        target_->AddPort(1, TransportType::kTcp, "127.0.0.1", port, {}, {})
            .ok());
    ASSERT_TRUE(target_->Start(1).ok());
    port_ = target_->listen_addresses()[0].trsvcid;
  }

  host::ConnectOptions Options(bool bidirectional = true) {
    host::ConnectOptions o;
    o.address = {TransportType::kTcp, "127.0.0.1", port_};
    o.subnqn = kNqn;
    o.hostnqn = kHost;
    o.nr_io_queues = 2;
    o.queue_size = 16;
    o.dhchap_secret = host_key_.Format();
    if (bidirectional) o.dhchap_ctrl_secret = ctrl_key_.Format();
    o.reconnect_delay = std::chrono::milliseconds(50);
    o.ctrl_loss_tmo = std::chrono::seconds(20);
    return o;
  }

  // A 4 KiB write then read of LBA `lba` on I/O queue `qid`.
  void WriteRead(uint16_t qid, uint32_t lba) {
    host_test::WriteReadBack(*assoc_, qid, lba);
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<controller::TargetImpl> target_;
  std::unique_ptr<host::Association> assoc_;
  std::string port_;
  auth::DhchapKey host_key_, ctrl_key_;
};

TEST_F(HostAuthTest, EveryQueueAuthenticatesBidirectionally) {
  auto a = host::Association::Connect(*loop_, Options());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  assoc_ = std::move(a).value();
  EXPECT_EQ(assoc_->io_queue_count(), 2);
  EXPECT_FALSE(assoc_->auth_hash().empty());
  EXPECT_FALSE(assoc_->auth_dhgroup().empty());
  EXPECT_TRUE(assoc_->auth_bidirectional());
  WriteRead(1, 0);
  WriteRead(2, 8);
}

TEST_F(HostAuthTest, OneWayWhenNoControllerSecret) {
  auto a = host::Association::Connect(*loop_, Options(false));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  assoc_ = std::move(a).value();
  EXPECT_FALSE(assoc_->auth_bidirectional());
  WriteRead(2, 16);
}

TEST_F(HostAuthTest, NoSecretIsRefusedWithTheReason) {
  // The target says who left without authenticating (on its thread).
  std::mutex mu;
  std::condition_variable cv;
  std::string said;
  SetLogSink([&](LogSeverity, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    if (line.find("closed before it authenticated") != std::string::npos) {
      said = line;
      cv.notify_all();
    }
  });
  host::ConnectOptions o = Options(false);
  o.dhchap_secret.clear();
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find(
                "the controller requires DH-HMAC-CHAP authentication and no "
                "--dhchap-secret is set"),
            std::string::npos)
      << a.status().ToString();
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                            [&] { return !said.empty(); }));
    EXPECT_NE(said.find(kHost), std::string::npos) << said;
    EXPECT_NE(said.find("127.0.0.1:"), std::string::npos) << said;
  }
  SetLogSink(nullptr);
}

TEST_F(HostAuthTest, WrongHostSecretFailsWithFailure1) {
  host::ConnectOptions o = Options(false);
  o.dhchap_secret = Key(1, 0x80, 32).Format();
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("DH-HMAC-CHAP on queue 0 failed: the "
                                      "controller sent AUTH_Failure1"),
            std::string::npos)
      << a.status().ToString();
}

TEST_F(HostAuthTest, WrongControllerSecretFailsTheController) {
  host::ConnectOptions o = Options();
  o.dhchap_ctrl_secret = Key(2, 0x90, 48).Format();
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("controller response (R2) mismatch"),
            std::string::npos)
      << a.status().ToString();
}

TEST_F(HostAuthTest, BadSecretTextNamesTheOptionNotTheText) {
  host::ConnectOptions o = Options();
  std::string text = host_key_.Format();
  text[20] = text[20] == 'A' ? 'B' : 'A';  // the CRC no longer matches
  o.dhchap_secret = text;
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  const std::string m(a.status().message());
  EXPECT_NE(m.find("dhchap_secret"), std::string::npos) << m;
  EXPECT_EQ(m.find(text.substr(10, 20)), std::string::npos) << m;

  o = Options();
  o.dhchap_ctrl_secret = "DHHC-1:07:xyz:";
  a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("dhchap_ctrl_secret"), std::string::npos)
      << a.status().ToString();

  o = Options();
  o.dhchap_secret.clear();
  a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("needs the host secret"),
            std::string::npos)
      << a.status().ToString();
}

TEST_F(HostAuthTest, ReauthenticateRunsOnEveryQueue) {
  auto a = host::Association::Connect(*loop_, Options());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  assoc_ = std::move(a).value();
  ASSERT_TRUE(assoc_->Reauthenticate().ok());
  ASSERT_TRUE(assoc_->Reauthenticate().ok());
  EXPECT_EQ(assoc_->state(), host::Association::State::kLive);
  // The controller still serves every queue (an unauthenticated one would
  // get Authentication Required).
  WriteRead(1, 24);
  WriteRead(2, 32);
  assoc_->Disconnect();
  Status s = assoc_->Reauthenticate();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

TEST_F(HostAuthTest, ReconnectAuthenticatesAgain) {
  auto a = host::Association::Connect(*loop_, Options());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  assoc_ = std::move(a).value();
  WriteRead(1, 40);
  const std::string port = port_;
  target_->Stop();
  target_.reset();
  host_test::LoseAndRecover(*loop_, *assoc_, [&] { StartTarget(port); });
  EXPECT_TRUE(assoc_->auth_bidirectional());
  WriteRead(2, 48);
}

}  // namespace
}  // namespace nvmeof
