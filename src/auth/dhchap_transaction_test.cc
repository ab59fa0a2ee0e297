// DH-HMAC-CHAP transactions in process: a ControllerAuth and a HostAuth
// passing each other the messages, as Authentication Send / Receive would.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "auth/dhchap.h"

namespace nvmeof::auth {
namespace {

constexpr char kHostNqn[] = "nqn.2014-08.org.nvmexpress:uuid:host-under-test";
constexpr char kSubNqn[] = "nqn.2024-01.io.example:subsys1";

std::shared_ptr<const DhchapKey> NewKey(uint8_t transform = 1) {
  auto k = DhchapKey::Generate(transform, 32);
  EXPECT_TRUE(k.ok());
  return std::make_shared<const DhchapKey>(std::move(*k));
}

struct Keys {
  std::shared_ptr<const DhchapKey> host = NewKey(1);
  std::shared_ptr<const DhchapKey> ctrl = NewKey(0);
};

ControllerAuthConfig CtrlConfig(const Keys& keys, bool with_ctrl_key) {
  ControllerAuthConfig c;
  c.hostnqn = kHostNqn;
  c.subnqn = kSubNqn;
  c.host_key = keys.host;
  if (with_ctrl_key) c.ctrl_key = keys.ctrl;
  return c;
}

HostAuthConfig HostConfig(const Keys& keys, bool bidirectional) {
  HostAuthConfig c;
  c.hostnqn = kHostNqn;
  c.subnqn = kSubNqn;
  c.host_key = keys.host;
  if (bidirectional) c.ctrl_key = keys.ctrl;
  return c;
}

// What a transaction ended with, and the last message each side sent.
struct Outcome {
  Status host;
  bool host_done = false;
  std::vector<uint8_t> last_from_host;
  std::vector<uint8_t> last_from_ctrl;
};

// Runs host against ctrl until the host is done: each Step's send goes to
// OnSend, each receive asks OnReceive(al).
Outcome Transact(ControllerAuth& ctrl, HostAuth& host,
                 uint32_t al = kMaxMessage) {
  Outcome out;
  HostAuth::Step step = host.Start();
  for (int i = 0; i < 10; ++i) {
    if (!step.send.empty()) {
      out.last_from_host = step.send;
      ctrl.OnSend(step.send);
    }
    if (step.done) {
      out.host_done = true;
      out.host = step.result;
      return out;
    }
    EXPECT_TRUE(step.receive);
    std::optional<std::vector<uint8_t>> m = ctrl.OnReceive(al);
    if (!m) {
      ADD_FAILURE() << "controller had nothing to return";
      return out;
    }
    out.last_from_ctrl = *m;
    step = host.OnReceive(*m);
  }
  ADD_FAILURE() << "no end";
  return out;
}

FailureReason ReasonOf(const std::vector<uint8_t>& msg) {
  auto f = DecodeFailure(msg);
  EXPECT_TRUE(f.ok());
  return f.ok() ? f->reason : FailureReason{0};
}

// ---- every hash x {null, ffdhe2048, ffdhe3072} x {one-way, two-way} ----

class DhchapTransaction
    : public ::testing::TestWithParam<std::tuple<HashId, DhGroup, bool>> {};

TEST_P(DhchapTransaction, Succeeds) {
  auto [hash, group, bidirectional] = GetParam();
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, /*with_ctrl_key=*/true);
  cc.hashes = {hash};
  cc.dhgroups = {group};
  ControllerAuth ctrl(cc);
  HostAuth host(HostConfig(keys, bidirectional), 42);
  Outcome o = Transact(ctrl, host);
  ASSERT_TRUE(o.host_done);
  EXPECT_TRUE(o.host.ok()) << o.host.ToString();
  EXPECT_TRUE(ctrl.succeeded()) << ctrl.failure();
  EXPECT_TRUE(ctrl.failure().empty());
  EXPECT_EQ(ctrl.hash(), hash);
  EXPECT_EQ(ctrl.dhgroup(), group);
  EXPECT_EQ(host.hash(), hash);
  EXPECT_EQ(host.dhgroup(), group);
  EXPECT_EQ(ctrl.bidirectional(), bidirectional);
  EXPECT_EQ(KindOf(o.last_from_host),
            bidirectional ? MessageKind::kSuccess2 : MessageKind::kReply);
  // Nothing more is due.
  EXPECT_FALSE(ctrl.OnReceive(kMaxMessage).has_value());
}

std::string ParamName(
    const ::testing::TestParamInfo<std::tuple<HashId, DhGroup, bool>>& info) {
  return std::string(HashName(std::get<0>(info.param))) + "_" +
         std::string(DhGroupName(std::get<1>(info.param))) +
         (std::get<2>(info.param) ? "_bidirectional" : "_one_way");
}

INSTANTIATE_TEST_SUITE_P(
    AllHashes, DhchapTransaction,
    ::testing::Combine(::testing::Values(HashId::kSha256, HashId::kSha384,
                                         HashId::kSha512),
                       ::testing::Values(DhGroup::kNull, DhGroup::kFfdhe2048,
                                         DhGroup::kFfdhe3072),
                       ::testing::Bool()),
    ParamName);

TEST(DhchapTransactionOne, Ffdhe8192Bidirectional) {
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, true);
  cc.dhgroups = {DhGroup::kFfdhe8192};
  ControllerAuth ctrl(cc);
  HostAuth host(HostConfig(keys, true), 1);
  Outcome o = Transact(ctrl, host);
  EXPECT_TRUE(o.host.ok()) << o.host.ToString();
  EXPECT_TRUE(ctrl.succeeded()) << ctrl.failure();
  EXPECT_EQ(ctrl.dhgroup(), DhGroup::kFfdhe8192);
}

