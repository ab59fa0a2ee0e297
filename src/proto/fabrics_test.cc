#include "nvmeof/proto/fabrics.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

namespace nvmeof {
namespace {

std::array<uint8_t, 64> Bytes(const Sqe& sqe) {
  std::array<uint8_t, 64> b;
  std::memcpy(b.data(), &sqe, sizeof(sqe));
  return b;
}
uint16_t Le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t Le32(const uint8_t* p) {
  return uint32_t{Le16(p)} | (uint32_t{Le16(p + 2)} << 16);
}
uint64_t Le64(const uint8_t* p) {
  return uint64_t{Le32(p)} | (uint64_t{Le32(p + 4)} << 32);
}

TEST(FabricsLayoutTest, Offsets) {
  EXPECT_EQ(offsetof(FabricsSqe, fctype), 4u);
  EXPECT_EQ(offsetof(ConnectSqe, recfmt), 40u);
  EXPECT_EQ(offsetof(ConnectSqe, qid), 42u);
  EXPECT_EQ(offsetof(ConnectSqe, sqsize), 44u);
  EXPECT_EQ(offsetof(ConnectSqe, cattr), 46u);
  EXPECT_EQ(offsetof(ConnectSqe, kato), 48u);
  EXPECT_EQ(offsetof(PropertySqe, attrib), 40u);
  EXPECT_EQ(offsetof(PropertySqe, ofst), 44u);
  EXPECT_EQ(offsetof(PropertySqe, value), 48u);
  EXPECT_EQ(offsetof(DisconnectSqe, recfmt), 40u);
  EXPECT_EQ(sizeof(ConnectData), 1024u);
  EXPECT_EQ(offsetof(ConnectData, hostid), 0u);
  EXPECT_EQ(offsetof(ConnectData, cntlid), 16u);
  EXPECT_EQ(offsetof(ConnectData, subnqn), 256u);
  EXPECT_EQ(offsetof(ConnectData, hostnqn), 512u);
}

TEST(ConnectTest, BuildPutsFieldsAtSpecOffsets) {
  ConnectCommand cmd;
  cmd.qid = 0x0102;
  cmd.sqsize = 127;
  cmd.cattr = kCattrDisableSqFlowControl;
  cmd.kato = 5000;
  const auto b = Bytes(BuildConnectSqe(cmd));
  EXPECT_EQ(b[0], 0x7F);
  EXPECT_EQ(b[4], 0x01);
  EXPECT_EQ(Le16(&b[40]), 0);
  EXPECT_EQ(Le16(&b[42]), 0x0102);
  EXPECT_EQ(Le16(&b[44]), 127);
  EXPECT_EQ(b[46], 0x04);
  EXPECT_EQ(Le32(&b[48]), 5000u);
  // Nothing else is set: CID, PSDT and SGL1 are the transport's.
  for (size_t i : {1, 2, 3, 5, 24, 39, 47, 52, 63}) EXPECT_EQ(b[i], 0) << i;
}

TEST(ConnectTest, RoundTrip) {
  ConnectCommand cmd{0, 7, 31, kCattrDisableSqFlowControl, 120000};
  Result<ConnectCommand> parsed = ParseConnectSqe(BuildConnectSqe(cmd));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, cmd);
}

TEST(ConnectTest, ParseRejectsOtherCommands) {
  Sqe sqe = BuildConnectSqe({});
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kIdentify);
  EXPECT_EQ(ParseConnectSqe(sqe).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseConnectSqe(BuildPropertyGetSqe({})).ok());
  EXPECT_FALSE(ParsePropertyGetSqe(BuildConnectSqe({})).ok());
  EXPECT_FALSE(ParseDisconnectSqe(BuildPropertySetSqe({})).ok());
}

TEST(PropertyTest, GetBuildAndRoundTrip) {
  const PropertyGetCommand cmd{PropertySize::k8Bytes, kPropertyCap};
  const Sqe sqe = BuildPropertyGetSqe(cmd);
  const auto b = Bytes(sqe);
  EXPECT_EQ(b[0], 0x7F);
  EXPECT_EQ(b[4], 0x04);
  EXPECT_EQ(b[40], 1);
  EXPECT_EQ(Le32(&b[44]), 0u);
  EXPECT_EQ(GetFabricsCommandType(sqe), FabricsCommandType::kPropertyGet);
  EXPECT_EQ(*ParsePropertyGetSqe(sqe), cmd);

  const PropertyGetCommand csts{PropertySize::k4Bytes, kPropertyCsts};
  EXPECT_EQ(Le32(&Bytes(BuildPropertyGetSqe(csts))[44]), 0x1Cu);
  EXPECT_EQ(*ParsePropertyGetSqe(BuildPropertyGetSqe(csts)), csts);
}

