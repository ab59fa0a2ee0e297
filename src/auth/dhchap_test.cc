// DH-HMAC-CHAP: SECURITY.md 1.4's vectors, the secret representation and
// the computations. The messages are in dhchap_messages_test.cc, the
// transactions in dhchap_transaction_test.cc.

#include "auth/dhchap.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "auth/auth_test_util.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {
namespace {

using testing::Hex;
using testing::Iota;
using testing::Repeat;

DhchapKey Key(uint8_t transform, std::vector<uint8_t> secret) {
  DhchapKey k;
  k.transform = transform;
  k.secret = SecretBytes(secret);
  return k;
}

// ---- SECURITY.md 1.4 ----

constexpr char kHostNqn[] =
    "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
constexpr char kSubNqn[] = "nqn.2024-01.io.example:subsys1";

struct VectorInputs {
  std::vector<uint8_t> c1 = Repeat(Iota(0xa0, 16), 2);
  std::vector<uint8_t> c2 = Repeat(Iota(0xb0, 16), 2);
  uint32_t s1 = 0x01020304;
  uint32_t s2 = 0x05060708;
  uint16_t t_id = 1;
};

// R1 and R2 for secrets 00..1f / 20..3f with `transform`, and KS (empty:
// null DH).
std::pair<std::string, std::string> Responses(uint8_t transform,
                                              std::span<const uint8_t> ks) {
  VectorInputs in;
  Result<SecretBytes> kh = TransformKey(Key(transform, Iota(0, 32)), kHostNqn);
  Result<SecretBytes> kc =
      TransformKey(Key(transform, Iota(0x20, 32)), kSubNqn);
  EXPECT_TRUE(kh.ok() && kc.ok());
  auto ca = AugmentedChallenge(HashId::kSha256, ks, in.c1);
  auto cb = AugmentedChallenge(HashId::kSha256, ks, in.c2);
  EXPECT_TRUE(ca.ok() && cb.ok());
  auto r1 = HostResponse(HashId::kSha256, kh->span(), *ca, in.s1, in.t_id, 0,
                         kHostNqn, kSubNqn);
  auto r2 = ControllerResponse(HashId::kSha256, kc->span(), *cb, in.s2, in.t_id,
                               kSubNqn, kHostNqn);
  EXPECT_TRUE(r1.ok() && r2.ok());
  return {Hex(*r1), Hex(*r2)};
}

TEST(DhchapVectors, TransformedKeyForNqn) {
  std::vector<uint8_t> secret = Iota(0, 32);
  auto host = GenerateForNqn(1, 32, "nqn.host", secret);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  EXPECT_EQ(host->Format(),
            "DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:");
  auto other = GenerateForNqn(1, 32, "nqn.other", secret);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->Format(),
            "DHHC-1:01:wFMW0CnP+XKwLAjESQgAqNl47oQCVvkhLwi0cBSpcjPLSeSw:");
  // Without a transform the secret is printed as it is.
  auto plain = GenerateForNqn(0, 32, "nqn.host", secret);
  ASSERT_TRUE(plain.ok());
  auto back = DhchapKey::Parse(plain->Format());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Hex(back->secret.span()), Hex(secret));
  // nvme-cli: a transformed secret is as long as its hash.
  EXPECT_FALSE(GenerateForNqn(1, 48, "nqn.host").ok());
  EXPECT_FALSE(GenerateForNqn(2, 48, "nqn.host", secret).ok());
  auto random = GenerateForNqn(3, 64, "nqn.host");
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->secret.size(), 64u);
}

TEST(DhchapVectors, NullDhUntransformed) {
  auto [r1, r2] = Responses(0, {});
  EXPECT_EQ(r1,
            "5c6e7f8a5759c76e05f73671631f50386e04dc9c230d0b9dbb6132b5a408ceb7");
  EXPECT_EQ(r2,
            "484004a9ac93625d53bdefca92baa158b1360450704c134e9406ecd83be31167");
}

