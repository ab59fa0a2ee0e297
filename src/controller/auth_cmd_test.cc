// Authentication Send / Receive in the fabrics family (DH-HMAC-CHAP), over
// the fakes of command_test_util.h, with auth::HostAuth as the host: a
// Connect of a host with a key answers ATR and holds every other command
// back (Authentication Required) until the transaction succeeds; a failed
// one ends the queue; malformed commands get the field they got wrong.

#include <gtest/gtest.h>

#include "auth/dhchap.h"
#include "controller/command_test_util.h"
#include "controller/fabrics_cmd.h"
#include "nvmeof/proto/fabrics.h"

namespace nvmeof::controller {
namespace {

using test_util::CommandFixture;
using test_util::Outcome;

constexpr char kHostSecret[] =
    "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:";
constexpr char kCtrlSecret[] =
    "DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:";

std::shared_ptr<const auth::DhchapKey> Key(const char* text) {
  Result<auth::DhchapKey> k = auth::DhchapKey::Parse(text);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return std::make_shared<const auth::DhchapKey>(std::move(k).value());
}

class AuthCmdTest : public CommandFixture {
 protected:
  void SetUp() override {
    CommandFixture::SetUp();
    services_.authenticator = [this](const Subsystem& s,
                                     const std::string& hostnqn)
        -> std::unique_ptr<auth::ControllerAuth> {
      if (hostnqn != test_util::kTestHostNqn) return nullptr;
      auth::ControllerAuthConfig c;
      c.hostnqn = hostnqn;
      c.subnqn = s.nqn();
      c.host_key = Key(host_secret_);
      c.ctrl_key = Key(kCtrlSecret);
      c.dhgroups = dhgroups_;
      return std::make_unique<auth::ControllerAuth>(std::move(c));
    };
  }

  Outcome Connect(uint32_t kato = 5000) {
    ConnectCommand cmd;
    cmd.sqsize = 31;
    cmd.kato = kato;
    ConnectData data{};
    data.cntlid = 0xFFFF;
    const std::string subnqn = test_util::kTestNqn;
    const std::string hostnqn = test_util::kTestHostNqn;
    std::memcpy(data.subnqn, subnqn.data(), subnqn.size());
    std::memcpy(data.hostnqn, hostnqn.data(), hostnqn.size());
    std::vector<uint8_t> bytes(sizeof(data));
    std::memcpy(bytes.data(), &data, sizeof(data));
    return Run(ExecuteFabrics, BuildConnectSqe(cmd), sizeof(data), bytes);
  }
  Outcome Send(const std::vector<uint8_t>& msg,
               AuthenticationCommand c = {}) {
    c.send = true;
    if (c.length == 0) c.length = static_cast<uint32_t>(msg.size());
    return Run(ExecuteFabrics, BuildAuthenticationSqe(c),
               static_cast<uint32_t>(msg.size()), msg);
  }
  Outcome Receive(uint32_t al = 4096) {
    AuthenticationCommand c;
    c.send = false;
    c.length = al;
    return Run(ExecuteFabrics, BuildAuthenticationSqe(c), al);
  }
  // Runs the host's side to its end; the host's result.
  Status Authenticate(const char* host_secret, const char* ctrl_secret) {
    auth::HostAuthConfig c;
    c.hostnqn = test_util::kTestHostNqn;
    c.subnqn = test_util::kTestNqn;
    c.host_key = Key(host_secret);
    if (ctrl_secret != nullptr) c.ctrl_key = Key(ctrl_secret);
    auth::HostAuth host(std::move(c), 7);
    auth::HostAuth::Step step = host.Start();
    for (int i = 0; i < 8 && !step.done; ++i) {
      if (!step.send.empty()) {
        Outcome o = Send(step.send);
        if (o.status != kNvmeSuccess) return InternalError("send refused");
      }
      if (!step.receive) break;
      Outcome o = Receive();
      if (o.status != kNvmeSuccess) return InternalError("receive refused");
      EXPECT_EQ(o.data.size(), 4096u);  // the whole AL, zero-padded
      step = host.OnReceive(o.data);
    }
    if (!step.done) return InternalError("the host never finished");
    if (!step.send.empty()) Send(step.send);  // a last Failure2
    return step.result;
  }

