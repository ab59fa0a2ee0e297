// NVMe/TCP TLS PSKs: SECURITY.md 2.4's vectors (libnvme's test/psk.c
// interchange keys and identities, the retained and TLS PSKs, both label
// forms, the kernel's auth_kunit.c digests), the interchange format's
// errors, identity parsing and the controller's checks.

#include "auth/tls_psk.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/auth_test_util.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {
namespace {

using testing::Hex;

// The spec's example configured PSK, and the 48-byte one of libnvme's
// test: that || its bytes 16..31.
const std::vector<uint8_t> kPsk32 = {
    0x55, 0x12, 0xDB, 0xB6, 0x73, 0x7D, 0x01, 0x06, 0xF6, 0x59, 0x75,
    0xB7, 0x73, 0xDF, 0xB0, 0x11, 0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42,
    0xE2, 0xDD, 0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03};
std::vector<uint8_t> Psk48() {
  std::vector<uint8_t> v = kPsk32;
  v.insert(v.end(), kPsk32.begin() + 16, kPsk32.end());
  return v;
}

constexpr char kHost[] = "nqn.psk-test-host";
constexpr char kSubsys[] = "nqn.psk-test-subsys";

constexpr char kSpecKey01[] =
    "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr char kKey00[] =
    "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr char kKey02[] =
    "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2"
    "LxIcLXVsDn8kXZQ==:";

TlsKey Key(uint8_t transform, const std::vector<uint8_t>& psk) {
  TlsKey k;
  k.transform = transform;
  k.configured = SecretBytes(psk);
  return k;
}

std::string Message(const Status& s) { return std::string(s.message()); }

// ---- the interchange format ----

TEST(TlsPskKeyTest, SpecExampleFormatsAndParses) {
  EXPECT_EQ(Key(1, kPsk32).Format(), kSpecKey01);
  Result<TlsKey> k = TlsKey::Parse(kSpecKey01);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->transform, 1);
  EXPECT_EQ(Hex(k->configured.span()), Hex(kPsk32));
  EXPECT_EQ(k->hash(), TlsHash::kSha256);
}

TEST(TlsPskKeyTest, LibnvmeInterchangeExamples) {
  EXPECT_EQ(Key(0, kPsk32).Format(), kKey00);
  EXPECT_EQ(Key(2, Psk48()).Format(), kKey02);

  Result<TlsKey> k0 = TlsKey::Parse(kKey00);
  ASSERT_TRUE(k0.ok()) << k0.status().ToString();
  EXPECT_EQ(k0->transform, 0);
  EXPECT_EQ(Hex(k0->configured.span()), Hex(kPsk32));
  EXPECT_EQ(k0->hash(), TlsHash::kSha256);  // by length

  Result<TlsKey> k2 = TlsKey::Parse(kKey02);
  ASSERT_TRUE(k2.ok()) << k2.status().ToString();
  EXPECT_EQ(k2->transform, 2);
  EXPECT_EQ(Hex(k2->configured.span()), Hex(Psk48()));
  EXPECT_EQ(k2->hash(), TlsHash::kSha384);
  EXPECT_EQ(k2->Format(), kKey02);

  EXPECT_EQ(Key(0, Psk48()).hash(), TlsHash::kSha384);
}

TEST(TlsPskKeyTest, WhitespaceAndNewlineAccepted) {
  Result<TlsKey> k = TlsKey::Parse(std::string("  ") + kSpecKey01 + "\n");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(k->configured.span()), Hex(kPsk32));
  EXPECT_TRUE(TlsKey::Parse(std::string(kKey02) + "\r\n").ok());
}

// Every error names the problem and never echoes the key's text.
void ExpectRefused(const std::string& text, const std::string& why) {
  Result<TlsKey> k = TlsKey::Parse(text);
  ASSERT_FALSE(k.ok()) << text;
  const std::string msg = Message(k.status());
  EXPECT_NE(msg.find(why), std::string::npos) << msg;
  const size_t colon = text.find(':', 13);
  if (colon != std::string::npos && text.size() > colon + 8) {
    EXPECT_EQ(msg.find(text.substr(colon + 1, 8)), std::string::npos) << msg;
  }
  EXPECT_EQ(msg.find("VRLbtn"), std::string::npos) << msg;
}

