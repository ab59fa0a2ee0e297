// The Identify command and its data structures: Identify Controller,
// Identify Namespace (NVM command set), the active namespace list and the
// Namespace Identification Descriptor list; and the space-padded ASCII
// fields (SN, MN, FR, ...) that they hold.
//
// Sources: NVM Express Base Specification 2.0, "Identify command" (Identify
// Controller, Namespace Identification Descriptor); NVM Command Set
// Specification 1.0, "I/O Command Set specific Identify Namespace".
// Offsets were checked against Linux include/linux/nvme.h (struct
// nvme_id_ctrl, nvme_id_ns) and QEMU hw/nvme.

#ifndef NVMEOF_PROTO_IDENTIFY_H_
#define NVMEOF_PROTO_IDENTIFY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "nvmeof/proto/nqn.h"
#include "nvmeof/proto/nvme.h"
#include "nvmeof/status.h"

namespace nvmeof {

// Every Identify data structure is 4096 bytes.
inline constexpr size_t kIdentifyDataSize = 4096;

// Controller or Namespace Structure, CDW10 bits 7:0.
enum class Cns : uint8_t {
  kNamespace = 0x00,
  kController = 0x01,
  kActiveNamespaceList = 0x02,
  kNamespaceIdDescriptorList = 0x03,
  kIoCommandSetNamespace = 0x05,            // with CSI
  kIoCommandSetController = 0x06,           // with CSI
  kIoCommandSetActiveNamespaceList = 0x07,  // with CSI
  kIoCommandSetIndependentNamespace = 0x08,
  kIoCommandSet = 0x1C,  // I/O Command Set data structure (vectors)
};

// Command Set Identifiers (CSI).
inline constexpr uint8_t kCsiNvm = 0x00;
inline constexpr uint8_t kCsiKeyValue = 0x01;
inline constexpr uint8_t kCsiZoned = 0x02;

// The Identify SQE fields: CDW10 CNS 7:0, CNTID 31:16; CDW11 CNSSID 15:0,
// CSI 31:24.
struct IdentifyCommand {
  Cns cns = Cns::kNamespace;
  uint32_t nsid = 0;
  uint16_t cntid = 0;
  uint16_t cnssid = 0;
  uint8_t csi = 0;
  friend bool operator==(const IdentifyCommand&,
                         const IdentifyCommand&) = default;
};
inline Sqe BuildIdentifySqe(const IdentifyCommand& cmd) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kIdentify);
  sqe.nsid = cmd.nsid;
  sqe.cdw10 = static_cast<uint32_t>(cmd.cns) | (uint32_t{cmd.cntid} << 16);
  sqe.cdw11 = uint32_t{cmd.cnssid} | (uint32_t{cmd.csi} << 24);
  return sqe;
}
// Decodes the fields; does not check the opcode or judge the values.
inline IdentifyCommand ParseIdentifySqe(const Sqe& sqe) {
  IdentifyCommand cmd;
  cmd.cns = static_cast<Cns>(sqe.cdw10 & 0xFF);
  cmd.nsid = sqe.nsid;
  cmd.cntid = static_cast<uint16_t>(sqe.cdw10 >> 16);
  cmd.cnssid = static_cast<uint16_t>(sqe.cdw11 & 0xFFFF);
  cmd.csi = static_cast<uint8_t>(sqe.cdw11 >> 24);
  return cmd;
}

// ---- ASCII fields -----------------------------------------------------------

// Writes `value` left-justified into `field`, padded with `pad` (spaces, as
// the spec requires for SN, MN, FR: "ASCII string" convention). Fails
// (kInvalidArgument) if `value` is longer than the field or holds a byte
// outside 0x20..0x7E; the field is then left untouched.
[[nodiscard]] inline Status SetAsciiField(std::span<char> field,
                                          std::string_view value,
                                          char pad = ' ') {
  if (value.size() > field.size()) {
    return InvalidArgumentError("ASCII value of " +
                                std::to_string(value.size()) +
                                " bytes does not fit a " +
                                std::to_string(field.size()) + "-byte field");
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7E) {
      return InvalidArgumentError(
          "ASCII field value holds a non-printable byte");
    }
  }
  std::memcpy(field.data(), value.data(), value.size());
  std::memset(field.data() + value.size(), pad, field.size() - value.size());
  return Status::Ok();
}

