// DH-HMAC-CHAP messages: the layout against the kernel's structs, round
// trips, truncated, padded and malformed messages.

#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "auth/dhchap.h"
#include "auth/auth_test_util.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {
namespace {

using testing::Hex;
using testing::Iota;

// ---- messages ----

Challenge SampleChallenge(DhGroup g) {
  Challenge c;
  c.t_id = 0x1234;
  c.hash = HashId::kSha384;
  c.dhgroup = g;
  c.seqnum = 0xdeadbeef;
  c.c1 = Iota(1, 48);
  c.dh_value = Iota(7, DhValueLength(g));
  return c;
}

Reply SampleReply(bool cvalid) {
  Reply r;
  r.t_id = 0x4321;
  r.hl = 32;
  r.cvalid = cvalid;
  r.seqnum = cvalid ? 0x11223344 : 0;
  r.r1 = Iota(0x40, 32);
  r.c2 = cvalid ? Iota(0x80, 32) : std::vector<uint8_t>(32, 0);
  r.dh_value = Iota(3, 256);
  return r;
}

TEST(DhchapMessages, LayoutAsTheKernel) {
  Negotiate n;
  n.t_id = 0x0102;
  n.hashes = AllHashes();
  n.dhgroups = AllDhGroups();
  std::vector<uint8_t> b = Encode(n);
  ASSERT_EQ(b.size(), 72u);
  EXPECT_EQ(Hex(std::span<const uint8_t>(b).first(12)),
            "000000000201000101000306");
  EXPECT_EQ(b[12], 1);
  EXPECT_EQ(b[14], 3);
  EXPECT_EQ(b[8 + 4 + 30], 0);  // idlist[30]: null
  EXPECT_EQ(b[8 + 4 + 35], 5);  // idlist[35]: ffdhe8192

  std::vector<uint8_t> c = Encode(SampleChallenge(DhGroup::kFfdhe2048));
  ASSERT_EQ(c.size(), 16u + 48 + 256);
  EXPECT_EQ(Hex(std::span<const uint8_t>(c).first(16)),
            "01010000341230000201"
            "0001"
            "efbeadde");
  EXPECT_EQ(c[16], 1);       // C1
  EXPECT_EQ(c[16 + 48], 7);  // g^y

  std::vector<uint8_t> r = Encode(SampleReply(true));
  ASSERT_EQ(r.size(), 16u + 64 + 256);
  EXPECT_EQ(Hex(std::span<const uint8_t>(r).first(16)),
            "01020000214320000100"
            "0001"
            "44332211");
  EXPECT_EQ(r[16], 0x40);       // R1
  EXPECT_EQ(r[16 + 32], 0x80);  // C2
  EXPECT_EQ(r[16 + 64], 3);     // g^x

  Success1 s;
  s.t_id = 9;
  s.hl = 64;
  EXPECT_EQ(Hex(Encode(s)), "01030000090040000000000000000000");
  s.rvalid = true;
  s.r2 = Iota(0, 64);
  EXPECT_EQ(Encode(s).size(), 80u);
  EXPECT_EQ(Hex(Encode(Success2{7})), "01040000070000000000000000000000");
  Failure f{true, 3, FailureReason::kHashUnusable};
  EXPECT_EQ(Hex(Encode(f)), "00f1000003000104");
  f.from_controller = false;
  EXPECT_EQ(Hex(Encode(f)), "00f0000003000104");
}

TEST(DhchapMessages, RoundTrips) {
  Negotiate n;
  n.t_id = 77;
  n.hashes = {HashId::kSha512, HashId::kSha256};
  n.dhgroups = {DhGroup::kFfdhe4096, DhGroup::kNull};
  auto nd = DecodeNegotiate(Encode(n));
  ASSERT_TRUE(nd.ok()) << nd.status().ToString();
  EXPECT_EQ(nd->t_id, 77);
  EXPECT_EQ(nd->sc_c, 0);
  EXPECT_EQ(nd->hashes, n.hashes);
  EXPECT_EQ(nd->dhgroups, n.dhgroups);

  for (DhGroup g : {DhGroup::kNull, DhGroup::kFfdhe3072}) {
    Challenge c = SampleChallenge(g);
    auto cd = DecodeChallenge(Encode(c));
    ASSERT_TRUE(cd.ok()) << cd.status().ToString();
    EXPECT_EQ(cd->t_id, c.t_id);
    EXPECT_EQ(cd->hash, c.hash);
    EXPECT_EQ(cd->dhgroup, c.dhgroup);
    EXPECT_EQ(cd->seqnum, c.seqnum);
    EXPECT_EQ(cd->c1, c.c1);
    EXPECT_EQ(cd->dh_value, c.dh_value);
  }
  for (bool cvalid : {false, true}) {
    Reply r = SampleReply(cvalid);
    auto rd = DecodeReply(Encode(r));
    ASSERT_TRUE(rd.ok()) << rd.status().ToString();
    EXPECT_EQ(rd->t_id, r.t_id);
    EXPECT_EQ(rd->hl, r.hl);
    EXPECT_EQ(rd->cvalid, r.cvalid);
    EXPECT_EQ(rd->seqnum, r.seqnum);
    EXPECT_EQ(rd->r1, r.r1);
    EXPECT_EQ(rd->c2, r.c2);
    EXPECT_EQ(rd->dh_value, r.dh_value);
  }
  for (bool rvalid : {false, true}) {
    Success1 s{5, 48, rvalid, rvalid ? Iota(9, 48) : std::vector<uint8_t>{}};
    auto sd = DecodeSuccess1(Encode(s));
    ASSERT_TRUE(sd.ok()) << sd.status().ToString();
    EXPECT_EQ(sd->t_id, 5);
    EXPECT_EQ(sd->hl, 48);
    EXPECT_EQ(sd->rvalid, rvalid);
    EXPECT_EQ(sd->r2, s.r2);
  }
  auto s2 = DecodeSuccess2(Encode(Success2{0xffff}));
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->t_id, 0xffff);
  for (bool from_controller : {false, true}) {
    Failure f{from_controller, 12, FailureReason::kIncorrectProtocolMessage};
    auto fd = DecodeFailure(Encode(f));
    ASSERT_TRUE(fd.ok());
    EXPECT_EQ(fd->from_controller, from_controller);
    EXPECT_EQ(fd->t_id, 12);
    EXPECT_EQ(fd->reason, f.reason);
  }
}

