#include "nvmeof/proto/identify.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace nvmeof {
namespace {

struct FieldOffset {
  const char* name;
  size_t actual;
  size_t spec;
};
#define NVMEOF_OFFSET(type, field, spec) \
  FieldOffset { #field, offsetof(type, field), spec }

TEST(IdentifyControllerTest, SizeAndOffsets) {
  EXPECT_EQ(sizeof(IdentifyController), 4096u);
  EXPECT_EQ(sizeof(PowerStateDescriptor), 32u);
  const FieldOffset fields[] = {
      NVMEOF_OFFSET(IdentifyController, vid, 0),
      NVMEOF_OFFSET(IdentifyController, ssvid, 2),
      NVMEOF_OFFSET(IdentifyController, sn, 4),
      NVMEOF_OFFSET(IdentifyController, mn, 24),
      NVMEOF_OFFSET(IdentifyController, fr, 64),
      NVMEOF_OFFSET(IdentifyController, rab, 72),
      NVMEOF_OFFSET(IdentifyController, ieee, 73),
      NVMEOF_OFFSET(IdentifyController, cmic, 76),
      NVMEOF_OFFSET(IdentifyController, mdts, 77),
      NVMEOF_OFFSET(IdentifyController, cntlid, 78),
      NVMEOF_OFFSET(IdentifyController, ver, 80),
      NVMEOF_OFFSET(IdentifyController, rtd3r, 84),
      NVMEOF_OFFSET(IdentifyController, rtd3e, 88),
      NVMEOF_OFFSET(IdentifyController, oaes, 92),
      NVMEOF_OFFSET(IdentifyController, ctratt, 96),
      NVMEOF_OFFSET(IdentifyController, cntrltype, 111),
      NVMEOF_OFFSET(IdentifyController, fguid, 112),
      NVMEOF_OFFSET(IdentifyController, oacs, 256),
      NVMEOF_OFFSET(IdentifyController, acl, 258),
      NVMEOF_OFFSET(IdentifyController, aerl, 259),
      NVMEOF_OFFSET(IdentifyController, frmw, 260),
      NVMEOF_OFFSET(IdentifyController, lpa, 261),
      NVMEOF_OFFSET(IdentifyController, elpe, 262),
      NVMEOF_OFFSET(IdentifyController, npss, 263),
      NVMEOF_OFFSET(IdentifyController, avscc, 264),
      NVMEOF_OFFSET(IdentifyController, apsta, 265),
      NVMEOF_OFFSET(IdentifyController, wctemp, 266),
      NVMEOF_OFFSET(IdentifyController, cctemp, 268),
      NVMEOF_OFFSET(IdentifyController, kas, 320),
      NVMEOF_OFFSET(IdentifyController, sqes, 512),
      NVMEOF_OFFSET(IdentifyController, cqes, 513),
      NVMEOF_OFFSET(IdentifyController, maxcmd, 514),
      NVMEOF_OFFSET(IdentifyController, nn, 516),
      NVMEOF_OFFSET(IdentifyController, oncs, 520),
      NVMEOF_OFFSET(IdentifyController, fuses, 522),
      NVMEOF_OFFSET(IdentifyController, fna, 524),
      NVMEOF_OFFSET(IdentifyController, vwc, 525),
      NVMEOF_OFFSET(IdentifyController, awun, 526),
      NVMEOF_OFFSET(IdentifyController, awupf, 528),
      NVMEOF_OFFSET(IdentifyController, nvscc, 530),
      NVMEOF_OFFSET(IdentifyController, nwpc, 531),
      NVMEOF_OFFSET(IdentifyController, acwu, 532),
      NVMEOF_OFFSET(IdentifyController, sgls, 536),
      NVMEOF_OFFSET(IdentifyController, mnan, 540),
      NVMEOF_OFFSET(IdentifyController, subnqn, 768),
      NVMEOF_OFFSET(IdentifyController, ioccsz, 1792),
      NVMEOF_OFFSET(IdentifyController, iorcsz, 1796),
      NVMEOF_OFFSET(IdentifyController, icdoff, 1800),
      NVMEOF_OFFSET(IdentifyController, fcatt, 1802),
      NVMEOF_OFFSET(IdentifyController, msdbd, 1803),
      NVMEOF_OFFSET(IdentifyController, ofcs, 1804),
      NVMEOF_OFFSET(IdentifyController, psd, 2048),
      NVMEOF_OFFSET(IdentifyController, vs, 3072),
  };
  for (const FieldOffset& f : fields) EXPECT_EQ(f.actual, f.spec) << f.name;
}

TEST(IdentifyControllerTest, ReadsLittleEndianFieldsFromBytes) {
  std::array<uint8_t, 4096> raw{};
  raw[78] = 0x34;  // CNTLID
  raw[79] = 0x12;
  raw[80] = 0x00;  // VER 2.0.0
  raw[81] = 0x00;
  raw[82] = 0x02;
  raw[536] = 0x05;        // SGLS: byte aligned, keyed
  raw[1792] = 0x04;       // IOCCSZ = 4 (64 bytes)
  raw[2048 + 32] = 0xC4;  // PSD1.MP = 0x09C4 (25 W)
  raw[2048 + 33] = 0x09;
  IdentifyController id;
  std::memcpy(&id, raw.data(), sizeof(id));
  EXPECT_EQ(id.cntlid, 0x1234);
  EXPECT_EQ(id.ver, 0x00020000u);
  EXPECT_EQ(id.sgls & kSglsSupportedMask, kSglsByteAligned);
  EXPECT_TRUE(id.sgls & kSglsKeyedDataBlock);
  EXPECT_EQ(id.ioccsz, 4u);
  EXPECT_EQ(id.psd[1].mp, 2500);
}

TEST(IdentifyNamespaceTest, SizeAndOffsets) {
  EXPECT_EQ(sizeof(IdentifyNamespace), 4096u);
  EXPECT_EQ(sizeof(LbaFormat), 4u);
  const FieldOffset fields[] = {
      NVMEOF_OFFSET(IdentifyNamespace, nsze, 0),
      NVMEOF_OFFSET(IdentifyNamespace, ncap, 8),
      NVMEOF_OFFSET(IdentifyNamespace, nuse, 16),
      NVMEOF_OFFSET(IdentifyNamespace, nsfeat, 24),
      NVMEOF_OFFSET(IdentifyNamespace, nlbaf, 25),
      NVMEOF_OFFSET(IdentifyNamespace, flbas, 26),
      NVMEOF_OFFSET(IdentifyNamespace, mc, 27),
      NVMEOF_OFFSET(IdentifyNamespace, dpc, 28),
      NVMEOF_OFFSET(IdentifyNamespace, dps, 29),
      NVMEOF_OFFSET(IdentifyNamespace, nmic, 30),
      NVMEOF_OFFSET(IdentifyNamespace, rescap, 31),
      NVMEOF_OFFSET(IdentifyNamespace, fpi, 32),
      NVMEOF_OFFSET(IdentifyNamespace, dlfeat, 33),
      NVMEOF_OFFSET(IdentifyNamespace, nawun, 34),
      NVMEOF_OFFSET(IdentifyNamespace, nawupf, 36),
      NVMEOF_OFFSET(IdentifyNamespace, nacwu, 38),
      NVMEOF_OFFSET(IdentifyNamespace, nabsn, 40),
      NVMEOF_OFFSET(IdentifyNamespace, nabo, 42),
      NVMEOF_OFFSET(IdentifyNamespace, nabspf, 44),
      NVMEOF_OFFSET(IdentifyNamespace, noiob, 46),
      NVMEOF_OFFSET(IdentifyNamespace, nvmcap, 48),
      NVMEOF_OFFSET(IdentifyNamespace, anagrpid, 92),
      NVMEOF_OFFSET(IdentifyNamespace, nsattr, 99),
      NVMEOF_OFFSET(IdentifyNamespace, nguid, 104),
      NVMEOF_OFFSET(IdentifyNamespace, eui64, 120),
      NVMEOF_OFFSET(IdentifyNamespace, lbaf, 128),
      NVMEOF_OFFSET(IdentifyNamespace, vs, 384),
      NVMEOF_OFFSET(LbaFormat, ms, 0),
      NVMEOF_OFFSET(LbaFormat, lbads, 2),
      NVMEOF_OFFSET(LbaFormat, rp, 3),
  };
  for (const FieldOffset& f : fields) EXPECT_EQ(f.actual, f.spec) << f.name;
}

TEST(IdentifyNamespaceTest, LbaFormatsFromBytes) {
  std::array<uint8_t, 4096> raw{};
  raw[0] = 0x00;  // NSZE = 0x200000 blocks
  raw[2] = 0x20;
  raw[26] = MakeFlbas(1);
  raw[128 + 4 + 0] = 8;   // LBAF1.MS = 8
  raw[128 + 4 + 2] = 12;  // LBAF1.LBADS = 12 (4096 bytes)
  raw[128 + 4 + 3] = 2;   // LBAF1.RP
  IdentifyNamespace ns;
  std::memcpy(&ns, raw.data(), sizeof(ns));
  EXPECT_EQ(ns.nsze, 0x200000u);
  const LbaFormat& f = ns.lbaf[FlbasIndex(ns.flbas)];
  EXPECT_EQ(f.ms, 8);
  EXPECT_EQ(f.block_size(), 4096u);
  EXPECT_EQ(f.rp & 0x3, 2);
  EXPECT_EQ((LbaFormat{0, 9, 0}).block_size(), 512u);
}

TEST(IdentifyNamespaceTest, FlbasIndexRoundTrip) {
  for (uint8_t i = 0; i < 64; ++i) {
    EXPECT_EQ(FlbasIndex(MakeFlbas(i)), i);
    EXPECT_EQ(FlbasIndex(MakeFlbas(i, true)), i);
    EXPECT_TRUE(MakeFlbas(i, true) & kFlbasExtendedMetadata);
    EXPECT_FALSE(MakeFlbas(i) & kFlbasExtendedMetadata);
  }
  EXPECT_EQ(MakeFlbas(0x15), 0x25);  // index bits 5:4 go to FLBAS bits 6:5
  EXPECT_EQ(FlbasIndex(0x7F), 0x3F);
}

TEST(IdentifySqeTest, RoundTrip) {
  IdentifyCommand cmd;
  cmd.cns = Cns::kIoCommandSetController;
  cmd.nsid = 0;
  cmd.cntid = 0xABCD;
  cmd.cnssid = 0x1234;
  cmd.csi = kCsiZoned;
  const Sqe sqe = BuildIdentifySqe(cmd);
  EXPECT_EQ(sqe.opcode, 0x06);
  EXPECT_EQ(sqe.cdw10, 0xABCD0006u);
  EXPECT_EQ(sqe.cdw11, 0x02001234u);
  EXPECT_EQ(ParseIdentifySqe(sqe), cmd);

  const IdentifyCommand ns{Cns::kNamespace, 1, 0, 0, 0};
  EXPECT_EQ(BuildIdentifySqe(ns).nsid, 1u);
  EXPECT_EQ(ParseIdentifySqe(BuildIdentifySqe(ns)), ns);
}

TEST(AsciiFieldTest, SetPadsWithSpacesAndReadTrims) {
  IdentifyController id;
  std::memset(&id, 0, sizeof(id));
  ASSERT_TRUE(SetAsciiField(id.sn, "SN123").ok());
  EXPECT_EQ(std::string(id.sn, sizeof(id.sn)), "SN123               ");
  EXPECT_EQ(ReadAsciiField(id.sn), "SN123");
  ASSERT_TRUE(SetAsciiField(id.mn, "nvmeof RAM disk").ok());
  EXPECT_EQ(ReadAsciiField(id.mn), "nvmeof RAM disk");  // inner spaces kept
  ASSERT_TRUE(SetAsciiField(id.fr, "12345678").ok());   // exactly fits
  EXPECT_EQ(ReadAsciiField(id.fr), "12345678");
  ASSERT_TRUE(SetAsciiField(id.fr, "").ok());
  EXPECT_EQ(std::string(id.fr, 8), "        ");
  EXPECT_EQ(ReadAsciiField(id.fr), "");
}

TEST(AsciiFieldTest, SetRejectsAndLeavesFieldUntouched) {
  char fr[8];
  std::memcpy(fr, "ORIGINAL", 8);
  EXPECT_EQ(SetAsciiField(fr, "123456789").code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(SetAsciiField(fr, "a\tb").ok());
  EXPECT_FALSE(SetAsciiField(fr, "\x7f").ok());
  EXPECT_FALSE(SetAsciiField(fr, std::string("a\0b", 3)).ok());
  EXPECT_EQ(std::string(fr, 8), "ORIGINAL");
}

TEST(AsciiFieldTest, ReadHandlesNulPaddingAndNoPadding) {
  const char nul_padded[8] = {'4', '4', '2', '0', 0, 0, 0, 0};
  EXPECT_EQ(ReadAsciiField(nul_padded), "4420");
  const char mixed[8] = {'a', 'b', ' ', ' ', 0, 'x', 'y', 'z'};  // stops at NUL
  EXPECT_EQ(ReadAsciiField(mixed), "ab");
  const char full[4] = {'a', 'b', 'c', 'd'};
  EXPECT_EQ(ReadAsciiField(full), "abcd");
  const char spaces[4] = {' ', ' ', ' ', ' '};
  EXPECT_EQ(ReadAsciiField(spaces), "");
}

NamespaceIds AllIds() {
  NamespaceIds ids;
  ids.eui64 = std::array<uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 8};
  ids.nguid.emplace();
  ids.uuid.emplace();
  for (uint8_t i = 0; i < 16; ++i) {
    (*ids.nguid)[i] = static_cast<uint8_t>(0x10 + i);
    (*ids.uuid)[i] = static_cast<uint8_t>(0x80 + i);
  }
  ids.csi = kCsiNvm;
  return ids;
}

TEST(NsIdDescriptorTest, EncodeLayout) {
  std::array<uint8_t, kIdentifyDataSize> buf;
  buf.fill(0xEE);
  const size_t used = EncodeNsIdDescriptorList(AllIds(), buf);
  EXPECT_EQ(used, 4u + 8 + 4 + 16 + 4 + 16 + 4 + 1);
  const std::vector<uint8_t> head(buf.begin(), buf.begin() + 4);
  EXPECT_EQ(head, (std::vector<uint8_t>{1, 8, 0, 0}));
  EXPECT_EQ(buf[4], 1);
  EXPECT_EQ(buf[11], 8);
  EXPECT_EQ(buf[12], 2);  // NGUID header
  EXPECT_EQ(buf[13], 16);
  EXPECT_EQ(buf[16], 0x10);
  EXPECT_EQ(buf[32], 3);  // UUID header
  EXPECT_EQ(buf[33], 16);
  EXPECT_EQ(buf[36], 0x80);
  EXPECT_EQ(buf[52], 4);  // CSI header
  EXPECT_EQ(buf[53], 1);
  EXPECT_EQ(buf[56], kCsiNvm);
  for (size_t i = used; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0) << i;
}

TEST(NsIdDescriptorTest, RoundTrip) {
  std::array<uint8_t, kIdentifyDataSize> buf;
  const NamespaceIds ids = AllIds();
  EncodeNsIdDescriptorList(ids, buf);
  Result<NamespaceIds> decoded = DecodeNsIdDescriptorList(buf);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, ids);

  NamespaceIds only_uuid;
  only_uuid.uuid = ids.uuid;
  EncodeNsIdDescriptorList(only_uuid, buf);
  EXPECT_EQ(buf[0], 3);
  EXPECT_EQ(*DecodeNsIdDescriptorList(buf), only_uuid);

  EncodeNsIdDescriptorList(NamespaceIds{}, buf);
  EXPECT_EQ(*DecodeNsIdDescriptorList(buf), NamespaceIds{});
}

TEST(NsIdDescriptorTest, DecodeStopsAtEndOfShortBuffer) {
  std::array<uint8_t, kIdentifyDataSize> buf;
  const size_t used = EncodeNsIdDescriptorList(AllIds(), buf);
  // Exactly the descriptors, no terminator: still fine.
  Result<NamespaceIds> r = DecodeNsIdDescriptorList(std::span(buf).first(used));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, AllIds());
}