// Reads an ASCII field back: the bytes before the first NUL (if any), with
// trailing spaces removed. Accepts both space and NUL padding. Never reads
// past the field. The view points into `field`.
inline std::string_view ReadAsciiField(std::span<const char> field) {
  size_t n = 0;
  while (n < field.size() && field[n] != '\0') ++n;
  while (n > 0 && field[n - 1] == ' ') --n;
  return std::string_view(field.data(), n);
}

// ---- Identify Controller (CNS 0x01) ----------------------------------------

// Power State Descriptor, 32 bytes.
struct PowerStateDescriptor {
  uint16_t mp;  // maximum power, centiwatts (or 0.0001 W if MXPS)
  uint8_t reserved2;
  uint8_t flags;   // bit 0 MXPS, bit 1 NOPS
  uint32_t enlat;  // entry latency, microseconds
  uint32_t exlat;  // exit latency, microseconds
  uint8_t rrt;
  uint8_t rrl;
  uint8_t rwt;
  uint8_t rwl;
  uint16_t idlp;
  uint8_t ips;  // bits 7:6
  uint8_t reserved19;
  uint16_t actp;
  uint8_t apw_aps;
  uint8_t reserved23[9];
};
static_assert(sizeof(PowerStateDescriptor) == 32);
static_assert(offsetof(PowerStateDescriptor, enlat) == 4);
static_assert(offsetof(PowerStateDescriptor, idlp) == 16);
static_assert(offsetof(PowerStateDescriptor, actp) == 20);

