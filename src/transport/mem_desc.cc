#include "nvmeof/mem_desc.h"

#include <cassert>
#include <cstring>

namespace nvmeof {

MemDesc::MemDesc(const iovec* iov, size_t count) : list_(iov), count_(count) {
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
  ForEachPiece(segments(), segment_count(), offset, length,
               [&s](char* p, size_t n) {
                 std::memcpy(p, s, n);
                 s += n;
               });
}

void MemDesc::CopyFrom(size_t offset, const MemDesc& src, size_t src_offset,
                       size_t length) const {
  assert(offset + length <= length_);
  ForEachPiece(segments(), segment_count(), offset, length,
               [&src, &src_offset](char* p, size_t n) {
                 src.CopyOut(src_offset, p, n);
                 src_offset += n;
               });
}

}  // namespace nvmeof