TEST(TlsPskKeyTest, CrcMismatchRefused) {
  std::string bad = kSpecKey01;
  bad[20] = bad[20] == 'A' ? 'B' : 'A';  // a PSK byte
  ExpectRefused(bad, "CRC mismatch");
  std::string bad_crc = kSpecKey01;
  bad_crc[bad_crc.size() - 3] = 'a';  // inside the CRC ("9LrZ" -> "9LaZ")
  ExpectRefused(bad_crc, "CRC mismatch");
}

TEST(TlsPskKeyTest, BadPrefixRefused) {
  ExpectRefused("DHHC-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
                "NVMeTLSkey-1");
  ExpectRefused(
      "NVMeTLSkey-2:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
      "NVMeTLSkey-1");
  ExpectRefused("", "NVMeTLSkey-1");
}

TEST(TlsPskKeyTest, BadHashIdRefused) {
  ExpectRefused(
      "NVMeTLSkey-1:03:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
      "hash id");
  ExpectRefused(
      "NVMeTLSkey-1:x1:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
      "hash id");
  ExpectRefused(
      "NVMeTLSkey-1:1:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
      "hash id");
}

TEST(TlsPskKeyTest, BadBase64AndTrailingColonRefused) {
  ExpectRefused(
      "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9Lr*:",
      "base64");
  ExpectRefused(
      "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ",
      "trailing ':'");
}

TEST(TlsPskKeyTest, BadLengthRefused) {
  // 24 bytes + CRC: a valid base64 of the wrong length.
  std::vector<uint8_t> short_psk(kPsk32.begin(), kPsk32.begin() + 24);
  TlsKey k = Key(0, short_psk);
  ExpectRefused(k.Format(), "32 or 48 bytes");
  // 64 bytes (a DH-HMAC-CHAP length, not a TLS one).
  std::vector<uint8_t> long_psk = kPsk32;
  long_psk.insert(long_psk.end(), kPsk32.begin(), kPsk32.end());
  ExpectRefused(Key(0, long_psk).Format(), "32 or 48 bytes");
  // A hash id whose length the PSK does not have (as libnvme refuses).
  ExpectRefused(Key(2, kPsk32).Format(), "does not match the hash id");
  ExpectRefused(Key(1, Psk48()).Format(), "does not match the hash id");
}

TEST(TlsPskKeyTest, GenerateMakesValidRandomKeys) {
  Result<TlsKey> a = GenerateTlsKey(TlsHash::kSha256, 1);
  Result<TlsKey> b = GenerateTlsKey(TlsHash::kSha256, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->configured.size(), 32u);
  EXPECT_NE(Hex(a->configured.span()), Hex(b->configured.span()));
  Result<TlsKey> back = TlsKey::Parse(a->Format());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Hex(back->configured.span()), Hex(a->configured.span()));

  Result<TlsKey> c = GenerateTlsKey(TlsHash::kSha384, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->configured.size(), 48u);
  EXPECT_EQ(c->hash(), TlsHash::kSha384);
  EXPECT_EQ(c->Format().substr(0, 16), "NVMeTLSkey-1:00:");

  EXPECT_FALSE(GenerateTlsKey(TlsHash::kSha256, 2).ok());
  EXPECT_EQ(TlsHashLength(TlsHash::kSha256), 32u);
  EXPECT_EQ(TlsHashLength(TlsHash::kSha384), 48u);
}

// ---- the derivations (SECURITY.md 2.4) ----

TEST(TlsPskDeriveTest, RetainedSha256) {
  Result<SecretBytes> r = RetainedPsk(Key(1, kPsk32), kHost, false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Hex(r->span()),
            "073311dec37e219ff3acd43f130130c5bdd443c066e1cc3424e49030234ff7d5");
  // The compat labels give another retained PSK.
  Result<SecretBytes> c = RetainedPsk(Key(1, kPsk32), kHost, true);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(Hex(c->span()), Hex(r->span()));
  // No transform: the configured PSK as it is.
  Result<SecretBytes> none = RetainedPsk(Key(0, kPsk32), kHost, false);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(Hex(none->span()), Hex(kPsk32));
}

TEST(TlsPskDeriveTest, V1Sha256) {
  Result<DerivedPsk> d = DeriveTlsPsk(Key(1, kPsk32), kHost, kSubsys, 1, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity,
            "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys "
            "iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=");
  EXPECT_EQ(d->hash, TlsHash::kSha256);
  EXPECT_EQ(Hex(d->psk.span()),
            "8fc3c0badfd4c0c66fa3ca33aadd0314f85536cc9bc47338b60f3e6e563786ca");
}

