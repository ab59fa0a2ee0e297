// NVMe/TCP PDU wire formats (NVMe/TCP Transport Specification 1.0a; NVMe over
// Fabrics 1.1 section 7.4 before it): the PDU types, the common header (CH),
// the PDU specific headers (PSH), the constants of the transport, and pure
// builders for the PDUs that nvmeof sends. No I/O; the checks on received PDUs
// live in pdu_validate.h.
//
// Every header is a plain little-endian struct that can be read and written
// in place (nvme.h refuses big-endian hosts). A PDU on the wire is:
//
//   CH + PSH (HLEN bytes) | HDGST (4, if enabled) | PAD | DATA | DDGST (4)
//   ^0                                              ^PDO        ^PLEN-4
//
// The header digest follows CapsuleCmd, CapsuleResp, H2CData, C2HData and R2T
// headers, never ICReq, ICResp or a TermReq. The data digest follows the data
// of CapsuleCmd (with in-capsule data), H2CData and C2HData; a PDU without
// data has neither data digest nor DDGSTF.

#ifndef NVMEOF_PROTO_TCP_PDU_H_
#define NVMEOF_PROTO_TCP_PDU_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nvmeof/proto/crc32c.h"
#include "nvmeof/proto/nvme.h"

namespace nvmeof::tcp {

// PDU-Type, byte 0 of the CH. Even types flow host to
// controller (H2C), odd types controller to host (C2H). 0x08 is reserved.
enum class PduType : uint8_t {
  kICReq = 0x00,
  kICResp = 0x01,
  kH2CTermReq = 0x02,
  kC2HTermReq = 0x03,
  kCapsuleCmd = 0x04,
  kCapsuleResp = 0x05,
  kH2CData = 0x06,
  kC2HData = 0x07,
  kR2T = 0x09,
};

// FLAGS, byte 1 of the CH. HDGSTF and DDGSTF say a digest is
// present; LAST_PDU (H2CData, C2HData) ends a data transfer; SUCCESS
// (C2HData only, with LAST_PDU: NVMe-oF 1.1 7.4.5.2) completes the command
// without a CapsuleResp. Bits 7:4 are reserved in every PDU type.
inline constexpr uint8_t kPduFlagHdgst = 1u << 0;
inline constexpr uint8_t kPduFlagDdgst = 1u << 1;
inline constexpr uint8_t kPduFlagLastPdu = 1u << 2;
inline constexpr uint8_t kPduFlagSuccess = 1u << 3;

// DGST, byte 11 of ICReq and ICResp. Bits 7:2 are reserved.
inline constexpr uint8_t kDgstHdgstEnable = 1u << 0;
inline constexpr uint8_t kDgstDdgstEnable = 1u << 1;

inline constexpr uint8_t kDigestLen = 4;             // CRC32C
inline constexpr uint16_t kPfv10 = 0;                // PFV of spec 1.0
inline constexpr uint8_t kMaxPda = 31;               // HPDA, CPDA: 0..31
inline constexpr uint32_t kMinMaxH2CData = 4096;     // and a multiple of 4
inline constexpr uint32_t kMaxTermReqDataLen = 128;  // offending header bytes
inline constexpr uint32_t kMaxTermReqPduLen = 24 + kMaxTermReqDataLen;  // 152

// Fatal Error Status of a TermReq. FEI holds the byte offset
// of the offending field for kInvalidHeaderField and kUnsupportedParameter;
// it is reserved (0) for the others. 0 is reserved on the wire: nvmeof uses
// kNoError for "no error" and never sends it.
enum class Fes : uint16_t {
  kNoError = 0x0,
  kInvalidHeaderField = 0x1,
  kPduSequenceError = 0x2,
  kHeaderDigestError = 0x3,
  kDataTransferOutOfRange = 0x4,
  kDataTransferLimitExceeded = 0x5,  // "R2T Limit Exceeded" in spec 1.0
  kUnsupportedParameter = 0x6,
};

constexpr std::string_view FesName(Fes fes) {
  switch (fes) {
    case Fes::kNoError:
      return "no error";
    case Fes::kInvalidHeaderField:
      return "invalid PDU header field";
    case Fes::kPduSequenceError:
      return "PDU sequence error";
    case Fes::kHeaderDigestError:
      return "header digest error";
    case Fes::kDataTransferOutOfRange:
      return "data transfer out of range";
    case Fes::kDataTransferLimitExceeded:
      return "data transfer limit exceeded";
    case Fes::kUnsupportedParameter:
      return "unsupported parameter";
  }
  return "unknown FES";
}

// The common header, 8 bytes, first in every PDU.
struct CommonHeader {
  PduType type;
  uint8_t flags;
  uint8_t hlen;   // CH + PSH, without the header digest
  uint8_t pdo;    // offset of the data from the start of the PDU; 0: no data
  uint32_t plen;  // the whole PDU: headers, digests, padding and data
};
static_assert(sizeof(CommonHeader) == 8);
static_assert(offsetof(CommonHeader, flags) == 1);
static_assert(offsetof(CommonHeader, hlen) == 2);
static_assert(offsetof(CommonHeader, pdo) == 3);
static_assert(offsetof(CommonHeader, plen) == 4);

// ICReq, host to controller, the first PDU of a connection.
struct ICReqPdu {
  CommonHeader ch;
  uint16_t pfv;     // PDU format version: kPfv10
  uint8_t hpda;     // host PDU data alignment, 0-based dwords, 0..31
  uint8_t dgst;     // kDgstHdgstEnable | kDgstDdgstEnable: the host asks
  uint32_t maxr2t;  // outstanding R2Ts per command, 0-based
  uint8_t reserved[112];
};
static_assert(sizeof(ICReqPdu) == 128);
static_assert(offsetof(ICReqPdu, pfv) == 8);
static_assert(offsetof(ICReqPdu, hpda) == 10);
static_assert(offsetof(ICReqPdu, dgst) == 11);
static_assert(offsetof(ICReqPdu, maxr2t) == 12);

// ICResp, the controller's answer to ICReq.
struct ICRespPdu {
  CommonHeader ch;
  uint16_t pfv;         // kPfv10
  uint8_t cpda;         // controller PDU data alignment, 0-based dwords
  uint8_t dgst;         // the digests enabled on this connection
  uint32_t maxh2cdata;  // largest DATAL of one H2CData, >= 4096, 4-aligned
  uint8_t reserved[112];
};
static_assert(sizeof(ICRespPdu) == 128);
static_assert(offsetof(ICRespPdu, pfv) == 8);
static_assert(offsetof(ICRespPdu, cpda) == 10);
static_assert(offsetof(ICRespPdu, dgst) == 11);
static_assert(offsetof(ICRespPdu, maxh2cdata) == 12);

// H2CTermReq and C2HTermReq. FEI sits at the
// unaligned offset 10, so it is a byte array behind accessors. The header is
// followed by up to 128 bytes of the PDU header that caused the error.
struct TermReqHeader {
  CommonHeader ch;
  uint16_t fes;  // raw: a received value may be outside Fes
  uint8_t fei_bytes[4];
  uint8_t reserved[10];