TEST(NsIdDescriptorTest, RejectsTruncatedDescriptor) {
  std::array<uint8_t, kIdentifyDataSize> buf;
  const size_t used = EncodeNsIdDescriptorList(AllIds(), buf);
  // The CSI descriptor loses its identifier byte.
  Result<NamespaceIds> r =
      DecodeNsIdDescriptorList(std::span(buf).first(used - 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kProtocolError);
  EXPECT_NE(r.status().message().find("truncated"), std::string_view::npos);
  // The EUI64 descriptor cut in the middle.
  EXPECT_FALSE(DecodeNsIdDescriptorList(std::span(buf).first(10)).ok());
  // A header cut in the middle.
  EXPECT_FALSE(DecodeNsIdDescriptorList(std::span(buf).first(2)).ok());
  // After a skipped unknown descriptor, an NGUID that runs past the end.
  std::array<uint8_t, 300> list{};
  list[0] = 0x7F;  // unknown type, 255 bytes
  list[1] = 255;
  list[259] = 2;  // NGUID: needs 259 + 4 + 16 = 279 bytes
  list[260] = 16;
  EXPECT_TRUE(DecodeNsIdDescriptorList(std::span(list).first(279)).ok());
  EXPECT_FALSE(DecodeNsIdDescriptorList(std::span(list).first(278)).ok());
}

TEST(NsIdDescriptorTest, RejectsWrongLengthAndDuplicates) {
  std::array<uint8_t, 64> buf{};
  buf[0] = 1;  // EUI64 with NIDL 16
  buf[1] = 16;
  EXPECT_FALSE(DecodeNsIdDescriptorList(buf).ok());

  buf = {};
  buf[0] = 4;  // CSI twice
  buf[1] = 1;
  buf[5] = 4;
  buf[6] = 1;
  Result<NamespaceIds> r = DecodeNsIdDescriptorList(buf);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("twice"), std::string_view::npos);
}

TEST(NsIdDescriptorTest, SkipsUnknownTypes) {
  std::array<uint8_t, 64> buf{};
  buf[0] = 0x42;  // unknown, 3 bytes
  buf[1] = 3;
  buf[7] = 4;  // then CSI = 2
  buf[8] = 1;
  buf[11] = 2;
  Result<NamespaceIds> r = DecodeNsIdDescriptorList(buf);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->csi, std::optional<uint8_t>(2));
  EXPECT_FALSE(r->eui64.has_value());
}

}  // namespace
}  // namespace nvmeof
