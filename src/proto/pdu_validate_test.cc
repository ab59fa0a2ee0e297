#include "nvmeof/proto/pdu_validate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "nvmeof/proto/crc32c.h"

namespace nvmeof::tcp {
namespace {

constexpr uint32_t kMaxData = 128 * 1024;

PduCheckContext Controller(bool hdgst = false, bool ddgst = false,
                           uint8_t pda = 0) {
  return {.controller = true,
          .initialized = true,
          .hdgst = hdgst,
          .ddgst = ddgst,
          .rx_pda = pda,
          .max_data_len = kMaxData};
}
PduCheckContext Host(bool hdgst = false, bool ddgst = false, uint8_t pda = 0) {
  PduCheckContext ctx = Controller(hdgst, ddgst, pda);
  ctx.controller = false;
  return ctx;
}
PduCheckContext Uninitialized(bool controller) {
  return {.controller = controller, .max_data_len = kMaxData};
}

template <typename T>
std::vector<uint8_t> Raw(const T& h) {
  std::vector<uint8_t> v(sizeof(T));
  std::memcpy(v.data(), &h, sizeof(T));
  return v;
}

void Put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A whole PDU as a sender following the header's own CH would put it on the
// wire: header, header digest, padding, data, data digest.
template <typename T>
std::vector<uint8_t> Wire(const T& h, std::span<const uint8_t> data = {}) {
  std::vector<uint8_t> b = Raw(h);
  if (h.ch.flags & kPduFlagHdgst) Put32(b, HeaderDigest(&h, sizeof(h)));
  if (!data.empty()) {
    b.resize(h.ch.pdo, 0);
    b.insert(b.end(), data.begin(), data.end());
    if (h.ch.flags & kPduFlagDdgst) {
      Put32(b, ComputeCrc32c(data.data(), data.size()));
    }
  }
  return b;
}

testing::AssertionResult IsPduError(const PduError& e, Fes fes, uint32_t fei) {
  if (e.fes == fes && e.fei == fei) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "got FES " << static_cast<int>(e.fes) << " FEI " << e.fei
         << ", want FES " << static_cast<int>(fes) << " FEI " << fei;
}

PduError Common(const PduCheckContext& ctx, const std::vector<uint8_t>& b) {
  return CheckCommonHeader(ctx, b.data()).error;
}

// Runs the three steps on a whole PDU and checks that the layout describes
// the bytes: where the data is and how long the PDU is.
void ExpectAccepted(const PduCheckContext& ctx, const std::vector<uint8_t>& b,
                    std::span<const uint8_t> data = {}) {
  const CommonHeaderCheck c = CheckCommonHeader(ctx, b.data());
  ASSERT_TRUE(c.error.ok())
      << "FES " << static_cast<int>(c.error.fes) << " FEI " << c.error.fei;
  const PduLayout& l = c.layout;
  EXPECT_EQ(l.plen, b.size());
  ASSERT_LE(l.header_len, b.size());
  EXPECT_TRUE(CheckHeaderDigest(l, b.data()).ok());
  EXPECT_TRUE(CheckPduSpecificHeader(l, b.data()).ok());
  if (CarriesData(l.type)) {
    ASSERT_EQ(l.data_len, data.size());
    if (!data.empty()) {
      ASSERT_EQ(l.data_offset + l.data_len + l.ddgst_len, b.size());
      EXPECT_EQ(
          0, std::memcmp(b.data() + l.data_offset, data.data(), data.size()));
    }
  }
}

const std::vector<uint8_t> kData = [] {
  std::vector<uint8_t> d(1000);
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 13);
  return d;
}();

// Round trips: what the builders make, the validator accepts, with and
// without digests, with PDA 0 and PDA > 0.
class PduRoundTripTest
    : public testing::TestWithParam<std::tuple<bool, bool, uint8_t>> {
 protected:
  bool hdgst() const { return std::get<0>(GetParam()); }
  bool ddgst() const { return std::get<1>(GetParam()); }
  uint8_t pda() const { return std::get<2>(GetParam()); }
  // The sender aligns to the PDA the receiver asked for.
  PduFormat Fmt() const { return {hdgst(), ddgst(), pda()}; }
};

TEST_P(PduRoundTripTest, ControllerReceives) {
  const PduCheckContext ctx = Controller(hdgst(), ddgst(), pda());
  Sqe sqe{};
  sqe.cid = 3;
  ExpectAccepted(ctx, Wire(MakeCapsuleCmd(sqe, Fmt(), 0)));
  ExpectAccepted(ctx, Wire(MakeCapsuleCmd(sqe, Fmt(), 1000), kData), kData);
  ExpectAccepted(ctx, Wire(MakeH2CData(3, 9, 4096, 1000, true, Fmt()), kData),
                 kData);
  ExpectAccepted(
      ctx,
      Wire(MakeH2CData(3, 9, 0, 1, false, Fmt()), std::span(kData).first(1)),
      std::span(kData).first(1));
}

TEST_P(PduRoundTripTest, HostReceives) {
  const PduCheckContext ctx = Host(hdgst(), ddgst(), pda());
  ExpectAccepted(ctx, Wire(MakeCapsuleResp(Cqe{}, Fmt())));
  ExpectAccepted(ctx, Wire(MakeR2T(3, 9, 0, 1 << 20, Fmt())));
  for (C2HEnd end : {C2HEnd::kMore, C2HEnd::kLast, C2HEnd::kLastWithSuccess}) {
    ExpectAccepted(ctx, Wire(MakeC2HData(3, 0, 1000, end, Fmt()), kData),
                   kData);
  }
}

INSTANTIATE_TEST_SUITE_P(
    DigestsAndPda, PduRoundTripTest,
    testing::Combine(testing::Bool(), testing::Bool(),
                     testing::Values(uint8_t{0}, uint8_t{1}, uint8_t{3},
                                     uint8_t{31})));

TEST(PduValidateTest, ConnectionSetupRoundTrip) {
  ExpectAccepted(Uninitialized(true), Wire(MakeICReq(0, true, true, 0)));
  ExpectAccepted(Uninitialized(false),
                 Wire(MakeICResp(31, false, false, kMinMaxH2CData)));
}

TEST(PduValidateTest, TermReqRoundTrip) {
  const std::vector<uint8_t> offending = Wire(MakeR2T(1, 2, 0, 8, {}));
  for (bool controller : {false, true}) {
    // The sender is the other side.
    const TermReqPdu p =
        MakeTermReq(!controller, Fes::kInvalidHeaderField, 4, offending);
    const std::vector<uint8_t> raw = Raw(p);
    const std::vector<uint8_t> b(raw.begin(), raw.begin() + p.size());
    // Accepted before and after initialization, with digests on or off.
    ExpectAccepted(Uninitialized(controller), b);
    PduCheckContext ctx = Controller(true, true);
    ctx.controller = controller;
    const CommonHeaderCheck c = CheckCommonHeader(ctx, b.data());
    ASSERT_TRUE(c.error.ok());
    EXPECT_EQ(c.layout.data_offset, 24u);
    EXPECT_EQ(c.layout.data_len, offending.size());
  }
}

TEST(PduValidateTest, ReservedPduTypes) {
  for (uint8_t type : {0x08, 0x0A, 0x7F, 0xFF}) {
    std::vector<uint8_t> b = Raw(MakeCapsuleResp(Cqe{}, {}));
    b[0] = type;
    EXPECT_TRUE(IsPduError(Common(Host(), b), Fes::kInvalidHeaderField, 0));
    EXPECT_TRUE(
        IsPduError(Common(Controller(), b), Fes::kInvalidHeaderField, 0));
  }
}

TEST(PduValidateTest, TypesOfTheOtherDirection) {
  // A C2H type sent to a controller, an H2C type sent to a host.
  EXPECT_TRUE(IsPduError(Common(Controller(), Raw(MakeCapsuleResp(Cqe{}, {}))),
                         Fes::kInvalidHeaderField, 0));
  EXPECT_TRUE(IsPduError(
      Common(Controller(), Wire(MakeC2HData(1, 0, 4, C2HEnd::kLast, {}),
                                std::span(kData).first(4))),
      Fes::kInvalidHeaderField, 0));
  EXPECT_TRUE(IsPduError(Common(Host(), Raw(MakeCapsuleCmd(Sqe{}, {}, 0))),
                         Fes::kInvalidHeaderField, 0));
  EXPECT_TRUE(
      IsPduError(Common(Uninitialized(false), Raw(MakeICReq(0, 0, 0, 0))),
                 Fes::kInvalidHeaderField, 0));
}

TEST(PduValidateTest, SequenceErrors) {
  // CapsuleCmd before ICReq; CapsuleResp before ICResp.
  EXPECT_TRUE(
      IsPduError(Common(Uninitialized(true), Raw(MakeCapsuleCmd(Sqe{}, {}, 0))),
                 Fes::kPduSequenceError, 0));
  EXPECT_TRUE(
      IsPduError(Common(Uninitialized(false), Raw(MakeCapsuleResp(Cqe{}, {}))),
                 Fes::kPduSequenceError, 0));
  // A second ICReq, a second ICResp.
  EXPECT_TRUE(IsPduError(Common(Controller(), Raw(MakeICReq(0, 0, 0, 0))),
                         Fes::kPduSequenceError, 0));
  EXPECT_TRUE(IsPduError(Common(Host(), Raw(MakeICResp(0, 0, 0, 4096))),
                         Fes::kPduSequenceError, 0));
}

TEST(PduValidateTest, HeaderDigestFlagMustMatchNegotiation) {
  // Negotiated, but HDGSTF clear.
  EXPECT_TRUE(IsPduError(Common(Host(true), Raw(MakeCapsuleResp(Cqe{}, {}))),
                         Fes::kInvalidHeaderField, 1));
  // Not negotiated, but HDGSTF set.
  EXPECT_TRUE(IsPduError(
      Common(Host(false), Raw(MakeCapsuleResp(Cqe{}, {.hdgst = true}))),
      Fes::kInvalidHeaderField, 1));
  // A TermReq never carries a digest.
  TermReqPdu t = MakeTermReq(true, Fes::kPduSequenceError, 0, {});
  t.header.ch.flags = kPduFlagHdgst;
  EXPECT_TRUE(IsPduError(Common(Host(true), Raw(t.header)),
                         Fes::kInvalidHeaderField, 1));
}

TEST(PduValidateTest, DataDigestFlagOnlyWithData) {
  // DDGSTF on a CapsuleCmd without data.
  auto cmd = MakeCapsuleCmd(Sqe{}, {}, 0);
  cmd.ch.flags |= kPduFlagDdgst;
  EXPECT_TRUE(IsPduError(Common(Controller(false, true), Raw(cmd)),
                         Fes::kInvalidHeaderField, 1));
  // Data, data digest negotiated, DDGSTF clear.
  auto h2c = MakeH2CData(1, 1, 0, 100, true, {.ddgst = true});
  h2c.ch.flags &= ~kPduFlagDdgst;
  EXPECT_TRUE(IsPduError(Common(Controller(false, true), Raw(h2c)),
                         Fes::kInvalidHeaderField, 1));
  // DDGSTF where no data digest was negotiated.
  EXPECT_TRUE(
      IsPduError(Common(Controller(),
                        Raw(MakeH2CData(1, 1, 0, 100, true, {.ddgst = true}))),
                 Fes::kInvalidHeaderField, 1));
  // Never on CapsuleResp.
  auto resp = MakeCapsuleResp(Cqe{}, {});
  resp.ch.flags = kPduFlagDdgst;
  EXPECT_TRUE(IsPduError(Common(Host(false, true), Raw(resp)),
                         Fes::kInvalidHeaderField, 1));
}

TEST(PduValidateTest, FlagsOutsideTheType) {
  // SUCCESS without LAST_PDU.
  auto c2h = MakeC2HData(1, 0, 100, C2HEnd::kMore, {});
  c2h.ch.flags = kPduFlagSuccess;
  EXPECT_TRUE(
      IsPduError(Common(Host(), Raw(c2h)), Fes::kInvalidHeaderField, 1));
  // SUCCESS on H2CData, LAST_PDU on CapsuleCmd, reserved bit 4 anywhere.
  auto h2c = MakeH2CData(1, 1, 0, 100, true, {});
  h2c.ch.flags |= kPduFlagSuccess;
  EXPECT_TRUE(
      IsPduError(Common(Controller(), Raw(h2c)), Fes::kInvalidHeaderField, 1));
  auto cmd = MakeCapsuleCmd(Sqe{}, {}, 0);
  cmd.ch.flags = kPduFlagLastPdu;
  EXPECT_TRUE(
      IsPduError(Common(Controller(), Raw(cmd)), Fes::kInvalidHeaderField, 1));
  for (uint8_t bit = 4; bit < 8; ++bit) {
    auto r2t = MakeR2T(1, 1, 0, 8, {});
    r2t.ch.flags = static_cast<uint8_t>(1u << bit);
    EXPECT_TRUE(
        IsPduError(Common(Host(), Raw(r2t)), Fes::kInvalidHeaderField, 1));
  }
  auto icreq = MakeICReq(0, false, false, 0);
  icreq.ch.flags = kPduFlagLastPdu;
  EXPECT_TRUE(IsPduError(Common(Uninitialized(true), Raw(icreq)),
                         Fes::kInvalidHeaderField, 1));
}

TEST(PduValidateTest, BadHlen) {
  auto cmd = MakeCapsuleCmd(Sqe{}, {}, 0);
  cmd.ch.hlen = 71;
  EXPECT_TRUE(
      IsPduError(Common(Controller(), Raw(cmd)), Fes::kInvalidHeaderField, 2));
  auto icresp = MakeICResp(0, false, false, 4096);
  icresp.ch.hlen = 24;
  EXPECT_TRUE(IsPduError(Common(Uninitialized(false), Raw(icresp)),
                         Fes::kInvalidHeaderField, 2));
}

TEST(PduValidateTest, BadPdo) {
  // Misaligned: the controller asked for 16-byte alignment (CPDA 3), the
  // host sent data right after the header.
  const auto cmd = MakeCapsuleCmd(Sqe{}, {}, 100);
  ASSERT_EQ(cmd.ch.pdo, 72);
  EXPECT_TRUE(IsPduError(Common(Controller(false, false, 3), Raw(cmd)),
                         Fes::kInvalidHeaderField, 3));
  EXPECT_TRUE(Common(Controller(false, false, 1), Raw(cmd)).ok());  // 8 | 72
  // Below HLEN + header digest.
  auto h2c = MakeH2CData(1, 1, 0, 100, true, {.hdgst = true});
  h2c.ch.pdo = 24;
  EXPECT_TRUE(IsPduError(Common(Controller(true), Raw(h2c)),
                         Fes::kInvalidHeaderField, 3));
  // Beyond PLEN.
  auto c2h = MakeC2HData(1, 0, 4, C2HEnd::kLast, {});
  c2h.ch.pdo = 32;
  EXPECT_TRUE(
      IsPduError(Common(Host(), Raw(c2h)), Fes::kInvalidHeaderField, 3));
  // Non-zero on a type without data.
  auto resp = MakeCapsuleResp(Cqe{}, {});
  resp.ch.pdo = 24;
  EXPECT_TRUE(
      IsPduError(Common(Host(), Raw(resp)), Fes::kInvalidHeaderField, 3));
}

TEST(PduValidateTest, BadPlen) {
  // Below HLEN.
  auto resp = MakeCapsuleResp(Cqe{}, {});
  resp.ch.plen = 20;
  EXPECT_TRUE(
      IsPduError(Common(Host(), Raw(resp)), Fes::kInvalidHeaderField, 4));
  // Below HLEN + header digest.
  auto cmd = MakeCapsuleCmd(Sqe{}, {.hdgst = true}, 0);
  cmd.ch.plen = 72;
  EXPECT_TRUE(IsPduError(Common(Controller(true), Raw(cmd)),
                         Fes::kInvalidHeaderField, 4));
  // Fixed-length types with data.
  auto r2t = MakeR2T(1, 1, 0, 8, {});
  r2t.ch.plen = 28;
  EXPECT_TRUE(
      IsPduError(Common(Host(), Raw(r2t)), Fes::kInvalidHeaderField, 4));
  auto icreq = MakeICReq(0, false, false, 0);
  icreq.ch.plen = 132;
  EXPECT_TRUE(IsPduError(Common(Uninitialized(true), Raw(icreq)),
                         Fes::kInvalidHeaderField, 4));
  // H2CData without data.
  auto h2c = MakeH2CData(1, 1, 0, 4, true, {});
  h2c.ch.pdo = 0;
  h2c.ch.plen = 24;
  EXPECT_TRUE(
      IsPduError(Common(Controller(), Raw(h2c)), Fes::kInvalidHeaderField, 4));
  // Room for the data digest but no data.
  auto c2h = MakeC2HData(1, 0, 4, C2HEnd::kLast, {.ddgst = true});
  c2h.ch.plen = 28;
  EXPECT_TRUE(IsPduError(Common(Host(false, true), Raw(c2h)),
                         Fes::kInvalidHeaderField, 4));
}

TEST(PduValidateTest, TermReqPlenLimits) {
  TermReqPdu t = MakeTermReq(false, Fes::kPduSequenceError, 0, {});
  t.header.ch.plen = 153;
  const PduError e = Common(Controller(), Raw(t.header));
  EXPECT_TRUE(IsPduError(e, Fes::kInvalidHeaderField, 4));
  EXPECT_FALSE(e.send_term_req);  // never answer a TermReq
  t.header.ch.plen = 152;
  EXPECT_TRUE(Common(Controller(), Raw(t.header)).ok());
  t.header.ch.plen = 23;
  EXPECT_TRUE(IsPduError(Common(Controller(), Raw(t.header)),
                         Fes::kInvalidHeaderField, 4));
}

TEST(PduValidateTest, DataLimitExceeded) {
  PduCheckContext ctx = Controller();
  ctx.max_data_len = 4096;
  const auto at_limit = MakeH2CData(1, 1, 0, 4096, true, {});
  EXPECT_TRUE(Common(ctx, Raw(at_limit)).ok());
  const PduError e = Common(ctx, Raw(MakeH2CData(1, 1, 0, 4097, true, {})));
  EXPECT_TRUE(IsPduError(e, Fes::kDataTransferLimitExceeded, 0));
  EXPECT_TRUE(e.send_term_req);
  EXPECT_TRUE(IsPduError(Common(ctx, Raw(MakeCapsuleCmd(Sqe{}, {}, 8192))),
                         Fes::kDataTransferLimitExceeded, 0));
}

TEST(PduValidateTest, LowestWrongFieldIsReported) {
  // Everything wrong: FLAGS, HLEN, PDO, PLEN, too much data.
  auto cmd = MakeCapsuleCmd(Sqe{}, {}, 100);
  cmd.ch.flags = kPduFlagLastPdu;
  cmd.ch.hlen = 64;
  cmd.ch.pdo = 70;
  cmd.ch.plen = 1u << 30;
  PduCheckContext ctx = Controller();
  EXPECT_TRUE(IsPduError(Common(ctx, Raw(cmd)), Fes::kInvalidHeaderField, 1));
  cmd.ch.flags = 0;
  EXPECT_TRUE(IsPduError(Common(ctx, Raw(cmd)), Fes::kInvalidHeaderField, 2));
  cmd.ch.hlen = 72;
  EXPECT_TRUE(IsPduError(Common(ctx, Raw(cmd)), Fes::kInvalidHeaderField, 3));
  cmd.ch.pdo = 72;
  EXPECT_TRUE(
      IsPduError(Common(ctx, Raw(cmd)), Fes::kDataTransferLimitExceeded, 0));
  cmd.ch.plen = 172;
  EXPECT_TRUE(Common(ctx, Raw(cmd)).ok());
  // The type beats everything, the sequence beats the flags.
  std::vector<uint8_t> b = Raw(cmd);
  b[1] = 0xFF;
  b[0] = 0x05;
  EXPECT_TRUE(IsPduError(Common(ctx, b), Fes::kInvalidHeaderField, 0));
  b[0] = 0x04;
  EXPECT_TRUE(
      IsPduError(Common(Uninitialized(true), b), Fes::kPduSequenceError, 0));
  // PDO before PLEN: a PLEN below the header with a bad PDO.
  auto h2c = MakeH2CData(1, 1, 0, 100, true, {});
  h2c.ch.pdo = 26;
  h2c.ch.plen = 10;
  EXPECT_TRUE(IsPduError(Common(ctx, Raw(h2c)), Fes::kInvalidHeaderField, 3));
}

TEST(PduValidateTest, HeaderDigestMismatch) {
  std::vector<uint8_t> b = Wire(MakeR2T(1, 2, 0, 8, {.hdgst = true}));
  const CommonHeaderCheck c = CheckCommonHeader(Host(true), b.data());
  ASSERT_TRUE(c.error.ok());
  EXPECT_TRUE(CheckHeaderDigest(c.layout, b.data()).ok());
  b[12] ^= 1;  // R2TO
  EXPECT_TRUE(IsPduError(CheckHeaderDigest(c.layout, b.data()),
                         Fes::kHeaderDigestError, 0));
}

TEST(PduValidateTest, ICReqFields) {
  const PduCheckContext ctx = Uninitialized(true);
  auto check = [&ctx](const ICReqPdu& p) {
    const auto b = Raw(p);
    const CommonHeaderCheck c = CheckCommonHeader(ctx, b.data());
    EXPECT_TRUE(c.error.ok());
    return CheckPduSpecificHeader(c.layout, b.data());
  };
  ICReqPdu p = MakeICReq(31, true, true, 0xFFFFFFFF);
  EXPECT_TRUE(check(p).ok());
  p.pfv = 1;
  p.hpda = 32;  // also wrong, but after PFV
  EXPECT_TRUE(IsPduError(check(p), Fes::kUnsupportedParameter, 8));
  p.pfv = 0;
  EXPECT_TRUE(IsPduError(check(p), Fes::kInvalidHeaderField, 10));
  p.hpda = 0;
  p.dgst = 0x04;
  EXPECT_TRUE(IsPduError(check(p), Fes::kInvalidHeaderField, 11));
}

TEST(PduValidateTest, ICRespFields) {
  const PduCheckContext ctx = Uninitialized(false);
  auto check = [&ctx](const ICRespPdu& p) {
    const auto b = Raw(p);
    const CommonHeaderCheck c = CheckCommonHeader(ctx, b.data());
    EXPECT_TRUE(c.error.ok());
    return CheckPduSpecificHeader(c.layout, b.data());
  };
  ICRespPdu p = MakeICResp(0, true, true, 4096);
  EXPECT_TRUE(check(p).ok());
  p.maxh2cdata = 4095;
  EXPECT_TRUE(IsPduError(check(p), Fes::kInvalidHeaderField, 12));
  p.maxh2cdata = 4098;  // not a multiple of 4
  EXPECT_TRUE(IsPduError(check(p), Fes::kInvalidHeaderField, 12));
  p.dgst = 0x80;
  EXPECT_TRUE(IsPduError(check(p), Fes::kInvalidHeaderField, 11));
  p.cpda = 32;
  EXPECT_TRUE(IsPduError(check(p), Fes::kInvalidHeaderField, 10));
  p.pfv = 2;
  EXPECT_TRUE(IsPduError(check(p), Fes::kUnsupportedParameter, 8));
}

TEST(PduValidateTest, DataPduFields) {
  const PduCheckContext ctx = Controller();
  auto check = [&ctx](const H2CDataHeader& h) {
    const auto b = Raw(h);
    const CommonHeaderCheck c = CheckCommonHeader(ctx, b.data());
    EXPECT_TRUE(c.error.ok());
    return CheckPduSpecificHeader(c.layout, b.data());
  };
  H2CDataHeader h = MakeH2CData(1, 1, 0xFFFFFF00, 0x100, true, {});
  EXPECT_TRUE(check(h).ok());  // ends exactly at 2^32
  h.datal = 0x80;              // PLEN still says 0x100
  EXPECT_TRUE(IsPduError(check(h), Fes::kInvalidHeaderField, 16));
  h = MakeH2CData(1, 1, 0xFFFFFF01, 0x100, true, {});
  EXPECT_TRUE(IsPduError(check(h), Fes::kDataTransferOutOfRange, 0));

  auto c2h = MakeC2HData(1, 0, 64, C2HEnd::kLast, {});
  c2h.datal = 65;
  const auto b = Raw(c2h);
  const CommonHeaderCheck c = CheckCommonHeader(Host(), b.data());
  ASSERT_TRUE(c.error.ok());
  EXPECT_TRUE(IsPduError(CheckPduSpecificHeader(c.layout, b.data()),
                         Fes::kInvalidHeaderField, 16));
}

TEST(PduValidateTest, R2TFields) {
  auto check = [](const R2THeader& h) {
    const auto b = Raw(h);
    const CommonHeaderCheck c = CheckCommonHeader(Host(), b.data());
    EXPECT_TRUE(c.error.ok());
    return CheckPduSpecificHeader(c.layout, b.data());
  };
  R2THeader r = MakeR2T(1, 2, 0, 1, {});
  EXPECT_TRUE(check(r).ok());
  r.r2tl = 0;
  EXPECT_TRUE(IsPduError(check(r), Fes::kInvalidHeaderField, 16));
  r.r2to = 0xFFFFFFFF;
  r.r2tl = 2;
  EXPECT_TRUE(IsPduError(check(r), Fes::kDataTransferOutOfRange, 0));
}

TEST(PduValidateTest, TermReqFesRange) {
  for (uint16_t fes : {0, 7, 0xFFFF}) {
    TermReqPdu t = MakeTermReq(true, Fes::kPduSequenceError, 0, {});
    t.header.fes = fes;
    const auto b = Raw(t.header);
    const CommonHeaderCheck c = CheckCommonHeader(Host(), b.data());
    ASSERT_TRUE(c.error.ok());
    const PduError e = CheckPduSpecificHeader(c.layout, b.data());
    EXPECT_TRUE(IsPduError(e, Fes::kInvalidHeaderField, 8)) << fes;
    EXPECT_FALSE(e.send_term_req);
  }
}

}  // namespace
}  // namespace nvmeof::tcp
