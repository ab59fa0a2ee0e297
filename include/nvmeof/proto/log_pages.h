// The Get Log Page command and the log pages nvmeof serves or reads: Error
// Information, SMART / Health Information, Firmware Slot Information,
// Changed Namespace List, Commands Supported and Effects, and the Discovery
// log page of NVMe over Fabrics.
//
// Sources: NVM Express Base Specification 2.0, "Get Log Page command" and
// its log page definitions, "Discovery Log Page"; checked against Linux
// include/linux/nvme.h (nvme_smart_log, nvme_fw_slot_info_log,
// nvme_effects_log, nvmf_disc_rsp_page_hdr/entry), libnvme
// (nvme_error_log_page) and SPDK include/spdk/nvmf_spec.h.

#ifndef NVMEOF_PROTO_LOG_PAGES_H_
#define NVMEOF_PROTO_LOG_PAGES_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "nvmeof/proto/identify.h"  // SetAsciiField, ReadAsciiField
#include "nvmeof/proto/nqn.h"
#include "nvmeof/proto/nvme.h"
#include "nvmeof/status.h"

namespace nvmeof {

// Log Page Identifiers.
enum class LogPageId : uint8_t {
  kSupportedLogPages = 0x00,
  kErrorInformation = 0x01,
  kSmartHealth = 0x02,
  kFirmwareSlot = 0x03,
  kChangedNamespaceList = 0x04,
  kCommandsSupportedAndEffects = 0x05,
  kDiscovery = 0x70,
};

// ---- Get Log Page SQE -------------------------------------------------------
// CDW10: LID 7:0, LSP 14:8, RAE 15, NUMDL 31:16. CDW11: NUMDU 15:0, LSI
// 31:16. CDW12/13: LPOL/LPOU (byte offset). CDW14: UUID index 6:0, OT 23,
// CSI 31:24. NUMD (NUMDU:NUMDL) is the 0-based number of dwords to return.

struct GetLogPageCommand {
  uint8_t lid = 0;
  uint8_t lsp = 0;    // 7 bits
  bool rae = false;   // retain asynchronous event
  uint32_t numd = 0;  // 0-based dword count
  uint16_t lsi = 0;
  uint64_t lpo = 0;        // byte offset into the log page
  uint8_t uuid_index = 0;  // 7 bits
  bool ot = false;         // offset type: LPO is an index, not a byte offset
  uint8_t csi = 0;
  uint32_t nsid = 0;

  // The number of bytes the command asks for.
  constexpr uint64_t length_bytes() const { return (uint64_t{numd} + 1) * 4; }
  friend bool operator==(const GetLogPageCommand&,
                         const GetLogPageCommand&) = default;
};

// NUMD for a transfer of `bytes`. REQUIRES: bytes is a multiple of 4 in
// 4..2^34.
constexpr uint32_t NumdFromBytes(uint64_t bytes) {
  return static_cast<uint32_t>(bytes / 4 - 1);
}
// The byte count that NUMD stands for (up to 16 GiB).
constexpr uint64_t BytesFromNumd(uint32_t numd) {
  return (uint64_t{numd} + 1) * 4;
}

inline Sqe BuildGetLogPageSqe(const GetLogPageCommand& cmd) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kGetLogPage);
  sqe.nsid = cmd.nsid;
  sqe.cdw10 = uint32_t{cmd.lid} | (uint32_t{cmd.lsp & 0x7Fu} << 8) |
              (cmd.rae ? 1u << 15 : 0u) | ((cmd.numd & 0xFFFFu) << 16);
  sqe.cdw11 = (cmd.numd >> 16) | (uint32_t{cmd.lsi} << 16);
  sqe.cdw12 = static_cast<uint32_t>(cmd.lpo);
  sqe.cdw13 = static_cast<uint32_t>(cmd.lpo >> 32);
  sqe.cdw14 = uint32_t{cmd.uuid_index & 0x7Fu} | (cmd.ot ? 1u << 23 : 0u) |
              (uint32_t{cmd.csi} << 24);
  return sqe;
}
// Decodes the fields; does not check the opcode or judge the values.
inline GetLogPageCommand ParseGetLogPageSqe(const Sqe& sqe) {
  GetLogPageCommand cmd;
  cmd.lid = static_cast<uint8_t>(sqe.cdw10 & 0xFF);
  cmd.lsp = static_cast<uint8_t>((sqe.cdw10 >> 8) & 0x7F);
  cmd.rae = (sqe.cdw10 >> 15) & 1;
  cmd.numd = (sqe.cdw10 >> 16) | ((sqe.cdw11 & 0xFFFF) << 16);
  cmd.lsi = static_cast<uint16_t>(sqe.cdw11 >> 16);
  cmd.lpo = uint64_t{sqe.cdw12} | (uint64_t{sqe.cdw13} << 32);
  cmd.uuid_index = static_cast<uint8_t>(sqe.cdw14 & 0x7F);
  cmd.ot = (sqe.cdw14 >> 23) & 1;
  cmd.csi = static_cast<uint8_t>(sqe.cdw14 >> 24);
  cmd.nsid = sqe.nsid;
  return cmd;
}