TEST(DhchapMessages, KindOf) {
  EXPECT_EQ(KindOf(Encode(Negotiate{})), MessageKind::kNegotiate);
  EXPECT_EQ(KindOf(Encode(SampleChallenge(DhGroup::kNull))),
            MessageKind::kChallenge);
  EXPECT_EQ(KindOf(Encode(SampleReply(false))), MessageKind::kReply);
  EXPECT_EQ(KindOf(Encode(Success1{})), MessageKind::kSuccess1);
  EXPECT_EQ(KindOf(Encode(Success2{})), MessageKind::kSuccess2);
  EXPECT_EQ(KindOf(Encode(Failure{true})), MessageKind::kFailure1);
  EXPECT_EQ(KindOf(Encode(Failure{false})), MessageKind::kFailure2);
  EXPECT_EQ(KindOf(std::vector<uint8_t>{0x01}), MessageKind::kUnknown);
  EXPECT_EQ(KindOf(std::vector<uint8_t>{0x02, 0x00}), MessageKind::kUnknown);
  EXPECT_EQ(KindOf(std::vector<uint8_t>{0x01, 0x05}), MessageKind::kUnknown);
  EXPECT_EQ(KindOf(std::vector<uint8_t>{0x00, 0x01}), MessageKind::kUnknown);
}

// Every message, every length short of its end: rejected, and never read
// past (ASan's build checks that: each prefix is a fresh allocation).
template <typename Decoder>
void ExpectPrefixesRejected(const std::vector<uint8_t>& full, Decoder decode) {
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + n);
    EXPECT_FALSE(decode(prefix).ok())
        << "length " << n << " of " << full.size();
  }
  // Padded (as nvmet's Receive data): still the same message.
  std::vector<uint8_t> padded = full;
  padded.resize(4096, 0);
  EXPECT_TRUE(decode(padded).ok());
}

TEST(DhchapMessages, TruncatedAndPadded) {
  ExpectPrefixesRejected(Encode(Negotiate{1, 0, AllHashes(), AllDhGroups()}),
                         DecodeNegotiate);
  ExpectPrefixesRejected(Encode(SampleChallenge(DhGroup::kFfdhe2048)),
                         DecodeChallenge);
  ExpectPrefixesRejected(Encode(SampleReply(true)), DecodeReply);
  ExpectPrefixesRejected(Encode(Success1{1, 32, true, Iota(0, 32)}),
                         DecodeSuccess1);
  ExpectPrefixesRejected(Encode(Success1{1, 32, false, {}}), DecodeSuccess1);
  ExpectPrefixesRejected(Encode(Success2{1}), DecodeSuccess2);
  ExpectPrefixesRejected(Encode(Failure{true, 1}), DecodeFailure);
}