struct IdentifyController {
  uint16_t vid;
  uint16_t ssvid;
  char sn[20];
  char mn[40];
  char fr[8];
  uint8_t rab;
  uint8_t ieee[3];
  uint8_t cmic;
  uint8_t mdts;  // max transfer 2^MDTS * CAP.MPSMIN pages; 0 = no limit
  uint16_t cntlid;
  uint32_t ver;
  uint32_t rtd3r;
  uint32_t rtd3e;
  uint32_t oaes;
  uint32_t ctratt;
  uint16_t rrls;
  uint8_t reserved102[9];
  uint8_t cntrltype;  // kCntrltype*
  uint8_t fguid[16];
  uint16_t crdt1;
  uint16_t crdt2;
  uint16_t crdt3;
  uint8_t reserved134[122];
  uint16_t oacs;
  uint8_t acl;   // 0-based
  uint8_t aerl;  // 0-based
  uint8_t frmw;
  uint8_t lpa;
  uint8_t elpe;  // 0-based
  uint8_t npss;  // 0-based
  uint8_t avscc;
  uint8_t apsta;
  uint16_t wctemp;  // kelvin
  uint16_t cctemp;
  uint16_t mtfa;
  uint32_t hmpre;
  uint32_t hmmin;
  uint8_t tnvmcap[16];
  uint8_t unvmcap[16];
  uint32_t rpmbs;
  uint16_t edstt;
  uint8_t dsto;
  uint8_t fwug;
  uint16_t kas;  // keep-alive granularity, 100 ms units; 0 = not supported
  uint16_t hctma;
  uint16_t mntmt;
  uint16_t mxtmt;
  uint32_t sanicap;
  uint32_t hmminds;
  uint16_t hmmaxd;
  uint16_t nvmsetidmax;
  uint16_t endgidmax;
  uint8_t anatt;
  uint8_t anacap;
  uint32_t anagrpmax;
  uint32_t nanagrpid;
  uint8_t reserved352[160];
  uint8_t sqes;  // 7:4 max, 3:0 required, log2 bytes (0x66)
  uint8_t cqes;  // (0x44)
  uint16_t maxcmd;
  uint32_t nn;
  uint16_t oncs;
  uint16_t fuses;
  uint8_t fna;
  uint8_t vwc;
  uint16_t awun;
  uint16_t awupf;
  uint8_t nvscc;  // renamed ICSVSCC in 2.0
  uint8_t nwpc;
  uint16_t acwu;
  uint8_t reserved534[2];
  uint32_t sgls;
  uint32_t mnan;
  uint8_t reserved544[224];
  char subnqn[kNqnFieldSize];
  uint8_t reserved1024[768];
  // NVMe over Fabrics fields.
  uint32_t ioccsz;  // 16-byte units, SQE included
  uint32_t iorcsz;  // 16-byte units
  uint16_t icdoff;  // 16-byte units
  uint8_t fcatt;    // bit 0: 0 dynamic controller model, 1 static
  uint8_t msdbd;
  uint16_t ofcs;  // bit 0: Disconnect supported
  uint8_t dctype;
  uint8_t reserved1807[241];
  PowerStateDescriptor psd[32];
  uint8_t vs[1024];
};
static_assert(sizeof(IdentifyController) == kIdentifyDataSize);
static_assert(offsetof(IdentifyController, vid) == 0);
static_assert(offsetof(IdentifyController, ssvid) == 2);
static_assert(offsetof(IdentifyController, sn) == 4);
static_assert(offsetof(IdentifyController, mn) == 24);
static_assert(offsetof(IdentifyController, fr) == 64);
static_assert(offsetof(IdentifyController, rab) == 72);
static_assert(offsetof(IdentifyController, ieee) == 73);
static_assert(offsetof(IdentifyController, cmic) == 76);
static_assert(offsetof(IdentifyController, mdts) == 77);
static_assert(offsetof(IdentifyController, cntlid) == 78);
static_assert(offsetof(IdentifyController, ver) == 80);
static_assert(offsetof(IdentifyController, rtd3r) == 84);
static_assert(offsetof(IdentifyController, rtd3e) == 88);
static_assert(offsetof(IdentifyController, oaes) == 92);
static_assert(offsetof(IdentifyController, ctratt) == 96);
static_assert(offsetof(IdentifyController, rrls) == 100);
static_assert(offsetof(IdentifyController, cntrltype) == 111);
static_assert(offsetof(IdentifyController, fguid) == 112);
static_assert(offsetof(IdentifyController, crdt1) == 128);
static_assert(offsetof(IdentifyController, oacs) == 256);
static_assert(offsetof(IdentifyController, acl) == 258);
static_assert(offsetof(IdentifyController, aerl) == 259);
static_assert(offsetof(IdentifyController, frmw) == 260);
static_assert(offsetof(IdentifyController, lpa) == 261);
static_assert(offsetof(IdentifyController, elpe) == 262);
static_assert(offsetof(IdentifyController, npss) == 263);
static_assert(offsetof(IdentifyController, avscc) == 264);
static_assert(offsetof(IdentifyController, apsta) == 265);
static_assert(offsetof(IdentifyController, wctemp) == 266);
static_assert(offsetof(IdentifyController, cctemp) == 268);
static_assert(offsetof(IdentifyController, tnvmcap) == 280);
static_assert(offsetof(IdentifyController, kas) == 320);
static_assert(offsetof(IdentifyController, anagrpmax) == 344);
static_assert(offsetof(IdentifyController, nanagrpid) == 348);
static_assert(offsetof(IdentifyController, sqes) == 512);
static_assert(offsetof(IdentifyController, cqes) == 513);
static_assert(offsetof(IdentifyController, maxcmd) == 514);
static_assert(offsetof(IdentifyController, nn) == 516);
static_assert(offsetof(IdentifyController, oncs) == 520);
static_assert(offsetof(IdentifyController, fuses) == 522);
static_assert(offsetof(IdentifyController, fna) == 524);
static_assert(offsetof(IdentifyController, vwc) == 525);
static_assert(offsetof(IdentifyController, awun) == 526);
static_assert(offsetof(IdentifyController, awupf) == 528);
static_assert(offsetof(IdentifyController, nvscc) == 530);
static_assert(offsetof(IdentifyController, nwpc) == 531);
static_assert(offsetof(IdentifyController, acwu) == 532);
static_assert(offsetof(IdentifyController, sgls) == 536);
static_assert(offsetof(IdentifyController, mnan) == 540);
static_assert(offsetof(IdentifyController, subnqn) == 768);
static_assert(offsetof(IdentifyController, ioccsz) == 1792);
static_assert(offsetof(IdentifyController, iorcsz) == 1796);
static_assert(offsetof(IdentifyController, icdoff) == 1800);
static_assert(offsetof(IdentifyController, fcatt) == 1802);
static_assert(offsetof(IdentifyController, msdbd) == 1803);
static_assert(offsetof(IdentifyController, ofcs) == 1804);
static_assert(offsetof(IdentifyController, dctype) == 1806);
static_assert(offsetof(IdentifyController, psd) == 2048);
static_assert(offsetof(IdentifyController, vs) == 3072);