TEST(DhchapTransactionOne, DefaultsPickTheHostsFirst) {
  Keys keys;
  ControllerAuth ctrl(CtrlConfig(keys, false));
  HostAuth host(HostConfig(keys, false), 1);
  Outcome o = Transact(ctrl, host);
  EXPECT_TRUE(o.host.ok());
  EXPECT_EQ(ctrl.hash(), HashId::kSha256);
  EXPECT_EQ(ctrl.dhgroup(), DhGroup::kNull);  // as nvmet by default

  // The controller's allowed list decides, in its own order.
  ControllerAuthConfig cc = CtrlConfig(keys, false);
  cc.hashes = {HashId::kSha512, HashId::kSha256};
  cc.dhgroups = {DhGroup::kFfdhe4096, DhGroup::kFfdhe2048};
  ControllerAuth picky(cc);
  HostAuthConfig hc = HostConfig(keys, false);
  hc.dhgroups = {DhGroup::kNull, DhGroup::kFfdhe2048};
  HostAuth host2(hc, 2);
  o = Transact(picky, host2);
  EXPECT_TRUE(o.host.ok()) << o.host.ToString();
  EXPECT_EQ(picky.hash(), HashId::kSha512);
  EXPECT_EQ(picky.dhgroup(), DhGroup::kFfdhe2048);
}

TEST(DhchapTransactionOne, SecretLongerThanItsTransform) {
  // A 64-byte secret with a SHA-256 transform: keyed with the 32-byte
  // transformed key on both sides.
  auto k = DhchapKey::Generate(1, 64);
  ASSERT_TRUE(k.ok());
  Keys keys;
  keys.host = std::make_shared<const DhchapKey>(std::move(*k));
  ControllerAuth ctrl(CtrlConfig(keys, true));
  HostAuth host(HostConfig(keys, true), 3);
  EXPECT_TRUE(Transact(ctrl, host).host.ok());
  EXPECT_TRUE(ctrl.succeeded());
}

// ---- failures ----

TEST(DhchapFailures, WrongHostKey) {
  Keys keys, other;
  ControllerAuth ctrl(CtrlConfig(keys, false));
  HostAuth host(HostConfig(other, false), 5);
  Outcome o = Transact(ctrl, host);
  ASSERT_TRUE(o.host_done);
  EXPECT_EQ(o.host.code(), StatusCode::kProtocolError);
  EXPECT_NE(o.host.message().find("authentication failed"), std::string::npos)
      << o.host.ToString();
  EXPECT_EQ(KindOf(o.last_from_ctrl), MessageKind::kFailure1);
  EXPECT_EQ(ReasonOf(o.last_from_ctrl), FailureReason::kFailed);
  EXPECT_EQ(DecodeFailure(o.last_from_ctrl)->t_id, 5);
  EXPECT_TRUE(ctrl.failed());
  EXPECT_NE(ctrl.failure().find("R1"), std::string::npos);
}

