// NVMe over Fabrics commands (Connect, Property Get/Set, Disconnect,
// Authentication Send/Receive), the Connect data and response, and the
// controller properties (CAP, VS, CC, CSTS, ...) that Property Get/Set reach.
//
// Sources: NVM Express Base Specification 2.0, "Controller Properties" and
// section 6 (Fabrics Command Set: 6.1 Authentication Receive, 6.2
// Authentication Send, 6.3 Connect, 6.4 Disconnect, 6.5 Property Get, 6.6
// Property Set); NVMe over Fabrics 1.1, section 3. The wire views below are
// 64-byte SQE layouts; convert an Sqe to one with std::bit_cast (both are
// trivially copyable), or use the Build/Parse functions.
//
// Fabrics commands carry opcode 0x7F; byte 4 (the low byte of NSID in a
// normal SQE) is FCTYPE. The Build functions leave CID, byte 1 (PSDT) and
// SGL1 zero: the host and the transport fill them.

#ifndef NVMEOF_PROTO_FABRICS_H_
#define NVMEOF_PROTO_FABRICS_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nvmeof/proto/nqn.h"  // kDiscoveryNqn, NQN fields
#include "nvmeof/proto/nvme.h"
#include "nvmeof/status.h"

namespace nvmeof {

// Fabrics command types, SQE byte 4 (Base spec 6, "Fabrics Command Set").
enum class FabricsCommandType : uint8_t {
  kPropertySet = 0x00,
  kConnect = 0x01,
  kPropertyGet = 0x04,
  kAuthenticationSend = 0x05,
  kAuthenticationReceive = 0x06,
  kDisconnect = 0x08,
};

// Returns the FCTYPE of a fabrics SQE. REQUIRES: sqe.opcode == kFabricsOpcode.
inline FabricsCommandType GetFabricsCommandType(const Sqe& sqe) {
  return static_cast<FabricsCommandType>(sqe.nsid & 0xFF);
}

// Controller IDs: 0xFFFF in the Connect data asks for
// the dynamic controller model; a controller takes an ID in 1..0xFFEF.
inline constexpr uint16_t kCntlidDynamic = 0xFFFF;
inline constexpr uint16_t kCntlidMin = 0x0001;
inline constexpr uint16_t kCntlidMax = 0xFFEF;
// The only defined Connect/Disconnect record format.
inline constexpr uint16_t kConnectRecfmt = 0;
// CATTR bit 2: the host disables SQ flow control (SQHD is then not kept).
inline constexpr uint8_t kCattrDisableSqFlowControl = 1 << 2;

// The layout shared by all fabrics commands.
struct FabricsSqe {
  uint8_t opcode;  // kFabricsOpcode
  uint8_t reserved1;
  uint16_t cid;
  uint8_t fctype;
  uint8_t reserved2[35];
  uint8_t fabrics_specific[24];
};
static_assert(sizeof(FabricsSqe) == 64);
static_assert(offsetof(FabricsSqe, cid) == 2);
static_assert(offsetof(FabricsSqe, fctype) == 4);
static_assert(offsetof(FabricsSqe, fabrics_specific) == 40);

// Connect command (Base spec 6.3).
struct ConnectSqe {
  uint8_t opcode;
  uint8_t reserved1;
  uint16_t cid;
  uint8_t fctype;
  uint8_t reserved2[19];
  SglDescriptor sgl1;  // the 1024-byte ConnectData
  uint16_t recfmt;
  uint16_t qid;     // 0: admin queue
  uint16_t sqsize;  // 0-based
  uint8_t cattr;
  uint8_t reserved3;
  uint32_t kato;  // milliseconds; admin queue only
  uint8_t reserved4[12];
};
static_assert(sizeof(ConnectSqe) == 64);
static_assert(offsetof(ConnectSqe, fctype) == 4);
static_assert(offsetof(ConnectSqe, sgl1) == 24);
static_assert(offsetof(ConnectSqe, recfmt) == 40);
static_assert(offsetof(ConnectSqe, qid) == 42);
static_assert(offsetof(ConnectSqe, sqsize) == 44);
static_assert(offsetof(ConnectSqe, cattr) == 46);
static_assert(offsetof(ConnectSqe, kato) == 48);

// Property Get and Property Set (Base spec 6.5, 6.6). VALUE is
// reserved in Property Get.
struct PropertySqe {
  uint8_t opcode;
  uint8_t reserved1;
  uint16_t cid;
  uint8_t fctype;
  uint8_t reserved2[35];
  uint8_t attrib;  // bits 2:0 size: 0 = 4 bytes, 1 = 8 bytes
  uint8_t reserved3[3];
  uint32_t ofst;
  uint64_t value;  // Property Set only
  uint8_t reserved4[8];
};
static_assert(sizeof(PropertySqe) == 64);
static_assert(offsetof(PropertySqe, fctype) == 4);
static_assert(offsetof(PropertySqe, attrib) == 40);
static_assert(offsetof(PropertySqe, ofst) == 44);
static_assert(offsetof(PropertySqe, value) == 48);

// Disconnect (Base spec 6.4).
struct DisconnectSqe {
  uint8_t opcode;
  uint8_t reserved1;
  uint16_t cid;
  uint8_t fctype;
  uint8_t reserved2[19];
  SglDescriptor sgl1;
  uint16_t recfmt;
  uint8_t reserved3[22];
};
static_assert(sizeof(DisconnectSqe) == 64);
static_assert(offsetof(DisconnectSqe, recfmt) == 40);

// Authentication Send / Receive (Base spec 6.2, 6.1). TL (send) and
// AL (receive) share bytes 44-47.
struct AuthenticationSqe {
  uint8_t opcode;
  uint8_t reserved1;
  uint16_t cid;
  uint8_t fctype;
  uint8_t reserved2[19];
  SglDescriptor sgl1;
  uint8_t reserved3;
  uint8_t spsp0;
  uint8_t spsp1;
  uint8_t secp;
  uint32_t tl_al;
  uint8_t reserved4[16];
};
static_assert(sizeof(AuthenticationSqe) == 64);
static_assert(offsetof(AuthenticationSqe, spsp0) == 41);
static_assert(offsetof(AuthenticationSqe, secp) == 43);
static_assert(offsetof(AuthenticationSqe, tl_al) == 44);

// Connect data, 1024 bytes, sent host to controller (Base spec 6.3).
struct ConnectData {
  uint8_t hostid[16];
  uint16_t cntlid;  // kCntlidDynamic on the admin queue (dynamic model)
  uint8_t reserved1[238];
  char subnqn[kNqnFieldSize];
  char hostnqn[kNqnFieldSize];
  uint8_t reserved2[256];
};
static_assert(sizeof(ConnectData) == 1024);
static_assert(offsetof(ConnectData, hostid) == 0);
static_assert(offsetof(ConnectData, cntlid) == 16);
static_assert(offsetof(ConnectData, subnqn) == 256);
static_assert(offsetof(ConnectData, hostnqn) == 512);
static_assert(offsetof(ConnectData, reserved2) == 768);

// ---- Build and parse -------------------------------------------------------
// Each Parse checks the opcode and FCTYPE (kInvalidArgument if wrong) and
// decodes the fields; it does not judge their values (the controller does,
// with an NVMe status).

struct ConnectCommand {
  uint16_t recfmt = kConnectRecfmt;
  uint16_t qid = 0;
  uint16_t sqsize = 0;  // 0-based: queue depth - 1
  uint8_t cattr = 0;
  uint32_t kato = 0;  // milliseconds
  friend bool operator==(const ConnectCommand&,
                         const ConnectCommand&) = default;
};
Sqe BuildConnectSqe(const ConnectCommand& cmd);
[[nodiscard]] Result<ConnectCommand> ParseConnectSqe(const Sqe& sqe);

// Property sizes, ATTRIB bits 2:0.
enum class PropertySize : uint8_t { k4Bytes = 0, k8Bytes = 1 };

struct PropertyGetCommand {
  PropertySize size = PropertySize::k4Bytes;
  uint32_t ofst = 0;
  friend bool operator==(const PropertyGetCommand&,
                         const PropertyGetCommand&) = default;
};
struct PropertySetCommand {
  PropertySize size = PropertySize::k4Bytes;
  uint32_t ofst = 0;
  uint64_t value = 0;  // only the low 4 bytes count when size is k4Bytes
  friend bool operator==(const PropertySetCommand&,
                         const PropertySetCommand&) = default;
};
Sqe BuildPropertyGetSqe(const PropertyGetCommand& cmd);
Sqe BuildPropertySetSqe(const PropertySetCommand& cmd);
// Also fails (kInvalidArgument) if ATTRIB holds a size other than 0 or 1.
[[nodiscard]] Result<PropertyGetCommand> ParsePropertyGetSqe(const Sqe& sqe);
[[nodiscard]] Result<PropertySetCommand> ParsePropertySetSqe(const Sqe& sqe);

struct DisconnectCommand {
  uint16_t recfmt = kConnectRecfmt;
  friend bool operator==(const DisconnectCommand&,
                         const DisconnectCommand&) = default;
};
Sqe BuildDisconnectSqe(const DisconnectCommand& cmd);
[[nodiscard]] Result<DisconnectCommand> ParseDisconnectSqe(const Sqe& sqe);

// Authentication Send (send = true: TL is the length of the data sent) or
// Receive (AL, the room for the message). DH-HMAC-CHAP uses SECP E9h and
// SPSP0 = SPSP1 = 01h.
inline constexpr uint8_t kSecpNvmeAuth = 0xE9;
struct AuthenticationCommand {
  bool send = true;
  uint8_t secp = kSecpNvmeAuth;
  uint8_t spsp0 = 0x01;
  uint8_t spsp1 = 0x01;
  uint32_t length = 0;  // TL or AL
  friend bool operator==(const AuthenticationCommand&,
                         const AuthenticationCommand&) = default;
};
Sqe BuildAuthenticationSqe(const AuthenticationCommand& cmd);
// Fails (kInvalidArgument) for a fabrics command of another type.
[[nodiscard]] Result<AuthenticationCommand> ParseAuthenticationSqe(
    const Sqe& sqe);

// Builds a ConnectData, reserved bytes zero. Fails (kInvalidArgument) if an
// NQN does not fit its field (see WriteNqnField); NQNs are not validated.
[[nodiscard]] Result<ConnectData> BuildConnectData(
    std::span<const uint8_t, 16> hostid, uint16_t cntlid,
    std::string_view subnqn, std::string_view hostnqn);

// A decoded ConnectData. The views point into the ConnectData read.
struct ConnectDataFields {
  std::span<const uint8_t, 16> hostid;
  uint16_t cntlid;
  std::string_view subnqn;
  std::string_view hostnqn;
};
// Fails (kProtocolError) if SUBNQN or HOSTNQN is not NUL-terminated.
[[nodiscard]] Result<ConnectDataFields> ParseConnectData(
    const ConnectData& data);

// ---- Responses --------------------------------------------------------------

// AUTHREQ bits (DW0 bits 31:16 of a successful Connect response).
inline constexpr uint16_t kAuthreqAtr =
    1 << 1;  // authentication transaction required
inline constexpr uint16_t kAuthreqAscr =
    1 << 2;  // secure channel concatenation required

// DW0 of a successful Connect response (Base spec 6.3).
struct ConnectResponse {
  uint16_t cntlid = 0;
  uint16_t authreq = 0;
  constexpr uint32_t ToDw0() const {
    return uint32_t{cntlid} | (uint32_t{authreq} << 16);
  }
  static constexpr ConnectResponse FromDw0(uint32_t dw0) {
    return {static_cast<uint16_t>(dw0 & 0xFFFF),
            static_cast<uint16_t>(dw0 >> 16)};
  }
  friend bool operator==(const ConnectResponse&,
                         const ConnectResponse&) = default;
};

// DW0 of a Connect that failed with Connect Invalid Parameters (Base spec
// 6.3): IPO bits 15:0 is the byte offset of the bad field; IATTR bit
// 0 (DW0 bit 16) says whether that offset is in the Connect data (1) or in
// the SQE (0).
struct ConnectInvalidParameter {
  uint16_t ipo = 0;
  bool in_data = false;
  constexpr uint32_t ToDw0() const {
    return uint32_t{ipo} | (in_data ? 1u << 16 : 0u);
  }
  static constexpr ConnectInvalidParameter FromDw0(uint32_t dw0) {
    return {static_cast<uint16_t>(dw0 & 0xFFFF), ((dw0 >> 16) & 1) != 0};
  }
  friend bool operator==(const ConnectInvalidParameter&,
                         const ConnectInvalidParameter&) = default;
};

// The Property Get value is returned in CQE DW0 (low) and DW1 (high).
inline uint64_t PropertyGetValue(const Cqe& cqe) {
  return uint64_t{cqe.dw0} | (uint64_t{cqe.dw1} << 32);
}
inline void SetPropertyGetValue(uint64_t value, Cqe* cqe) {
  cqe->dw0 = static_cast<uint32_t>(value);
  cqe->dw1 = static_cast<uint32_t>(value >> 32);
}

// ---- Controller properties (Base spec "Controller Properties") --------------

inline constexpr uint32_t kPropertyCap = 0x00;    // 8 bytes
inline constexpr uint32_t kPropertyVs = 0x08;     // 4 bytes
inline constexpr uint32_t kPropertyIntms = 0x0C;  // reserved for fabrics
inline constexpr uint32_t kPropertyIntmc = 0x10;  // reserved for fabrics
inline constexpr uint32_t kPropertyCc = 0x14;
inline constexpr uint32_t kPropertyCsts = 0x1C;
inline constexpr uint32_t kPropertyNssr = 0x20;
// The value written to NSSR to reset the NVM subsystem: "NVMe".
inline constexpr uint32_t kNssrReset = 0x4E564D65;

// The width in bytes of the property at `ofst`, or 0 for an offset that is
// not one of the properties above.
constexpr unsigned PropertyWidth(uint32_t ofst) {
  switch (ofst) {
    case kPropertyCap:
      return 8;
    case kPropertyVs:
    case kPropertyIntms:
    case kPropertyIntmc:
    case kPropertyCc:
    case kPropertyCsts:
    case kPropertyNssr:
      return 4;
    default:
      return 0;
  }
}

// Controller Capabilities, CAP (property 0x00). FromU64 ignores
// reserved bits; ToU64 writes each field masked to its width.
struct CapRegister {
  uint16_t mqes = 0;   // 15:0, maximum queue entries, 0-based
  bool cqr = false;    // 16, contiguous queues required
  uint8_t ams = 0;     // 18:17, arbitration mechanisms supported
  uint8_t to = 0;      // 31:24, ready timeout in 500 ms units
  uint8_t dstrd = 0;   // 35:32, doorbell stride
  bool nssrs = false;  // 36, NVM subsystem reset supported
  uint8_t css = 0;     // 44:37, command sets supported (kCapCss*)
  bool bps = false;    // 45, boot partition support
  uint8_t cps = 0;     // 47:46, controller power scope
  uint8_t mpsmin = 0;  // 51:48, minimum page size 2^(12 + MPSMIN)
  uint8_t mpsmax = 0;  // 55:52
  bool pmrs = false;   // 56, persistent memory region supported
  bool cmbs = false;   // 57, controller memory buffer supported
  bool nsss = false;   // 58, NVM subsystem shutdown supported
  uint8_t crms = 0;    // 60:59, controller ready modes supported

