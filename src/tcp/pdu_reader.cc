#include "tcp/pdu_reader.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nvmeof::tcp {

namespace {
// Below this, a payload is read through the buffer (one recv may then carry
// many PDUs); above it, straight into its destination.
constexpr size_t kDirectReadMin = 4096;
constexpr size_t kMaxDirectIov = 15;
}  // namespace

PduReader::PduReader(Handler* handler, size_t buffer_size)
    : handler_(handler), buffer_max_(buffer_size) {}

void PduReader::SizeBuffer(bool was_full) {
  // Small until the connection is busy: a connection that only did its
  // handshake holds kInitialBuffer; a read that filled the buffer doubles
  // it, up to buffer_max_. Only between reads (in_place() data is gone).
  size_t want = buffer_size_ == 0 ? std::min(kInitialBuffer, buffer_max_)
                : was_full        ? std::min(buffer_size_ * 2, buffer_max_)
                                  : buffer_size_;
  if (want == buffer_size_) return;
  buffer_ = std::make_unique<uint8_t[]>(want);
  buffer_size_ = want;
}

PduReader::Outcome PduReader::Fail(PduError e) {
  fatal_ = e;
  state_ = State::kDead;
  return Outcome::kFatal;
}

void PduReader::StartPayload() {
  pad_left_ = layout_.pad_len();
  data_left_ = layout_.data_len;
  ddgst_have_ = 0;
  crc_ = Crc32c();
  const uint64_t accounted =
      uint64_t{layout_.header_len} + pad_left_ + data_left_ + layout_.ddgst_len;
  trailer_left_ = layout_.plen > accounted
                      ? static_cast<uint32_t>(layout_.plen - accounted)
                      : 0;
  state_ = pad_left_           ? State::kPad
           : data_left_        ? State::kData
           : layout_.ddgst_len ? State::kDataDigest
           : trailer_left_     ? State::kTrailer
                               : State::kCommonHeader;
}

PduReader::Outcome PduReader::FinishPdu() {
  bool ok = true;
  if (layout_.ddgst_len != 0) {
    uint32_t got;
    std::memcpy(&got, ddgst_, 4);
    ok = got == crc_.Finish();
  }
  state_ = State::kCommonHeader;
  hdr_have_ = 0;
  dest_ = MemDesc();
  PduError e = handler_->OnPduEnd(ok);
  in_place_ = nullptr;
  if (!e.ok()) return Fail(e);
  return Outcome::kOk;
}

// The PDU's data is all in place: on to its digest, the trailer, or the
// end of the PDU.
PduReader::Outcome PduReader::DataDone() {
  state_ = layout_.ddgst_len ? State::kDataDigest
           : trailer_left_   ? State::kTrailer
                             : State::kCommonHeader;
  return state_ == State::kCommonHeader ? FinishPdu() : Outcome::kOk;
}

void PduReader::AccountDirect(size_t n) {
  if (layout_.ddgst_len != 0) {
    // Digest what just landed in dest_, piece by piece.
    iovec pieces[kMaxDirectIov];
    size_t k = dest_.Slice(dest_offset_, n, pieces, kMaxDirectIov);
    for (size_t i = 0; i < k; ++i)
      crc_.Update(pieces[i].iov_base, pieces[i].iov_len);
  }
  dest_offset_ += n;
  data_left_ -= static_cast<uint32_t>(n);
}