TEST(DhchapFailures, WrongControllerKey) {
  Keys keys, other;
  ControllerAuth ctrl(CtrlConfig(keys, true));
  HostAuthConfig hc = HostConfig(keys, true);
  hc.ctrl_key = other.ctrl;
  HostAuth host(hc, 6);
  Outcome o = Transact(ctrl, host);
  ASSERT_TRUE(o.host_done);
  EXPECT_EQ(o.host.code(), StatusCode::kProtocolError);
  EXPECT_NE(o.host.message().find("R2"), std::string::npos);
  EXPECT_EQ(KindOf(o.last_from_host), MessageKind::kFailure2);
  EXPECT_EQ(ReasonOf(o.last_from_host), FailureReason::kFailed);
  EXPECT_TRUE(ctrl.failed());
  EXPECT_NE(ctrl.failure().find("Failure2"), std::string::npos);
}

TEST(DhchapFailures, BidirectionalWithoutControllerKey) {
  Keys keys;
  ControllerAuth ctrl(CtrlConfig(keys, /*with_ctrl_key=*/false));
  HostAuth host(HostConfig(keys, true), 7);
  Outcome o = Transact(ctrl, host);
  EXPECT_EQ(o.host.code(), StatusCode::kProtocolError);
  EXPECT_EQ(ReasonOf(o.last_from_ctrl), FailureReason::kFailed);
  EXPECT_TRUE(ctrl.failed());
}

TEST(DhchapFailures, NoHostKey) {
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, false);
  cc.host_key = nullptr;
  ControllerAuth ctrl(cc);
  HostAuth host(HostConfig(keys, false), 8);
  Outcome o = Transact(ctrl, host);
  EXPECT_EQ(ReasonOf(o.last_from_ctrl), FailureReason::kFailed);

  HostAuthConfig hc = HostConfig(keys, false);
  hc.host_key = nullptr;
  HostAuth keyless(hc, 9);
  HostAuth::Step s = keyless.Start();
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(s.send.empty());
  EXPECT_EQ(s.result.code(), StatusCode::kFailedPrecondition);
}

TEST(DhchapFailures, NoCommonHashOrGroup) {
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, false);
  cc.hashes = {HashId::kSha512};
  ControllerAuth ctrl(cc);
  HostAuthConfig hc = HostConfig(keys, false);
  hc.hashes = {HashId::kSha256, HashId::kSha384};
  HostAuth host(hc, 10);
  Outcome o = Transact(ctrl, host);
  EXPECT_EQ(ReasonOf(o.last_from_ctrl), FailureReason::kHashUnusable);
  EXPECT_NE(o.host.message().find("hash function not usable"),
            std::string::npos);
  EXPECT_TRUE(ctrl.failed());

  cc = CtrlConfig(keys, false);
  cc.dhgroups = {DhGroup::kFfdhe6144};
  ControllerAuth ctrl2(cc);
  hc = HostConfig(keys, false);
  hc.dhgroups = {DhGroup::kNull, DhGroup::kFfdhe2048};
  HostAuth host3(hc, 12);
  o = Transact(ctrl2, host3);
  EXPECT_EQ(ReasonOf(o.last_from_ctrl), FailureReason::kDhGroupUnusable);
}

TEST(DhchapFailures, HostRefusesWhatItDidNotOffer) {
  Keys keys;
  HostAuthConfig hc = HostConfig(keys, false);
  hc.hashes = {HashId::kSha256};
  hc.dhgroups = {DhGroup::kNull};
  for (auto [hash, group, reason] :
       {std::tuple{HashId::kSha384, DhGroup::kNull,
                   FailureReason::kHashUnusable},
        std::tuple{HashId::kSha256, DhGroup::kFfdhe2048,
                   FailureReason::kDhGroupUnusable}}) {
    HostAuth host(hc, 13);
    host.Start();
    Challenge c;
    c.t_id = 13;
    c.hash = hash;
    c.dhgroup = group;
    c.seqnum = 1;
    c.c1.assign(HashLength(hash), 1);
    c.dh_value.assign(DhValueLength(group), 2);
    HostAuth::Step s = host.OnReceive(Encode(c));
    EXPECT_TRUE(s.done);
    EXPECT_FALSE(s.result.ok());
    EXPECT_EQ(KindOf(s.send), MessageKind::kFailure2);
    EXPECT_EQ(ReasonOf(s.send), reason);
  }
}