// ---- 128-bit counters -------------------------------------------------------

// An unsigned 128-bit little-endian counter, as the SMART log holds them.
struct Counter128 {
  uint64_t high = 0;
  uint64_t low = 0;

  static constexpr Counter128 FromU64(uint64_t v) { return Counter128{0, v}; }
  // Adds `n`, carrying into the high half; wraps at 2^128.
  constexpr Counter128& Add(uint64_t n) {
    const uint64_t old = low;
    low += n;
    if (low < old) ++high;
    return *this;
  }
  // The value, or UINT64_MAX if it does not fit 64 bits.
  constexpr uint64_t SaturatedU64() const {
    return high != 0 ? UINT64_MAX : low;
  }
  // Ordered by value (high half first).
  friend constexpr auto operator<=>(const Counter128&,
                                    const Counter128&) = default;
};

inline Counter128 LoadCounter128(std::span<const uint8_t, 16> field) {
  Counter128 c;
  std::memcpy(&c.low, field.data(), 8);
  std::memcpy(&c.high, field.data() + 8, 8);
  return c;
}
inline void StoreCounter128(Counter128 c, std::span<uint8_t, 16> field) {
  std::memcpy(field.data(), &c.low, 8);
  std::memcpy(field.data() + 8, &c.high, 8);
}

// Data Units Read/Written count thousands of 512-byte units, rounded up:
// 1 means 1..1000 units of 512 bytes.
constexpr uint64_t DataUnitsFrom512ByteUnits(uint64_t units) {
  return units / 1000 + (units % 1000 != 0 ? 1 : 0);
}

// ---- Error Information (LID 0x01): 64-byte entries ------------------------

struct ErrorInformationEntry {
  uint64_t error_count;  // 0: the entry is empty
  uint16_t sqid;
  uint16_t cid;
  uint16_t status_info;  // bit 0 phase tag, 15:1 the CQE status field
  uint16_t parameter_error_location;  // 7:0 byte, 10:8 bit
  uint64_t lba;
  uint32_t nsid;
  uint8_t vendor_specific_info;  // a vendor log page ID, 0 if none
  uint8_t trtype;                // set for transport errors
  uint8_t reserved30[2];
  uint64_t command_specific_info;
  uint16_t transport_type_specific_info;
  uint8_t reserved42[22];
};
static_assert(sizeof(ErrorInformationEntry) == 64);
static_assert(offsetof(ErrorInformationEntry, sqid) == 8);
static_assert(offsetof(ErrorInformationEntry, cid) == 10);
static_assert(offsetof(ErrorInformationEntry, status_info) == 12);
static_assert(offsetof(ErrorInformationEntry, parameter_error_location) == 14);
static_assert(offsetof(ErrorInformationEntry, lba) == 16);
static_assert(offsetof(ErrorInformationEntry, nsid) == 24);
static_assert(offsetof(ErrorInformationEntry, vendor_specific_info) == 28);
static_assert(offsetof(ErrorInformationEntry, trtype) == 29);
static_assert(offsetof(ErrorInformationEntry, command_specific_info) == 32);
static_assert(offsetof(ErrorInformationEntry, transport_type_specific_info) ==
              40);

// ---- SMART / Health Information (LID 0x02), 512 bytes ----------------------

struct SmartHealthLog {
  uint8_t critical_warning;          // kCriticalWarning*
  uint8_t composite_temperature[2];  // unaligned u16, kelvin: use the accessors
  uint8_t available_spare;           // percent
  uint8_t available_spare_threshold;  // percent
  uint8_t percentage_used;
  uint8_t endurance_group_critical_warning_summary;
  uint8_t reserved7[25];
  uint8_t data_units_read[16];  // Counter128, units of 1000 x 512 bytes
  uint8_t data_units_written[16];
  uint8_t host_read_commands[16];
  uint8_t host_write_commands[16];
  uint8_t controller_busy_time[16];  // minutes
  uint8_t power_cycles[16];
  uint8_t power_on_hours[16];
  uint8_t unsafe_shutdowns[16];
  uint8_t media_errors[16];
  uint8_t number_of_error_log_entries[16];
  uint32_t warning_composite_temperature_time;   // minutes
  uint32_t critical_composite_temperature_time;  // minutes
  uint16_t temperature_sensor[8];                // kelvin, 0 if absent
  uint32_t thermal_management_temperature1_transition_count;
  uint32_t thermal_management_temperature2_transition_count;
  uint32_t total_time_thermal_management_temperature1;
  uint32_t total_time_thermal_management_temperature2;
  uint8_t reserved232[280];

