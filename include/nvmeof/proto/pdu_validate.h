// The one validator of received NVMe/TCP PDU headers, shared by the host and
// the controller. Pure: no I/O, no state beyond what the caller passes in.
//
// A stream reader calls it in three steps as bytes arrive:
//   1. CheckCommonHeader on the first 8 bytes: is this PDU acceptable here,
//      and how long are its header, digest, padding and data?
//   2. CheckHeaderDigest once layout.header_len bytes are in.
//   3. CheckPduSpecificHeader on the same bytes: the type's own fields.
// The first error ends the connection: send a TermReq (MakeTermReq, with the
// received header) unless PduError::send_term_req is false, then close.
//
// Fields are checked in wire order, so that when several are wrong the lowest
// one is reported, as the spec asks and FreeBSD's
// nvmf_tcp_validate_pdu_header does.
// Per-command checks (is the CCCID/TTAG known, is DATAO within the R2T, is
// SUCCESS allowed on this queue, does LAST_PDU end the transfer) need the
// transport's state and are the transport's.

#ifndef NVMEOF_PROTO_PDU_VALIDATE_H_
#define NVMEOF_PROTO_PDU_VALIDATE_H_

#include <cstdint>

#include "nvmeof/proto/tcp_pdu.h"

namespace nvmeof::tcp {

// What the receiver knows about its connection.
struct PduCheckContext {
  // The receiver's role. A controller receives ICReq, H2CTermReq, CapsuleCmd
  // and H2CData; a host ICResp, C2HTermReq, CapsuleResp, C2HData and R2T.
  bool controller = false;
  // The ICReq/ICResp exchange is done: the controller has received ICReq,
  // the host has received ICResp.
  bool initialized = false;
  // The negotiated digests; false before initialization.
  bool hdgst = false;
  bool ddgst = false;
  // The data alignment the receiver asked for, 0-based dwords (0..31):
  // a controller the CPDA it sent, a host the HPDA it sent.
  uint8_t rx_pda = 0;
  // The most data the receiver accepts in one PDU: a controller
  // max(in-capsule data size, MAXH2CDATA), a host its largest transfer.
  // More is FES kDataTransferLimitExceeded.
  uint32_t max_data_len = 0;
};

// The TermReq to send, or none (ok()).
struct PduError {
  Fes fes = Fes::kNoError;
  uint32_t fei = 0;  // byte offset of the field for FES 1 and 6, else 0
  // False when the PDU in error is itself a TermReq: the receiver of a
  // TermReq only closes the connection, even when the TermReq is malformed
  // (NVMe-oF 1.1 7.4.7, as FreeBSD and Linux read it).
  bool send_term_req = true;

  bool ok() const { return fes == Fes::kNoError; }
  friend bool operator==(const PduError&, const PduError&) = default;
};

struct CommonHeaderCheck {
  PduError error;
  // Valid when error.ok(). On error only layout.type is set, and only when
  // byte 0 was a known type.
  PduLayout layout;
};

// Step 1: the 8 bytes of the common header at `ch`, in order:
//  PDU-TYPE (FEI 0): a reserved type, or one the receiver's role never
//    receives: FES 1. Before initialization anything but ICReq (controller),
//    ICResp (host) or a TermReq, and ICReq/ICResp after it: FES 2.
//  FLAGS (FEI 1): a bit outside the type's flags (reserved bits 7:4
//    included), HDGSTF != the negotiated header digest on a type that
//    carries one, DDGSTF != (data digest negotiated and the PDU has data),
//    SUCCESS without LAST_PDU.
//  HLEN (FEI 2): not the type's fixed header length.
//  PDO (FEI 3): not 0 on a type without data; with data (or PDO != 0) below
//    HLEN + header digest, above PLEN, or not a multiple of (rx_pda + 1) * 4.
//  PLEN (FEI 4): below HLEN + header digest; not exactly that on ICReq,
//    ICResp, CapsuleResp and R2T; a TermReq above 152; an H2CData/C2HData
//    without data; data PDU with no room for data and its digest.
//  Data longer than ctx.max_data_len: FES 5, FEI 0.
// REQUIRES: ch points to 8 readable bytes; ctx.rx_pda <= kMaxPda.
[[nodiscard]] CommonHeaderCheck CheckCommonHeader(const PduCheckContext& ctx,
                                                  const uint8_t* ch);

// Step 2: the header digest. FES 3 (FEI 0) when it does not match; OK when
// the layout has none.
// REQUIRES: hdr points to layout.header_len bytes, layout from step 1.
[[nodiscard]] PduError CheckHeaderDigest(const PduLayout& layout,
                                         const uint8_t* hdr);

// Step 3: the PDU specific header, in order:
//  ICReq:  PFV != 0: FES 6 FEI 8; HPDA > 31: FES 1 FEI 10; DGST reserved
//          bits: FES 1 FEI 11.
//  ICResp: PFV != 0: FES 6 FEI 8; CPDA > 31: FES 1 FEI 10; DGST reserved
//          bits: FES 1 FEI 11; MAXH2CDATA < 4096 or not a multiple of 4:
//          FES 1 FEI 12.
//  TermReq: FES 0 or above 6: FES 1 FEI 8 (send_term_req false).
//  H2CData, C2HData: DATAL != layout.data_len: FES 1 FEI 16; DATAO + DATAL
//          beyond 2^32: FES 4.
//  R2T:    R2TL 0: FES 1 FEI 16; R2TO + R2TL beyond 2^32: FES 4.
// Whether the controller echoed the digests the host asked for is the host
// transport's check: it needs the ICReq it sent.
// REQUIRES: hdr points to layout.hlen bytes, layout from step 1.
[[nodiscard]] PduError CheckPduSpecificHeader(const PduLayout& layout,
                                              const uint8_t* hdr);

}  // namespace nvmeof::tcp

#endif  // NVMEOF_PROTO_PDU_VALIDATE_H_