TEST(DhchapVectors, NullDhTransformed) {
  auto [r1, r2] = Responses(1, {});
  EXPECT_EQ(r1,
            "94a98d011a452d74acb0a28c5eb4a1bdc3c3c0e3c356ee7a109d6a40182e9bd0");
  EXPECT_EQ(r2,
            "685906770695149c53b62524df79a5611a7926703314cbabf3767a3b8af91858");
}

TEST(DhchapVectors, Ffdhe2048) {
  std::vector<uint8_t> x =
      Repeat({0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef}, 8);
  std::vector<uint8_t> y =
      Repeat({0xfe, 0xdc, 0xba, 0x09, 0x87, 0x65, 0x43, 0x21}, 8);
  auto host = DhKeyPair::FromPrivate(DhGroup::kFfdhe2048, x);
  auto ctrl = DhKeyPair::FromPrivate(DhGroup::kFfdhe2048, y);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  ASSERT_TRUE(ctrl.ok()) << ctrl.status().ToString();
  EXPECT_EQ(host->public_value().size(), 256u);
  auto ks_host = host->SharedSecret(ctrl->public_value());
  auto ks_ctrl = ctrl->SharedSecret(host->public_value());
  ASSERT_TRUE(ks_host.ok()) << ks_host.status().ToString();
  ASSERT_TRUE(ks_ctrl.ok());
  ASSERT_EQ(ks_host->size(), 256u);
  EXPECT_EQ(Hex(ks_host->span()), Hex(ks_ctrl->span()));
  auto hks = Hash(HashId::kSha256, ks_host->span());
  ASSERT_TRUE(hks.ok());
  EXPECT_EQ(Hex(*hks),
            "77fc6f5518f9a2e88bb15e7544d58d0acfc4d289fb6a6add3e030416bb144701");
  VectorInputs in;
  auto ca = AugmentedChallenge(HashId::kSha256, ks_host->span(), in.c1);
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(Hex(*ca),
            "539a479edaa501ab3c116e13766d4c855dd0875c4af31464a2be8aa9ed6a0fae");
  auto [r1, r2] = Responses(0, ks_host->span());
  EXPECT_EQ(r1,
            "6ef914e2dba1b11cd67a556b6d8d0944216e2b0c42a532ccaa74fd6ef6b99a4c");
  EXPECT_EQ(r2,
            "712c4a0238e0eaa79190db3d73a2a38a66ec8d9d43fcf1accec8bc76ea1b4e47");
}

// ---- identifiers ----

TEST(DhchapIds, LengthsAndNames) {
  EXPECT_EQ(HashLength(HashId::kSha256), 32u);
  EXPECT_EQ(HashLength(HashId::kSha384), 48u);
  EXPECT_EQ(HashLength(HashId::kSha512), 64u);
  EXPECT_EQ(DhValueLength(DhGroup::kNull), 0u);
  EXPECT_EQ(DhValueLength(DhGroup::kFfdhe2048), 256u);
  EXPECT_EQ(DhValueLength(DhGroup::kFfdhe8192), 1024u);
  for (HashId h : AllHashes()) {
    auto p = ParseHashName(HashName(h));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, h);
  }
  for (DhGroup g : AllDhGroups()) {
    auto p = ParseDhGroupName(DhGroupName(g));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, g);
  }
  EXPECT_EQ(*ParseHashName("hmac(sha384)"), HashId::kSha384);
  EXPECT_EQ(*ParseHashName("SHA-512"), HashId::kSha512);
  EXPECT_EQ(*ParseHashName("Sha256"), HashId::kSha256);
  EXPECT_FALSE(ParseHashName("md5").ok());
  EXPECT_FALSE(ParseHashName("hmac(sha1)").ok());
  EXPECT_EQ(*ParseDhGroupName("FFDHE3072"), DhGroup::kFfdhe3072);
  EXPECT_FALSE(ParseDhGroupName("ffdhe1024").ok());
  EXPECT_EQ(AllDhGroups().front(), DhGroup::kNull);
  EXPECT_EQ(AllHashes().front(), HashId::kSha256);
}