// CNTRLTYPE.
inline constexpr uint8_t kCntrltypeIo = 1;
inline constexpr uint8_t kCntrltypeDiscovery = 2;
inline constexpr uint8_t kCntrltypeAdministrative = 3;
// CMIC.
inline constexpr uint8_t kCmicMultiPort = 1 << 0;
inline constexpr uint8_t kCmicMultiController = 1 << 1;
inline constexpr uint8_t kCmicAna = 1 << 3;
// OAES: the asynchronous notices the controller can send.
inline constexpr uint32_t kOaesNamespaceAttribute = 1u << 8;
inline constexpr uint32_t kOaesFirmwareActivation = 1u << 9;
inline constexpr uint32_t kOaesAnaChange = 1u << 11;
inline constexpr uint32_t kOaesDiscoveryLogChange = 1u << 31;
// CTRATT.
inline constexpr uint32_t kCtrattHostId128Bit = 1u << 0;
// LPA.
inline constexpr uint8_t kLpaSmartPerNamespace = 1 << 0;
inline constexpr uint8_t kLpaCommandsEffects = 1 << 1;
inline constexpr uint8_t kLpaExtendedData = 1
                                            << 2;  // NUMDU, LPO in Get Log Page
// ONCS.
inline constexpr uint16_t kOncsCompare = 1 << 0;
inline constexpr uint16_t kOncsWriteUncorrectable = 1 << 1;
inline constexpr uint16_t kOncsDatasetManagement = 1 << 2;
inline constexpr uint16_t kOncsWriteZeroes = 1 << 3;
inline constexpr uint16_t kOncsSaveSelect =
    1 << 4;  // SV in Set, SEL in Get Features
inline constexpr uint16_t kOncsReservations = 1 << 5;
inline constexpr uint16_t kOncsTimestamp = 1 << 6;
inline constexpr uint16_t kOncsVerify = 1 << 7;
inline constexpr uint16_t kOncsCopy = 1 << 8;
// FUSES.
inline constexpr uint16_t kFusesCompareAndWrite = 1 << 0;
// VWC bit 0: a volatile write cache is present (the Linux host sends Flush
// only then); bits 2:1 = 11b: Flush with NSID FFFFFFFFh is not supported.
inline constexpr uint8_t kVwcPresent = 1 << 0;
inline constexpr uint8_t kVwcFlushBroadcastNotSupported = 0x3 << 1;
// SGLS: bits 1:0 = 01b SGLs supported, byte aligned; 10b dword aligned.
inline constexpr uint32_t kSglsSupportedMask = 0x3;
inline constexpr uint32_t kSglsByteAligned = 0x1;
inline constexpr uint32_t kSglsDwordAligned = 0x2;
inline constexpr uint32_t kSglsKeyedDataBlock = 1u << 2;
inline constexpr uint32_t kSglsBitBucket = 1u << 16;
inline constexpr uint32_t kSglsOffset = 1u << 20;  // SAOS: address is an offset
// FCATT, OFCS.
inline constexpr uint8_t kFcattStaticModel = 1 << 0;
inline constexpr uint16_t kOfcsDisconnect = 1 << 0;

