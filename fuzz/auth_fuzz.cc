// Fuzzes DH-HMAC-CHAP (src/auth/): every Decode* and the key parser on the
// raw input, then a ControllerAuth and a HostAuth talking to each other,
// where the input may replace or corrupt any message on its way, in either
// direction, and keeps sending after the host is done.
//
// Input: a flags byte, then chunks (le16 length, then that many bytes; the
// last one may be cut). A chunk is used for the next message: its first
// byte chooses: % 3 == 0 the genuine message, 1 the genuine one XORed with
// the rest, 2 the rest in its place.
// Flags: bit 0 the host asks for bidirectional authentication, bit 1 the
// controller has a controller key, bit 2 ffdhe2048 (else null DH), bits
// 3-4 the controller's one allowed hash (0: any), bit 5 the host has the
// wrong host key, bit 6 the controller the wrong controller key, bit 7 a
// small allocation length.
// Invariants: no crash, no sanitizer report, and no authentication without
// the secret: the controller never succeeds with a host that has the wrong
// key, and a host that asked for bidirectional authentication never
// succeeds against a controller with the wrong key.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "auth/dhchap.h"

namespace nvmeof::auth {
namespace {

std::shared_ptr<const DhchapKey> FixedKey(uint8_t transform, uint8_t seed) {
  std::vector<uint8_t> secret(32);
  for (size_t i = 0; i < secret.size(); ++i) {
    secret[i] = static_cast<uint8_t>(seed + i);
  }
  auto key = std::make_shared<DhchapKey>();
  key->transform = transform;
  key->secret = SecretBytes(secret);
  return key;
}

class Chunks {
 public:
  explicit Chunks(std::span<const uint8_t> in) : in_(in) {}
  bool empty() const { return in_.empty(); }
  // The next chunk, or nullopt when the input is used up.
  std::optional<std::span<const uint8_t>> Next() {
    if (in_.empty()) return std::nullopt;
    size_t n = in_[0];
    if (in_.size() > 1) n |= size_t{in_[1]} << 8;
    in_ = in_.subspan(std::min<size_t>(2, in_.size()));
    n = std::min(n, in_.size());
    auto chunk = in_.first(n);
    in_ = in_.subspan(n);
    return chunk;
  }

 private:
  std::span<const uint8_t> in_;
};

// The message as the input wants it.
std::vector<uint8_t> Mangle(std::vector<uint8_t> genuine,
                            std::optional<std::span<const uint8_t>> chunk) {
  if (!chunk || chunk->empty()) return genuine;
  std::span<const uint8_t> rest = chunk->subspan(1);
  switch ((*chunk)[0] % 3) {
    case 1:
      if (!genuine.empty()) {
        for (size_t i = 0; i < rest.size(); ++i) {
          genuine[i % genuine.size()] ^= rest[i];
        }
      }
      return genuine;
    case 2:
      return {rest.begin(), rest.end()};
    default:
      return genuine;
  }
}

void DecodeAll(std::span<const uint8_t> b) {
  (void)KindOf(b);
  (void)DecodeNegotiate(b).ok();
  (void)DecodeChallenge(b).ok();
  (void)DecodeReply(b).ok();
  (void)DecodeSuccess1(b).ok();
  (void)DecodeSuccess2(b).ok();
  (void)DecodeFailure(b).ok();
}

void Check(bool ok) {
  if (!ok) abort();
}

}  // namespace
}  // namespace nvmeof::auth

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvmeof;
  using namespace nvmeof::auth;
  std::span<const uint8_t> in(data, size);
  DecodeAll(in);
  Result<DhchapKey> parsed = DhchapKey::Parse(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (parsed.ok()) {
    Check(DhchapKey::Parse(parsed->Format()).ok());
  }
  if (size == 0) return 0;

  const uint8_t flags = data[0];
  const bool host_bidirectional = flags & 0x01;
  const bool ctrl_has_key = flags & 0x02;
  const bool dh = flags & 0x04;
  const int hash_choice = (flags >> 3) & 0x03;
  const bool wrong_host_key = flags & 0x20;
  const bool wrong_ctrl_key = flags & 0x40;
  const uint32_t al = (flags & 0x80) ? 64 : kMaxMessage;

  auto host_key = FixedKey(1, 0x00);
  auto ctrl_key = FixedKey(0, 0x40);
  ControllerAuthConfig cc;
  cc.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:fuzz-host";
  cc.subnqn = "nqn.2024-01.io.example:fuzz";
  cc.host_key = host_key;
  if (ctrl_has_key) cc.ctrl_key = wrong_ctrl_key ? FixedKey(0, 0x80) : ctrl_key;
  if (hash_choice != 0) cc.hashes = {static_cast<HashId>(hash_choice)};
  cc.dhgroups = {dh ? DhGroup::kFfdhe2048 : DhGroup::kNull};
  HostAuthConfig hc;
  hc.hostnqn = cc.hostnqn;
  hc.subnqn = cc.subnqn;
  hc.host_key = wrong_host_key ? FixedKey(1, 0x10) : host_key;
  if (host_bidirectional) hc.ctrl_key = ctrl_key;

  ControllerAuth ctrl(cc);
  HostAuth host(hc, 0x1234);
  Chunks chunks(in.subspan(1));

  // The exchange, each message through Mangle.
  HostAuth::Step step = host.Start();
  bool host_ok = false;
  for (int i = 0; i < 12; ++i) {
    if (!step.send.empty()) {
      std::vector<uint8_t> m = Mangle(step.send, chunks.Next());
      DecodeAll(m);
      ctrl.OnSend(m);
    }
    if (step.done) {
      host_ok = step.result.ok();
      break;
    }
    std::optional<std::vector<uint8_t>> reply = ctrl.OnReceive(al);
    if (reply) Check(reply->size() <= al);
    std::vector<uint8_t> m =
        Mangle(reply.value_or(std::vector<uint8_t>{}), chunks.Next());
    DecodeAll(m);
    step = host.OnReceive(m);
  }
  if (wrong_host_key) Check(!ctrl.succeeded());
  if (host_bidirectional && ctrl_has_key && wrong_ctrl_key) Check(!host_ok);

  // Whatever is left: straight to either side.
  for (int i = 0; i < 16 && !chunks.empty(); ++i) {
    std::optional<std::span<const uint8_t>> c = chunks.Next();
    if (!c || c->empty()) continue;
    std::span<const uint8_t> rest = c->subspan(1);
    if ((*c)[0] & 1) {
      ctrl.OnSend(rest);
      std::optional<std::vector<uint8_t>> r = ctrl.OnReceive(al);
      if (r) Check(r->size() <= al);
    } else {
      HostAuth::Step s = host.OnReceive(rest);
      (void)s;
    }
    if (wrong_host_key) Check(!ctrl.succeeded());
  }
  return 0;
}