// ---- secrets ----

TEST(DhchapKey, FormatParseRoundTrip) {
  for (uint8_t transform = 0; transform <= 3; ++transform) {
    for (size_t len : {32, 48, 64}) {
      auto k = DhchapKey::Generate(transform, len);
      ASSERT_TRUE(k.ok());
      std::string text = k->Format();
      auto back = DhchapKey::Parse(text + "\n");
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(back->transform, transform);
      EXPECT_EQ(Hex(back->secret.span()), Hex(k->secret.span()));
      // The kernel also takes it without the final ':'.
      text.pop_back();
      EXPECT_TRUE(DhchapKey::Parse(text).ok());
    }
  }
  EXPECT_FALSE(DhchapKey::Generate(4, 32).ok());
  EXPECT_FALSE(DhchapKey::Generate(0, 33).ok());
}

TEST(DhchapKey, KnownEncoding) {
  // 48 and 64 bytes need padding: 52 -> "==", 68 -> "=".
  DhchapKey k48 = Key(2, Iota(0, 48));
  std::string t48 = k48.Format();
  EXPECT_EQ(t48.substr(0, 10), "DHHC-1:02:");
  EXPECT_EQ(t48.substr(t48.size() - 3), "==:");
  DhchapKey k64 = Key(3, Iota(0, 64));
  std::string t64 = k64.Format();
  EXPECT_EQ(t64.substr(t64.size() - 2), "=:");
  EXPECT_NE(t64.substr(t64.size() - 3), "==:");
  // Padding may be left out.
  std::string bare = t48.substr(0, t48.size() - 3) + ":";
  auto p = DhchapKey::Parse(bare);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Hex(p->secret.span()), Hex(Iota(0, 48)));
}

TEST(DhchapKey, ParseErrorsNameTheProblemNotTheKey) {
  const std::string good =
      "DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:";
  const std::string body = "yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN";
  ASSERT_TRUE(DhchapKey::Parse(good).ok());
  // A 31-byte secret with its CRC.
  DhchapKey short_key = Key(0, Iota(0, 31));
  struct Case {
    std::string text;
    std::string expect;
  } cases[] = {
      {"DHHC-2:01:" + body + ":", "not a DHHC-1"},
      {"dhhc-1:01:" + body + ":", "not a DHHC-1"},
      {"DHHC-1:04:" + body + ":", "00, 01, 02 or 03"},
      {"DHHC-1:x1:" + body + ":", "two digits"},
      {"DHHC-1:1:" + body + ":", "two digits"},
      {short_key.Format(), "32, 48 or 64"},
      {"DHHC-1:01:" + body.substr(0, 44) + ":", "32, 48 or 64"},
      {"DHHC-1:01:" + body.substr(0, 47) + "O:", "CRC"},
      {"DHHC-1:01:" + body.substr(0, 20) + "@" + body.substr(21) + ":",
       "base64"},
      {"DHHC-1:01:" + body + "=:", "base64"},
      {"DHHC-1:01:" + body.substr(0, 45) + ":", "base64"},
  };
  for (const Case& c : cases) {
    auto r = DhchapKey::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    std::string msg(r.status().message());
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    EXPECT_EQ(msg.find(body.substr(0, 8)), std::string::npos) << msg;
    EXPECT_EQ(msg.find(c.text), std::string::npos) << msg;
  }
}

