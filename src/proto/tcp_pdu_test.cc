#include "nvmeof/proto/tcp_pdu.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace nvmeof::tcp {
namespace {

// The bytes of a header as they go on the wire.
template <typename T>
std::vector<uint8_t> Raw(const T& h) {
  std::vector<uint8_t> v(sizeof(T));
  std::memcpy(v.data(), &h, sizeof(T));
  return v;
}

uint32_t Le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 |
         uint32_t{b[at + 2]} << 16 | uint32_t{b[at + 3]} << 24;
}
uint16_t Le16(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint16_t>(b[at] | b[at + 1] << 8);
}

// The builders are usable at compile time.
static_assert(MakeR2T(1, 2, 0, 4096, {}).ch.plen == 24);
static_assert(MakeCapsuleCmd(Sqe{}, {.hdgst = true}, 0).ch.plen == 76);
static_assert(ComputeLayout(PduType::kC2HData, {.pda = 31}, 1).data_offset ==
              128);

TEST(TcpPduTest, HeaderLengthsAndDirections) {
  EXPECT_EQ(HeaderLength(PduType::kICReq), 128);
  EXPECT_EQ(HeaderLength(PduType::kICResp), 128);
  EXPECT_EQ(HeaderLength(PduType::kH2CTermReq), 24);
  EXPECT_EQ(HeaderLength(PduType::kC2HTermReq), 24);
  EXPECT_EQ(HeaderLength(PduType::kCapsuleCmd), 72);
  EXPECT_EQ(HeaderLength(PduType::kCapsuleResp), 24);
  EXPECT_EQ(HeaderLength(PduType::kH2CData), 24);
  EXPECT_EQ(HeaderLength(PduType::kC2HData), 24);
  EXPECT_EQ(HeaderLength(PduType::kR2T), 24);
  EXPECT_EQ(HeaderLength(static_cast<PduType>(0x08)), 0);
  EXPECT_EQ(HeaderLength(static_cast<PduType>(0x0A)), 0);
  EXPECT_EQ(HeaderLength(static_cast<PduType>(0xFF)), 0);
  for (PduType t : {PduType::kICReq, PduType::kH2CTermReq, PduType::kCapsuleCmd,
                    PduType::kH2CData}) {
    EXPECT_TRUE(IsHostToController(t)) << static_cast<int>(t);
  }
  for (PduType t : {PduType::kICResp, PduType::kC2HTermReq,
                    PduType::kCapsuleResp, PduType::kC2HData, PduType::kR2T}) {
    EXPECT_FALSE(IsHostToController(t)) << static_cast<int>(t);
  }
}

TEST(TcpPduTest, ICReqBytes) {
  const auto b = Raw(MakeICReq(/*hpda=*/5, /*hdgst=*/true, /*ddgst=*/false,
                               /*maxr2t=*/0x01020304));
  ASSERT_EQ(b.size(), 128u);
  EXPECT_EQ(b[0], 0x00);                // PDU-Type
  EXPECT_EQ(b[1], 0x00);                // FLAGS
  EXPECT_EQ(b[2], 128);                 // HLEN
  EXPECT_EQ(b[3], 0);                   // PDO
  EXPECT_EQ(Le32(b, 4), 128u);          // PLEN
  EXPECT_EQ(Le16(b, 8), 0);             // PFV
  EXPECT_EQ(b[10], 5);                  // HPDA
  EXPECT_EQ(b[11], 0x01);               // DGST: HDGST_ENABLE
  EXPECT_EQ(Le32(b, 12), 0x01020304u);  // MAXR2T
  for (size_t i = 16; i < 128; ++i) EXPECT_EQ(b[i], 0) << i;
}

TEST(TcpPduTest, ICRespBytes) {
  const auto b = Raw(MakeICResp(/*cpda=*/0, /*hdgst=*/false, /*ddgst=*/true,
                                /*maxh2cdata=*/0x400000));
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[2], 128);
  EXPECT_EQ(Le32(b, 4), 128u);
  EXPECT_EQ(b[10], 0);
  EXPECT_EQ(b[11], 0x02);  // DDGST_ENABLE
  EXPECT_EQ(Le32(b, 12), 0x400000u);
}

TEST(TcpPduTest, TermReqCopiesOffendingHeaderAndSetsPlen) {
  std::array<uint8_t, 24> offending{};
  for (size_t i = 0; i < offending.size(); ++i) offending[i] = uint8_t(i + 1);
  const TermReqPdu p =
      MakeTermReq(/*sender_is_controller=*/true, Fes::kInvalidHeaderField,
                  0x0A0B0C0D, offending);
  const auto b = Raw(p);
  EXPECT_EQ(b[0], 0x03);  // C2HTermReq
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[2], 24);
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(Le32(b, 4), 48u);
  EXPECT_EQ(p.size(), 48u);
  EXPECT_EQ(Le16(b, 8), 1);             // FES
  EXPECT_EQ(Le32(b, 10), 0x0A0B0C0Du);  // FEI, unaligned
  EXPECT_EQ(p.header.fei(), 0x0A0B0C0Du);
  for (size_t i = 14; i < 24; ++i) EXPECT_EQ(b[i], 0) << i;
  for (size_t i = 0; i < offending.size(); ++i) {
    EXPECT_EQ(b[24 + i], offending[i]) << i;
  }
}