TEST(TlsPskDeriveTest, V1Sha256Compat) {
  Result<DerivedPsk> d = DeriveTlsPsk(Key(1, kPsk32), kHost, kSubsys, 1, true);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity,
            "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys "
            "66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM=");
  EXPECT_EQ(d->psk.size(), 32u);
}

TEST(TlsPskDeriveTest, V1Sha384) {
  Result<DerivedPsk> d =
      DeriveTlsPsk(Key(2, Psk48()), kHost, kSubsys, 1, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity,
            "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
            "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a");
  EXPECT_EQ(d->hash, TlsHash::kSha384);
  EXPECT_EQ(Hex(d->psk.span()),
            "a2b2f943f479fc682555cec89857c80ed004ce92f32a973d5764155bb7e36b17"
            "a85368a0666d250afac9282dda2e62ca");
}

TEST(TlsPskDeriveTest, V1Sha384Compat) {
  Result<DerivedPsk> d = DeriveTlsPsk(Key(2, Psk48()), kHost, kSubsys, 1, true);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity,
            "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
            "RsKmYJ3nAn1ApjjMloJFbAkLPivONDAX/xW327YBUsn2eGShXSjCZvBaOxscLqmz");
  EXPECT_EQ(d->psk.size(), 48u);
}

TEST(TlsPskDeriveTest, V0Sha256) {
  Result<DerivedPsk> d = DeriveTlsPsk(Key(1, kPsk32), kHost, kSubsys, 0, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity, "NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys");
  EXPECT_EQ(Hex(d->psk.span()),
            "05c6503551ad136e6ee32e6eeb3f6d500b69701d84ec71e328f65c7f51566f68");
  Result<DerivedPsk> c = DeriveTlsPsk(Key(1, kPsk32), kHost, kSubsys, 0, true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->identity, d->identity);
  EXPECT_EQ(Hex(c->psk.span()),
            "09fb1983ac6d6d0353e7cae4f23daddd651c367fa347c59d9cf6936f5a83eafb");
}

TEST(TlsPskDeriveTest, V0Sha384) {
  Result<DerivedPsk> d =
      DeriveTlsPsk(Key(2, Psk48()), kHost, kSubsys, 0, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity, "NVMe0R02 nqn.psk-test-host nqn.psk-test-subsys");
  EXPECT_EQ(Hex(d->psk.span()),
            "f42ba63824cdfe421914c582921f85b5b5b7e2d4df084caeedc9be20b212e8bb"
            "0fe8a23e9d59a1c8fc6449da4970a78d");
}

// The kernel's auth_kunit.c: a generated PSK used as the retained one
// (no transform), hostnqn "hostnqn", subsysnqn "subsysnqn".
TEST(TlsPskDeriveTest, KernelKunitDigestAndTlsPsk) {
  const std::vector<uint8_t> psk256 = {
      0x17, 0x33, 0xc5, 0x9f, 0xa7, 0xf4, 0x8f, 0xcf, 0x37, 0xf5, 0xf2,
      0x6f, 0xc4, 0xff, 0x02, 0x68, 0xad, 0x4f, 0x78, 0xe0, 0x30, 0xf4,
      0xf3, 0xb0, 0xbf, 0xd1, 0xd4, 0x7e, 0x7b, 0xb1, 0x44, 0x7a};
  Result<DerivedPsk> d =
      DeriveTlsPsk(Key(0, psk256), "hostnqn", "subsysnqn", 1, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->identity,
            "NVMe1R01 hostnqn subsysnqn "
            "OldoKuTfKddMuyCznAZojkWD7P4D9/AtzDzLimtOxqI=");
  EXPECT_EQ(Hex(d->psk.span()),
            "3c17da628474a04d2247c4cab47968c915388193f7c071bd9489cc3666cd7cc8");

  const std::vector<uint8_t> psk384 = {
      0xf1, 0x4b, 0x2d, 0xd3, 0x23, 0x4c, 0x45, 0x96, 0x94, 0xd3, 0xbc, 0x63,
      0xf8, 0x96, 0x8b, 0xd6, 0xb3, 0x7c, 0x2c, 0x6d, 0xe8, 0x49, 0xe2, 0x2e,
      0x11, 0x87, 0x49, 0x00, 0x1c, 0xe4, 0xbb, 0xe8, 0x64, 0x0b, 0x9e, 0x3a,
      0x74, 0x8c, 0xb1, 0x1c, 0xe4, 0xb1, 0xd7, 0x1d, 0x35, 0x9c, 0xce, 0x39};
  Result<DerivedPsk> e =
      DeriveTlsPsk(Key(0, psk384), "hostnqn", "subsysnqn", 1, false);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->identity,
            "NVMe1R02 hostnqn subsysnqn "
            "cffMWk8TSS7HOQebjgYEIkrPrjWPV4JE5cdPB8WhEvY4JBW5YynKyv66XscN4A9n");
  EXPECT_EQ(Hex(e->psk.span()),
            "2774753233537b3fa50eb7d16a8e43457d85f4906c005b2236616c5d80939d08"
            "98fff15bb8b77119d2be0aac423e7590");
}

