// DH-HMAC-CHAP (NVMe Base 2.x 8.3.5, TP 8006): secrets, the computations
// and the messages, and one transaction per queue in each role, as pure
// code over byte buffers (no socket, no queue: the fabrics command
// families carry the messages in Authentication Send / Receive).
//
// Facts and vectors: ../shared/SECURITY.md 1; the kernel's
// drivers/nvme/common/auth.c and SPDK's lib/nvmf/auth.c were read for them.
// Crypto is OpenSSL 3 (HMAC, SHA-2, FFDHE from RFC 7919 with the shared
// secret padded to the group size, RAND_bytes). Key material lives in
// SecretBytes, wiped when freed, and never reaches a message or a log.

#ifndef NVMEOF_AUTH_DHCHAP_H_
#define NVMEOF_AUTH_DHCHAP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nvmeof/status.h"

namespace nvmeof::auth {

// ---- identifiers ----

enum class HashId : uint8_t { kSha256 = 1, kSha384 = 2, kSha512 = 3 };
enum class DhGroup : uint8_t {
  kNull = 0,
  kFfdhe2048 = 1,
  kFfdhe3072 = 2,
  kFfdhe4096 = 3,
  kFfdhe6144 = 4,
  kFfdhe8192 = 5,
};

// 32, 48, 64.
size_t HashLength(HashId h);
// 0 for null, else the group's size in bytes (256 ... 1024).
size_t DhValueLength(DhGroup g);
// "sha256" / "sha384" / "sha512"; "null", "ffdhe2048" ...
std::string_view HashName(HashId h);
std::string_view DhGroupName(DhGroup g);
// Accepts "sha256", "hmac(sha256)" (nvmet's spelling), "SHA-256", any case.
Result<HashId> ParseHashName(std::string_view name);
// Accepts "null", "ffdhe2048" ... ; any case.
Result<DhGroup> ParseDhGroupName(std::string_view name);
// Every hash / group, in the order a host offers them.
std::vector<HashId> AllHashes();
std::vector<DhGroup> AllDhGroups();

// ---- secrets ----

// Bytes that are wiped (OPENSSL_cleanse) when destroyed or reassigned.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n);
  SecretBytes(std::span<const uint8_t> bytes);
  SecretBytes(const SecretBytes& o);
  SecretBytes& operator=(const SecretBytes& o);
  SecretBytes(SecretBytes&& o) noexcept;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  ~SecretBytes();

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  std::span<const uint8_t> span() const { return bytes_; }

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

// A secret in its representation `DHHC-1:XX:<base64(secret || crc32le)>:`
// (XX: the hash of the transform, 00 none, 01-03 SHA-256/384/512; the
// secret 32, 48 or 64 bytes; the CRC is zlib's CRC-32). A trailing newline
// or whitespace is accepted.
struct DhchapKey {
  uint8_t transform = 0;  // 0 none, else a HashId value
  SecretBytes secret;

  // Errors name what is wrong (prefix, hash id, length, CRC) and never
  // include the text.
  static Result<DhchapKey> Parse(std::string_view text);
  // A random secret of `length` (32, 48, 64) bytes.
  static Result<DhchapKey> Generate(uint8_t transform, size_t length);
  std::string Format() const;
};

// Kh (or Kc): the secret as it is (transform 0) or
// HMAC_XX(secret, nqn || "NVMe-over-Fabrics"), where nqn is the host NQN
// for a host key and the subsystem NQN for a controller key.
Result<SecretBytes> TransformKey(const DhchapKey& key, std::string_view nqn);

// nvme-cli's gen-dhchap-key: with transform != 0 the printed secret is
// already transformed with `nqn` (SECURITY.md 1.4's vector).
Result<DhchapKey> GenerateForNqn(uint8_t transform, size_t length,
                                 std::string_view nqn,
                                 std::span<const uint8_t> secret = {});

// ---- computations ----

Result<std::vector<uint8_t>> Hash(HashId h, std::span<const uint8_t> data);
Result<SecretBytes> Hmac(HashId h, std::span<const uint8_t> key,
                         std::span<const std::span<const uint8_t>> parts);

// An ephemeral FFDHE key pair of a group (not kNull).
class DhKeyPair {
 public:
  static Result<DhKeyPair> Generate(DhGroup g);
  // For tests: the key pair with private value `x` (big-endian).
  static Result<DhKeyPair> FromPrivate(DhGroup g, std::span<const uint8_t> x);
  DhKeyPair(DhKeyPair&&) noexcept;
  DhKeyPair& operator=(DhKeyPair&&) noexcept;
  ~DhKeyPair();