// ---- Identify Namespace, NVM command set (CNS 0x00) -------------------------

// LBA Format, 4 bytes.
struct LbaFormat {
  uint16_t ms;    // metadata bytes per LBA
  uint8_t lbads;  // log2 of the LBA data size (9 = 512 bytes)
  uint8_t rp;     // bits 1:0 relative performance (0 best .. 3 degraded)
  constexpr uint64_t block_size() const {
    return lbads < 64 ? uint64_t{1} << lbads : 0;
  }
};
static_assert(sizeof(LbaFormat) == 4);
static_assert(offsetof(LbaFormat, lbads) == 2);
static_assert(offsetof(LbaFormat, rp) == 3);

struct IdentifyNamespace {
  uint64_t nsze;  // in logical blocks
  uint64_t ncap;
  uint64_t nuse;
  uint8_t nsfeat;
  uint8_t nlbaf;  // 0-based number of LBA formats
  uint8_t flbas;  // see FlbasIndex()
  uint8_t mc;
  uint8_t dpc;
  uint8_t dps;
  uint8_t nmic;
  uint8_t rescap;
  uint8_t fpi;
  uint8_t dlfeat;
  uint16_t nawun;
  uint16_t nawupf;
  uint16_t nacwu;
  uint16_t nabsn;
  uint16_t nabo;
  uint16_t nabspf;
  uint16_t noiob;
  uint8_t nvmcap[16];
  uint16_t npwg;
  uint16_t npwa;
  uint16_t npdg;
  uint16_t npda;
  uint16_t nows;
  uint16_t mssrl;
  uint32_t mcl;
  uint8_t msrc;
  uint8_t reserved81[11];
  uint32_t anagrpid;
  uint8_t reserved96[3];
  uint8_t nsattr;
  uint16_t nvmsetid;
  uint16_t endgid;
  uint8_t nguid[16];
  uint8_t eui64[8];
  LbaFormat lbaf[64];
  uint8_t vs[3712];
};
static_assert(sizeof(IdentifyNamespace) == kIdentifyDataSize);
static_assert(offsetof(IdentifyNamespace, nsze) == 0);
static_assert(offsetof(IdentifyNamespace, ncap) == 8);
static_assert(offsetof(IdentifyNamespace, nuse) == 16);
static_assert(offsetof(IdentifyNamespace, nsfeat) == 24);
static_assert(offsetof(IdentifyNamespace, nlbaf) == 25);
static_assert(offsetof(IdentifyNamespace, flbas) == 26);
static_assert(offsetof(IdentifyNamespace, mc) == 27);
static_assert(offsetof(IdentifyNamespace, dpc) == 28);
static_assert(offsetof(IdentifyNamespace, dps) == 29);
static_assert(offsetof(IdentifyNamespace, nmic) == 30);
static_assert(offsetof(IdentifyNamespace, rescap) == 31);
static_assert(offsetof(IdentifyNamespace, fpi) == 32);
static_assert(offsetof(IdentifyNamespace, dlfeat) == 33);
static_assert(offsetof(IdentifyNamespace, nawun) == 34);
static_assert(offsetof(IdentifyNamespace, nawupf) == 36);
static_assert(offsetof(IdentifyNamespace, nacwu) == 38);
static_assert(offsetof(IdentifyNamespace, nabsn) == 40);
static_assert(offsetof(IdentifyNamespace, nabo) == 42);
static_assert(offsetof(IdentifyNamespace, nabspf) == 44);
static_assert(offsetof(IdentifyNamespace, noiob) == 46);
static_assert(offsetof(IdentifyNamespace, nvmcap) == 48);
static_assert(offsetof(IdentifyNamespace, npwg) == 64);
static_assert(offsetof(IdentifyNamespace, nows) == 72);
static_assert(offsetof(IdentifyNamespace, mssrl) == 74);
static_assert(offsetof(IdentifyNamespace, mcl) == 76);
static_assert(offsetof(IdentifyNamespace, msrc) == 80);
static_assert(offsetof(IdentifyNamespace, anagrpid) == 92);
static_assert(offsetof(IdentifyNamespace, nsattr) == 99);
static_assert(offsetof(IdentifyNamespace, nvmsetid) == 100);
static_assert(offsetof(IdentifyNamespace, endgid) == 102);
static_assert(offsetof(IdentifyNamespace, nguid) == 104);
static_assert(offsetof(IdentifyNamespace, eui64) == 120);
static_assert(offsetof(IdentifyNamespace, lbaf) == 128);
static_assert(offsetof(IdentifyNamespace, vs) == 384);