  constexpr uint32_t fei() const {
    return uint32_t{fei_bytes[0]} | uint32_t{fei_bytes[1]} << 8 |
           uint32_t{fei_bytes[2]} << 16 | uint32_t{fei_bytes[3]} << 24;
  }
  constexpr void set_fei(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      fei_bytes[i] = static_cast<uint8_t>(v >> (8 * i));
  }
};
static_assert(sizeof(TermReqHeader) == 24);
static_assert(offsetof(TermReqHeader, fes) == 8);
static_assert(offsetof(TermReqHeader, fei_bytes) == 10);

// A whole TermReq as nvmeof sends it: send the first header.ch.plen bytes.
struct TermReqPdu {
  TermReqHeader header;
  uint8_t data[kMaxTermReqDataLen];
  constexpr uint32_t size() const { return header.ch.plen; }
};
static_assert(sizeof(TermReqPdu) == kMaxTermReqPduLen);

// CapsuleCmd: the SQE, then in-capsule data at PDO.
struct CapsuleCmdHeader {
  CommonHeader ch;
  Sqe ccsqe;
};
static_assert(sizeof(CapsuleCmdHeader) == 72);
static_assert(offsetof(CapsuleCmdHeader, ccsqe) == 8);

// CapsuleResp: the CQE, never data.
struct CapsuleRespHeader {
  CommonHeader ch;
  Cqe rccqe;
};
static_assert(sizeof(CapsuleRespHeader) == 24);
static_assert(offsetof(CapsuleRespHeader, rccqe) == 8);

// H2CData: data for a command, sent in answer to an R2T.
struct H2CDataHeader {
  CommonHeader ch;
  uint16_t cccid;  // the command's CID
  uint16_t ttag;   // the R2T's transfer tag
  uint32_t datao;  // offset of this data in the command's data
  uint32_t datal;  // length of this data
  uint8_t reserved[4];
};
static_assert(sizeof(H2CDataHeader) == 24);
static_assert(offsetof(H2CDataHeader, cccid) == 8);
static_assert(offsetof(H2CDataHeader, ttag) == 10);
static_assert(offsetof(H2CDataHeader, datao) == 12);
static_assert(offsetof(H2CDataHeader, datal) == 16);

// C2HData: data of a command to the host.
struct C2HDataHeader {
  CommonHeader ch;
  uint16_t cccid;
  uint8_t reserved10[2];
  uint32_t datao;
  uint32_t datal;
  uint8_t reserved20[4];
};
static_assert(sizeof(C2HDataHeader) == 24);
static_assert(offsetof(C2HDataHeader, cccid) == 8);
static_assert(offsetof(C2HDataHeader, datao) == 12);
static_assert(offsetof(C2HDataHeader, datal) == 16);

// R2T: the controller asks for R2TL bytes at R2TO.
struct R2THeader {
  CommonHeader ch;
  uint16_t cccid;
  uint16_t ttag;  // chosen by the controller, echoed in H2CData
  uint32_t r2to;
  uint32_t r2tl;
  uint8_t reserved[4];
};
static_assert(sizeof(R2THeader) == 24);
static_assert(offsetof(R2THeader, cccid) == 8);
static_assert(offsetof(R2THeader, ttag) == 10);
static_assert(offsetof(R2THeader, r2to) == 12);
static_assert(offsetof(R2THeader, r2tl) == 16);

// HLEN of each PDU type; 0 for a reserved type.
constexpr uint8_t HeaderLength(PduType type) {
  switch (type) {
    case PduType::kICReq:
      return sizeof(ICReqPdu);
    case PduType::kICResp:
      return sizeof(ICRespPdu);
    case PduType::kH2CTermReq:
    case PduType::kC2HTermReq:
      return sizeof(TermReqHeader);
    case PduType::kCapsuleCmd:
      return sizeof(CapsuleCmdHeader);
    case PduType::kCapsuleResp:
      return sizeof(CapsuleRespHeader);
    case PduType::kH2CData:
      return sizeof(H2CDataHeader);
    case PduType::kC2HData:
      return sizeof(C2HDataHeader);
    case PduType::kR2T:
      return sizeof(R2THeader);
  }
  return 0;
}

// True for the types a controller receives. REQUIRES: HeaderLength(type) > 0.
constexpr bool IsHostToController(PduType type) {
  return type == PduType::kICReq || type == PduType::kH2CTermReq ||
         type == PduType::kCapsuleCmd || type == PduType::kH2CData;
}

constexpr bool IsTermReq(PduType type) {
  return type == PduType::kH2CTermReq || type == PduType::kC2HTermReq;
}

// The types that carry a header digest when it is enabled.
constexpr bool CarriesHeaderDigest(PduType type) {
  return type == PduType::kCapsuleCmd || type == PduType::kCapsuleResp ||
         type == PduType::kH2CData || type == PduType::kC2HData ||
         type == PduType::kR2T;
}

// The types that carry data (and then a data digest when it is enabled).
// A TermReq's trailing header copy is not data in this sense.
constexpr bool CarriesData(PduType type) {
  return type == PduType::kCapsuleCmd || type == PduType::kH2CData ||
         type == PduType::kC2HData;
}

// PDU data alignment in bytes for a 0-based dword count (HPDA, CPDA).
constexpr uint32_t PdaBytes(uint8_t pda) { return (uint32_t{pda} + 1) * 4; }

// The header digest of the HLEN bytes at `hdr`, as it goes on the wire.
inline uint32_t HeaderDigest(const void* hdr, size_t hlen) {
  return ComputeCrc32c(hdr, hlen);
}

// How one side formats the PDUs it sends on a connection, fixed by the
// ICReq/ICResp exchange.
struct PduFormat {
  bool hdgst = false;
  bool ddgst = false;
  // The alignment the receiver asked for (0-based dwords): a controller
  // aligns to the host's HPDA, a host to the controller's CPDA.
  uint8_t pda = 0;
};

// Where everything sits in one PDU. Produced by ComputeLayout for PDUs to
// send and by CheckCommonHeader (pdu_validate.h) for PDUs received.
struct PduLayout {
  PduType type{};
  uint8_t hlen = 0;
  uint8_t hdgst_len = 0;     // 0 or kDigestLen
  uint32_t header_len = 0;   // hlen + hdgst_len: bytes before any padding
  uint32_t data_offset = 0;  // PDO; 0 when there is no data
  uint32_t data_len = 0;     // data bytes, without padding and digest
  uint8_t ddgst_len = 0;     // 0 or kDigestLen
  uint32_t plen = 0;

