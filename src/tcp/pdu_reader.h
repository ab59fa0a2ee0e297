// PduReader: turns the bytes of an NVMe/TCP connection into validated PDUs.
//
// The reader owns the receive buffer and the parse state; its Handler (the
// queue pair) decides where each PDU's data goes. Per PDU:
//   1. the 8-byte common header is checked (CheckCommonHeader);
//   2. the whole header: its digest, then its own fields (pdu_validate.h);
//   3. Handler::OnPduHeader says where the data goes (a MemDesc and an
//      offset into it; an empty MemDesc discards) or rejects the PDU;
//   4. the data is placed there, its digest computed as it arrives (or, when
//      the handler allows it and the rest of the PDU is already in memory,
//      left where it is: in_place());
//   5. Handler::OnPduEnd(ddgst_ok).
// The first error is fatal: the reader stops and keeps the FES, FEI and the
// offending header for the TermReq.
//
// ReadFrom() does one read of the stream per call (level-triggered epoll
// calls again while bytes remain) and parses every whole PDU in what it read. When a large
// payload is due and nothing is buffered, it reads straight into the
// payload's destination, and the bytes after it into the buffer, with one
// readv. Consume() parses bytes from memory: the same code, for tests and
// the fuzzer.

#ifndef NVMEOF_TCP_PDU_READER_H_
#define NVMEOF_TCP_PDU_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "nvmeof/mem_desc.h"
#include "nvmeof/proto/crc32c.h"
#include "nvmeof/proto/pdu_validate.h"
#include "nvmeof/proto/tcp_pdu.h"
#include "nvmeof/status.h"
#include "tcp/byte_stream.h"

namespace nvmeof::tcp {

class PduReader {
 public:
  struct Placement {
    PduError error;  // not OK: the PDU is rejected (fatal)
    MemDesc dest;    // where the data goes; empty: discard it
    size_t offset = 0;
    // The handler takes the data in place when the rest of the PDU is
    // already in memory: nothing is copied to `dest`, and in_place() points
    // at the data during OnPduEnd (and only then).
    bool in_place_ok = false;
  };

  class Handler {
   public:
    // A validated header (`hdr`, layout.header_len bytes).
    virtual Placement OnPduHeader(const PduLayout& layout,
                                  const uint8_t* hdr) = 0;
    // The PDU's data is in place (ddgst_ok: its digest matched, or there was
    // none). A non-OK return is fatal.
    virtual PduError OnPduEnd(bool ddgst_ok) = 0;

   protected:
    ~Handler() = default;
  };

  enum class Outcome {
    kOk,      // all read was parsed; more may come
    kClosed,  // the peer closed between PDUs
    kClosedMidPdu,
    kIoError,  // error() says why
    kFatal,    // a protocol error: fatal() and offending_header()
  };

  // `buffer_size`: the most one read takes (the buffer starts smaller and
  // grows to it while reads fill it).
  PduReader(Handler* handler, size_t buffer_size);

  // The connection facts the checks use; the owner updates it (after the
  // ICReq/ICResp exchange).
  PduCheckContext& context() { return ctx_; }

  Outcome ReadFrom(ByteStream& stream);
  // Parses `len` bytes from memory. Returns kOk or kFatal.
  Outcome Consume(const uint8_t* data, size_t len);

  const PduError& fatal() const { return fatal_; }
  // The header bytes of the PDU in error, as received (at most 128).
  std::span<const uint8_t> offending_header() const {
    return {hdr_, hdr_have_ < 128 ? hdr_have_ : 128};
  }
  const Status& error() const { return io_error_; }
  // During OnPduEnd: the PDU's data where it was received (see
  // Placement::in_place_ok), or null when it was placed in `dest`.
  const uint8_t* in_place() const { return in_place_; }
  // True between PDUs.
  bool at_boundary() const {
    return state_ == State::kCommonHeader && hdr_have_ == 0;
  }

 private:
  enum class State : uint8_t {
    kCommonHeader,
    kHeader,
    kPad,
    kData,
    kDataDigest,
    kTrailer,
    kDead,
  };
  static constexpr size_t kMaxHeaderLen = 128 + 4;

  static constexpr size_t kInitialBuffer = 8192;
  void SizeBuffer(bool was_full);
  Outcome Fail(PduError e);
  // Places `n` payload bytes that are already at `dest_` offset (direct
  // read): digest them and advance.
  void AccountDirect(size_t n);
  Outcome FinishPdu();
  Outcome DataDone();
  void StartPayload();

  Handler* const handler_;
  PduCheckContext ctx_;
  std::unique_ptr<uint8_t[]> buffer_;  // made at the first read
  size_t buffer_size_ = 0;
  const size_t buffer_max_;
  bool last_read_filled_ = false;

  State state_ = State::kCommonHeader;
  PduLayout layout_;
  uint8_t hdr_[kMaxHeaderLen];
  uint32_t hdr_have_ = 0;
  uint32_t pad_left_ = 0;
  uint32_t data_left_ = 0;
  uint32_t trailer_left_ = 0;
  MemDesc dest_;
  size_t dest_offset_ = 0;  // next byte of dest_ to fill
  bool in_place_ok_ = false;
  const uint8_t* in_place_ = nullptr;
  Crc32c crc_;
  uint8_t ddgst_[4];
  uint32_t ddgst_have_ = 0;

  PduError fatal_;
  Status io_error_;
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_PDU_READER_H_