TEST(DhchapFailures, TransactionIdMismatch) {
  Keys keys;
  // The controller side: a Reply with another T_ID.
  ControllerAuth ctrl(CtrlConfig(keys, false));
  HostAuth host(HostConfig(keys, false), 20);
  ctrl.OnSend(host.Start().send);
  HostAuth::Step s = host.OnReceive(*ctrl.OnReceive(kMaxMessage));
  auto reply = DecodeReply(s.send);
  ASSERT_TRUE(reply.ok());
  reply->t_id = 21;
  ctrl.OnSend(Encode(*reply));
  EXPECT_EQ(ctrl.state(), ControllerAuth::State::kFailure1Due);
  auto f1 = ctrl.OnReceive(kMaxMessage);
  ASSERT_TRUE(f1.has_value());
  EXPECT_EQ(ReasonOf(*f1), FailureReason::kIncorrectPayload);
  EXPECT_EQ(DecodeFailure(*f1)->t_id, 20);
  EXPECT_TRUE(ctrl.failed());

  // The host side: a Challenge with another T_ID.
  ControllerAuth ctrl2(CtrlConfig(keys, false));
  HostAuth other(HostConfig(keys, false), 30);
  ctrl2.OnSend(other.Start().send);
  HostAuth host2(HostConfig(keys, false), 31);
  host2.Start();
  s = host2.OnReceive(*ctrl2.OnReceive(kMaxMessage));
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result.code(), StatusCode::kProtocolError);
  EXPECT_EQ(ReasonOf(s.send), FailureReason::kIncorrectPayload);
}

TEST(DhchapFailures, OutOfOrder) {
  Keys keys;
  {
    // A Reply before any Negotiate; a Receive when nothing is due.
    ControllerAuth ctrl(CtrlConfig(keys, false));
    EXPECT_FALSE(ctrl.OnReceive(kMaxMessage).has_value());
    Reply r;
    r.hl = 32;
    r.r1.assign(32, 0);
    ctrl.OnSend(Encode(r));
    auto f = ctrl.OnReceive(kMaxMessage);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(ReasonOf(*f), FailureReason::kIncorrectProtocolMessage);
    EXPECT_TRUE(ctrl.failed());
  }
  {
    // Two Sends in a row where a Receive was due; garbage.
    ControllerAuth ctrl(CtrlConfig(keys, false));
    HostAuth host(HostConfig(keys, false), 1);
    ctrl.OnSend(host.Start().send);
    ctrl.OnSend(Encode(Success2{1}));
    EXPECT_EQ(ReasonOf(*ctrl.OnReceive(kMaxMessage)),
              FailureReason::kIncorrectProtocolMessage);
    ControllerAuth ctrl2(CtrlConfig(keys, false));
    ctrl2.OnSend(std::vector<uint8_t>{0x09, 0x09, 0x09});
    EXPECT_EQ(ReasonOf(*ctrl2.OnReceive(kMaxMessage)),
              FailureReason::kIncorrectProtocolMessage);
  }
  {
    // A Success2 when the transaction was one-way.
    ControllerAuth ctrl(CtrlConfig(keys, false));
    HostAuth host(HostConfig(keys, false), 2);
    Transact(ctrl, host);
    ASSERT_TRUE(ctrl.succeeded());
    ctrl.OnSend(Encode(Success2{2}));
    EXPECT_EQ(ctrl.state(), ControllerAuth::State::kFailure1Due);
  }
  {
    // The host: a Success1 while it waits for the Challenge; anything
    // after it is done.
    HostAuth host(HostConfig(keys, false), 3);
    host.Start();
    HostAuth::Step s = host.OnReceive(Encode(Success1{3, 32, false, {}}));
    EXPECT_TRUE(s.done);
    EXPECT_EQ(s.result.code(), StatusCode::kProtocolError);
    EXPECT_EQ(ReasonOf(s.send), FailureReason::kIncorrectProtocolMessage);
    s = host.OnReceive(Encode(Success1{3, 32, false, {}}));
    EXPECT_EQ(ReasonOf(s.send), FailureReason::kIncorrectProtocolMessage);
    HostAuth unstarted(HostConfig(keys, false), 4);
    s = unstarted.OnReceive(std::vector<uint8_t>{});
    EXPECT_TRUE(s.done);
    EXPECT_FALSE(s.result.ok());
  }
}

