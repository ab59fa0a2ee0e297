// The DH-HMAC-CHAP messages (NVMe Base 2.x 8.3.5.4 / 8.3.4.x; the layouts
// are include/linux/nvme.h's nvmf_auth_dhchap_*_data): encoding, and
// decoding that checks each field in wire order and never reads past the
// buffer. Bytes after a message are ignored: nvmet returns the whole
// allocation length of an Authentication Receive, zero-filled.

#include <algorithm>
#include <string>

#include "auth/dhchap.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {

using namespace internal;  // NOLINT(google-build-using-namespace): the layout

std::string_view FailureReasonName(FailureReason r) {
  switch (r) {
    case FailureReason::kFailed:
      return "authentication failed";
    case FailureReason::kProtocolUnusable:
      return "authentication protocol not usable";
    case FailureReason::kConcatMismatch:
      return "secure channel concatenation mismatch";
    case FailureReason::kHashUnusable:
      return "hash function not usable";
    case FailureReason::kDhGroupUnusable:
      return "DH group not usable";
    case FailureReason::kIncorrectPayload:
      return "incorrect payload";
    case FailureReason::kIncorrectProtocolMessage:
      return "incorrect protocol message";
  }
  return "unknown reason";
}

namespace {

std::vector<uint8_t> Header(size_t size, uint8_t type, uint8_t id,
                            uint16_t t_id) {
  std::vector<uint8_t> b(size, 0);
  b[kOffType] = type;
  b[kOffId] = id;
  PutLe16(b, kOffTid, t_id);
  return b;
}

// Copies `v` into `b` at `off`, exactly `n` bytes (zero-padded or cut).
void Place(std::vector<uint8_t>& b, size_t off, std::span<const uint8_t> v,
           size_t n) {
  std::copy_n(v.begin(), std::min(n, v.size()), b.begin() + off);
}

bool AllZero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

Status Bad(std::string_view what) {
  return InvalidArgumentError(std::string("DH-HMAC-CHAP message: ") +
                              std::string(what));
}

// The common start: long enough, the right type and id, rsvd1 zero.
Status CheckStart(std::span<const uint8_t> msg, size_t min, uint8_t type,
                  uint8_t id, std::string_view name) {
  if (msg.size() < min) {
    return Bad(std::string(name) + " shorter than its header");
  }
  if (msg[kOffType] != type || msg[kOffId] != id) {
    return Bad(std::string("not an ") + std::string(name));
  }
  if (msg[2] != 0 || msg[3] != 0) return Bad("reserved bytes 2-3 set");
  return Status();
}

bool IsHashLength(size_t hl) { return hl == 32 || hl == 48 || hl == 64; }

std::vector<uint8_t> Slice(std::span<const uint8_t> msg, size_t off, size_t n) {
  auto s = msg.subspan(off, n);
  return {s.begin(), s.end()};
}

}  // namespace

// ---- encoding ----

std::vector<uint8_t> Encode(const Negotiate& m) {
  std::vector<uint8_t> b = Header(kNegotiateHeader + kDescriptorSize,
                                  kCommonMessages, kIdNegotiate, m.t_id);
  b[kOffScC] = m.sc_c;
  b[kOffNapd] = 1;
  const size_t d = kNegotiateHeader;
  b[d + kDescAuthId] = kAuthIdDhchap;
  size_t halen = std::min(m.hashes.size(), kMaxIds);
  size_t dhlen = std::min(m.dhgroups.size(), kMaxIds);
  b[d + kDescHalen] = static_cast<uint8_t>(halen);
  b[d + kDescDhlen] = static_cast<uint8_t>(dhlen);
  for (size_t i = 0; i < halen; ++i) {
    b[d + kDescIdList + i] = static_cast<uint8_t>(m.hashes[i]);
  }
  for (size_t i = 0; i < dhlen; ++i) {
    b[d + kDescIdList + kMaxIds + i] = static_cast<uint8_t>(m.dhgroups[i]);
  }
  return b;
}