  DhGroup group() const { return group_; }
  // g^x mod p, big-endian, padded to DhValueLength(group).
  const std::vector<uint8_t>& public_value() const { return public_; }
  // (peer)^x mod p padded to the group size. The peer value must be the
  // group's length and in range (2 .. p-2); else InvalidArgument.
  Result<SecretBytes> SharedSecret(std::span<const uint8_t> peer) const;

 private:
  DhKeyPair() = default;
  struct Impl;
  DhGroup group_ = DhGroup::kNull;
  std::vector<uint8_t> public_;
  std::unique_ptr<Impl> impl_;
};

// Ca = HMAC_H(H(KS), C) with a DH group; C itself with null DH (empty ks).
Result<std::vector<uint8_t>> AugmentedChallenge(HashId h,
                                                std::span<const uint8_t> ks,
                                                std::span<const uint8_t> c);
// R1 = HMAC_H(Kh, Ca || le32(S1) || le16(T_ID) || SC_C || "HostHost" ||
//             NQNh || 0x00 || NQNc)
Result<std::vector<uint8_t>> HostResponse(HashId h,
                                          std::span<const uint8_t> kh,
                                          std::span<const uint8_t> ca,
                                          uint32_t s1, uint16_t t_id,
                                          uint8_t sc_c, std::string_view hostnqn,
                                          std::string_view subnqn);
// R2 = HMAC_H(Kc, Cb || le32(S2) || le16(T_ID) || 0x00 || "Controller" ||
//             NQNc || 0x00 || NQNh)
Result<std::vector<uint8_t>> ControllerResponse(
    HashId h, std::span<const uint8_t> kc, std::span<const uint8_t> cb,
    uint32_t s2, uint16_t t_id, std::string_view subnqn,
    std::string_view hostnqn);

// Constant-time comparison of two responses.
bool SameResponse(std::span<const uint8_t> a, std::span<const uint8_t> b);

// ---- messages (little endian) ----

inline constexpr uint8_t kSecpAuth = 0xE9;  // SECP of Auth Send/Receive
inline constexpr uint8_t kSpsp = 0x01;      // SPSP0 and SPSP1
// The allocation length a Linux host receives with (enough for ffdhe8192).
inline constexpr uint32_t kMaxMessage = 4096;

enum class FailureReason : uint8_t {  // rce of AUTH_Failure1/2 (rc = 1)
  kFailed = 0x01,
  kProtocolUnusable = 0x02,
  kConcatMismatch = 0x03,
  kHashUnusable = 0x04,
  kDhGroupUnusable = 0x05,
  kIncorrectPayload = 0x06,
  kIncorrectProtocolMessage = 0x07,
};
std::string_view FailureReasonName(FailureReason r);

struct Negotiate {  // H->C, auth_type 0, auth_id 0
  uint16_t t_id = 0;
  uint8_t sc_c = 0;
  std::vector<HashId> hashes;    // unknown ids are dropped on decode
  std::vector<DhGroup> dhgroups;
};
struct Challenge {  // C->H, auth_type 1, auth_id 1
  uint16_t t_id = 0;
  HashId hash = HashId::kSha256;
  DhGroup dhgroup = DhGroup::kNull;
  uint32_t seqnum = 0;          // S1
  std::vector<uint8_t> c1;      // HashLength(hash) bytes
  std::vector<uint8_t> dh_value;  // g^y, DhValueLength(dhgroup) bytes
};
struct Reply {  // H->C, auth_type 1, auth_id 2
  uint16_t t_id = 0;
  uint8_t hl = 0;
  bool cvalid = false;
  uint32_t seqnum = 0;          // S2, 0 when not bidirectional
  std::vector<uint8_t> r1;      // hl bytes
  std::vector<uint8_t> c2;      // hl bytes (zero when !cvalid)
  std::vector<uint8_t> dh_value;  // g^x
};
struct Success1 {  // C->H, auth_type 1, auth_id 3
  uint16_t t_id = 0;
  uint8_t hl = 0;
  bool rvalid = false;
  std::vector<uint8_t> r2;  // hl bytes when rvalid
};
struct Success2 {  // H->C, auth_type 1, auth_id 4
  uint16_t t_id = 0;
};
struct Failure {  // Failure1 C->H (auth_id 0xF1), Failure2 H->C (0xF0)
  bool from_controller = true;
  uint16_t t_id = 0;
  FailureReason reason = FailureReason::kFailed;
};

std::vector<uint8_t> Encode(const Negotiate& m);
std::vector<uint8_t> Encode(const Challenge& m);
std::vector<uint8_t> Encode(const Reply& m);
std::vector<uint8_t> Encode(const Success1& m);
std::vector<uint8_t> Encode(const Success2& m);
std::vector<uint8_t> Encode(const Failure& m);

// What a message is, from its first two bytes (auth_type, auth_id).
enum class MessageKind {
  kNegotiate, kChallenge, kReply, kSuccess1, kSuccess2, kFailure1, kFailure2,
  kUnknown,
};
MessageKind KindOf(std::span<const uint8_t> msg);
// Each checks every length and reserved field it can: InvalidArgument with
// what is wrong otherwise. Never reads past `msg`. Bytes after the message
// are ignored (nvmet answers an Authentication Receive with all `al` bytes,
// zero-filled). Encode writes exactly the message.
Result<Negotiate> DecodeNegotiate(std::span<const uint8_t> msg);
Result<Challenge> DecodeChallenge(std::span<const uint8_t> msg);
Result<Reply> DecodeReply(std::span<const uint8_t> msg);
Result<Success1> DecodeSuccess1(std::span<const uint8_t> msg);
Result<Success2> DecodeSuccess2(std::span<const uint8_t> msg);
Result<Failure> DecodeFailure(std::span<const uint8_t> msg);

// ---- one transaction, controller side ----

struct ControllerAuthConfig {
  std::string hostnqn;
  std::string subnqn;
  std::shared_ptr<const DhchapKey> host_key;  // required
  std::shared_ptr<const DhchapKey> ctrl_key;  // null: no bidirectional
  // Allowed, in the controller's order of preference (empty: all).
  std::vector<HashId> hashes;
  std::vector<DhGroup> dhgroups;
};

// The controller's side of one queue's authentication. The fabrics family
// feeds it each Authentication Send's data and asks it for each
// Authentication Receive's; the queue is authenticated once succeeded().
// A new Negotiate after success (or failure) restarts the transaction
// (re-authentication); so does one in the middle of a transaction (nvmet).
//
// Choices (as nvmet where nvmet and SPDK differ, unless said):
//  - Hash and DH group: with an allowed list, its first entry the host
//    offers (config order); with an empty list, the host's first offered
//    (a Linux host offers sha256 and null first, so null DH is what it gets
//    by default, as with nvmet's default dhchap_dhgroup).
//  - Failure1 reasons: a Negotiate shorter than one descriptor, napd 0,
//    HALEN/DHLEN over 30, reserved bytes set: kIncorrectPayload; SC_C != 0:
//    kConcatMismatch; no descriptor with authid 1: kProtocolUnusable (SPDK;
//    nvmet says incorrect payload); no common hash / group: kHashUnusable /
//    kDhGroupUnusable; a T_ID mismatch, a Reply whose HL or DH value length
//    does not match, a DH value out of range: kIncorrectPayload; a wrong R1,
//    no host key, CVALID with S2 != 0 but no ctrl_key: kFailed; a message
//    out of sequence (also after success): kIncorrectProtocolMessage.
//  - CVALID = 1 with S2 = 0 is one-way (nvmet); a ctrl_key the host does not
//    ask for is unused (one-way).
//  - OnReceive with `al` smaller than the message due: the transaction fails
//    (kIncorrectPayload) and Failure1 is returned if its 8 bytes fit, else
//    nullopt (the state is then kFailed).
class ControllerAuth {
 public:
  enum class State {
    kWaitNegotiate,  // nothing yet (or a restart)
    kChallengeDue,   // Negotiate taken: the next Receive returns Challenge
    kWaitReply,
    kSuccess1Due,    // Reply checked: the next Receive returns Success1
    kWaitSuccess2,   // bidirectional: Success1 sent, the host checks R2
    kFailure1Due,    // the next Receive returns Failure1
    kSucceeded,
    kFailed,         // Failure1 returned, or Failure2 received
  };

