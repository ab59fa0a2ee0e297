// The controller's side of one DH-HMAC-CHAP transaction (NVMe Base 2.x
// 8.3.5; what nvmet's fabrics-cmd-auth.c and SPDK's lib/nvmf/auth.c do,
// where they agree; see dhchap.h for where they do not).

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <utility>

#include "auth/dhchap.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {

// The values of the transaction in progress; replaced by each Negotiate.
struct ControllerAuth::Crypto {
  uint16_t t_id = 0;
  FailureReason reason = FailureReason::kFailed;  // for kFailure1Due
  uint32_t s1 = 0;
  std::vector<uint8_t> c1;
  std::optional<DhKeyPair> dh;  // g^y, when the group is not null
  std::vector<uint8_t> r2;      // bidirectional: Success1's response
};

ControllerAuth::ControllerAuth(ControllerAuthConfig config)
    : config_(std::move(config)), crypto_(std::make_unique<Crypto>()) {}

ControllerAuth::~ControllerAuth() = default;

namespace {

template <typename T>
bool Contains(const std::vector<T>& v, T x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Ours in our order when we have a list, else the host's first.
template <typename T>
std::optional<T> Choose(const std::vector<T>& allowed,
                        const std::vector<T>& offered) {
  if (allowed.empty()) {
    if (offered.empty()) return std::nullopt;
    return offered.front();
  }
  for (T x : allowed) {
    if (Contains(offered, x)) return x;
  }
  return std::nullopt;
}

}  // namespace

void ControllerAuth::OnSend(std::span<const uint8_t> msg) {
  const MessageKind kind = KindOf(msg);
  if (kind == MessageKind::kNegotiate) {
    TakeNegotiate(msg);
    return;
  }
  if (kind == MessageKind::kFailure2) {
    // The host gives up (or rejects our R2): the transaction ends here,
    // whatever its state; the reason is only reported.
    Result<Failure> f = DecodeFailure(msg);
    failure_ = "host sent AUTH_Failure2";
    if (f.ok()) {
      failure_ += ": ";
      failure_ += FailureReasonName(f->reason);
    }
    state_ = State::kFailed;
    Wipe();
    return;
  }
  if (kind == MessageKind::kReply && state_ == State::kWaitReply) {
    TakeReply(msg);
    return;
  }
  if (kind == MessageKind::kSuccess2 && state_ == State::kWaitSuccess2) {
    Result<Success2> s = DecodeSuccess2(msg);
    if (!s.ok()) {
      Fail(FailureReason::kIncorrectPayload, "malformed Success2");
    } else if (s->t_id != crypto_->t_id) {
      Fail(FailureReason::kIncorrectPayload, "Success2 with another T_ID");
    } else {
      state_ = State::kSucceeded;
      Wipe();
    }
    return;
  }
  Fail(FailureReason::kIncorrectProtocolMessage, "message out of sequence");
}

void ControllerAuth::TakeNegotiate(std::span<const uint8_t> msg) {
  // A restart: whatever came before is forgotten (nvmet's "restart
  // negotiation", also after success: re-authentication).
  crypto_ = std::make_unique<Crypto>();
  failure_.clear();
  bidirectional_ = false;
  if (std::optional<uint16_t> t_id = internal::PeekTid(msg)) {
    crypto_->t_id = *t_id;
  }
  if (msg.size() < internal::kNegotiateHeader + internal::kDescriptorSize) {
    Fail(FailureReason::kIncorrectPayload, "Negotiate too short");
    return;
  }
  if (msg[internal::kOffScC] != 0) {
    Fail(FailureReason::kConcatMismatch,
         "secure channel concatenation requested (not supported)");
    return;
  }
  if (internal::NegotiateLacksDhchap(msg)) {
    Fail(FailureReason::kProtocolUnusable,
         "Negotiate does not offer DH-HMAC-CHAP");
    return;
  }
  Result<Negotiate> n = DecodeNegotiate(msg);
  if (!n.ok()) {
    Fail(FailureReason::kIncorrectPayload, "malformed Negotiate");
    return;
  }
  std::optional<HashId> h = Choose(config_.hashes, n->hashes);
  if (!h) {
    Fail(FailureReason::kHashUnusable, "no hash function in common");
    return;
  }
  std::optional<DhGroup> g = Choose(config_.dhgroups, n->dhgroups);
  if (!g) {
    Fail(FailureReason::kDhGroupUnusable, "no DH group in common");
    return;
  }
  hash_ = *h;
  dhgroup_ = *g;
  state_ = State::kChallengeDue;
}

void ControllerAuth::TakeReply(std::span<const uint8_t> msg) {
  Result<Reply> r = DecodeReply(msg);
  if (!r.ok()) {
    Fail(FailureReason::kIncorrectPayload, "malformed Reply");
    return;
  }
  if (r->t_id != crypto_->t_id) {
    Fail(FailureReason::kIncorrectPayload, "Reply with another T_ID");
    return;
  }
  if (r->hl != HashLength(hash_)) {
    Fail(FailureReason::kIncorrectPayload, "Reply HL does not match the hash");
    return;
  }
  if (r->dh_value.size() != DhValueLength(dhgroup_)) {
    Fail(FailureReason::kIncorrectPayload,
         "Reply DH value length does not match the group");
    return;
  }
  if (!config_.host_key) {
    Fail(FailureReason::kFailed, "no host key configured");
    return;
  }
  SecretBytes ks;
  if (dhgroup_ != DhGroup::kNull) {
    if (!crypto_->dh) {
      Fail(FailureReason::kFailed, "no DH key pair");
      return;
    }
    Result<SecretBytes> shared = crypto_->dh->SharedSecret(r->dh_value);
    if (!shared.ok()) {
      Fail(shared.status().code() == StatusCode::kInvalidArgument
               ? FailureReason::kIncorrectPayload
               : FailureReason::kFailed,
           "host DH value rejected");
      return;
    }
    ks = std::move(*shared);
  }
  Result<SecretBytes> kh = TransformKey(*config_.host_key, config_.hostnqn);
  Result<std::vector<uint8_t>> ca =
      AugmentedChallenge(hash_, ks.span(), crypto_->c1);
  if (!kh.ok() || !ca.ok()) {
    Fail(FailureReason::kFailed, "cannot compute the host response");
    return;
  }
  Result<std::vector<uint8_t>> expected =
      HostResponse(hash_, kh->span(), *ca, crypto_->s1, crypto_->t_id,
                   /*sc_c=*/0, config_.hostnqn, config_.subnqn);
  if (!expected.ok()) {
    Fail(FailureReason::kFailed, "cannot compute the host response");
    return;
  }
  if (!SameResponse(r->r1, *expected)) {
    Fail(FailureReason::kFailed, "host response (R1) mismatch");
    return;
  }
  // S2 = 0 means "not bidirectional" even with CVALID (the spec keeps that
  // pair for a C2 that only seeds a generated PSK); nvmet does the same.
  if (r->cvalid && r->seqnum != 0) {
    if (!config_.ctrl_key) {
      // nvmet and SPDK alike: asked to authenticate without a key.
      Fail(FailureReason::kFailed,
           "host asked for bidirectional authentication; no controller key");
      return;
    }
    Result<SecretBytes> kc = TransformKey(*config_.ctrl_key, config_.subnqn);
    Result<std::vector<uint8_t>> cb =
        AugmentedChallenge(hash_, ks.span(), r->c2);
    if (!kc.ok() || !cb.ok()) {
      Fail(FailureReason::kFailed, "cannot compute the controller response");
      return;
    }
    Result<std::vector<uint8_t>> r2 =
        ControllerResponse(hash_, kc->span(), *cb, r->seqnum, crypto_->t_id,
                           config_.subnqn, config_.hostnqn);
    if (!r2.ok()) {
      Fail(FailureReason::kFailed, "cannot compute the controller response");
      return;
    }
    crypto_->r2 = std::move(*r2);
    bidirectional_ = true;
  }
  state_ = State::kSuccess1Due;
}

std::optional<std::vector<uint8_t>> ControllerAuth::OnReceive(uint32_t al) {
  switch (state_) {
    case State::kChallengeDue:
      return MakeChallenge(al);
    case State::kSuccess1Due: {
      Success1 s;
      s.t_id = crypto_->t_id;
      s.hl = static_cast<uint8_t>(HashLength(hash_));
      s.rvalid = bidirectional_;
      s.r2 = crypto_->r2;
      std::vector<uint8_t> out = Encode(s);
      if (out.size() > al) return TooSmall(al);
      state_ = bidirectional_ ? State::kWaitSuccess2 : State::kSucceeded;
      Wipe();
      return out;
    }
    case State::kFailure1Due: {
      Failure f;
      f.from_controller = true;
      f.t_id = crypto_->t_id;
      f.reason = crypto_->reason;
      state_ = State::kFailed;
      Wipe();
      if (internal::kFailureSize > al) return std::nullopt;
      return Encode(f);
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::vector<uint8_t>> ControllerAuth::MakeChallenge(uint32_t al) {
  const size_t hl = HashLength(hash_);
  if (internal::kDhchapHeader + hl + DhValueLength(dhgroup_) > al) {
    return TooSmall(al);
  }
  Challenge c;
  c.t_id = crypto_->t_id;
  c.hash = hash_;
  c.dhgroup = dhgroup_;
  Result<std::vector<uint8_t>> c1 = internal::RandomBytes(hl);
  if (!c1.ok()) {
    Fail(FailureReason::kFailed, "no randomness for C1");
    return OnReceive(al);
  }
  crypto_->c1 = std::move(*c1);
  if (dhgroup_ != DhGroup::kNull) {
    Result<DhKeyPair> kp = DhKeyPair::Generate(dhgroup_);
    if (!kp.ok()) {
      Fail(FailureReason::kFailed, "DH key generation failed");
      return OnReceive(al);
    }
    crypto_->dh.emplace(std::move(*kp));
    c.dh_value = crypto_->dh->public_value();
  }
  crypto_->s1 = internal::NextSequenceNumber();
  c.seqnum = crypto_->s1;
  c.c1 = crypto_->c1;
  state_ = State::kWaitReply;
  return Encode(c);
}

std::optional<std::vector<uint8_t>> ControllerAuth::TooSmall(uint32_t al) {
  Fail(FailureReason::kIncorrectPayload,
       "Authentication Receive allocation length too small");
  return OnReceive(al);  // Failure1 if it fits, else nothing
}

void ControllerAuth::Fail(FailureReason reason, std::string_view why) {
  crypto_->reason = reason;
  failure_ =
      std::string(why) + " (" + std::string(FailureReasonName(reason)) + ")";
  bidirectional_ = false;
  state_ = State::kFailure1Due;
}

void ControllerAuth::Wipe() {
  // Only T_ID and the reason outlive the transaction; DhKeyPair and the
  // OpenSSL key free (and clear) the private value.
  uint16_t t_id = crypto_->t_id;
  FailureReason reason = crypto_->reason;
  crypto_ = std::make_unique<Crypto>();
  crypto_->t_id = t_id;
  crypto_->reason = reason;
}

}  // namespace nvmeof::auth