  static constexpr CapRegister FromU64(uint64_t v) {
    CapRegister r;
    r.mqes = static_cast<uint16_t>(v & 0xFFFF);
    r.cqr = (v >> 16) & 1;
    r.ams = static_cast<uint8_t>((v >> 17) & 0x3);
    r.to = static_cast<uint8_t>((v >> 24) & 0xFF);
    r.dstrd = static_cast<uint8_t>((v >> 32) & 0xF);
    r.nssrs = (v >> 36) & 1;
    r.css = static_cast<uint8_t>((v >> 37) & 0xFF);
    r.bps = (v >> 45) & 1;
    r.cps = static_cast<uint8_t>((v >> 46) & 0x3);
    r.mpsmin = static_cast<uint8_t>((v >> 48) & 0xF);
    r.mpsmax = static_cast<uint8_t>((v >> 52) & 0xF);
    r.pmrs = (v >> 56) & 1;
    r.cmbs = (v >> 57) & 1;
    r.nsss = (v >> 58) & 1;
    r.crms = static_cast<uint8_t>((v >> 59) & 0x3);
    return r;
  }
  constexpr uint64_t ToU64() const {
    return uint64_t{mqes} | (uint64_t{cqr} << 16) |
           (uint64_t{ams & 0x3u} << 17) | (uint64_t{to} << 24) |
           (uint64_t{dstrd & 0xFu} << 32) | (uint64_t{nssrs} << 36) |
           (uint64_t{css} << 37) | (uint64_t{bps} << 45) |
           (uint64_t{cps & 0x3u} << 46) | (uint64_t{mpsmin & 0xFu} << 48) |
           (uint64_t{mpsmax & 0xFu} << 52) | (uint64_t{pmrs} << 56) |
           (uint64_t{cmbs} << 57) | (uint64_t{nsss} << 58) |
           (uint64_t{crms & 0x3u} << 59);
  }
  friend bool operator==(const CapRegister&, const CapRegister&) = default;
};
// CAP.CSS bits, relative to the field (CAP bits 37, 43, 44).
inline constexpr uint8_t kCapCssNvm = 1 << 0;
inline constexpr uint8_t kCapCssIoCommandSets = 1 << 6;
inline constexpr uint8_t kCapCssNoIo = 1 << 7;  // admin command set only
// CAP.AMS bits.
inline constexpr uint8_t kCapAmsWeightedRoundRobin = 1 << 0;
inline constexpr uint8_t kCapAmsVendorSpecific = 1 << 1;

// Version, VS (property 0x08): MJR 31:16, MNR 15:8, TER 7:0.
struct VsRegister {
  uint16_t major = 0;
  uint8_t minor = 0;
  uint8_t tertiary = 0;
  static constexpr VsRegister FromU32(uint32_t v) {
    return {static_cast<uint16_t>(v >> 16),
            static_cast<uint8_t>((v >> 8) & 0xFF),
            static_cast<uint8_t>(v & 0xFF)};
  }
  constexpr uint32_t ToU32() const {
    return (uint32_t{major} << 16) | (uint32_t{minor} << 8) | tertiary;
  }
  friend bool operator==(const VsRegister&, const VsRegister&) = default;
};
constexpr uint32_t NvmeVersion(uint16_t major, uint8_t minor,
                               uint8_t tertiary) {
  return VsRegister{major, minor, tertiary}.ToU32();
}

// Controller Configuration, CC (property 0x14).
struct CcRegister {
  bool en = false;     // 0
  uint8_t css = 0;     // 6:4, I/O command set selected (kCcCss*)
  uint8_t mps = 0;     // 10:7, memory page size 2^(12 + MPS)
  uint8_t ams = 0;     // 13:11, arbitration mechanism selected
  uint8_t shn = 0;     // 15:14, shutdown notification (kCcShn*)
  uint8_t iosqes = 0;  // 19:16, I/O SQ entry size, log2 (6 = 64 bytes)
  uint8_t iocqes = 0;  // 23:20, I/O CQ entry size, log2 (4 = 16 bytes)
  bool crime = false;  // 24, controller ready independent of media enable