TEST(DhchapKey, TransformAndSecretBytes) {
  DhchapKey k = Key(0, Iota(0, 32));
  auto same = TransformKey(k, "nqn.x");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(Hex(same->span()), Hex(Iota(0, 32)));
  k.transform = 3;
  auto t = TransformKey(k, "nqn.x");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 64u);
  k.transform = 7;
  EXPECT_FALSE(TransformKey(k, "nqn.x").ok());

  SecretBytes a(Iota(1, 8));
  SecretBytes b = a;
  EXPECT_EQ(Hex(b.span()), Hex(a.span()));
  SecretBytes c = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): defined here
  EXPECT_EQ(c.size(), 8u);
  b = SecretBytes(4);
  EXPECT_EQ(Hex(b.span()), "00000000");
  c = b;
  EXPECT_EQ(c.size(), 4u);
}

// ---- computations ----

TEST(DhchapCrypto, HashHmacCrc) {
  const std::string abc = "abc";
  std::span<const uint8_t> abc_bytes(
      reinterpret_cast<const uint8_t*>(abc.data()), abc.size());
  auto h = Hash(HashId::kSha256, abc_bytes);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Hex(*h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hash(HashId::kSha384, abc_bytes)->size(), 48u);
  EXPECT_EQ(Hash(HashId::kSha512, abc_bytes)->size(), 64u);
  // RFC 4231 test case 2: key "Jefe", in two parts.
  const std::string key = "Jefe", d1 = "what do ya want ", d2 = "for nothing?";
  const std::span<const uint8_t> parts[] = {
      {reinterpret_cast<const uint8_t*>(d1.data()), d1.size()},
      {reinterpret_cast<const uint8_t*>(d2.data()), d2.size()}};
  auto mac =
      Hmac(HashId::kSha256,
           {reinterpret_cast<const uint8_t*>(key.data()), key.size()}, parts);
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(Hex(mac->span()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string digits = "123456789";
  EXPECT_EQ(internal::Crc32({reinterpret_cast<const uint8_t*>(digits.data()),
                             digits.size()}),
            0xCBF43926u);
  EXPECT_TRUE(SameResponse(*h, *h));
  std::vector<uint8_t> other = *h;
  other[31] ^= 1;
  EXPECT_FALSE(SameResponse(*h, other));
  EXPECT_FALSE(SameResponse(*h, std::span<const uint8_t>(*h).first(31)));
  // Null DH: Ca is C.
  auto ca = AugmentedChallenge(HashId::kSha256, {}, *h);
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(*ca, *h);
}

TEST(DhchapCrypto, DhRejectsBadPeerValues) {
  auto a = DhKeyPair::Generate(DhGroup::kFfdhe2048);
  auto b = DhKeyPair::Generate(DhGroup::kFfdhe2048);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->group(), DhGroup::kFfdhe2048);
  EXPECT_NE(a->public_value(), b->public_value());
  auto ab = a->SharedSecret(b->public_value());
  auto ba = b->SharedSecret(a->public_value());
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(Hex(ab->span()), Hex(ba->span()));

  std::vector<uint8_t> v(256, 0);
  EXPECT_FALSE(a->SharedSecret(v).ok());  // 0
  v[255] = 1;
  EXPECT_FALSE(a->SharedSecret(v).ok());  // 1
  v[255] = 2;
  EXPECT_TRUE(a->SharedSecret(v).ok());  // 2 is in range
  std::vector<uint8_t> ones(256, 0xff);  // > p
  EXPECT_FALSE(a->SharedSecret(ones).ok());
  std::vector<uint8_t> short_value(b->public_value().begin() + 1,
                                   b->public_value().end());
  auto r = a->SharedSecret(short_value);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(DhKeyPair::Generate(DhGroup::kNull).ok());
  EXPECT_FALSE(
      DhKeyPair::FromPrivate(DhGroup::kFfdhe2048, std::vector<uint8_t>{1})
          .ok());
}

TEST(DhchapCrypto, SequenceNumbers) {
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    uint32_t s = internal::NextSequenceNumber();
    EXPECT_NE(s, 0u);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace nvmeof::auth