PduReader::Outcome PduReader::Consume(const uint8_t* p, size_t len) {
  while (len > 0) {
    switch (state_) {
      case State::kDead:
        return Outcome::kFatal;

      case State::kCommonHeader: {
        size_t take = std::min<size_t>(len, sizeof(CommonHeader) - hdr_have_);
        std::memcpy(hdr_ + hdr_have_, p, take);
        hdr_have_ += static_cast<uint32_t>(take);
        p += take;
        len -= take;
        if (hdr_have_ < sizeof(CommonHeader)) break;
        CommonHeaderCheck c = CheckCommonHeader(ctx_, hdr_);
        if (!c.error.ok()) return Fail(c.error);
        layout_ = c.layout;
        state_ = State::kHeader;
        [[fallthrough]];
      }

      case State::kHeader: {
        size_t take = std::min<size_t>(len, layout_.header_len - hdr_have_);
        std::memcpy(hdr_ + hdr_have_, p, take);
        hdr_have_ += static_cast<uint32_t>(take);
        p += take;
        len -= take;
        if (hdr_have_ < layout_.header_len) break;
        PduError e = CheckHeaderDigest(layout_, hdr_);
        if (!e.ok()) return Fail(e);
        e = CheckPduSpecificHeader(layout_, hdr_);
        if (!e.ok()) return Fail(e);
        Placement where = handler_->OnPduHeader(layout_, hdr_);
        if (!where.error.ok()) return Fail(where.error);
        dest_ = where.dest;
        dest_offset_ = where.offset;
        in_place_ok_ = where.in_place_ok;
        StartPayload();
        if (state_ == State::kCommonHeader) {
          Outcome o = FinishPdu();
          if (o != Outcome::kOk) return o;
        }
        break;
      }

      case State::kPad: {
        size_t take = std::min<size_t>(len, pad_left_);
        pad_left_ -= static_cast<uint32_t>(take);
        p += take;
        len -= take;
        if (pad_left_ == 0)
          state_ = data_left_ ? State::kData : State::kDataDigest;
        break;
      }

      case State::kData: {
        if (in_place_ok_ && data_left_ == layout_.data_len &&
            len >= size_t{data_left_} + layout_.ddgst_len + trailer_left_) {
          // The whole rest of the PDU is here: the handler reads the data
          // where it is (it stays valid until OnPduEnd returns).
          in_place_ = p;
          if (layout_.ddgst_len != 0) crc_.Update(p, data_left_);
          p += data_left_;
          len -= data_left_;
          data_left_ = 0;
          if (Outcome o = DataDone(); o != Outcome::kOk) return o;
          break;
        }
        size_t take = std::min<size_t>(len, data_left_);
        if (layout_.ddgst_len != 0) crc_.Update(p, take);
        if (!dest_.empty()) dest_.CopyIn(dest_offset_, p, take);
        dest_offset_ += take;
        data_left_ -= static_cast<uint32_t>(take);
        p += take;
        len -= take;
        if (data_left_ > 0) break;
        if (Outcome o = DataDone(); o != Outcome::kOk) return o;
        break;
      }

      case State::kDataDigest: {
        size_t take = std::min<size_t>(len, 4 - ddgst_have_);
        std::memcpy(ddgst_ + ddgst_have_, p, take);
        ddgst_have_ += static_cast<uint32_t>(take);
        p += take;
        len -= take;
        if (ddgst_have_ < 4) break;
        if (trailer_left_) {
          state_ = State::kTrailer;
          break;
        }
        Outcome o = FinishPdu();
        if (o != Outcome::kOk) return o;
        break;
      }

      case State::kTrailer: {
        size_t take = std::min<size_t>(len, trailer_left_);
        // A TermReq's copy of the offending header: kept after ours, up to
        // the header buffer, for the error report; the rest is dropped.
        trailer_left_ -= static_cast<uint32_t>(take);
        p += take;
        len -= take;
        if (trailer_left_ == 0) {
          Outcome o = FinishPdu();
          if (o != Outcome::kOk) return o;
        }
        break;
      }
    }
  }
  return Outcome::kOk;
}

PduReader::Outcome PduReader::ReadFrom(ByteStream& stream) {
  if (state_ == State::kDead) return Outcome::kFatal;
  SizeBuffer(last_read_filled_);
  ssize_t n;
  size_t direct = 0;
  if (state_ == State::kData && data_left_ >= kDirectReadMin &&
      !dest_.empty()) {
    // The payload's remaining bytes straight into place, then the buffer.
    iovec iov[kMaxDirectIov + 1];
    size_t want = data_left_;
    size_t k = dest_.Slice(dest_offset_, want, iov, kMaxDirectIov);
    // A list with more pieces than fit: read a prefix that fits.
    while (k == 0 && want > 1) {
      want /= 2;
      k = dest_.Slice(dest_offset_, want, iov, kMaxDirectIov);
    }
    iov[k].iov_base = buffer_.get();
    iov[k].iov_len = buffer_size_;
    n = stream.Read(iov, k + 1);
    if (n > 0) {
      direct = std::min<size_t>(static_cast<size_t>(n), want);
      AccountDirect(direct);
    }
  } else {
    iovec iov{buffer_.get(), buffer_size_};
    n = stream.Read(&iov, 1);
  }
  if (n == 0) {
    return at_boundary() ? Outcome::kClosed : Outcome::kClosedMidPdu;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return Outcome::kOk;
    }
    io_error_ = ErrnoError(errno, "recv");
    return Outcome::kIoError;
  }
  last_read_filled_ = static_cast<size_t>(n) - direct == buffer_size_;
  if (direct > 0 && data_left_ == 0) {
    if (Outcome o = DataDone(); o != Outcome::kOk) return o;
  }
  return Consume(buffer_.get(), static_cast<size_t>(n) - direct);
}

}  // namespace nvmeof::tcp
