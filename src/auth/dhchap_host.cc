// The host's side of one DH-HMAC-CHAP transaction (NVMe Base 2.x 8.3.5;
// the Linux host's drivers/nvme/host/auth.c and SPDK's lib/nvme/nvme_auth.c
// checked for what they accept).

#include <algorithm>
#include <string>
#include <utility>

#include "auth/dhchap.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {

namespace {

// HostAuth::phase_ (0: not started).
constexpr int kWaitChallenge = 1;
constexpr int kWaitSuccess1 = 2;
constexpr int kDone = 3;

template <typename T>
bool Contains(const std::vector<T>& v, T x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

struct HostAuth::Crypto {
  std::vector<HashId> offered_hashes;
  std::vector<DhGroup> offered_dhgroups;
  bool bidirectional = false;
  SecretBytes expected_r2;  // bidirectional: what Success1 must carry
};

HostAuth::HostAuth(HostAuthConfig config, uint16_t t_id)
    : config_(std::move(config)),
      t_id_(t_id),
      crypto_(std::make_unique<Crypto>()) {}

HostAuth::~HostAuth() = default;

HostAuth::Step HostAuth::Start() {
  crypto_ = std::make_unique<Crypto>();
  if (!config_.host_key) {
    phase_ = kDone;
    Step s;
    s.done = true;
    s.result = FailedPreconditionError("DH-HMAC-CHAP: no host key");
    return s;
  }
  crypto_->offered_hashes =
      config_.hashes.empty() ? AllHashes() : config_.hashes;
  crypto_->offered_dhgroups =
      config_.dhgroups.empty() ? AllDhGroups() : config_.dhgroups;
  Negotiate n;
  n.t_id = t_id_;
  n.sc_c = 0;
  n.hashes = crypto_->offered_hashes;
  n.dhgroups = crypto_->offered_dhgroups;
  phase_ = kWaitChallenge;
  Step s;
  s.send = Encode(n);
  s.receive = true;
  return s;
}

HostAuth::Step HostAuth::OnReceive(std::span<const uint8_t> msg) {
  const MessageKind kind = KindOf(msg);
  const bool in_progress = phase_ == kWaitChallenge || phase_ == kWaitSuccess1;
  if (kind == MessageKind::kFailure1 && in_progress) {
    Result<Failure> f = DecodeFailure(msg);
    std::string why = "DH-HMAC-CHAP: the controller sent AUTH_Failure1";
    if (f.ok()) {
      why += ": ";
      why += FailureReasonName(f->reason);
    }
    return Done(ProtocolError(why));
  }
  if (kind == MessageKind::kChallenge && phase_ == kWaitChallenge) {
    return TakeChallenge(msg);
  }
  if (kind == MessageKind::kSuccess1 && phase_ == kWaitSuccess1) {
    return TakeSuccess1(msg);
  }
  return Fail2(FailureReason::kIncorrectProtocolMessage, "unexpected message");
}

HostAuth::Step HostAuth::TakeChallenge(std::span<const uint8_t> msg) {
  // The ids first, so that an unknown or unoffered one gets its own reason.
  if (msg.size() >= internal::kDhchapHeader) {
    std::optional<HashId> h = internal::HashFromId(msg[internal::kOffHashId]);
    if (!h || !Contains(crypto_->offered_hashes, *h)) {
      return Fail2(FailureReason::kHashUnusable,
                   "Challenge with a hash not offered");
    }
    std::optional<DhGroup> g =
        internal::DhGroupFromId(msg[internal::kOffDhgId]);
    if (!g || !Contains(crypto_->offered_dhgroups, *g)) {
      return Fail2(FailureReason::kDhGroupUnusable,
                   "Challenge with a DH group not offered");
    }
  }
  Result<Challenge> c = DecodeChallenge(msg);
  if (!c.ok()) {
    return Fail2(FailureReason::kIncorrectPayload, "malformed Challenge");
  }
  if (c->t_id != t_id_) {
    return Fail2(FailureReason::kIncorrectPayload,
                 "Challenge with another T_ID");
  }
  hash_ = c->hash;
  dhgroup_ = c->dhgroup;
  const size_t hl = HashLength(hash_);

  Reply r;
  r.t_id = t_id_;
  r.hl = static_cast<uint8_t>(hl);
  SecretBytes ks;
  if (dhgroup_ != DhGroup::kNull) {
    Result<DhKeyPair> kp = DhKeyPair::Generate(dhgroup_);
    if (!kp.ok()) return Fail2(FailureReason::kFailed, "DH keygen failed");
    Result<SecretBytes> shared = kp->SharedSecret(c->dh_value);
    if (!shared.ok()) {
      return Fail2(FailureReason::kIncorrectPayload,
                   "controller DH value rejected");
    }
    ks = std::move(*shared);
    r.dh_value = kp->public_value();
  }
  Result<SecretBytes> kh = TransformKey(*config_.host_key, config_.hostnqn);
  if (!kh.ok()) return Fail2(FailureReason::kFailed, "bad host key");
  Result<std::vector<uint8_t>> ca = AugmentedChallenge(hash_, ks.span(), c->c1);
  if (!ca.ok()) return Fail2(FailureReason::kFailed, "HMAC failed");
  Result<std::vector<uint8_t>> r1 =
      HostResponse(hash_, kh->span(), *ca, c->seqnum, t_id_, /*sc_c=*/0,
                   config_.hostnqn, config_.subnqn);
  if (!r1.ok()) return Fail2(FailureReason::kFailed, "HMAC failed");
  r.r1 = std::move(*r1);

  if (config_.ctrl_key) {
    Result<std::vector<uint8_t>> c2 = internal::RandomBytes(hl);
    Result<SecretBytes> kc = TransformKey(*config_.ctrl_key, config_.subnqn);
    if (!c2.ok() || !kc.ok()) {
      return Fail2(FailureReason::kFailed, "cannot make the challenge C2");
    }
    r.cvalid = true;
    r.seqnum = internal::NextSequenceNumber();
    r.c2 = std::move(*c2);
    Result<std::vector<uint8_t>> cb =
        AugmentedChallenge(hash_, ks.span(), r.c2);
    if (!cb.ok()) return Fail2(FailureReason::kFailed, "HMAC failed");
    Result<std::vector<uint8_t>> r2 =
        ControllerResponse(hash_, kc->span(), *cb, r.seqnum, t_id_,
                           config_.subnqn, config_.hostnqn);
    if (!r2.ok()) return Fail2(FailureReason::kFailed, "HMAC failed");
    crypto_->expected_r2 = SecretBytes(*r2);
    crypto_->bidirectional = true;
  }
  phase_ = kWaitSuccess1;
  Step s;
  s.send = Encode(r);
  s.receive = true;
  return s;
}

HostAuth::Step HostAuth::TakeSuccess1(std::span<const uint8_t> msg) {
  Result<Success1> s1 = DecodeSuccess1(msg);
  if (!s1.ok()) {
    return Fail2(FailureReason::kIncorrectPayload, "malformed Success1");
  }
  if (s1->t_id != t_id_) {
    return Fail2(FailureReason::kIncorrectPayload,
                 "Success1 with another T_ID");
  }
  if (!crypto_->bidirectional) return Done(Status());
  // We asked the controller to prove itself: no R2 is no proof (SPDK's host
  // agrees; the Linux host accepts RVALID 0).
  if (!s1->rvalid || s1->hl != HashLength(hash_)) {
    return Fail2(FailureReason::kIncorrectPayload,
                 "Success1 without the controller's response");
  }
  if (!SameResponse(s1->r2, crypto_->expected_r2.span())) {
    return Fail2(FailureReason::kFailed,
                 "controller response (R2) mismatch: the controller is not "
                 "who it claims");
  }
  Success2 ok;
  ok.t_id = t_id_;
  Step s = Done(Status());
  s.send = Encode(ok);
  return s;
}

HostAuth::Step HostAuth::Fail2(FailureReason reason, std::string_view why) {
  Failure f;
  f.from_controller = false;
  f.t_id = t_id_;
  f.reason = reason;
  Step s =
      Done(ProtocolError(std::string("DH-HMAC-CHAP: ") + std::string(why) +
                         " (" + std::string(FailureReasonName(reason)) + ")"));
  s.send = Encode(f);
  return s;
}

HostAuth::Step HostAuth::Done(Status result) {
  phase_ = kDone;
  crypto_ = std::make_unique<Crypto>();  // wipes the expected R2
  Step s;
  s.done = true;
  s.result = std::move(result);
  return s;
}

}  // namespace nvmeof::auth