TEST(DhchapFailures, NegotiateContents) {
  Keys keys;
  auto failure_for = [&](std::vector<uint8_t> negotiate) {
    ControllerAuth ctrl(CtrlConfig(keys, false));
    ctrl.OnSend(negotiate);
    EXPECT_EQ(ctrl.state(), ControllerAuth::State::kFailure1Due);
    auto f = ctrl.OnReceive(kMaxMessage);
    EXPECT_TRUE(f.has_value());
    return f ? ReasonOf(*f) : FailureReason{0};
  };
  Negotiate n{1, 0, AllHashes(), AllDhGroups()};
  std::vector<uint8_t> good = Encode(n);
  std::vector<uint8_t> b = good;
  b[6] = 1;  // SC_C: NEWTLSPSK
  EXPECT_EQ(failure_for(b), FailureReason::kConcatMismatch);
  b = good;
  b[8] = 2;  // authid
  EXPECT_EQ(failure_for(b), FailureReason::kProtocolUnusable);
  b = good;
  b[10] = 31;  // halen
  EXPECT_EQ(failure_for(b), FailureReason::kIncorrectPayload);
  b.assign(good.begin(), good.begin() + 40);
  EXPECT_EQ(failure_for(b), FailureReason::kIncorrectPayload);
  b = good;
  b[10] = 0;  // no hash at all
  EXPECT_EQ(failure_for(b), FailureReason::kHashUnusable);
}

TEST(DhchapFailures, BadReplyPayloads) {
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, false);
  cc.dhgroups = {DhGroup::kFfdhe2048};
  auto reason_for = [&](auto mutate) {
    ControllerAuth ctrl(cc);
    HostAuth host(HostConfig(keys, false), 40);
    ctrl.OnSend(host.Start().send);
    HostAuth::Step s = host.OnReceive(*ctrl.OnReceive(kMaxMessage));
    auto reply = DecodeReply(s.send);
    EXPECT_TRUE(reply.ok());
    mutate(*reply);
    ctrl.OnSend(Encode(*reply));
    auto f = ctrl.OnReceive(kMaxMessage);
    EXPECT_TRUE(f.has_value());
    return f ? ReasonOf(*f) : FailureReason{0};
  };
  EXPECT_EQ(reason_for([](Reply& r) { r.dh_value.pop_back(); }),
            FailureReason::kIncorrectPayload);
  EXPECT_EQ(reason_for([](Reply& r) { r.dh_value.clear(); }),
            FailureReason::kIncorrectPayload);
  EXPECT_EQ(reason_for([](Reply& r) { r.dh_value.assign(256, 0); }),
            FailureReason::kIncorrectPayload);  // out of range
  EXPECT_EQ(reason_for([](Reply& r) {
              r.hl = 48;
              r.r1.resize(48);
            }),
            FailureReason::kIncorrectPayload);
  EXPECT_EQ(reason_for([](Reply& r) { r.r1[0] ^= 1; }), FailureReason::kFailed);
  // Another g^x (valid, but not the one R1 was computed with): wrong R1.
  EXPECT_EQ(reason_for([](Reply& r) { r.dh_value.back() ^= 2; }),
            FailureReason::kFailed);
}

TEST(DhchapFailures, AllocationLengthTooSmall) {
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, false);
  cc.dhgroups = {DhGroup::kFfdhe2048};
  ControllerAuth ctrl(cc);
  HostAuth host(HostConfig(keys, false), 50);
  ctrl.OnSend(host.Start().send);
  auto f = ctrl.OnReceive(100);  // the Challenge needs 16 + 32 + 256
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(ReasonOf(*f), FailureReason::kIncorrectPayload);
  EXPECT_TRUE(ctrl.failed());

  ControllerAuth ctrl2(cc);
  ctrl2.OnSend(host.Start().send);
  EXPECT_FALSE(ctrl2.OnReceive(4).has_value());
  EXPECT_TRUE(ctrl2.failed());
}