  // Zero bytes between the header digest and the data.
  constexpr uint32_t pad_len() const {
    return data_offset == 0 ? 0 : data_offset - header_len;
  }
};

// The layout of a PDU to send. PDO is hlen + hdgst rounded up to a multiple
// of PdaBytes(fmt.pda), as FreeBSD does; with PDA 0 that is hlen + hdgst,
// which is what Linux sends (it only ever uses PDA 0). Data only counts for
// CarriesData types, and a PDU without data has PDO 0 and no data digest.
// REQUIRES: data_len <= 0xFFFFFF00 (PLEN must fit 32 bits).
constexpr PduLayout ComputeLayout(PduType type, const PduFormat& fmt,
                                  uint32_t data_len) {
  PduLayout l;
  l.type = type;
  l.hlen = HeaderLength(type);
  l.hdgst_len = fmt.hdgst && CarriesHeaderDigest(type) ? kDigestLen : 0;
  l.header_len = uint32_t{l.hlen} + l.hdgst_len;
  l.plen = l.header_len;
  if (data_len != 0 && CarriesData(type)) {
    const uint32_t align = PdaBytes(fmt.pda);
    l.data_offset = (l.header_len + align - 1) / align * align;
    l.data_len = data_len;
    l.ddgst_len = fmt.ddgst ? kDigestLen : 0;
    l.plen = l.data_offset + data_len + l.ddgst_len;
  }
  return l;
}

// The common header for `layout`, with HDGSTF/DDGSTF set where the layout
// has digests, plus `extra_flags` (LAST_PDU, SUCCESS).
constexpr CommonHeader MakeCommonHeader(const PduLayout& layout,
                                        uint8_t extra_flags = 0) {
  CommonHeader ch{};
  ch.type = layout.type;
  ch.flags = static_cast<uint8_t>((layout.hdgst_len ? kPduFlagHdgst : 0) |
                                  (layout.ddgst_len ? kPduFlagDdgst : 0) |
                                  extra_flags);
  ch.hlen = layout.hlen;
  ch.pdo = static_cast<uint8_t>(layout.data_offset);
  ch.plen = layout.plen;
  return ch;
}

// Builders. Each returns a complete header with HLEN, PDO, PLEN and the
// digest flags filled in; the sender appends HeaderDigest() when
// fmt.hdgst, then pad_len() zero bytes, the data and its CRC32C.

// REQUIRES: hpda <= kMaxPda.
constexpr ICReqPdu MakeICReq(uint8_t hpda, bool hdgst, bool ddgst,
                             uint32_t maxr2t) {
  assert(hpda <= kMaxPda);
  ICReqPdu p{};
  p.ch = MakeCommonHeader(ComputeLayout(PduType::kICReq, {}, 0));
  p.pfv = kPfv10;
  p.hpda = hpda;
  p.dgst = static_cast<uint8_t>((hdgst ? kDgstHdgstEnable : 0) |
                                (ddgst ? kDgstDdgstEnable : 0));
  p.maxr2t = maxr2t;
  return p;
}

// REQUIRES: cpda <= kMaxPda; maxh2cdata >= kMinMaxH2CData, a multiple of 4.
constexpr ICRespPdu MakeICResp(uint8_t cpda, bool hdgst, bool ddgst,
                               uint32_t maxh2cdata) {
  assert(cpda <= kMaxPda);
  assert(maxh2cdata >= kMinMaxH2CData && maxh2cdata % 4 == 0);
  ICRespPdu p{};
  p.ch = MakeCommonHeader(ComputeLayout(PduType::kICResp, {}, 0));
  p.pfv = kPfv10;
  p.cpda = cpda;
  p.dgst = static_cast<uint8_t>((hdgst ? kDgstHdgstEnable : 0) |
                                (ddgst ? kDgstDdgstEnable : 0));
  p.maxh2cdata = maxh2cdata;
  return p;
}

// A C2HTermReq when the sender is the controller, else an H2CTermReq. The
// first 128 bytes of `offending_header` (the header of the PDU in error, as
// received) follow the 24-byte header; PLEN counts them. Pass fei 0 unless
// fes is kInvalidHeaderField or kUnsupportedParameter.
constexpr TermReqPdu MakeTermReq(bool sender_is_controller, Fes fes,
                                 uint32_t fei,
                                 std::span<const uint8_t> offending_header) {
  TermReqPdu p{};
  const size_t n =
      std::min<size_t>(offending_header.size(), kMaxTermReqDataLen);
  p.header.ch.type =
      sender_is_controller ? PduType::kC2HTermReq : PduType::kH2CTermReq;
  p.header.ch.hlen = sizeof(TermReqHeader);
  p.header.ch.plen = static_cast<uint32_t>(sizeof(TermReqHeader) + n);
  p.header.fes = static_cast<uint16_t>(fes);
  p.header.set_fei(fei);
  std::copy_n(offending_header.begin(), n, p.data);
  return p;
}

// A CapsuleCmd carrying `icd_len` bytes of in-capsule data (0: none).
constexpr CapsuleCmdHeader MakeCapsuleCmd(const Sqe& sqe, const PduFormat& fmt,
                                          uint32_t icd_len) {
  CapsuleCmdHeader h{};
  h.ch = MakeCommonHeader(ComputeLayout(PduType::kCapsuleCmd, fmt, icd_len));
  h.ccsqe = sqe;
  return h;
}

constexpr CapsuleRespHeader MakeCapsuleResp(const Cqe& cqe,
                                            const PduFormat& fmt) {
  CapsuleRespHeader h{};
  h.ch = MakeCommonHeader(ComputeLayout(PduType::kCapsuleResp, fmt, 0));
  h.rccqe = cqe;
  return h;
}

// REQUIRES: r2tl > 0.
constexpr R2THeader MakeR2T(uint16_t cccid, uint16_t ttag, uint32_t r2to,
                            uint32_t r2tl, const PduFormat& fmt) {
  assert(r2tl > 0);
  R2THeader h{};
  h.ch = MakeCommonHeader(ComputeLayout(PduType::kR2T, fmt, 0));
  h.cccid = cccid;
  h.ttag = ttag;
  h.r2to = r2to;
  h.r2tl = r2tl;
  return h;
}

// REQUIRES: datal > 0 (a data PDU always carries data).
constexpr H2CDataHeader MakeH2CData(uint16_t cccid, uint16_t ttag,
                                    uint32_t datao, uint32_t datal,
                                    bool last_pdu, const PduFormat& fmt) {
  assert(datal > 0);
  H2CDataHeader h{};
  h.ch = MakeCommonHeader(ComputeLayout(PduType::kH2CData, fmt, datal),
                          last_pdu ? kPduFlagLastPdu : 0);
  h.cccid = cccid;
  h.ttag = ttag;
  h.datao = datao;
  h.datal = datal;
  return h;
}

// Where a C2HData stands in its transfer. kLastWithSuccess (LAST_PDU and
// SUCCESS) also completes the command: only allowed when the host disabled
// SQ flow control at Connect, and the controller then sends no CapsuleResp.
enum class C2HEnd : uint8_t { kMore, kLast, kLastWithSuccess };

// REQUIRES: datal > 0.
constexpr C2HDataHeader MakeC2HData(uint16_t cccid, uint32_t datao,
                                    uint32_t datal, C2HEnd end,
                                    const PduFormat& fmt) {
  const uint8_t flags = end == C2HEnd::kMore ? 0
                        : end == C2HEnd::kLast
                            ? kPduFlagLastPdu
                            : kPduFlagLastPdu | kPduFlagSuccess;
  assert(datal > 0);
  C2HDataHeader h{};
  h.ch = MakeCommonHeader(ComputeLayout(PduType::kC2HData, fmt, datal), flags);
  h.cccid = cccid;
  h.datao = datao;
  h.datal = datal;
  return h;
}

}  // namespace nvmeof::tcp

#endif  // NVMEOF_PROTO_TCP_PDU_H_