TEST(PropertyTest, SetBuildAndRoundTrip) {
  const PropertySetCommand cmd{PropertySize::k4Bytes, kPropertyCc, 0x00460001};
  const auto b = Bytes(BuildPropertySetSqe(cmd));
  EXPECT_EQ(b[4], 0x00);
  EXPECT_EQ(b[40], 0);
  EXPECT_EQ(Le32(&b[44]), 0x14u);
  EXPECT_EQ(Le64(&b[48]), 0x00460001u);
  EXPECT_EQ(*ParsePropertySetSqe(BuildPropertySetSqe(cmd)), cmd);

  const PropertySetCommand wide{PropertySize::k8Bytes, 0x28,
                                0x1122334455667788};
  EXPECT_EQ(Le64(&Bytes(BuildPropertySetSqe(wide))[48]), 0x1122334455667788u);
  EXPECT_EQ(*ParsePropertySetSqe(BuildPropertySetSqe(wide)), wide);
}

TEST(PropertyTest, ParseRejectsReservedSize) {
  auto v = std::bit_cast<PropertySqe>(BuildPropertyGetSqe({}));
  v.attrib = 2;
  EXPECT_EQ(ParsePropertyGetSqe(std::bit_cast<Sqe>(v)).status().code(),
            StatusCode::kInvalidArgument);
  v.attrib = 0xF8 | 1;  // reserved bits 7:3 are ignored
  EXPECT_EQ(ParsePropertyGetSqe(std::bit_cast<Sqe>(v))->size,
            PropertySize::k8Bytes);
}

TEST(PropertyTest, GetValueInCqe) {
  Cqe cqe{};
  SetPropertyGetValue(0xAABBCCDD11223344, &cqe);
  EXPECT_EQ(cqe.dw0, 0x11223344u);
  EXPECT_EQ(cqe.dw1, 0xAABBCCDDu);
  EXPECT_EQ(PropertyGetValue(cqe), 0xAABBCCDD11223344u);
}

TEST(PropertyTest, Widths) {
  EXPECT_EQ(PropertyWidth(kPropertyCap), 8u);
  EXPECT_EQ(PropertyWidth(kPropertyVs), 4u);
  EXPECT_EQ(PropertyWidth(kPropertyCc), 4u);
  EXPECT_EQ(PropertyWidth(kPropertyCsts), 4u);
  EXPECT_EQ(PropertyWidth(kPropertyNssr), 4u);
  EXPECT_EQ(PropertyWidth(0x04), 0u);  // the high half of CAP
  EXPECT_EQ(PropertyWidth(0x18), 0u);
}

TEST(DisconnectTest, RoundTrip) {
  const Sqe sqe = BuildDisconnectSqe({});
  EXPECT_EQ(Bytes(sqe)[4], 0x08);
  EXPECT_EQ(GetFabricsCommandType(sqe), FabricsCommandType::kDisconnect);
  EXPECT_EQ(ParseDisconnectSqe(sqe)->recfmt, 0);
  EXPECT_EQ(ParseDisconnectSqe(BuildDisconnectSqe({3}))->recfmt, 3);
}

TEST(AuthenticationTest, SendAndReceiveAtSpecOffsets) {
  const auto send = Bytes(BuildAuthenticationSqe({true, 0xE9, 1, 1, 304}));
  EXPECT_EQ(send[0], 0x7F);
  EXPECT_EQ(send[4], 0x05);
  EXPECT_EQ(send[40], 0);
  EXPECT_EQ(send[41], 0x01);  // SPSP0
  EXPECT_EQ(send[42], 0x01);  // SPSP1
  EXPECT_EQ(send[43], 0xE9);  // SECP
  EXPECT_EQ(Le32(&send[44]), 304u);
  const Sqe recv = BuildAuthenticationSqe({false, 0xE9, 1, 1, 4096});
  EXPECT_EQ(Bytes(recv)[4], 0x06);
  Result<AuthenticationCommand> parsed = ParseAuthenticationSqe(recv);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, (AuthenticationCommand{false, 0xE9, 1, 1, 4096}));
  EXPECT_TRUE(ParseAuthenticationSqe(BuildAuthenticationSqe({}))->send);
  EXPECT_FALSE(ParseAuthenticationSqe(BuildConnectSqe({})).ok());
}