  static constexpr CcRegister FromU32(uint32_t v) {
    CcRegister r;
    r.en = v & 1;
    r.css = static_cast<uint8_t>((v >> 4) & 0x7);
    r.mps = static_cast<uint8_t>((v >> 7) & 0xF);
    r.ams = static_cast<uint8_t>((v >> 11) & 0x7);
    r.shn = static_cast<uint8_t>((v >> 14) & 0x3);
    r.iosqes = static_cast<uint8_t>((v >> 16) & 0xF);
    r.iocqes = static_cast<uint8_t>((v >> 20) & 0xF);
    r.crime = (v >> 24) & 1;
    return r;
  }
  constexpr uint32_t ToU32() const {
    return uint32_t{en} | (uint32_t{css & 0x7u} << 4) |
           (uint32_t{mps & 0xFu} << 7) | (uint32_t{ams & 0x7u} << 11) |
           (uint32_t{shn & 0x3u} << 14) | (uint32_t{iosqes & 0xFu} << 16) |
           (uint32_t{iocqes & 0xFu} << 20) | (uint32_t{crime} << 24);
  }
  friend bool operator==(const CcRegister&, const CcRegister&) = default;
};
inline constexpr uint8_t kCcCssNvm = 0;
inline constexpr uint8_t kCcCssAllIo = 6;  // all supported I/O command sets
inline constexpr uint8_t kCcCssAdminOnly = 7;
inline constexpr uint8_t kCcShnNone = 0;
inline constexpr uint8_t kCcShnNormal = 1;
inline constexpr uint8_t kCcShnAbrupt = 2;

// Controller Status, CSTS (property 0x1C).
struct CstsRegister {
  bool rdy = false;    // 0
  bool cfs = false;    // 1, controller fatal status
  uint8_t shst = 0;    // 3:2, shutdown status (kCstsShst*)
  bool nssro = false;  // 4, NVM subsystem reset occurred
  bool pp = false;     // 5, processing paused
  bool st = false;     // 6, shutdown type (subsystem shutdown)

  static constexpr CstsRegister FromU32(uint32_t v) {
    CstsRegister r;
    r.rdy = v & 1;
    r.cfs = (v >> 1) & 1;
    r.shst = static_cast<uint8_t>((v >> 2) & 0x3);
    r.nssro = (v >> 4) & 1;
    r.pp = (v >> 5) & 1;
    r.st = (v >> 6) & 1;
    return r;
  }
  constexpr uint32_t ToU32() const {
    return uint32_t{rdy} | (uint32_t{cfs} << 1) | (uint32_t{shst & 0x3u} << 2) |
           (uint32_t{nssro} << 4) | (uint32_t{pp} << 5) | (uint32_t{st} << 6);
  }
  friend bool operator==(const CstsRegister&, const CstsRegister&) = default;
};
inline constexpr uint8_t kCstsShstNormal = 0;
inline constexpr uint8_t kCstsShstOccurring = 1;
inline constexpr uint8_t kCstsShstComplete = 2;

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_FABRICS_H_