  uint16_t composite_temperature_kelvin() const {
    return static_cast<uint16_t>(composite_temperature[0] |
                                 (composite_temperature[1] << 8));
  }
  void set_composite_temperature_kelvin(uint16_t kelvin) {
    composite_temperature[0] = static_cast<uint8_t>(kelvin);
    composite_temperature[1] = static_cast<uint8_t>(kelvin >> 8);
  }
};
static_assert(sizeof(SmartHealthLog) == 512);
static_assert(offsetof(SmartHealthLog, composite_temperature) == 1);
static_assert(offsetof(SmartHealthLog, available_spare) == 3);
static_assert(offsetof(SmartHealthLog, available_spare_threshold) == 4);
static_assert(offsetof(SmartHealthLog, percentage_used) == 5);
static_assert(offsetof(SmartHealthLog,
                       endurance_group_critical_warning_summary) == 6);
static_assert(offsetof(SmartHealthLog, data_units_read) == 32);
static_assert(offsetof(SmartHealthLog, data_units_written) == 48);
static_assert(offsetof(SmartHealthLog, host_read_commands) == 64);
static_assert(offsetof(SmartHealthLog, host_write_commands) == 80);
static_assert(offsetof(SmartHealthLog, controller_busy_time) == 96);
static_assert(offsetof(SmartHealthLog, power_cycles) == 112);
static_assert(offsetof(SmartHealthLog, power_on_hours) == 128);
static_assert(offsetof(SmartHealthLog, unsafe_shutdowns) == 144);
static_assert(offsetof(SmartHealthLog, media_errors) == 160);
static_assert(offsetof(SmartHealthLog, number_of_error_log_entries) == 176);
static_assert(offsetof(SmartHealthLog, warning_composite_temperature_time) ==
              192);
static_assert(offsetof(SmartHealthLog, critical_composite_temperature_time) ==
              196);
static_assert(offsetof(SmartHealthLog, temperature_sensor) == 200);
static_assert(offsetof(SmartHealthLog,
                       thermal_management_temperature1_transition_count) ==
              216);

inline constexpr uint8_t kCriticalWarningSpare = 1 << 0;
inline constexpr uint8_t kCriticalWarningTemperature = 1 << 1;
inline constexpr uint8_t kCriticalWarningReliability = 1 << 2;
inline constexpr uint8_t kCriticalWarningReadOnly = 1 << 3;
inline constexpr uint8_t kCriticalWarningVolatileBackup = 1 << 4;
inline constexpr uint8_t kCriticalWarningPmrReadOnly = 1 << 5;

// ---- Firmware Slot Information (LID 0x03), 512 bytes -----------------------

struct FirmwareSlotInfo {
  uint8_t afi;  // 2:0 active slot, 6:4 slot active after the next reset
  uint8_t reserved1[7];
  char frs[7][8];  // FRS1..FRS7, ASCII, space padded; all zero if empty
  uint8_t reserved64[448];

  uint8_t active_slot() const { return afi & 0x7; }
  uint8_t next_reset_slot() const { return (afi >> 4) & 0x7; }
};
static_assert(sizeof(FirmwareSlotInfo) == 512);
static_assert(offsetof(FirmwareSlotInfo, frs) == 8);
static_assert(offsetof(FirmwareSlotInfo, reserved64) == 64);
constexpr uint8_t MakeAfi(uint8_t active_slot, uint8_t next_reset_slot = 0) {
  return static_cast<uint8_t>((active_slot & 0x7) |
                              ((next_reset_slot & 0x7) << 4));
}

// ---- Changed Namespace List (LID 0x04), 4096 bytes ------------------------

// NSIDs in increasing order, zero after the last. If more than 1024 changed,
// the first entry is kChangedNamespaceListOverflow and the rest are zero.
struct ChangedNamespaceList {
  uint32_t nsid[1024];
};
static_assert(sizeof(ChangedNamespaceList) == 4096);
inline constexpr uint32_t kChangedNamespaceListOverflow = 0xFFFFFFFF;

// ---- Commands Supported and Effects (LID 0x05), 4096 bytes -----------------