  std::vector<auth::DhGroup> dhgroups_;
  const char* host_secret_ = kHostSecret;  // the host's key at the target
};

TEST_F(AuthCmdTest, ConnectAnswersAtrAndHoldsCommandsBackUntilAuthenticated) {
  Outcome o = Connect();
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(ConnectResponse::FromDw0(o.dw0).authreq, kAuthreqAtr);
  EXPECT_FALSE(queue_->authenticated());
  EXPECT_EQ(queue_->auth_timeout, std::chrono::milliseconds(5000));
  // Properties wait: Authentication Required (SCT 1h, SC 91h).
  o = Run(ExecuteFabrics, BuildPropertyGetSqe({PropertySize::k8Bytes, 0}));
  EXPECT_EQ(o.status, CommandSpecificStatus(sc::kAuthenticationRequired));
  EXPECT_EQ(o.status->sct, StatusCodeType::kCommandSpecific);
  EXPECT_EQ(o.status->sc, 0x91);

  ASSERT_TRUE(Authenticate(kHostSecret, kCtrlSecret).ok());
  EXPECT_EQ(queue_->auth_ended, std::vector<bool>{true});
  EXPECT_TRUE(queue_->authenticated());
  EXPECT_TRUE(queue_->authentication()->bidirectional());
  o = Run(ExecuteFabrics, BuildPropertyGetSqe({PropertySize::k8Bytes, 0}));
  EXPECT_EQ(o.status, kNvmeSuccess);
  // A new transaction on the authenticated queue (re-authentication).
  EXPECT_TRUE(Authenticate(kHostSecret, nullptr).ok());
  EXPECT_EQ(queue_->auth_ended, (std::vector<bool>{true, true}));
}

// Keys set while the queue lives count from its next re-authentication.
TEST_F(AuthCmdTest, AReauthenticationUsesTheHostsKeysAsTheyAreNow) {
  ASSERT_EQ(Connect().status, kNvmeSuccess);
  ASSERT_TRUE(Authenticate(kHostSecret, nullptr).ok());
  host_secret_ = kCtrlSecret;  // nvmf_subsystem_set_keys, say
  EXPECT_FALSE(Authenticate(kHostSecret, nullptr).ok());
  EXPECT_EQ(queue_->auth_ended, (std::vector<bool>{true, false}));
}

TEST_F(AuthCmdTest, EveryDhGroupTheControllerAllows) {
  dhgroups_ = {auth::DhGroup::kFfdhe2048};
  ASSERT_EQ(Connect(0).status, kNvmeSuccess);
  EXPECT_EQ(queue_->auth_timeout, std::chrono::milliseconds(120000));
  ASSERT_TRUE(Authenticate(kHostSecret, kCtrlSecret).ok());
  EXPECT_EQ(queue_->authentication()->dhgroup(), auth::DhGroup::kFfdhe2048);
}

TEST_F(AuthCmdTest, AWrongSecretFailsTheTransactionAndEndsTheQueue) {
  ASSERT_EQ(Connect().status, kNvmeSuccess);
  Status s = Authenticate(kCtrlSecret, nullptr);  // not the host's secret
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("AUTH_Failure1"), std::string::npos)
      << s.ToString();
  EXPECT_EQ(queue_->auth_ended, std::vector<bool>{false});
  EXPECT_FALSE(queue_->authenticated());
  // The host is wrong about the controller's secret: its Failure2 ends it.
}

TEST_F(AuthCmdTest, AWrongControllerSecretEndsItFromTheHostSide) {
  ASSERT_EQ(Connect().status, kNvmeSuccess);
  EXPECT_FALSE(Authenticate(kHostSecret, kHostSecret).ok());
  EXPECT_EQ(queue_->auth_ended, std::vector<bool>{false});
}

TEST_F(AuthCmdTest, MalformedCommandsNameTheField) {
  ASSERT_EQ(Connect().status, kNvmeSuccess);
  const std::vector<uint8_t> msg(16, 0);
  AuthenticationCommand c;
  c.secp = 0xEA;
  Outcome o = Send(msg, c);
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidField, true));
  EXPECT_EQ(o.error_location, 43);
  c = {};
  c.spsp1 = 0;
  EXPECT_EQ(Send(msg, c).error_location, 42);
  c = {};
  c.length = 17;  // TL is not the transfer length
  o = Send(msg, c);
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidField, true));
  EXPECT_EQ(o.error_location, 44);
  // Nothing is due before a Negotiate.
  EXPECT_EQ(Receive().status, GenericStatus(sc::kCommandSequenceError, true));
  EXPECT_TRUE(queue_->auth_ended.empty());
}

TEST_F(AuthCmdTest, AHostWithoutAKeyIsNotAskedToAuthenticate) {
  services_.authenticator = nullptr;
  Outcome o = Connect();
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(ConnectResponse::FromDw0(o.dw0).authreq, 0);
  EXPECT_TRUE(queue_->authenticated());
  EXPECT_EQ(Receive().status, GenericStatus(sc::kCommandSequenceError, true));
}

}  // namespace
}  // namespace nvmeof::controller