TEST(ConnectDataTest, BuildPlacesFieldsAndParseRoundTrips) {
  std::array<uint8_t, 16> hostid;
  for (size_t i = 0; i < hostid.size(); ++i)
    hostid[i] = static_cast<uint8_t>(0xA0 + i);
  const std::string hostnqn =
      "nqn.2014-08.org.nvmexpress:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
  Result<ConnectData> data =
      BuildConnectData(hostid, kCntlidDynamic, kDiscoveryNqn, hostnqn);
  ASSERT_TRUE(data.ok()) << data.status().ToString();

  std::array<uint8_t, 1024> b;
  std::memcpy(b.data(), &*data, b.size());
  EXPECT_EQ(b[0], 0xA0);
  EXPECT_EQ(b[15], 0xAF);
  EXPECT_EQ(Le16(&b[16]), 0xFFFF);
  EXPECT_EQ(std::memcmp(&b[256], kDiscoveryNqn.data(), kDiscoveryNqn.size()),
            0);
  EXPECT_EQ(b[256 + kDiscoveryNqn.size()], 0);
  EXPECT_EQ(std::memcmp(&b[512], hostnqn.data(), hostnqn.size()), 0);
  for (size_t i = 768; i < 1024; ++i) ASSERT_EQ(b[i], 0) << i;

  Result<ConnectDataFields> f = ParseConnectData(*data);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(std::memcmp(f->hostid.data(), hostid.data(), 16), 0);
  EXPECT_EQ(f->hostid.data(), data->hostid);  // a view into the data
  EXPECT_EQ(f->cntlid, kCntlidDynamic);
  EXPECT_EQ(f->subnqn, kDiscoveryNqn);
  EXPECT_EQ(f->hostnqn, hostnqn);
}

TEST(ConnectDataTest, Errors) {
  const std::array<uint8_t, 16> hostid{};
  Result<ConnectData> too_long = BuildConnectData(
      hostid, 1, std::string(256, 'a'), "nqn.2014-08.com.example");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("SUBNQN"), std::string_view::npos);

  Result<ConnectData> data = BuildConnectData(hostid, 1, "a", "b");
  ASSERT_TRUE(data.ok());
  std::memset(data->hostnqn, 'x', sizeof(data->hostnqn));  // no NUL
  Result<ConnectDataFields> f = ParseConnectData(*data);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kProtocolError);
  EXPECT_NE(f.status().message().find("HOSTNQN"), std::string_view::npos);
}

TEST(ConnectResponseTest, Dw0) {
  const ConnectResponse r{0x1234, kAuthreqAtr};
  EXPECT_EQ(r.ToDw0(), 0x00021234u);
  EXPECT_EQ(ConnectResponse::FromDw0(0x00061234),
            (ConnectResponse{0x1234, 0x6}));
  EXPECT_EQ(ConnectResponse::FromDw0(r.ToDw0()), r);

  EXPECT_EQ((ConnectInvalidParameter{44, false}).ToDw0(), 44u);
  EXPECT_EQ((ConnectInvalidParameter{256, true}).ToDw0(), 0x00010100u);
  EXPECT_EQ(ConnectInvalidParameter::FromDw0(0x00010200),
            (ConnectInvalidParameter{512, true}));
}

TEST(CapRegisterTest, DecodesKnownValue) {
  // MQES 127, CQR, TO 30 (15 s), CSS NVM, MPSMIN 0, MPSMAX 4.
  const uint64_t raw =
      0x7F | (1ull << 16) | (30ull << 24) | (1ull << 37) | (4ull << 52);
  const CapRegister cap = CapRegister::FromU64(raw);
  EXPECT_EQ(cap.mqes, 127);
  EXPECT_TRUE(cap.cqr);
  EXPECT_EQ(cap.ams, 0);
  EXPECT_EQ(cap.to, 30);
  EXPECT_EQ(cap.dstrd, 0);
  EXPECT_FALSE(cap.nssrs);
  EXPECT_EQ(cap.css, kCapCssNvm);
  EXPECT_EQ(cap.mpsmin, 0);
  EXPECT_EQ(cap.mpsmax, 4);
  EXPECT_FALSE(cap.cmbs);
  EXPECT_EQ(cap.ToU64(), raw);
}