struct CommandsSupportedAndEffects {
  uint32_t acs[256];   // admin commands, indexed by opcode
  uint32_t iocs[256];  // I/O commands, indexed by opcode
  uint8_t reserved2048[2048];
};
static_assert(sizeof(CommandsSupportedAndEffects) == 4096);
static_assert(offsetof(CommandsSupportedAndEffects, iocs) == 1024);
static_assert(offsetof(CommandsSupportedAndEffects, reserved2048) == 2048);

inline constexpr uint32_t kEffectsCsupp = 1u << 0;  // command supported
inline constexpr uint32_t kEffectsLbcc = 1u
                                         << 1;  // logical block content change
inline constexpr uint32_t kEffectsNcc = 1u << 2;  // namespace capability change
inline constexpr uint32_t kEffectsNic = 1u << 3;  // namespace inventory change
inline constexpr uint32_t kEffectsCcc = 1u
                                        << 4;  // controller capability change
// CSE, bits 18:16: 0 no restriction, 1 one at a time per namespace, 2 one at
// a time in the subsystem.
constexpr uint32_t EffectsCse(uint32_t effects) {
  return (effects >> 16) & 0x7;
}

// ---- Discovery log page (LID 0x70) -----------------------------------------

struct DiscoveryLogHeader {
  uint64_t genctr;
  uint64_t numrec;
  uint16_t recfmt;  // 0
  uint8_t reserved18[1006];
};
static_assert(sizeof(DiscoveryLogHeader) == 1024);
static_assert(offsetof(DiscoveryLogHeader, genctr) == 0);
static_assert(offsetof(DiscoveryLogHeader, numrec) == 8);
static_assert(offsetof(DiscoveryLogHeader, recfmt) == 16);

inline constexpr size_t kTrsvcidSize = 32;
inline constexpr size_t kTraddrSize = 256;
inline constexpr size_t kTsasSize = 256;

struct DiscoveryLogEntry {
  uint8_t trtype;   // kTrtype*
  uint8_t adrfam;   // kAdrfam*
  uint8_t subtype;  // kSubtype*
  uint8_t treq;     // kTreq*
  uint16_t portid;
  uint16_t cntlid;  // kCntlidDynamic for the dynamic model
  uint16_t asqsz;   // admin max SQ size, 1-based
  uint16_t eflags;  // kEflags*
  uint8_t reserved12[20];
  char trsvcid[kTrsvcidSize];  // e.g. "4420"
  uint8_t reserved64[192];
  char subnqn[kNqnFieldSize];  // NUL-terminated
  char traddr[kTraddrSize];    // e.g. "192.168.1.2"
  uint8_t tsas[kTsasSize];     // TCP: byte 0 SECTYPE
};
static_assert(sizeof(DiscoveryLogEntry) == 1024);
static_assert(offsetof(DiscoveryLogEntry, trtype) == 0);
static_assert(offsetof(DiscoveryLogEntry, adrfam) == 1);
static_assert(offsetof(DiscoveryLogEntry, subtype) == 2);
static_assert(offsetof(DiscoveryLogEntry, treq) == 3);
static_assert(offsetof(DiscoveryLogEntry, portid) == 4);
static_assert(offsetof(DiscoveryLogEntry, cntlid) == 6);
static_assert(offsetof(DiscoveryLogEntry, asqsz) == 8);
static_assert(offsetof(DiscoveryLogEntry, eflags) == 10);
static_assert(offsetof(DiscoveryLogEntry, trsvcid) == 32);
static_assert(offsetof(DiscoveryLogEntry, subnqn) == 256);
static_assert(offsetof(DiscoveryLogEntry, traddr) == 512);
static_assert(offsetof(DiscoveryLogEntry, tsas) == 768);

// The size of a discovery log page of `numrec` entries.
constexpr uint64_t DiscoveryLogPageSize(uint64_t numrec) {
  return sizeof(DiscoveryLogHeader) + numrec * sizeof(DiscoveryLogEntry);
}