TEST(DhchapFailures, Failure2EndsTheTransaction) {
  Keys keys;
  ControllerAuth ctrl(CtrlConfig(keys, false));
  HostAuth host(HostConfig(keys, false), 60);
  ctrl.OnSend(host.Start().send);
  ASSERT_TRUE(ctrl.OnReceive(kMaxMessage).has_value());
  ctrl.OnSend(Encode(Failure{false, 60, FailureReason::kHashUnusable}));
  EXPECT_TRUE(ctrl.failed());
  EXPECT_NE(ctrl.failure().find("hash function not usable"), std::string::npos);
  EXPECT_FALSE(ctrl.OnReceive(kMaxMessage).has_value());
}

TEST(DhchapFailures, ControllerKeyUnaskedIsOneWay) {
  Keys keys;
  ControllerAuth ctrl(CtrlConfig(keys, true));
  HostAuth host(HostConfig(keys, false), 61);
  Outcome o = Transact(ctrl, host);
  EXPECT_TRUE(o.host.ok());
  EXPECT_TRUE(ctrl.succeeded());
  EXPECT_FALSE(ctrl.bidirectional());
  auto s1 = DecodeSuccess1(o.last_from_ctrl);
  ASSERT_TRUE(s1.ok());
  EXPECT_FALSE(s1->rvalid);
  EXPECT_EQ(s1->hl, 32);
}

TEST(DhchapFailures, HostNeedsR2WhenItAsked) {
  Keys keys;
  ControllerAuth ctrl(CtrlConfig(keys, true));
  HostAuth host(HostConfig(keys, true), 62);
  ctrl.OnSend(host.Start().send);
  HostAuth::Step s = host.OnReceive(*ctrl.OnReceive(kMaxMessage));
  ctrl.OnSend(s.send);
  // A Success1 without R2 in place of the controller's.
  s = host.OnReceive(Encode(Success1{62, 32, false, {}}));
  EXPECT_TRUE(s.done);
  EXPECT_FALSE(s.result.ok());
  EXPECT_EQ(ReasonOf(s.send), FailureReason::kIncorrectPayload);
}

// ---- re-authentication ----

TEST(DhchapReauthentication, NegotiateAfterSuccessRestarts) {
  Keys keys;
  ControllerAuthConfig cc = CtrlConfig(keys, true);
  cc.dhgroups = {DhGroup::kFfdhe2048};
  ControllerAuth ctrl(cc);
  HostAuth first(HostConfig(keys, true), 100);
  ASSERT_TRUE(Transact(ctrl, first).host.ok());
  ASSERT_TRUE(ctrl.succeeded());
  HostAuth second(HostConfig(keys, false), 101);
  Outcome o = Transact(ctrl, second);
  EXPECT_TRUE(o.host.ok()) << o.host.ToString();
  EXPECT_TRUE(ctrl.succeeded());
  EXPECT_FALSE(ctrl.bidirectional());
  // And after a failure.
  Keys other;
  HostAuth wrong(HostConfig(other, false), 102);
  Transact(ctrl, wrong);
  EXPECT_TRUE(ctrl.failed());
  HostAuth third(HostConfig(keys, true), 103);
  EXPECT_TRUE(Transact(ctrl, third).host.ok());
  EXPECT_TRUE(ctrl.succeeded());
  EXPECT_TRUE(ctrl.failure().empty());
}

TEST(DhchapReauthentication, NegotiateMidTransactionRestarts) {
  Keys keys;
  ControllerAuth ctrl(CtrlConfig(keys, false));
  HostAuth abandoned(HostConfig(keys, false), 200);
  ctrl.OnSend(abandoned.Start().send);
  ASSERT_TRUE(ctrl.OnReceive(kMaxMessage).has_value());
  EXPECT_EQ(ctrl.state(), ControllerAuth::State::kWaitReply);
  HostAuth host(HostConfig(keys, false), 201);
  EXPECT_TRUE(Transact(ctrl, host).host.ok());
  EXPECT_TRUE(ctrl.succeeded());
}

}  // namespace
}  // namespace nvmeof::auth
