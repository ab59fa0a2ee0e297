#include "nvmeof/proto/log_pages.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

namespace nvmeof {
namespace {

struct FieldOffset {
  const char* name;
  size_t actual;
  size_t spec;
};
#define NVMEOF_OFFSET(type, field, spec) \
  FieldOffset { #field, offsetof(type, field), spec }

TEST(LogPageLayoutTest, SizesAndOffsets) {
  EXPECT_EQ(sizeof(ErrorInformationEntry), 64u);
  EXPECT_EQ(sizeof(SmartHealthLog), 512u);
  EXPECT_EQ(sizeof(FirmwareSlotInfo), 512u);
  EXPECT_EQ(sizeof(ChangedNamespaceList), 4096u);
  EXPECT_EQ(sizeof(CommandsSupportedAndEffects), 4096u);
  EXPECT_EQ(sizeof(DiscoveryLogHeader), 1024u);
  EXPECT_EQ(sizeof(DiscoveryLogEntry), 1024u);
  const FieldOffset fields[] = {
      NVMEOF_OFFSET(ErrorInformationEntry, error_count, 0),
      NVMEOF_OFFSET(ErrorInformationEntry, sqid, 8),
      NVMEOF_OFFSET(ErrorInformationEntry, cid, 10),
      NVMEOF_OFFSET(ErrorInformationEntry, status_info, 12),
      NVMEOF_OFFSET(ErrorInformationEntry, parameter_error_location, 14),
      NVMEOF_OFFSET(ErrorInformationEntry, lba, 16),
      NVMEOF_OFFSET(ErrorInformationEntry, nsid, 24),
      NVMEOF_OFFSET(ErrorInformationEntry, trtype, 29),
      NVMEOF_OFFSET(ErrorInformationEntry, command_specific_info, 32),
      NVMEOF_OFFSET(SmartHealthLog, critical_warning, 0),
      NVMEOF_OFFSET(SmartHealthLog, composite_temperature, 1),
      NVMEOF_OFFSET(SmartHealthLog, available_spare, 3),
      NVMEOF_OFFSET(SmartHealthLog, available_spare_threshold, 4),
      NVMEOF_OFFSET(SmartHealthLog, percentage_used, 5),
      NVMEOF_OFFSET(SmartHealthLog, endurance_group_critical_warning_summary,
                    6),
      NVMEOF_OFFSET(SmartHealthLog, data_units_read, 32),
      NVMEOF_OFFSET(SmartHealthLog, data_units_written, 48),
      NVMEOF_OFFSET(SmartHealthLog, host_read_commands, 64),
      NVMEOF_OFFSET(SmartHealthLog, host_write_commands, 80),
      NVMEOF_OFFSET(SmartHealthLog, controller_busy_time, 96),
      NVMEOF_OFFSET(SmartHealthLog, power_cycles, 112),
      NVMEOF_OFFSET(SmartHealthLog, power_on_hours, 128),
      NVMEOF_OFFSET(SmartHealthLog, unsafe_shutdowns, 144),
      NVMEOF_OFFSET(SmartHealthLog, media_errors, 160),
      NVMEOF_OFFSET(SmartHealthLog, number_of_error_log_entries, 176),
      NVMEOF_OFFSET(SmartHealthLog, warning_composite_temperature_time, 192),
      NVMEOF_OFFSET(SmartHealthLog, critical_composite_temperature_time, 196),
      NVMEOF_OFFSET(FirmwareSlotInfo, afi, 0),
      NVMEOF_OFFSET(FirmwareSlotInfo, frs, 8),
      NVMEOF_OFFSET(CommandsSupportedAndEffects, acs, 0),
      NVMEOF_OFFSET(CommandsSupportedAndEffects, iocs, 1024),
      NVMEOF_OFFSET(DiscoveryLogHeader, genctr, 0),
      NVMEOF_OFFSET(DiscoveryLogHeader, numrec, 8),
      NVMEOF_OFFSET(DiscoveryLogHeader, recfmt, 16),
      NVMEOF_OFFSET(DiscoveryLogEntry, trtype, 0),
      NVMEOF_OFFSET(DiscoveryLogEntry, adrfam, 1),
      NVMEOF_OFFSET(DiscoveryLogEntry, subtype, 2),
      NVMEOF_OFFSET(DiscoveryLogEntry, treq, 3),
      NVMEOF_OFFSET(DiscoveryLogEntry, portid, 4),
      NVMEOF_OFFSET(DiscoveryLogEntry, cntlid, 6),
      NVMEOF_OFFSET(DiscoveryLogEntry, asqsz, 8),
      NVMEOF_OFFSET(DiscoveryLogEntry, eflags, 10),
      NVMEOF_OFFSET(DiscoveryLogEntry, trsvcid, 32),
      NVMEOF_OFFSET(DiscoveryLogEntry, subnqn, 256),
      NVMEOF_OFFSET(DiscoveryLogEntry, traddr, 512),
      NVMEOF_OFFSET(DiscoveryLogEntry, tsas, 768),
  };
  for (const FieldOffset& f : fields) EXPECT_EQ(f.actual, f.spec) << f.name;
  EXPECT_EQ(sizeof(FirmwareSlotInfo::frs[0]), 8u);
}

TEST(GetLogPageTest, NumdIsZeroBasedDwords) {
  EXPECT_EQ(NumdFromBytes(4), 0u);
  EXPECT_EQ(NumdFromBytes(512), 127u);
  EXPECT_EQ(NumdFromBytes(4096), 1023u);
  EXPECT_EQ(NumdFromBytes(uint64_t{1} << 34), 0xFFFFFFFFu);
  EXPECT_EQ(BytesFromNumd(0), 4u);
  EXPECT_EQ(BytesFromNumd(1023), 4096u);
  EXPECT_EQ(BytesFromNumd(0xFFFFFFFF), uint64_t{1} << 34);
}

TEST(GetLogPageTest, BuildSplitsNumdAndOffset) {
  GetLogPageCommand cmd;
  cmd.lid = static_cast<uint8_t>(LogPageId::kDiscovery);
  cmd.lsp = 0x7F;
  cmd.rae = true;
  cmd.numd = 0x00012345;
  cmd.lsi = 0xBEEF;
  cmd.lpo = 0x0000000100000200;
  cmd.uuid_index = 0x55;
  cmd.ot = true;
  cmd.csi = 2;
  cmd.nsid = 0xFFFFFFFF;
  const Sqe sqe = BuildGetLogPageSqe(cmd);
  EXPECT_EQ(sqe.opcode, 0x02);
  EXPECT_EQ(sqe.nsid, 0xFFFFFFFFu);
  EXPECT_EQ(sqe.cdw10, 0x2345FF70u);  // NUMDL, RAE, LSP, LID
  EXPECT_EQ(sqe.cdw11, 0xBEEF0001u);  // LSI, NUMDU
  EXPECT_EQ(sqe.cdw12, 0x00000200u);
  EXPECT_EQ(sqe.cdw13, 0x00000001u);
  EXPECT_EQ(sqe.cdw14, 0x02800055u);
  EXPECT_EQ(ParseGetLogPageSqe(sqe), cmd);
  EXPECT_EQ(cmd.length_bytes(), (0x12345u + 1) * 4);
}

TEST(GetLogPageTest, SimpleRoundTrip) {
  GetLogPageCommand cmd;
  cmd.lid = static_cast<uint8_t>(LogPageId::kSmartHealth);
  cmd.numd = NumdFromBytes(sizeof(SmartHealthLog));
  const Sqe sqe = BuildGetLogPageSqe(cmd);
  EXPECT_EQ(sqe.cdw10, (127u << 16) | 0x02);
  EXPECT_EQ(sqe.cdw11, 0u);
  const GetLogPageCommand back = ParseGetLogPageSqe(sqe);
  EXPECT_EQ(back, cmd);
  EXPECT_EQ(back.length_bytes(), 512u);
}

TEST(Counter128Test, AddCarriesIntoHighHalf) {
  Counter128 c = Counter128::FromU64(UINT64_MAX);
  c.Add(1);
  EXPECT_EQ(c.high, 1u);
  EXPECT_EQ(c.low, 0u);
  c.Add(5);
  EXPECT_EQ(c.low, 5u);
  EXPECT_EQ(c.SaturatedU64(), UINT64_MAX);
  EXPECT_EQ(Counter128::FromU64(42).SaturatedU64(), 42u);
  EXPECT_LT(Counter128::FromU64(UINT64_MAX), c);
  EXPECT_LT((Counter128{1, 0}), (Counter128{1, 1}));
  EXPECT_EQ(Counter128::FromU64(7).Add(3), Counter128::FromU64(10));
}

TEST(Counter128Test, StoreAndLoadLittleEndian) {
  std::array<uint8_t, 16> field{};
  StoreCounter128(Counter128{0x0F0E0D0C0B0A0908, 0x0706050403020100}, field);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(field[i], i) << i;
  const Counter128 c = LoadCounter128(field);
  EXPECT_EQ(c.low, 0x0706050403020100u);
  EXPECT_EQ(c.high, 0x0F0E0D0C0B0A0908u);
}

TEST(SmartHealthLogTest, FieldsThroughBytes) {
  SmartHealthLog log;
  std::memset(&log, 0, sizeof(log));
  log.set_composite_temperature_kelvin(0x0143);  // 323 K
  StoreCounter128(Counter128::FromU64(DataUnitsFrom512ByteUnits(2500)),
                  log.data_units_read);
  StoreCounter128(Counter128{1, 2}, log.power_on_hours);
  log.warning_composite_temperature_time = 0x11223344;
  std::array<uint8_t, 512> raw;
  std::memcpy(raw.data(), &log, raw.size());
  EXPECT_EQ(raw[1], 0x43);
  EXPECT_EQ(raw[2], 0x01);
  EXPECT_EQ(raw[32], 3);  // 2500 units of 512 bytes -> 3 data units
  EXPECT_EQ(raw[128], 2);
  EXPECT_EQ(raw[136], 1);
  EXPECT_EQ(raw[192], 0x44);
  EXPECT_EQ(log.composite_temperature_kelvin(), 323);
  EXPECT_EQ(LoadCounter128(log.power_on_hours), (Counter128{1, 2}));
}

TEST(SmartHealthLogTest, DataUnitsRoundUp) {
  EXPECT_EQ(DataUnitsFrom512ByteUnits(0), 0u);
  EXPECT_EQ(DataUnitsFrom512ByteUnits(1), 1u);
  EXPECT_EQ(DataUnitsFrom512ByteUnits(1000), 1u);
  EXPECT_EQ(DataUnitsFrom512ByteUnits(1001), 2u);
}

TEST(FirmwareSlotInfoTest, AfiAndRevisions) {
  FirmwareSlotInfo fw;
  std::memset(&fw, 0, sizeof(fw));
  fw.afi = MakeAfi(1, 2);
  EXPECT_EQ(fw.afi, 0x21);
  EXPECT_EQ(fw.active_slot(), 1);
  EXPECT_EQ(fw.next_reset_slot(), 2);
  ASSERT_TRUE(SetAsciiField(fw.frs[0], "1.0").ok());
  ASSERT_TRUE(SetAsciiField(fw.frs[6], "7.0").ok());
  std::array<uint8_t, 512> raw;
  std::memcpy(raw.data(), &fw, raw.size());
  EXPECT_EQ(raw[8], '1');
  EXPECT_EQ(raw[11], ' ');
  EXPECT_EQ(raw[56], '7');
  EXPECT_EQ(ReadAsciiField(fw.frs[0]), "1.0");
  EXPECT_EQ(ReadAsciiField(fw.frs[1]), "");  // empty slot: all zero
}

TEST(EffectsTest, BitsAndIndexing) {
  CommandsSupportedAndEffects e;
  std::memset(&e, 0, sizeof(e));
  e.acs[static_cast<uint8_t>(AdminOpcode::kIdentify)] = kEffectsCsupp;
  e.iocs[static_cast<uint8_t>(NvmOpcode::kWrite)] =
      kEffectsCsupp | kEffectsLbcc;
  std::array<uint8_t, 4096> raw;
  std::memcpy(raw.data(), &e, raw.size());
  EXPECT_EQ(raw[6 * 4], 0x01);
  EXPECT_EQ(raw[1024 + 1 * 4], 0x03);
  EXPECT_EQ(kEffectsNcc, 1u << 2);
  EXPECT_EQ(kEffectsNic, 1u << 3);
  EXPECT_EQ(kEffectsCcc, 1u << 4);
  EXPECT_EQ(EffectsCse(2u << 16 | kEffectsCsupp), 2u);
}

TEST(ChangedNamespaceListTest, Layout) {
  ChangedNamespaceList list{};
  list.nsid[0] = 1;
  list.nsid[1] = 0x10;
  std::array<uint8_t, 4096> raw;
  std::memcpy(raw.data(), &list, raw.size());
  EXPECT_EQ(raw[0], 1);
  EXPECT_EQ(raw[4], 0x10);
  EXPECT_EQ(kChangedNamespaceListOverflow, 0xFFFFFFFFu);
}

DiscoveryEntryFields SampleEntry() {
  DiscoveryEntryFields f;
  f.trtype = kTrtypeTcp;
  f.adrfam = kAdrfamIpv4;
  f.subtype = kSubtypeNvm;
  f.treq = kTreqSecureChannelNotRequired | kTreqDisableSqFlowControl;
  f.portid = 1;
  f.cntlid = 0xFFFF;
  f.asqsz = 32;
  f.eflags = kEflagsDuplicateReturnedInfo;
  f.trsvcid = "4420";
  f.subnqn = "nqn.2016-06.io.spdk:cnode1";
  f.traddr = "192.168.1.2";
  f.sectype = kSectypeNone;
  return f;
}

TEST(DiscoveryLogTest, BuildPlacesFieldsAndParseRoundTrips) {
  Result<DiscoveryLogEntry> e = BuildDiscoveryLogEntry(SampleEntry());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  std::array<char, 1024> raw;
  std::memcpy(raw.data(), &*e, raw.size());
  EXPECT_EQ(raw[0], 3);
  EXPECT_EQ(raw[1], 1);
  EXPECT_EQ(raw[2], 2);
  EXPECT_EQ(raw[3], 0x06);
  EXPECT_EQ(raw[4], 1);
  EXPECT_EQ(static_cast<uint8_t>(raw[6]), 0xFF);
  EXPECT_EQ(raw[8], 32);
  EXPECT_EQ(raw[10], 1);
  EXPECT_EQ(std::string(&raw[32], 32), "4420" + std::string(28, ' '));
  EXPECT_EQ(std::string(&raw[256]), "nqn.2016-06.io.spdk:cnode1");
  EXPECT_EQ(raw[256 + 26], '\0');
  EXPECT_EQ(std::string(&raw[512], 11), "192.168.1.2");
  EXPECT_EQ(raw[512 + 11], ' ');
  EXPECT_EQ(raw[768], kSectypeNone);
  for (size_t i = 12; i < 32; ++i) ASSERT_EQ(raw[i], 0) << i;

  Result<DiscoveryEntryFields> f = ParseDiscoveryLogEntry(*e);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f, SampleEntry());
}

TEST(DiscoveryLogTest, NulPaddedEntryAsLinuxWritesIt) {
  Result<DiscoveryLogEntry> e = BuildDiscoveryLogEntry(SampleEntry(), '\0');
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->trsvcid[4], '\0');
  EXPECT_EQ(e->traddr[11], '\0');
  EXPECT_EQ(*ParseDiscoveryLogEntry(*e), SampleEntry());
}

TEST(DiscoveryLogTest, SectypeOnlyForTcp) {
  DiscoveryEntryFields f = SampleEntry();
  f.sectype = kSectypeTls13;
  Result<DiscoveryLogEntry> e = BuildDiscoveryLogEntry(f);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->tsas[0], 2);
  EXPECT_EQ(ParseDiscoveryLogEntry(*e)->sectype, kSectypeTls13);
  f.trtype = kTrtypeRdma;
  e = BuildDiscoveryLogEntry(f);
  EXPECT_EQ(e->tsas[0], 0);
}