TEST(CapRegisterTest, EachFieldAtItsBits) {
  CapRegister cap;
  cap.css = kCapCssIoCommandSets;
  EXPECT_EQ(cap.ToU64(), 1ull << 43);
  cap = {};
  cap.css = kCapCssNoIo;
  EXPECT_EQ(cap.ToU64(), 1ull << 44);
  cap = {};
  cap.ams = 3;
  EXPECT_EQ(cap.ToU64(), 3ull << 17);
  cap = {};
  cap.dstrd = 0xF;
  cap.nssrs = true;
  EXPECT_EQ(cap.ToU64(), 0x1Full << 32);
  cap = {};
  cap.cmbs = true;
  cap.pmrs = true;
  cap.crms = 3;
  EXPECT_EQ(cap.ToU64(), (1ull << 56) | (1ull << 57) | (3ull << 59));
  // Reserved bits (23:19, 63:61) are dropped; every defined bit survives.
  EXPECT_EQ(CapRegister::FromU64(~0ull).ToU64(), 0x1FFFFFFFFF07FFFFull);
  EXPECT_EQ(CapRegister::FromU64(0x1FFFFFFFFF07FFFFull),
            CapRegister::FromU64(~0ull));
}

TEST(VsRegisterTest, Encoding) {
  EXPECT_EQ(NvmeVersion(1, 4, 0), 0x00010400u);
  EXPECT_EQ(NvmeVersion(2, 0, 0), 0x00020000u);
  const VsRegister vs = VsRegister::FromU32(0x00010302);
  EXPECT_EQ(vs.major, 1);
  EXPECT_EQ(vs.minor, 3);
  EXPECT_EQ(vs.tertiary, 2);
  EXPECT_EQ(vs.ToU32(), 0x00010302u);
}

TEST(CcRegisterTest, LinuxEnableValue) {
  // What the Linux host writes to enable: EN, IOSQES 6, IOCQES 4.
  const CcRegister cc = CcRegister::FromU32(0x00460001);
  EXPECT_TRUE(cc.en);
  EXPECT_EQ(cc.css, kCcCssNvm);
  EXPECT_EQ(cc.mps, 0);
  EXPECT_EQ(cc.shn, kCcShnNone);
  EXPECT_EQ(cc.iosqes, 6);
  EXPECT_EQ(cc.iocqes, 4);
  EXPECT_EQ(cc.ToU32(), 0x00460001u);

  CcRegister shutdown;
  shutdown.shn = kCcShnNormal;
  EXPECT_EQ(shutdown.ToU32(), 1u << 14);
  shutdown.shn = kCcShnAbrupt;
  EXPECT_EQ(shutdown.ToU32(), 2u << 14);
  CcRegister other;
  other.css = kCcCssAllIo;
  other.mps = 0xF;
  other.ams = 7;
  other.crime = true;
  EXPECT_EQ(other.ToU32(), (6u << 4) | (0xFu << 7) | (7u << 11) | (1u << 24));
  EXPECT_EQ(CcRegister::FromU32(~0u).ToU32(), 0x01FFFFF1u);
}

TEST(CstsRegisterTest, Encoding) {
  CstsRegister csts;
  csts.rdy = true;
  csts.shst = kCstsShstComplete;
  EXPECT_EQ(csts.ToU32(), 0x9u);
  const CstsRegister d = CstsRegister::FromU32(0x32);  // CFS, NSSRO, PP
  EXPECT_FALSE(d.rdy);
  EXPECT_TRUE(d.cfs);
  EXPECT_EQ(d.shst, kCstsShstNormal);
  EXPECT_TRUE(d.nssro);
  EXPECT_TRUE(d.pp);
  EXPECT_EQ(CstsRegister::FromU32(0x4).shst, kCstsShstOccurring);
  EXPECT_EQ(CstsRegister::FromU32(~0u).ToU32(), 0x7Fu);
}

TEST(FabricsConstantsTest, SpecValues) {
  EXPECT_EQ(static_cast<int>(FabricsCommandType::kAuthenticationSend), 0x05);
  EXPECT_EQ(static_cast<int>(FabricsCommandType::kAuthenticationReceive), 0x06);
  EXPECT_EQ(kPropertyIntms, 0x0Cu);
  EXPECT_EQ(kPropertyIntmc, 0x10u);
  EXPECT_EQ(kDiscoveryNqn, "nqn.2014-08.org.nvmexpress.discovery");
  EXPECT_TRUE(ValidateNqn(kDiscoveryNqn).ok());
}

}  // namespace
}  // namespace nvmeof