// NSFEAT.
inline constexpr uint8_t kNsfeatThinProvisioning = 1 << 0;
inline constexpr uint8_t kNsfeatNsAtomics = 1 << 1;
inline constexpr uint8_t kNsfeatDeallocatedError = 1 << 2;
inline constexpr uint8_t kNsfeatOptimalIo = 1 << 4;  // NPWG..NOWS valid
// FLBAS: bit 4 metadata at the end of the LBA data (extended LBA).
inline constexpr uint8_t kFlbasExtendedMetadata = 1 << 4;
// The LBA format index of FLBAS: bits 3:0, with bits 6:5 as index bits 5:4.
constexpr uint8_t FlbasIndex(uint8_t flbas) {
  return static_cast<uint8_t>((flbas & 0x0F) | ((flbas & 0x60) >> 1));
}
// REQUIRES: index < 64.
constexpr uint8_t MakeFlbas(uint8_t index, bool extended_metadata = false) {
  return static_cast<uint8_t>((index & 0x0F) | ((index & 0x30) << 1) |
                              (extended_metadata ? kFlbasExtendedMetadata : 0));
}
// NMIC bit 0: the namespace may be attached to more than one controller.
inline constexpr uint8_t kNmicShared = 1 << 0;

// Active Namespace ID list (CNS 0x02): up to 1024 NSIDs in increasing order,
// zero after the last.
struct ActiveNamespaceList {
  uint32_t nsid[1024];
};
static_assert(sizeof(ActiveNamespaceList) == kIdentifyDataSize);

// ---- Namespace Identification Descriptor list (CNS 0x03) --------------------

// Namespace Identifier Types and their lengths (NIDL).
enum class Nidt : uint8_t {
  kEui64 = 0x1,
  kNguid = 0x2,
  kUuid = 0x3,
  kCsi = 0x4
};
inline constexpr uint8_t kNidlEui64 = 8;
inline constexpr uint8_t kNidlNguid = 16;
inline constexpr uint8_t kNidlUuid = 16;
inline constexpr uint8_t kNidlCsi = 1;

// The 4-byte header of each descriptor; NIDL bytes of identifier follow.
struct NsIdDescriptorHeader {
  uint8_t nidt;
  uint8_t nidl;
  uint8_t reserved[2];
};
static_assert(sizeof(NsIdDescriptorHeader) == 4);
static_assert(offsetof(NsIdDescriptorHeader, nidl) == 1);

// The identifiers of one namespace; absent ones are not listed.
struct NamespaceIds {
  std::optional<std::array<uint8_t, 8>> eui64;
  std::optional<std::array<uint8_t, 16>> nguid;
  std::optional<std::array<uint8_t, 16>> uuid;
  std::optional<uint8_t> csi;
  friend bool operator==(const NamespaceIds&, const NamespaceIds&) = default;
};

