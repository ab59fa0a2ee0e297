#include "nvmeof/proto/pdu_validate.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nvmeof::tcp {
namespace {

// FEI values: the byte offset of the field in error.
constexpr uint32_t kFeiType = offsetof(CommonHeader, type);
constexpr uint32_t kFeiFlags = offsetof(CommonHeader, flags);
constexpr uint32_t kFeiHlen = offsetof(CommonHeader, hlen);
constexpr uint32_t kFeiPdo = offsetof(CommonHeader, pdo);
constexpr uint32_t kFeiPlen = offsetof(CommonHeader, plen);

constexpr uint8_t kDgstReservedMask =
    static_cast<uint8_t>(~(kDgstHdgstEnable | kDgstDdgstEnable));

PduError Error(Fes fes, uint32_t fei) { return PduError{fes, fei}; }
PduError HeaderFieldError(uint32_t fei) {
  return Error(Fes::kInvalidHeaderField, fei);
}

// The FLAGS bits each type may carry. Every other bit, the reserved bits
// 7:4 included, is refused.
//
// Reserved bits: Linux (host and target) ignores FLAGS bits it does not use;
// FreeBSD refuses any bit outside the type's set. nvmeof refuses them, like
// FreeBSD: every sender we know of (Linux, SPDK, FreeBSD) clears them, so
// nothing that interoperates today is lost, and a reserved bit set in a
// stream without framing markers more likely means that the reader has lost
// PDU boundaries than that a peer speaks a newer format (which PFV would
// announce). Stopping at the first such header beats parsing garbage
// lengths.
constexpr uint8_t AllowedFlags(PduType type) {
  switch (type) {
    case PduType::kCapsuleCmd:
      return kPduFlagHdgst | kPduFlagDdgst;
    case PduType::kCapsuleResp:
    case PduType::kR2T:
      return kPduFlagHdgst;
    case PduType::kH2CData:
      return kPduFlagHdgst | kPduFlagDdgst | kPduFlagLastPdu;
    case PduType::kC2HData:
      return kPduFlagHdgst | kPduFlagDdgst | kPduFlagLastPdu | kPduFlagSuccess;
    case PduType::kICReq:
    case PduType::kICResp:
    case PduType::kH2CTermReq:
    case PduType::kC2HTermReq:
      return 0;
  }
  return 0;
}

// Types whose PLEN is exactly HLEN + header digest.
constexpr bool IsFixedLength(PduType type) {
  return type == PduType::kICReq || type == PduType::kICResp ||
         type == PduType::kCapsuleResp || type == PduType::kR2T;
}

template <typename T>
T Load(const uint8_t* bytes) {
  T v;
  std::memcpy(&v, bytes, sizeof(v));
  return v;
}

// True when [offset, offset + len) reaches past the 32-bit offset space.
bool Overflows32(uint32_t offset, uint32_t len) {
  return uint64_t{offset} + len > (uint64_t{1} << 32);
}

}  // namespace

CommonHeaderCheck CheckCommonHeader(const PduCheckContext& ctx,
                                    const uint8_t* bytes) {
  const CommonHeader ch = Load<CommonHeader>(bytes);
  CommonHeaderCheck result;
  bool term_req = false;
  auto fail = [&result, &term_req](PduError e) {
    e.send_term_req = !term_req;
    result.error = e;
    return result;
  };

  // PDU-TYPE.
  const PduType type = ch.type;
  const uint8_t hlen = HeaderLength(type);
  if (hlen == 0 || IsHostToController(type) != ctx.controller) {
    return fail(HeaderFieldError(kFeiType));
  }
  result.layout.type = type;
  term_req = IsTermReq(type);
  const bool ic = type == PduType::kICReq || type == PduType::kICResp;
  if (!term_req && ic == ctx.initialized) {
    // ICReq/ICResp twice, or anything else before them. SPDK reports a
    // sequence error here; FreeBSD an invalid type. FES 2 says what
    // happened.
    return fail(Error(Fes::kPduSequenceError, 0));
  }

  // FLAGS. Whether the PDU has data is read from PLEN against the header
  // length the type and the negotiated digest give, so that a wrong HLEN
  // (reported below) cannot turn into a flags error.
  const uint8_t hdgst_len =
      ctx.hdgst && CarriesHeaderDigest(type) ? kDigestLen : 0;
  const uint32_t header_len = uint32_t{hlen} + hdgst_len;
  const bool has_data = CarriesData(type) && ch.plen > header_len;
  if ((ch.flags & ~AllowedFlags(type)) != 0) {
    return fail(HeaderFieldError(kFeiFlags));
  }
  // Digests are present exactly where negotiated, and a data digest only
  // with data: Linux and SPDK clear DDGSTF on a CapsuleCmd without data.
  const uint8_t expected_digests =
      static_cast<uint8_t>((hdgst_len != 0 ? kPduFlagHdgst : 0) |
                           (ctx.ddgst && has_data ? kPduFlagDdgst : 0));
  if ((ch.flags & (kPduFlagHdgst | kPduFlagDdgst)) != expected_digests) {
    return fail(HeaderFieldError(kFeiFlags));
  }
  if ((ch.flags & kPduFlagSuccess) != 0 && (ch.flags & kPduFlagLastPdu) == 0) {
    return fail(HeaderFieldError(kFeiFlags));
  }

  // HLEN.
  if (ch.hlen != hlen) return fail(HeaderFieldError(kFeiHlen));

  // PDO. A data-carrying type without data may leave PDO 0 (what Linux,
  // SPDK and FreeBSD send); any other PDO must be a valid data offset.
  if (!CarriesData(type)) {
    if (ch.pdo != 0) return fail(HeaderFieldError(kFeiPdo));
  } else if (has_data || ch.pdo != 0) {
    if (ch.pdo < header_len || ch.pdo > ch.plen ||
        ch.pdo % PdaBytes(ctx.rx_pda) != 0) {
      return fail(HeaderFieldError(kFeiPdo));
    }
  }

  // PLEN.
  if (ch.plen < header_len) return fail(HeaderFieldError(kFeiPlen));
  PduLayout& l = result.layout;
  l.hlen = hlen;
  l.hdgst_len = hdgst_len;
  l.header_len = header_len;
  l.plen = ch.plen;
  if (IsFixedLength(type)) {
    if (ch.plen != header_len) return fail(HeaderFieldError(kFeiPlen));
  } else if (term_req) {
    // Linux accepts 24..152; SPDK wants at least one byte of offending
    // header (25..152); FreeBSD 24..152. A bare 24-byte TermReq is legal.
    if (ch.plen > kMaxTermReqPduLen) return fail(HeaderFieldError(kFeiPlen));
    if (ch.plen > hlen) {
      l.data_offset = hlen;
      l.data_len = ch.plen - hlen;
    }
  } else if (!has_data) {
    // A CapsuleCmd without in-capsule data; an H2CData or C2HData always
    // carries some.
    if (type != PduType::kCapsuleCmd) return fail(HeaderFieldError(kFeiPlen));
  } else {
    const uint8_t ddgst_len = ctx.ddgst ? kDigestLen : 0;
    if (ch.plen - ch.pdo <= ddgst_len) return fail(HeaderFieldError(kFeiPlen));
    l.data_offset = ch.pdo;
    l.data_len = ch.plen - ch.pdo - ddgst_len;
    l.ddgst_len = ddgst_len;
    // Too much data for the receiver: FreeBSD (H2CData above MAXH2CDATA)
    // and SPDK (in-capsule data above its capsule size) both send FES 5.
    if (l.data_len > ctx.max_data_len) {
      return fail(Error(Fes::kDataTransferLimitExceeded, 0));
    }
  }
  return result;
}

