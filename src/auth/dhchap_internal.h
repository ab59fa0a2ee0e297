// What the files of src/auth/ share and nothing else sees: the byte
// layout of the messages (include/linux/nvme.h's nvmf_auth_dhchap_*_data,
// SPDK's nvmf_spec.h), little-endian access, CRC-32, base64, randomness and
// the sequence numbers.

#ifndef NVMEOF_AUTH_DHCHAP_INTERNAL_H_
#define NVMEOF_AUTH_DHCHAP_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dhchap.h"

namespace nvmeof::auth::internal {

// ---- the wire (NVMe Base 2.x 8.3.5.4, all little endian) ----

// auth_type
inline constexpr uint8_t kCommonMessages = 0x00;
inline constexpr uint8_t kDhchapMessages = 0x01;
// auth_id
inline constexpr uint8_t kIdNegotiate = 0x00;
inline constexpr uint8_t kIdChallenge = 0x01;
inline constexpr uint8_t kIdReply = 0x02;
inline constexpr uint8_t kIdSuccess1 = 0x03;
inline constexpr uint8_t kIdSuccess2 = 0x04;
inline constexpr uint8_t kIdFailure2 = 0xF0;
inline constexpr uint8_t kIdFailure1 = 0xF1;
// The protocol descriptor's authid for DH-HMAC-CHAP.
inline constexpr uint8_t kAuthIdDhchap = 0x01;
// rescode of a Failure message: the only value defined.
inline constexpr uint8_t kRescodeFailed = 0x01;

// Every message starts with auth_type, auth_id, 2 reserved bytes, t_id.
inline constexpr size_t kOffType = 0;
inline constexpr size_t kOffId = 1;
inline constexpr size_t kOffTid = 4;

// AUTH_Negotiate: an 8-byte header (sc_c @6, napd @7), then napd
// 64-byte protocol descriptors: authid, rsvd, halen, dhlen, idlist[60]
// with the hash ids at idlist[0..] and the DH group ids at idlist[30..].
inline constexpr size_t kNegotiateHeader = 8;
inline constexpr size_t kOffScC = 6;
inline constexpr size_t kOffNapd = 7;
inline constexpr size_t kDescriptorSize = 64;
inline constexpr size_t kDescAuthId = 0;
inline constexpr size_t kDescRsvd = 1;
inline constexpr size_t kDescHalen = 2;
inline constexpr size_t kDescDhlen = 3;
inline constexpr size_t kDescIdList = 4;
inline constexpr size_t kMaxIds = 30;  // hash ids; DH group ids after them

// The DH-HMAC-CHAP messages have a 16-byte header: hl @6, rsvd @7, then
//   Challenge: hashid @8, dhgid @9, dhvlen @10, seqnum @12; C1, g^y
//   Reply:     cvalid @8, rsvd @9, dhvlen @10, seqnum @12; R1, C2, g^x
//   Success1:  rvalid @8, rsvd[7] @9; R2 (if rvalid)
//   Success2:  rsvd[10] @6
inline constexpr size_t kDhchapHeader = 16;
inline constexpr size_t kOffHl = 6;
inline constexpr size_t kOffHashId = 8;
inline constexpr size_t kOffDhgId = 9;
inline constexpr size_t kOffValid = 8;  // cvalid, rvalid
inline constexpr size_t kOffDhvlen = 10;
inline constexpr size_t kOffSeqnum = 12;

// AUTH_Failure1/2: rescode @6, rescode_exp @7.
inline constexpr size_t kFailureSize = 8;
inline constexpr size_t kOffRescode = 6;
inline constexpr size_t kOffRescodeExp = 7;

inline uint16_t GetLe16(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint16_t>(b[off] | (b[off + 1] << 8));
}
inline uint32_t GetLe32(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint32_t>(b[off]) |
         (static_cast<uint32_t>(b[off + 1]) << 8) |
         (static_cast<uint32_t>(b[off + 2]) << 16) |
         (static_cast<uint32_t>(b[off + 3]) << 24);
}
inline void PutLe16(std::span<uint8_t> b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v);
  b[off + 1] = static_cast<uint8_t>(v >> 8);
}
inline void PutLe32(std::span<uint8_t> b, size_t off, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> 8 * i);
}

// The t_id of any message long enough to have one.
inline std::optional<uint16_t> PeekTid(std::span<const uint8_t> msg) {
  if (msg.size() < kOffTid + 2) return std::nullopt;
  return GetLe16(msg, kOffTid);
}

// Whether a Negotiate whose napd descriptors all fit carries none for
// DH-HMAC-CHAP (the controller answers "protocol unusable"). False when the
// message is too short to tell (that is an incorrect payload).
bool NegotiateLacksDhchap(std::span<const uint8_t> msg);

// Hash and DH group ids by value; nullopt for an id not defined.
std::optional<HashId> HashFromId(uint8_t id);
std::optional<DhGroup> DhGroupFromId(uint8_t id);

// ---- helpers ----

// zlib's CRC-32 (IEEE 802.3, reflected, init and final xor ~0).
uint32_t Crc32(std::span<const uint8_t> data);
// RFC 4648 base64 with padding.
std::string Base64Encode(std::span<const uint8_t> data);
// Accepts the padding or its absence; nullopt for anything else that is not
// base64 (a bad character, a bad length, misplaced '=').
std::optional<SecretBytes> Base64Decode(std::string_view text);

// `n` random bytes (RAND_bytes); Internal when the generator fails.
Result<std::vector<uint8_t>> RandomBytes(size_t n);
// S1 / S2: a per-process counter seeded randomly, incremented per use,
// never 0 (nvme_auth_get_seqnum, SPDK's nvme_auth_get_seqnum).
// Thread-safe.
uint32_t NextSequenceNumber();

}  // namespace nvmeof::auth::internal

#endif  // NVMEOF_AUTH_DHCHAP_INTERNAL_H_