std::vector<uint8_t> Encode(const Challenge& m) {
  const size_t hl = HashLength(m.hash);
  std::vector<uint8_t> b = Header(kDhchapHeader + hl + m.dh_value.size(),
                                  kDhchapMessages, kIdChallenge, m.t_id);
  b[kOffHl] = static_cast<uint8_t>(hl);
  b[kOffHashId] = static_cast<uint8_t>(m.hash);
  b[kOffDhgId] = static_cast<uint8_t>(m.dhgroup);
  PutLe16(b, kOffDhvlen, static_cast<uint16_t>(m.dh_value.size()));
  PutLe32(b, kOffSeqnum, m.seqnum);
  Place(b, kDhchapHeader, m.c1, hl);
  Place(b, kDhchapHeader + hl, m.dh_value, m.dh_value.size());
  return b;
}

std::vector<uint8_t> Encode(const Reply& m) {
  const size_t hl = m.hl;
  std::vector<uint8_t> b = Header(kDhchapHeader + 2 * hl + m.dh_value.size(),
                                  kDhchapMessages, kIdReply, m.t_id);
  b[kOffHl] = m.hl;
  b[kOffValid] = m.cvalid ? 1 : 0;
  PutLe16(b, kOffDhvlen, static_cast<uint16_t>(m.dh_value.size()));
  PutLe32(b, kOffSeqnum, m.seqnum);
  Place(b, kDhchapHeader, m.r1, hl);
  if (m.cvalid) Place(b, kDhchapHeader + hl, m.c2, hl);
  Place(b, kDhchapHeader + 2 * hl, m.dh_value, m.dh_value.size());
  return b;
}

std::vector<uint8_t> Encode(const Success1& m) {
  const size_t rl = m.rvalid ? m.hl : 0;
  std::vector<uint8_t> b =
      Header(kDhchapHeader + rl, kDhchapMessages, kIdSuccess1, m.t_id);
  // hl is set with or without rvalid: the Linux host checks it always.
  b[kOffHl] = m.hl;
  b[kOffValid] = m.rvalid ? 1 : 0;
  Place(b, kDhchapHeader, m.r2, rl);
  return b;
}

std::vector<uint8_t> Encode(const Success2& m) {
  return Header(kDhchapHeader, kDhchapMessages, kIdSuccess2, m.t_id);
}

std::vector<uint8_t> Encode(const Failure& m) {
  std::vector<uint8_t> b =
      Header(kFailureSize, kCommonMessages,
             m.from_controller ? kIdFailure1 : kIdFailure2, m.t_id);
  b[kOffRescode] = kRescodeFailed;
  b[kOffRescodeExp] = static_cast<uint8_t>(m.reason);
  return b;
}

// ---- decoding ----

MessageKind KindOf(std::span<const uint8_t> msg) {
  if (msg.size() < 2) return MessageKind::kUnknown;
  if (msg[kOffType] == kCommonMessages) {
    switch (msg[kOffId]) {
      case kIdNegotiate:
        return MessageKind::kNegotiate;
      case kIdFailure1:
        return MessageKind::kFailure1;
      case kIdFailure2:
        return MessageKind::kFailure2;
    }
  } else if (msg[kOffType] == kDhchapMessages) {
    switch (msg[kOffId]) {
      case kIdChallenge:
        return MessageKind::kChallenge;
      case kIdReply:
        return MessageKind::kReply;
      case kIdSuccess1:
        return MessageKind::kSuccess1;
      case kIdSuccess2:
        return MessageKind::kSuccess2;
    }
  }
  return MessageKind::kUnknown;
}