  explicit ControllerAuth(ControllerAuthConfig config);
  ~ControllerAuth();

  // An Authentication Send's data. A message out of sequence or malformed
  // moves to kFailure1Due with its reason (the Send itself succeeds, as in
  // nvmet); a Failure2 or a Success2 ends the transaction.
  void OnSend(std::span<const uint8_t> msg);
  // An Authentication Receive's data (at most `al` bytes; a message longer
  // than `al` is a failure). nullopt: no message is due (the command gets
  // Command Sequence Error).
  std::optional<std::vector<uint8_t>> OnReceive(uint32_t al);

  State state() const { return state_; }
  bool succeeded() const { return state_ == State::kSucceeded; }
  bool failed() const { return state_ == State::kFailed; }
  // Why it failed, for the log (never a secret); empty otherwise.
  const std::string& failure() const { return failure_; }
  HashId hash() const { return hash_; }
  DhGroup dhgroup() const { return dhgroup_; }
  bool bidirectional() const { return bidirectional_; }

 private:
  struct Crypto;
  void TakeNegotiate(std::span<const uint8_t> msg);
  void TakeReply(std::span<const uint8_t> msg);
  std::optional<std::vector<uint8_t>> MakeChallenge(uint32_t al);
  std::optional<std::vector<uint8_t>> TooSmall(uint32_t al);
  // -> kFailure1Due with `reason`; `why` (no secret) becomes failure().
  void Fail(FailureReason reason, std::string_view why);
  // Drops the transaction's values but its T_ID and failure reason.
  void Wipe();

