#include "nvmeof/mem_desc.h"

#include <cassert>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace nvmeof {

MemDesc::MemDesc(const iovec* iov, size_t count)
    : list_(iov), count_(static_cast<uint32_t>(count)) {
  assert(count <= UINT32_MAX);
  for (size_t i = 0; i < count; ++i) length_ += iov[i].iov_len;
}

size_t MemDesc::Slice(size_t offset, size_t length, iovec* out,
                      size_t max_out) const {
  assert(offset + length <= length_);
  if (length == 0) return 0;
  const iovec* seg = segments();
  size_t n = segment_count();
  size_t used = 0;
  for (size_t i = 0; i < n && length > 0; ++i) {
    if (offset >= seg[i].iov_len) {
      offset -= seg[i].iov_len;
      continue;
    }
    if (used == max_out) return 0;
    size_t take = seg[i].iov_len - offset;
    if (take > length) take = length;
    out[used].iov_base = static_cast<char*>(seg[i].iov_base) + offset;
    out[used].iov_len = take;
    ++used;
    length -= take;
    offset = 0;
  }
  return used;
}

namespace {

// memcpy, or with `stream` non-temporal stores for the 16-byte-aligned
// middle of a large enough copy (the caller fences).
void Copy(char* d, const char* s, size_t n, bool stream) {
#if defined(__SSE2__)
  constexpr size_t kStreamMin = 256;
  if (stream && n >= kStreamMin) {
    const size_t head = (16 - reinterpret_cast<uintptr_t>(d) % 16) % 16;
    std::memcpy(d, s, head);
    d += head;
    s += head;
    n -= head;
    auto* dv = reinterpret_cast<__m128i*>(d);
    const auto* sv = reinterpret_cast<const __m128i*>(s);
    size_t i = 0;
    for (; i + 4 <= n / 16; i += 4) {
      __m128i a = _mm_loadu_si128(sv + i), b = _mm_loadu_si128(sv + i + 1);
      __m128i c = _mm_loadu_si128(sv + i + 2), e = _mm_loadu_si128(sv + i + 3);
      _mm_stream_si128(dv + i, a);
      _mm_stream_si128(dv + i + 1, b);
      _mm_stream_si128(dv + i + 2, c);
      _mm_stream_si128(dv + i + 3, e);
    }
    std::memcpy(d + i * 16, s + i * 16, n - i * 16);
    return;
  }
#else
  (void)stream;
#endif
  std::memcpy(d, s, n);
}

void Fence(bool stream) {
#if defined(__SSE2__)
  if (stream) _mm_sfence();
#else
  (void)stream;
#endif
}

// Calls fn(segment pointer, bytes) over [offset, offset + length).
template <typename Fn>
void ForEachPiece(const iovec* seg, size_t n, size_t offset, size_t length,
                  Fn fn) {
  for (size_t i = 0; i < n && length > 0; ++i) {
    if (offset >= seg[i].iov_len) {
      offset -= seg[i].iov_len;
      continue;
    }
    size_t take = seg[i].iov_len - offset;
    if (take > length) take = length;
    fn(static_cast<char*>(seg[i].iov_base) + offset, take);
    length -= take;
    offset = 0;
  }
}
}  // namespace

void MemDesc::CopyOut(size_t offset, void* dst, size_t length) const {
  assert(offset + length <= length_);
  char* d = static_cast<char*>(dst);
  ForEachPiece(segments(), segment_count(), offset, length,
               [&d](char* p, size_t n) {
                 std::memcpy(d, p, n);
                 d += n;
               });
}

void MemDesc::CopyIn(size_t offset, const void* src, size_t length) const {
  assert(offset + length <= length_);
  const char* s = static_cast<const char*>(src);
  const bool stream = streaming_;
  ForEachPiece(segments(), segment_count(), offset, length,
               [&s, stream](char* p, size_t n) {
                 Copy(p, s, n, stream);
                 s += n;
               });
  Fence(stream);
}

void MemDesc::CopyFrom(size_t offset, const MemDesc& src, size_t src_offset,
                       size_t length) const {
  assert(offset + length <= length_);
  const bool stream = streaming_;
  ForEachPiece(segments(), segment_count(), offset, length,
               [&src, &src_offset, stream](char* p, size_t n) {
                 // The source's pieces into this piece.
                 ForEachPiece(src.segments(), src.segment_count(), src_offset,
                              n, [&p, stream](char* q, size_t m) {
                                Copy(p, q, m, stream);
                                p += m;
                              });
                 src_offset += n;
               });
  Fence(stream);
}

}  // namespace nvmeof