PduError CheckHeaderDigest(const PduLayout& layout, const uint8_t* hdr) {
  if (layout.hdgst_len == 0) return PduError{};
  const uint32_t received = Load<uint32_t>(hdr + layout.hlen);
  if (received != HeaderDigest(hdr, layout.hlen)) {
    return Error(Fes::kHeaderDigestError, 0);
  }
  return PduError{};
}

PduError CheckPduSpecificHeader(const PduLayout& layout, const uint8_t* hdr) {
  switch (layout.type) {
    case PduType::kICReq: {
      const auto p = Load<ICReqPdu>(hdr);
      if (p.pfv != kPfv10) {
        return Error(Fes::kUnsupportedParameter, offsetof(ICReqPdu, pfv));
      }
      if (p.hpda > kMaxPda) return HeaderFieldError(offsetof(ICReqPdu, hpda));
      if ((p.dgst & kDgstReservedMask) != 0) {
        return HeaderFieldError(offsetof(ICReqPdu, dgst));
      }
      return PduError{};
    }
    case PduType::kICResp: {
      const auto p = Load<ICRespPdu>(hdr);
      if (p.pfv != kPfv10) {
        return Error(Fes::kUnsupportedParameter, offsetof(ICRespPdu, pfv));
      }
      if (p.cpda > kMaxPda) return HeaderFieldError(offsetof(ICRespPdu, cpda));
      if ((p.dgst & kDgstReservedMask) != 0) {
        return HeaderFieldError(offsetof(ICRespPdu, dgst));
      }
      if (p.maxh2cdata < kMinMaxH2CData || p.maxh2cdata % 4 != 0) {
        return HeaderFieldError(offsetof(ICRespPdu, maxh2cdata));
      }
      return PduError{};
    }
    case PduType::kH2CTermReq:
    case PduType::kC2HTermReq: {
      const auto h = Load<TermReqHeader>(hdr);
      if (h.fes == 0 ||
          h.fes > static_cast<uint16_t>(Fes::kUnsupportedParameter)) {
        PduError e = HeaderFieldError(offsetof(TermReqHeader, fes));
        e.send_term_req = false;
        return e;
      }
      return PduError{};
    }
    case PduType::kH2CData: {
      const auto h = Load<H2CDataHeader>(hdr);
      if (h.datal != layout.data_len) {
        return HeaderFieldError(offsetof(H2CDataHeader, datal));
      }
      if (Overflows32(h.datao, h.datal)) {
        return Error(Fes::kDataTransferOutOfRange, 0);
      }
      return PduError{};
    }
    case PduType::kC2HData: {
      const auto h = Load<C2HDataHeader>(hdr);
      if (h.datal != layout.data_len) {
        return HeaderFieldError(offsetof(C2HDataHeader, datal));
      }
      if (Overflows32(h.datao, h.datal)) {
        return Error(Fes::kDataTransferOutOfRange, 0);
      }
      return PduError{};
    }
    case PduType::kR2T: {
      const auto h = Load<R2THeader>(hdr);
      // Linux's host treats R2TL 0 as a protocol error.
      if (h.r2tl == 0) return HeaderFieldError(offsetof(R2THeader, r2tl));
      if (Overflows32(h.r2to, h.r2tl)) {
        return Error(Fes::kDataTransferOutOfRange, 0);
      }
      return PduError{};
    }
    case PduType::kCapsuleCmd:
    case PduType::kCapsuleResp:
      // The SQE and CQE are the upper layers' to check.
      return PduError{};
  }
  return HeaderFieldError(kFeiType);
}

}  // namespace nvmeof::tcp