// Writes the descriptors of `ids` (in NIDT order) into `out` and zeroes the
// rest of it, which terminates the list. Returns the bytes used. Cannot
// fail: at most 4 * 4 + 41 bytes are written.
inline size_t EncodeNsIdDescriptorList(
    const NamespaceIds& ids, std::span<uint8_t, kIdentifyDataSize> out) {
  std::memset(out.data(), 0, out.size());
  size_t pos = 0;
  auto put = [&](Nidt nidt, const uint8_t* nid, uint8_t nidl) {
    out[pos] = static_cast<uint8_t>(nidt);
    out[pos + 1] = nidl;
    std::memcpy(out.data() + pos + sizeof(NsIdDescriptorHeader), nid, nidl);
    pos += sizeof(NsIdDescriptorHeader) + nidl;
  };
  if (ids.eui64) put(Nidt::kEui64, ids.eui64->data(), kNidlEui64);
  if (ids.nguid) put(Nidt::kNguid, ids.nguid->data(), kNidlNguid);
  if (ids.uuid) put(Nidt::kUuid, ids.uuid->data(), kNidlUuid);
  if (ids.csi) put(Nidt::kCsi, &*ids.csi, kNidlCsi);
  return pos;
}

// Walks a descriptor list received from a controller. The list ends at a
// descriptor with NIDL 0 or at the end of `data`. Descriptors of unknown
// types are skipped. Fails (kProtocolError) if a descriptor runs past the
// end of `data` (truncated), a known type has the wrong NIDL, or a type
// appears twice. Never reads outside `data`.
[[nodiscard]] inline Result<NamespaceIds> DecodeNsIdDescriptorList(
    std::span<const uint8_t> data) {
  NamespaceIds ids;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t left = data.size() - pos;
    if (left < sizeof(NsIdDescriptorHeader)) {
      for (size_t i = pos; i < data.size(); ++i) {
        if (data[i] != 0) {
          return ProtocolError(
              "NS identification descriptor header truncated at offset " +
              std::to_string(pos));
        }
      }
      break;
    }
    const uint8_t nidt = data[pos];
    const uint8_t nidl = data[pos + 1];
    if (nidl == 0) break;  // end of the list
    if (nidl > left - sizeof(NsIdDescriptorHeader)) {
      return ProtocolError(
          "NS identification descriptor at offset " + std::to_string(pos) +
          " truncated: NIDL " + std::to_string(nidl) + ", " +
          std::to_string(left - sizeof(NsIdDescriptorHeader)) + " bytes left");
    }
    const uint8_t* nid = data.data() + pos + sizeof(NsIdDescriptorHeader);
    auto take = [&](auto& field, uint8_t want) -> Status {
      if (nidl != want) {
        return ProtocolError("NS identification descriptor NIDT " +
                             std::to_string(nidt) + " has NIDL " +
                             std::to_string(nidl) + ", expected " +
                             std::to_string(want));
      }
      if (field) {
        return ProtocolError("NS identification descriptor NIDT " +
                             std::to_string(nidt) + " appears twice");
      }
      field.emplace();
      std::memcpy(&*field, nid, want);
      return Status::Ok();
    };
    switch (static_cast<Nidt>(nidt)) {
      case Nidt::kEui64:
        NVMEOF_RETURN_IF_ERROR(take(ids.eui64, kNidlEui64));
        break;
      case Nidt::kNguid:
        NVMEOF_RETURN_IF_ERROR(take(ids.nguid, kNidlNguid));
        break;
      case Nidt::kUuid:
        NVMEOF_RETURN_IF_ERROR(take(ids.uuid, kNidlUuid));
        break;
      case Nidt::kCsi:
        NVMEOF_RETURN_IF_ERROR(take(ids.csi, kNidlCsi));
        break;
      default:
        break;  // a type this code does not know: skip it
    }
    pos += sizeof(NsIdDescriptorHeader) + nidl;
  }
  return ids;
}

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_IDENTIFY_H_