inline constexpr uint8_t kTrtypeRdma = 1;
inline constexpr uint8_t kTrtypeFc = 2;
inline constexpr uint8_t kTrtypeTcp = 3;
inline constexpr uint8_t kTrtypeLoop = 254;  // reserved for host use
inline constexpr uint8_t kAdrfamPci = 0;
inline constexpr uint8_t kAdrfamIpv4 = 1;
inline constexpr uint8_t kAdrfamIpv6 = 2;
inline constexpr uint8_t kAdrfamIb = 3;
inline constexpr uint8_t kAdrfamFc = 4;
inline constexpr uint8_t kSubtypeReferral = 1;  // another discovery subsystem
inline constexpr uint8_t kSubtypeNvm = 2;
inline constexpr uint8_t kSubtypeCurrentDiscovery = 3;
// TREQ bits 1:0: secure channel; bit 2: SQ flow control disable supported.
inline constexpr uint8_t kTreqSecureChannelNotSpecified = 0;
inline constexpr uint8_t kTreqSecureChannelRequired = 1;
inline constexpr uint8_t kTreqSecureChannelNotRequired = 2;
inline constexpr uint8_t kTreqSecureChannelMask = 0x3;
inline constexpr uint8_t kTreqDisableSqFlowControl = 1 << 2;
// EFLAGS.
inline constexpr uint16_t kEflagsDuplicateReturnedInfo = 1 << 0;
inline constexpr uint16_t kEflagsExplicitPersistentConnection = 1 << 1;
inline constexpr uint16_t kEflagsNoCdcConnectivity = 1 << 2;
// TSAS for TCP, byte 0: SECTYPE.
inline constexpr uint8_t kSectypeNone = 0;
inline constexpr uint8_t kSectypeTls12 = 1;
inline constexpr uint8_t kSectypeTls13 = 2;

// The fields of a discovery log entry, decoded. String views point into the
// entry (when parsed) or into the caller's strings (when building).
struct DiscoveryEntryFields {
  uint8_t trtype = kTrtypeTcp;
  uint8_t adrfam = kAdrfamIpv4;
  uint8_t subtype = kSubtypeNvm;
  uint8_t treq = kTreqSecureChannelNotSpecified;
  uint16_t portid = 0;
  uint16_t cntlid = 0xFFFF;
  uint16_t asqsz = 0;
  uint16_t eflags = 0;
  std::string_view trsvcid;
  std::string_view subnqn;
  std::string_view traddr;
  uint8_t sectype = kSectypeNone;  // TCP only
  friend bool operator==(const DiscoveryEntryFields&,
                         const DiscoveryEntryFields&) = default;
};

// Builds an entry, reserved bytes zero. TRSVCID and TRADDR are padded with
// `pad`: spaces by default, as the spec's ASCII string convention and SPDK
// do (Linux nvmet pads with NULs; readers accept both). SUBNQN is NUL
// padded. Fails (kInvalidArgument) if a string does not fit its field or
// TRSVCID/TRADDR holds a non-printable byte.
[[nodiscard]] inline Result<DiscoveryLogEntry> BuildDiscoveryLogEntry(
    const DiscoveryEntryFields& f, char pad = ' ') {
  DiscoveryLogEntry e;
  std::memset(&e, 0, sizeof(e));
  e.trtype = f.trtype;
  e.adrfam = f.adrfam;
  e.subtype = f.subtype;
  e.treq = f.treq;
  e.portid = f.portid;
  e.cntlid = f.cntlid;
  e.asqsz = f.asqsz;
  e.eflags = f.eflags;
  NVMEOF_RETURN_IF_ERROR(
      SetAsciiField(e.trsvcid, f.trsvcid, pad).WithContext("TRSVCID"));
  NVMEOF_RETURN_IF_ERROR(
      SetAsciiField(e.traddr, f.traddr, pad).WithContext("TRADDR"));
  NVMEOF_RETURN_IF_ERROR(
      WriteNqnField(e.subnqn, f.subnqn).WithContext("SUBNQN"));
  if (f.trtype == kTrtypeTcp) e.tsas[0] = f.sectype;
  return e;
}

// Decodes an entry. TRSVCID and TRADDR end at the first NUL and lose their
// trailing spaces. Fails (kProtocolError) if SUBNQN is not NUL-terminated.
[[nodiscard]] inline Result<DiscoveryEntryFields> ParseDiscoveryLogEntry(
    const DiscoveryLogEntry& e) {
  DiscoveryEntryFields f;
  f.trtype = e.trtype;
  f.adrfam = e.adrfam;
  f.subtype = e.subtype;
  f.treq = e.treq;
  f.portid = e.portid;
  f.cntlid = e.cntlid;
  f.asqsz = e.asqsz;
  f.eflags = e.eflags;
  f.trsvcid = ReadAsciiField(e.trsvcid);
  f.traddr = ReadAsciiField(e.traddr);
  Result<std::string_view> subnqn = ReadNqnField(e.subnqn);
  if (!subnqn.ok()) return subnqn.status().WithContext("SUBNQN");
  f.subnqn = *subnqn;
  f.sectype = e.trtype == kTrtypeTcp ? e.tsas[0] : kSectypeNone;
  return f;
}

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_LOG_PAGES_H_