namespace internal {

bool NegotiateLacksDhchap(std::span<const uint8_t> msg) {
  if (msg.size() < kNegotiateHeader) return false;
  size_t napd = msg[kOffNapd];
  if (napd == 0 || msg.size() < kNegotiateHeader + napd * kDescriptorSize) {
    return false;
  }
  for (size_t i = 0; i < napd; ++i) {
    if (msg[kNegotiateHeader + i * kDescriptorSize + kDescAuthId] ==
        kAuthIdDhchap) {
      return false;
    }
  }
  return true;
}

}  // namespace internal

Result<Negotiate> DecodeNegotiate(std::span<const uint8_t> msg) {
  NVMEOF_RETURN_IF_ERROR(CheckStart(msg, kNegotiateHeader, kCommonMessages,
                                    kIdNegotiate, "AUTH_Negotiate"));
  Negotiate m;
  m.t_id = GetLe16(msg, kOffTid);
  m.sc_c = msg[kOffScC];
  const size_t napd = msg[kOffNapd];
  if (napd == 0) return Bad("AUTH_Negotiate without a protocol descriptor");
  if (msg.size() < kNegotiateHeader + napd * kDescriptorSize) {
    return Bad("AUTH_Negotiate shorter than its napd descriptors");
  }
  // The first DH-HMAC-CHAP descriptor (SPDK: any position; Linux sends one).
  std::span<const uint8_t> d;
  for (size_t i = 0; i < napd && d.empty(); ++i) {
    auto desc =
        msg.subspan(kNegotiateHeader + i * kDescriptorSize, kDescriptorSize);
    if (desc[kDescAuthId] == kAuthIdDhchap) d = desc;
  }
  if (d.empty()) return Bad("AUTH_Negotiate without DH-HMAC-CHAP");
  if (d[kDescRsvd] != 0) return Bad("descriptor reserved byte set");
  const size_t halen = d[kDescHalen];
  const size_t dhlen = d[kDescDhlen];
  if (halen > kMaxIds) return Bad("HALEN over 30");
  if (dhlen > kMaxIds) return Bad("DHLEN over 30");
  for (size_t i = 0; i < halen; ++i) {
    std::optional<HashId> h = HashFromId(d[kDescIdList + i]);
    if (h) m.hashes.push_back(*h);
  }
  for (size_t i = 0; i < dhlen; ++i) {
    std::optional<DhGroup> g = DhGroupFromId(d[kDescIdList + kMaxIds + i]);
    if (g) m.dhgroups.push_back(*g);
  }
  return m;
}

Result<Challenge> DecodeChallenge(std::span<const uint8_t> msg) {
  NVMEOF_RETURN_IF_ERROR(CheckStart(msg, kDhchapHeader, kDhchapMessages,
                                    kIdChallenge, "DH-HMAC-CHAP_Challenge"));
  Challenge m;
  m.t_id = GetLe16(msg, kOffTid);
  const size_t hl = msg[kOffHl];
  if (msg[7] != 0) return Bad("reserved byte 7 set");
  std::optional<HashId> h = HashFromId(msg[kOffHashId]);
  if (!h) return Bad("unknown hash id");
  if (hl != HashLength(*h)) return Bad("HL does not match the hash");
  std::optional<DhGroup> g = DhGroupFromId(msg[kOffDhgId]);
  if (!g) return Bad("unknown DH group id");
  const size_t dhvlen = GetLe16(msg, kOffDhvlen);
  if (dhvlen != DhValueLength(*g)) {
    return Bad("DHVLEN does not match the DH group");
  }
  m.hash = *h;
  m.dhgroup = *g;
  m.seqnum = GetLe32(msg, kOffSeqnum);
  if (msg.size() < kDhchapHeader + hl + dhvlen) {
    return Bad("DH-HMAC-CHAP_Challenge shorter than HL and DHVLEN");
  }
  m.c1 = Slice(msg, kDhchapHeader, hl);
  m.dh_value = Slice(msg, kDhchapHeader + hl, dhvlen);
  return m;
}