TEST(TcpPduTest, TermReqTruncatesTo128Bytes) {
  std::vector<uint8_t> big(200, 0xAB);
  const TermReqPdu p = MakeTermReq(/*sender_is_controller=*/false,
                                   Fes::kPduSequenceError, 0, big);
  EXPECT_EQ(p.header.ch.type, PduType::kH2CTermReq);
  EXPECT_EQ(p.size(), kMaxTermReqPduLen);
  EXPECT_EQ(p.data[127], 0xAB);
  const TermReqPdu bare = MakeTermReq(false, Fes::kHeaderDigestError, 0, {});
  EXPECT_EQ(bare.size(), 24u);
}

TEST(TcpPduTest, CapsuleCmdWithoutDataHasNoPdoNorDataDigest) {
  Sqe sqe{};
  sqe.opcode = 0x7F;
  sqe.cid = 0x1234;
  const auto h = MakeCapsuleCmd(sqe, {.hdgst = true, .ddgst = true}, 0);
  EXPECT_EQ(h.ch.type, PduType::kCapsuleCmd);
  EXPECT_EQ(h.ch.flags, kPduFlagHdgst);
  EXPECT_EQ(h.ch.hlen, 72);
  EXPECT_EQ(h.ch.pdo, 0);
  EXPECT_EQ(h.ch.plen, 76u);
  const auto b = Raw(h);
  EXPECT_EQ(b[8], 0x7F);
  EXPECT_EQ(Le16(b, 10), 0x1234);
}

// PDO = hlen + hdgst rounded up to (PDA + 1) * 4 bytes; PLEN adds data and
// the data digest.
struct LayoutCase {
  PduType type;
  PduFormat fmt;
  uint32_t data_len;
  uint32_t pdo;
  uint32_t plen;
  uint8_t flags;
};

TEST(TcpPduTest, DataPduLayouts) {
  const LayoutCase cases[] = {
      // PDA 0: PDO right after the header (and its digest), as Linux sends.
      {PduType::kCapsuleCmd, {}, 100, 72, 172, 0},
      {PduType::kCapsuleCmd,
       {true, true, 0},
       100,
       76,
       180,
       kPduFlagHdgst | kPduFlagDdgst},
      {PduType::kC2HData, {true, false, 0}, 512, 28, 540, kPduFlagHdgst},
      {PduType::kH2CData, {false, true, 0}, 512, 24, 540, kPduFlagDdgst},
      // PDA > 0: padding up to the next multiple of (PDA + 1) * 4.
      {PduType::kCapsuleCmd, {false, false, 3}, 100, 80, 180, 0},
      {PduType::kCapsuleCmd, {true, false, 31}, 100, 128, 228, kPduFlagHdgst},
      {PduType::kC2HData,
       {true, true, 3},
       512,
       32,
       548,
       kPduFlagHdgst | kPduFlagDdgst},
      {PduType::kH2CData, {false, false, 1}, 8, 24, 32, 0},  // 24 % 8 == 0
      {PduType::kH2CData, {false, false, 7}, 8, 32, 40, 0},
  };
  for (const LayoutCase& c : cases) {
    SCOPED_TRACE(testing::Message()
                 << "type " << static_cast<int>(c.type) << " hdgst "
                 << c.fmt.hdgst << " ddgst " << c.fmt.ddgst << " pda "
                 << int{c.fmt.pda});
    const PduLayout l = ComputeLayout(c.type, c.fmt, c.data_len);
    EXPECT_EQ(l.data_offset, c.pdo);
    EXPECT_EQ(l.plen, c.plen);
    EXPECT_EQ(l.data_len, c.data_len);
    EXPECT_EQ(l.pad_len(), c.pdo - l.header_len);
    const CommonHeader ch = MakeCommonHeader(l);
    EXPECT_EQ(ch.flags, c.flags);
    EXPECT_EQ(ch.pdo, c.pdo);
    EXPECT_EQ(ch.plen, c.plen);
  }
}

TEST(TcpPduTest, PdaZeroMatchesLinux) {
  // Linux: pdo = hlen + hdgst, plen = hlen + hdgst + len + ddgst.
  for (bool hd : {false, true}) {
    for (bool dd : {false, true}) {
      for (PduType t :
           {PduType::kCapsuleCmd, PduType::kH2CData, PduType::kC2HData}) {
        const PduLayout l = ComputeLayout(t, {hd, dd, 0}, 4096);
        const uint32_t hdgst = hd ? 4 : 0, ddgst = dd ? 4 : 0;
        EXPECT_EQ(l.data_offset, HeaderLength(t) + hdgst);
        EXPECT_EQ(l.plen, HeaderLength(t) + hdgst + 4096 + ddgst);
        EXPECT_EQ(l.pad_len(), 0u);
      }
    }
  }
}