TEST(TlsPskDeriveTest, BadInputsRefused) {
  EXPECT_FALSE(DeriveTlsPsk(Key(1, kPsk32), kHost, kSubsys, 2, false).ok());
  EXPECT_FALSE(DeriveTlsPsk(Key(1, kPsk32), "", kSubsys, 0, false).ok());
  EXPECT_FALSE(DeriveTlsPsk(Key(1, kPsk32), "a b", kSubsys, 0, false).ok());
  EXPECT_FALSE(DeriveTlsPsk(Key(2, kPsk32), kHost, kSubsys, 0, false).ok());
  EXPECT_FALSE(DeriveTlsPsk(TlsKey(), kHost, kSubsys, 0, false).ok());
  // RFC 8446's context is at most 255 bytes; compat has no length byte.
  const std::string long_nqn =
      "nqn.2024-01.io.example:" + std::string(240, 'x');
  EXPECT_FALSE(DeriveTlsPsk(Key(1, kPsk32), kHost, long_nqn, 0, false).ok());
  EXPECT_TRUE(DeriveTlsPsk(Key(1, kPsk32), kHost, long_nqn, 0, true).ok());
  EXPECT_TRUE(DeriveTlsPsk(Key(1, kPsk32), kHost, long_nqn, 1, false).ok());
}

// ---- identities ----

TEST(TlsPskIdentityTest, ParsesV0AndV1) {
  Result<TlsIdentity> v0 =
      ParseTlsIdentity("NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys");
  ASSERT_TRUE(v0.ok()) << v0.status().ToString();
  EXPECT_EQ(v0->version, 0);
  EXPECT_EQ(v0->hash, TlsHash::kSha256);
  EXPECT_FALSE(v0->generated);
  EXPECT_EQ(v0->hostnqn, kHost);
  EXPECT_EQ(v0->subnqn, kSubsys);
  EXPECT_EQ(v0->digest, "");

  Result<TlsIdentity> v1 = ParseTlsIdentity(
      "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
      "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a");
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->hash, TlsHash::kSha384);
  EXPECT_EQ(v1->digest,
            "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a");

  Result<TlsIdentity> g = ParseTlsIdentity(
      "NVMe1G01 hostnqn subsysnqn "
      "OldoKuTfKddMuyCznAZojkWD7P4D9/AtzDzLimtOxqI=");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->generated);

  // The spec's terminating NUL is tolerated.
  const std::string with_nul("NVMe0R01 h s\0", 13);
  Result<TlsIdentity> n = ParseTlsIdentity(with_nul);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->subnqn, "s");
}

TEST(TlsPskIdentityTest, BadIdentitiesRefused) {
  const char* bad[] = {
      "",
      "NVMe0R01",
      "NVMe0R01 ",
      "NVMe0R01 host",
      "NVMe0R01 host ",
      "NVMe0R01  host subsys",
      "NVMe0R01 host subsys ",
      "NVMe0R01 host subsys extra",
      "NVMe2R01 host subsys",
      "NVMe0X01 host subsys",
      "NVMe0R00 host subsys",
      "NVMe0R03 host subsys",
      "NVMe0R1 host subsys",
      "NVMeR01 host subsys",  // the pre-TP 8011 draft form
      "nvme0R01 host subsys",
      "NVMe1R01 host subsys",  // v1 needs the digest
      "NVMe1R01 host subsys notbase64!",
      // A SHA-384-long digest on a SHA-256 identity.
      "NVMe1R01 host subsys "
      "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a",
      // Unpadded.
      "NVMe1R01 host subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU",
  };
  for (const char* s : bad) {
    EXPECT_FALSE(ParseTlsIdentity(s).ok()) << s;
  }
  EXPECT_FALSE(ParseTlsIdentity(std::string("NVMe0R01 h\0x s", 14)).ok());
}