  ControllerAuthConfig config_;
  State state_ = State::kWaitNegotiate;
  std::string failure_;
  HashId hash_ = HashId::kSha256;
  DhGroup dhgroup_ = DhGroup::kNull;
  bool bidirectional_ = false;
  std::unique_ptr<Crypto> crypto_;  // the transaction's values
};

// ---- one transaction, host side ----

struct HostAuthConfig {
  std::string hostnqn;
  std::string subnqn;
  std::shared_ptr<const DhchapKey> host_key;  // required
  std::shared_ptr<const DhchapKey> ctrl_key;  // set: bidirectional
  // Offered (empty: all, in AllHashes()/AllDhGroups() order).
  std::vector<HashId> hashes;
  std::vector<DhGroup> dhgroups;
};

// The host's side: Start() gives the Negotiate to send, then each message
// received (Challenge, Success1, Failure1) gives the next step.
//
// Results when done: OK (authenticated; bidirectionally when ctrl_key is
// set); kProtocolError for whatever the peer caused (a Failure1 received,
// with its reason; a wrong R2; a message malformed, unexpected or out of
// sequence: each of these last ones also sends Failure2); kFailedPrecondition
// when there is no host key (nothing sent). A Challenge whose hash or DH
// group was not offered gets Failure2 kHashUnusable / kDhGroupUnusable; a
// T_ID mismatch kIncorrectPayload; with ctrl_key set, a Success1 without R2
// kIncorrectPayload (SPDK's host; the Linux host lets it pass) and a wrong
// R2 kFailed. Start() again restarts with the same T_ID.
class HostAuth {
 public:
  struct Step {
    std::vector<uint8_t> send;  // an Authentication Send to issue (or empty)
    bool receive = false;       // then an Authentication Receive
    bool done = false;          // the transaction ended: see result
    Status result;              // OK: authenticated; else why (no secret)
  };

  HostAuth(HostAuthConfig config, uint16_t t_id);
  ~HostAuth();

  Step Start();
  Step OnReceive(std::span<const uint8_t> msg);

  HashId hash() const { return hash_; }
  DhGroup dhgroup() const { return dhgroup_; }

 private:
  struct Crypto;
  Step TakeChallenge(std::span<const uint8_t> msg);
  Step TakeSuccess1(std::span<const uint8_t> msg);
  // Failure2 with `reason` to send, and done with kProtocolError.
  Step Fail2(FailureReason reason, std::string_view why);
  Step Done(Status result);

  HostAuthConfig config_;
  uint16_t t_id_;
  int phase_ = 0;
  HashId hash_ = HashId::kSha256;
  DhGroup dhgroup_ = DhGroup::kNull;
  std::unique_ptr<Crypto> crypto_;
};

}  // namespace nvmeof::auth

#endif  // NVMEOF_AUTH_DHCHAP_H_
