// The host's TLS (ConnectOptions::tls_key) against the project's own
// controller, configured as an operator does: a key file in the keyring,
// a host entry naming it, a port that requires (or allows) TLS. Every queue
// goes over TLS with identity version 0 or 1 and either hash; a reconnect
// keeps TLS; a plain host, a wrong key and a PSK host that skips TLS are
// refused, and the target says why.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/tls_psk.h"
#include "controller/target_impl.h"
#include "host/host_test_util.h"
#include "nvmeof/host.h"
#include "nvmeof/log.h"
#include "nvmeof/tcp.h"

namespace nvmeof {
namespace {

constexpr char kNqn[] = "nqn.2024-11.io.nvmeof.test:tls";
constexpr char kHost[] = "nqn.2024-11.io.nvmeof.test:tls-host";

auth::TlsKey Key(uint8_t transform, uint8_t first, size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
  auth::TlsKey k;
  k.transform = transform;
  k.configured = auth::SecretBytes(b);
  return k;
}

// Waits for a log line holding `text` (the target logs on its threads).
class LogWatch {
 public:
  explicit LogWatch(std::string text) : text_(std::move(text)) {
    SetLogSink([this](LogSeverity, const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      if (line.find(text_) != std::string::npos) {
        said_ = line;
        cv_.notify_all();
      }
    });
  }
  ~LogWatch() { SetLogSink(nullptr); }
  std::string Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10),
                 [&] { return !said_.empty(); });
    return said_;
  }

 private:
  const std::string text_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string said_;
};

class HostTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    loop_ = std::move(EventLoop::Create()).value();
    dir_ = ::testing::TempDir() + "nvmeof-tls-" + std::to_string(getpid());
    ::mkdir(dir_.c_str(), 0700);
    key_ = Key(1, 0x10, 32);
  }
  void TearDown() override {
    assoc_.reset();
    if (target_) target_->Stop();
    std::remove((dir_ + "/psk").c_str());
    ::rmdir(dir_.c_str());
  }

  void StartTarget(TlsMode mode, const std::string& port = "0") {
    const std::string path = dir_ + "/psk";
    {
      std::ofstream f(path);
      f << key_.Format() << "\n";  // a trailing newline, as editors leave
    }
    ::chmod(path.c_str(), 0600);
    target_ = std::make_unique<controller::TargetImpl>();
    ASSERT_TRUE(target_->AddKey("k1", path).ok());
    auto s = host_test::RamSubsystem(kNqn);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(target_->AddSubsystem(std::move(s)).ok());
    HostConfig h;
    h.nqn = kHost;
    h.psk = "k1";
    Status added = target_->AddHost(kNqn, h);
    ASSERT_TRUE(added.ok()) << added.ToString();
    PortParams pp;
    pp.tls = mode;
    controller::ListenParams lp;
    lp.transport = controller::ToQueuePairParams(pp);
    ASSERT_TRUE(
        target_->AddPort(1, TransportType::kTcp, "127.0.0.1", port, {}, lp)
            .ok());
    ASSERT_TRUE(target_->Start(1).ok());
    port_ = target_->listen_addresses()[0].trsvcid;
  }

  host::ConnectOptions Options() {
    host::ConnectOptions o;
    o.address = {TransportType::kTcp, "127.0.0.1", port_};
    o.subnqn = kNqn;
    o.hostnqn = kHost;
    o.nr_io_queues = 2;
    o.queue_size = 16;
    o.tls_key = key_.Format();
    o.reconnect_delay = std::chrono::milliseconds(50);
    o.ctrl_loss_tmo = std::chrono::seconds(20);
    return o;
  }

  void WriteRead(uint16_t qid, uint32_t lba) {
    host_test::WriteReadBack(*assoc_, qid, lba, 64 * 1024);
  }

  void ConnectAndMoveData(const host::ConnectOptions& o) {
    auto a = host::Association::Connect(*loop_, o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    assoc_ = std::move(a).value();
    EXPECT_EQ(assoc_->io_queue_count(), 2);
    WriteRead(1, 0);
    WriteRead(2, 256);
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<controller::TargetImpl> target_;
  std::unique_ptr<host::Association> assoc_;
  std::string dir_, port_;
  auth::TlsKey key_;
};

TEST_F(HostTlsTest, EveryQueueOverTlsIdentityV0) {
  StartTarget(TlsMode::kRequired);
  ConnectAndMoveData(Options());
}

TEST_F(HostTlsTest, IdentityV1WithDigest) {
  StartTarget(TlsMode::kRequired);
  host::ConnectOptions o = Options();
  o.tls_identity_version = 1;
  ConnectAndMoveData(o);
}

TEST_F(HostTlsTest, Sha384KeyWithDigests) {
  key_ = Key(2, 0x20, 48);
  StartTarget(TlsMode::kRequired);
  host::ConnectOptions o = Options();
  o.header_digest = o.data_digest = true;
  ConnectAndMoveData(o);
}

TEST_F(HostTlsTest, UntransformedKeyOnAnAllowedPort) {
  key_ = Key(0, 0x30, 32);
  StartTarget(TlsMode::kAllowed);
  ConnectAndMoveData(Options());
}

TEST_F(HostTlsTest, PlainHostRefusedWhereTlsIsRequired) {
  StartTarget(TlsMode::kRequired);
  LogWatch log("requires TLS");
  host::ConnectOptions o = Options();
  o.tls_key.clear();
  EXPECT_FALSE(host::Association::Connect(*loop_, o).ok());
  EXPECT_NE(log.Wait().find("127.0.0.1"), std::string::npos);
}

TEST_F(HostTlsTest, WrongKeyFailsTheHandshake) {
  StartTarget(TlsMode::kRequired);
  LogWatch log("TLS handshake failed");
  host::ConnectOptions o = Options();
  o.tls_key = Key(1, 0x99, 32).Format();
  EXPECT_FALSE(host::Association::Connect(*loop_, o).ok());
  const std::string said = log.Wait();
  EXPECT_NE(said.find(kHost), std::string::npos) << said;  // the identity
  EXPECT_EQ(said.find(key_.Format()), std::string::npos);
}

TEST_F(HostTlsTest, PskHostSkippingTlsIsRefusedAtConnect) {
  StartTarget(TlsMode::kAllowed);
  LogWatch log("connects only over TLS");
  host::ConnectOptions o = Options();
  o.tls_key.clear();
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(log.Wait().find(kHost), std::string::npos);
}

TEST_F(HostTlsTest, BadKeyTextNamesTheOption) {
  StartTarget(TlsMode::kRequired);
  host::ConnectOptions o = Options();
  o.tls_key = "NVMeTLSkey-1:01:notbase64!!:";
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_FALSE(a.ok());
  const std::string m(a.status().message());
  EXPECT_NE(m.find("tls_key"), std::string::npos) << m;
  EXPECT_EQ(m.find("notbase64"), std::string::npos) << m;
}

TEST_F(HostTlsTest, ReconnectKeepsTls) {
  StartTarget(TlsMode::kRequired);
  ConnectAndMoveData(Options());
  const std::string port = port_;
  target_->Stop();
  target_.reset();
  host_test::LoseAndRecover(*loop_, *assoc_,
                            [&] { StartTarget(TlsMode::kRequired, port); });
  WriteRead(2, 512);
}

}  // namespace
}  // namespace nvmeof