TEST(TcpPduTest, CapsuleRespAndR2THaveNoData) {
  Cqe cqe{};
  cqe.cid = 7;
  cqe.status = 0x0002;
  const auto resp = MakeCapsuleResp(cqe, {.hdgst = true, .ddgst = true});
  EXPECT_EQ(resp.ch.type, PduType::kCapsuleResp);
  EXPECT_EQ(resp.ch.flags, kPduFlagHdgst);  // never DDGSTF
  EXPECT_EQ(resp.ch.hlen, 24);
  EXPECT_EQ(resp.ch.pdo, 0);
  EXPECT_EQ(resp.ch.plen, 28u);
  EXPECT_EQ(resp.rccqe.cid, 7);
  EXPECT_EQ(Le16(Raw(resp), 8 + 14), 0x0002);  // CQE status @14

  const auto b = Raw(MakeR2T(0x0102, 0x0304, 0x10000, 0x20000, {}));
  EXPECT_EQ(b[0], 0x09);
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[2], 24);
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(Le32(b, 4), 24u);
  EXPECT_EQ(Le16(b, 8), 0x0102);     // CCCID
  EXPECT_EQ(Le16(b, 10), 0x0304);    // TTAG
  EXPECT_EQ(Le32(b, 12), 0x10000u);  // R2TO
  EXPECT_EQ(Le32(b, 16), 0x20000u);  // R2TL
}

TEST(TcpPduTest, H2CDataBytes) {
  const auto h = MakeH2CData(0x0A0B, 0x0C0D, 8192, 4096, /*last_pdu=*/true,
                             {.hdgst = true, .ddgst = true});
  const auto b = Raw(h);
  EXPECT_EQ(b[0], 0x06);
  EXPECT_EQ(b[1], kPduFlagHdgst | kPduFlagDdgst | kPduFlagLastPdu);
  EXPECT_EQ(b[2], 24);
  EXPECT_EQ(b[3], 28);
  EXPECT_EQ(Le32(b, 4), 28u + 4096 + 4);
  EXPECT_EQ(Le16(b, 8), 0x0A0B);   // CCCID
  EXPECT_EQ(Le16(b, 10), 0x0C0D);  // TTAG
  EXPECT_EQ(Le32(b, 12), 8192u);   // DATAO
  EXPECT_EQ(Le32(b, 16), 4096u);   // DATAL
  EXPECT_EQ(MakeH2CData(1, 2, 0, 4, false, {}).ch.flags, 0);
}

TEST(TcpPduTest, C2HDataFlagsAndBytes) {
  const PduFormat fmt{};
  EXPECT_EQ(MakeC2HData(1, 0, 4, C2HEnd::kMore, fmt).ch.flags, 0);
  EXPECT_EQ(MakeC2HData(1, 0, 4, C2HEnd::kLast, fmt).ch.flags, kPduFlagLastPdu);
  EXPECT_EQ(MakeC2HData(1, 0, 4, C2HEnd::kLastWithSuccess, fmt).ch.flags,
            kPduFlagLastPdu | kPduFlagSuccess);
  const auto b =
      Raw(MakeC2HData(0x1122, 0x33445566, 0x100, C2HEnd::kLast, {.pda = 3}));
  EXPECT_EQ(b[0], 0x07);
  EXPECT_EQ(b[3], 32);  // 24 rounded up to 16 bytes
  EXPECT_EQ(Le32(b, 4), 32u + 0x100);
  EXPECT_EQ(Le16(b, 8), 0x1122);
  EXPECT_EQ(Le16(b, 10), 0);  // reserved where H2CData has TTAG
  EXPECT_EQ(Le32(b, 12), 0x33445566u);
  EXPECT_EQ(Le32(b, 16), 0x100u);
}

TEST(TcpPduTest, HeaderDigestIsCrc32cOfTheHeader) {
  const auto h = MakeCapsuleResp(Cqe{}, {.hdgst = true});
  const auto b = Raw(h);
  EXPECT_EQ(HeaderDigest(&h, sizeof(h)), ComputeCrc32c(b.data(), b.size()));
  const char* check = "123456789";
  EXPECT_EQ(HeaderDigest(check, 9), 0xE3069283u);
}

TEST(TcpPduTest, FesNamesAndValues) {
  EXPECT_EQ(static_cast<int>(Fes::kInvalidHeaderField), 1);
  EXPECT_EQ(static_cast<int>(Fes::kPduSequenceError), 2);
  EXPECT_EQ(static_cast<int>(Fes::kHeaderDigestError), 3);
  EXPECT_EQ(static_cast<int>(Fes::kDataTransferOutOfRange), 4);
  EXPECT_EQ(static_cast<int>(Fes::kDataTransferLimitExceeded), 5);
  EXPECT_EQ(static_cast<int>(Fes::kUnsupportedParameter), 6);
  EXPECT_EQ(FesName(Fes::kPduSequenceError), "PDU sequence error");
  EXPECT_EQ(FesName(static_cast<Fes>(9)), "unknown FES");
}

}  // namespace
}  // namespace nvmeof::tcp