// ---- the controller's side ----

TEST(TlsPskControllerTest, FindsThePskOfEachIdentity) {
  for (bool compat : {false, true}) {
    for (int version : {0, 1}) {
      for (const TlsKey& key :
           {Key(1, kPsk32), Key(2, Psk48()), Key(0, kPsk32), Key(0, Psk48())}) {
        Result<DerivedPsk> host =
            DeriveTlsPsk(key, kHost, kSubsys, version, compat);
        ASSERT_TRUE(host.ok()) << host.status().ToString();
        Result<TlsIdentity> id = ParseTlsIdentity(host->identity);
        ASSERT_TRUE(id.ok()) << id.status().ToString();
        Result<SecretBytes> psk = TlsPskForIdentity(key, *id, compat);
        ASSERT_TRUE(psk.ok()) << psk.status().ToString();
        EXPECT_EQ(Hex(psk->span()), Hex(host->psk.span()));
      }
    }
  }
  // The vectors, from the controller's side.
  Result<TlsIdentity> id = ParseTlsIdentity(
      "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys "
      "iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=");
  ASSERT_TRUE(id.ok());
  Result<SecretBytes> psk = TlsPskForIdentity(Key(1, kPsk32), *id, false);
  ASSERT_TRUE(psk.ok()) << psk.status().ToString();
  EXPECT_EQ(Hex(psk->span()),
            "8fc3c0badfd4c0c66fa3ca33aadd0314f85536cc9bc47338b60f3e6e563786ca");
  Result<TlsIdentity> id0 =
      ParseTlsIdentity("NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys");
  ASSERT_TRUE(id0.ok());
  Result<SecretBytes> psk0 = TlsPskForIdentity(Key(1, kPsk32), *id0, true);
  ASSERT_TRUE(psk0.ok()) << psk0.status().ToString();
  EXPECT_EQ(Hex(psk0->span()),
            "09fb1983ac6d6d0353e7cae4f23daddd651c367fa347c59d9cf6936f5a83eafb");
}

TEST(TlsPskControllerTest, RefusesAWrongDigest) {
  // The compat digest against an RFC key, and an altered digest.
  Result<TlsIdentity> id = ParseTlsIdentity(
      "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys "
      "66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM=");
  ASSERT_TRUE(id.ok());
  Result<SecretBytes> psk = TlsPskForIdentity(Key(1, kPsk32), *id, false);
  ASSERT_FALSE(psk.ok());
  EXPECT_NE(Message(psk.status()).find("digest does not match"),
            std::string::npos)
      << psk.status().ToString();
  EXPECT_TRUE(TlsPskForIdentity(Key(1, kPsk32), *id, true).ok());

  TlsIdentity other = *id;
  other.digest[0] = other.digest[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(TlsPskForIdentity(Key(1, kPsk32), other, true).ok());
  other.digest = "";
  EXPECT_FALSE(TlsPskForIdentity(Key(1, kPsk32), other, true).ok());
  // The right digest for another host NQN.
  TlsIdentity moved = *id;
  moved.hostnqn = "nqn.psk-test-other";
  EXPECT_FALSE(TlsPskForIdentity(Key(1, kPsk32), moved, true).ok());
}

TEST(TlsPskControllerTest, RefusesAWrongHash) {
  Result<TlsIdentity> id =
      ParseTlsIdentity("NVMe0R02 nqn.psk-test-host nqn.psk-test-subsys");
  ASSERT_TRUE(id.ok());
  Result<SecretBytes> psk = TlsPskForIdentity(Key(1, kPsk32), *id, false);
  ASSERT_FALSE(psk.ok());
  const std::string msg = Message(psk.status());
  EXPECT_NE(msg.find("hash"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("VRLb"), std::string::npos) << msg;
  // A 32-byte untransformed key is SHA-256 too.
  EXPECT_FALSE(TlsPskForIdentity(Key(0, kPsk32), *id, false).ok());
  EXPECT_TRUE(TlsPskForIdentity(Key(0, Psk48()), *id, false).ok());
}

TEST(TlsPskControllerTest, RefusesAGeneratedIdentity) {
  Result<TlsIdentity> id =
      ParseTlsIdentity("NVMe0G01 nqn.psk-test-host nqn.psk-test-subsys");
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(TlsPskForIdentity(Key(1, kPsk32), *id, false).ok());
}

}  // namespace
}  // namespace nvmeof::auth