TEST(DhchapMessages, BadFieldsRejected) {
  auto expect_bad = [](std::vector<uint8_t> b, size_t off, uint8_t v,
                       auto decode) {
    b[off] = v;
    EXPECT_FALSE(decode(b).ok()) << "offset " << off << " = " << int{v};
  };
  std::vector<uint8_t> n = Encode(Negotiate{1, 0, AllHashes(), AllDhGroups()});
  expect_bad(n, 0, 1, DecodeNegotiate);    // auth_type
  expect_bad(n, 2, 1, DecodeNegotiate);    // rsvd
  expect_bad(n, 7, 0, DecodeNegotiate);    // napd 0
  expect_bad(n, 7, 2, DecodeNegotiate);    // napd 2, one present
  expect_bad(n, 8, 2, DecodeNegotiate);    // authid
  expect_bad(n, 9, 1, DecodeNegotiate);    // descriptor rsvd
  expect_bad(n, 10, 31, DecodeNegotiate);  // halen
  expect_bad(n, 11, 31, DecodeNegotiate);  // dhlen
  // Unknown ids are dropped, not refused.
  n[12] = 0x77;
  n[8 + 4 + 30] = 0x66;
  auto nd = DecodeNegotiate(n);
  ASSERT_TRUE(nd.ok());
  EXPECT_EQ(nd->hashes.size(), 2u);
  EXPECT_EQ(nd->dhgroups.size(), 5u);

  std::vector<uint8_t> c = Encode(SampleChallenge(DhGroup::kFfdhe2048));
  expect_bad(c, 1, 2, DecodeChallenge);      // auth_id
  expect_bad(c, 6, 32, DecodeChallenge);     // hl vs sha384
  expect_bad(c, 7, 1, DecodeChallenge);      // rsvd
  expect_bad(c, 8, 4, DecodeChallenge);      // hash id
  expect_bad(c, 9, 6, DecodeChallenge);      // group id
  expect_bad(c, 9, 0, DecodeChallenge);      // null group with a DH value
  expect_bad(c, 10, 1, DecodeChallenge);     // dhvlen vs group
  expect_bad(c, 11, 0xff, DecodeChallenge);  // dhvlen beyond the message

  std::vector<uint8_t> r = Encode(SampleReply(true));
  expect_bad(r, 6, 33, DecodeReply);     // hl
  expect_bad(r, 6, 64, DecodeReply);     // hl: 2*64 + 256 > what is there
  expect_bad(r, 8, 2, DecodeReply);      // cvalid
  expect_bad(r, 9, 1, DecodeReply);      // rsvd
  expect_bad(r, 11, 0x10, DecodeReply);  // dhvlen beyond the message

  std::vector<uint8_t> s = Encode(Success1{1, 32, true, Iota(0, 32)});
  expect_bad(s, 8, 2, DecodeSuccess1);
  expect_bad(s, 12, 1, DecodeSuccess1);
  expect_bad(s, 6, 40, DecodeSuccess1);
  expect_bad(Encode(Success2{1}), 10, 1, DecodeSuccess2);
  expect_bad(Encode(Failure{true, 1}), 1, 0xf2, DecodeFailure);
  expect_bad(Encode(Failure{true, 1}), 3, 1, DecodeFailure);
  EXPECT_FALSE(DecodeChallenge(Encode(Success2{1})).ok());
  EXPECT_FALSE(DecodeFailure(Encode(Success2{1})).ok());
}

TEST(DhchapMessages, NegotiatePicksTheDhchapDescriptor) {
  std::vector<uint8_t> one = Encode(Negotiate{1, 0, {HashId::kSha384}, {}});
  std::vector<uint8_t> two(8 + 128, 0);
  std::copy(one.begin(), one.begin() + 8, two.begin());
  two[7] = 2;
  two[8] = 0x7f;  // another protocol first
  std::copy(one.begin() + 8, one.end(), two.begin() + 8 + 64);
  auto d = DecodeNegotiate(two);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->hashes, std::vector<HashId>{HashId::kSha384});
  EXPECT_FALSE(internal::NegotiateLacksDhchap(two));
  two[8 + 64] = 0x7e;
  EXPECT_TRUE(internal::NegotiateLacksDhchap(two));
  EXPECT_FALSE(DecodeNegotiate(two).ok());
}

}  // namespace
}  // namespace nvmeof::auth