Result<Reply> DecodeReply(std::span<const uint8_t> msg) {
  NVMEOF_RETURN_IF_ERROR(CheckStart(msg, kDhchapHeader, kDhchapMessages,
                                    kIdReply, "DH-HMAC-CHAP_Reply"));
  Reply m;
  m.t_id = GetLe16(msg, kOffTid);
  m.hl = msg[kOffHl];
  if (!IsHashLength(m.hl)) return Bad("HL is not a hash length");
  if (msg[7] != 0) return Bad("reserved byte 7 set");
  if (msg[kOffValid] > 1) return Bad("CVALID is neither 0 nor 1");
  m.cvalid = msg[kOffValid] == 1;
  if (msg[9] != 0) return Bad("reserved byte 9 set");
  const size_t dhvlen = GetLe16(msg, kOffDhvlen);
  m.seqnum = GetLe32(msg, kOffSeqnum);
  if (msg.size() < kDhchapHeader + 2 * size_t{m.hl} + dhvlen) {
    return Bad("DH-HMAC-CHAP_Reply shorter than HL and DHVLEN");
  }
  m.r1 = Slice(msg, kDhchapHeader, m.hl);
  m.c2 = Slice(msg, kDhchapHeader + m.hl, m.hl);
  m.dh_value = Slice(msg, kDhchapHeader + 2 * size_t{m.hl}, dhvlen);
  return m;
}

Result<Success1> DecodeSuccess1(std::span<const uint8_t> msg) {
  NVMEOF_RETURN_IF_ERROR(CheckStart(msg, kDhchapHeader, kDhchapMessages,
                                    kIdSuccess1, "DH-HMAC-CHAP_Success1"));
  Success1 m;
  m.t_id = GetLe16(msg, kOffTid);
  m.hl = msg[kOffHl];
  if (msg[7] != 0) return Bad("reserved byte 7 set");
  if (msg[kOffValid] > 1) return Bad("RVALID is neither 0 nor 1");
  m.rvalid = msg[kOffValid] == 1;
  if (!AllZero(msg.subspan(9, 7))) return Bad("reserved bytes 9-15 set");
  if (m.rvalid) {
    if (!IsHashLength(m.hl)) return Bad("HL is not a hash length");
    if (msg.size() < kDhchapHeader + m.hl) {
      return Bad("DH-HMAC-CHAP_Success1 shorter than HL");
    }
    m.r2 = Slice(msg, kDhchapHeader, m.hl);
  }
  return m;
}

Result<Success2> DecodeSuccess2(std::span<const uint8_t> msg) {
  NVMEOF_RETURN_IF_ERROR(CheckStart(msg, kDhchapHeader, kDhchapMessages,
                                    kIdSuccess2, "DH-HMAC-CHAP_Success2"));
  if (!AllZero(msg.subspan(6, 10))) return Bad("reserved bytes 6-15 set");
  Success2 m;
  m.t_id = GetLe16(msg, kOffTid);
  return m;
}

Result<Failure> DecodeFailure(std::span<const uint8_t> msg) {
  if (msg.size() < kFailureSize) return Bad("AUTH_Failure shorter than 8");
  if (msg[kOffType] != kCommonMessages ||
      (msg[kOffId] != kIdFailure1 && msg[kOffId] != kIdFailure2)) {
    return Bad("not an AUTH_Failure1 or AUTH_Failure2");
  }
  if (msg[2] != 0 || msg[3] != 0) return Bad("reserved bytes 2-3 set");
  Failure m;
  m.from_controller = msg[kOffId] == kIdFailure1;
  m.t_id = GetLe16(msg, kOffTid);
  // rescode 1 is the only one defined; any value still means failure, so it
  // is not checked. The explanation is kept as it came (possibly unknown).
  m.reason = static_cast<FailureReason>(msg[kOffRescodeExp]);
  return m;
}

}  // namespace nvmeof::auth