TEST(DiscoveryLogTest, Errors) {
  DiscoveryEntryFields f = SampleEntry();
  const std::string long_svc(33, '1');
  f.trsvcid = long_svc;
  Result<DiscoveryLogEntry> e = BuildDiscoveryLogEntry(f);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("TRSVCID"), std::string_view::npos);

  f = SampleEntry();
  const std::string long_addr(257, 'a');
  f.traddr = long_addr;
  EXPECT_FALSE(BuildDiscoveryLogEntry(f).ok());

  Result<DiscoveryLogEntry> ok = BuildDiscoveryLogEntry(SampleEntry());
  ASSERT_TRUE(ok.ok());
  std::memset(ok->subnqn, 'n', sizeof(ok->subnqn));
  Result<DiscoveryEntryFields> parsed = ParseDiscoveryLogEntry(*ok);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kProtocolError);
}

TEST(DiscoveryLogTest, HeaderAndPageSize) {
  DiscoveryLogHeader h;
  std::memset(&h, 0, sizeof(h));
  h.genctr = 0x0102030405060708;
  h.numrec = 2;
  std::array<uint8_t, 1024> raw;
  std::memcpy(raw.data(), &h, raw.size());
  EXPECT_EQ(raw[0], 0x08);
  EXPECT_EQ(raw[7], 0x01);
  EXPECT_EQ(raw[8], 2);
  EXPECT_EQ(DiscoveryLogPageSize(0), 1024u);
  EXPECT_EQ(DiscoveryLogPageSize(2), 3072u);
}

}  // namespace
}  // namespace nvmeof
