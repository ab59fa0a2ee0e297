// Read, Write and Compare of any size: split at MDTS (and at the 16-bit
// NLB field's 65536 blocks) into commands issued together; one completion.

#include <algorithm>
#include <vector>

#include "nvmeof/host.h"

namespace nvmeof::host {

namespace {

Sqe RwSqe(uint8_t opcode, uint32_t nsid, uint64_t slba, uint64_t blocks) {
  Sqe sqe{};
  sqe.opcode = opcode;
  sqe.nsid = nsid;
  sqe.cdw10 = static_cast<uint32_t>(slba);
  sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
  sqe.cdw12 = static_cast<uint32_t>(blocks - 1);
  return sqe;
}

// The state of one split command: only commands larger than a transfer
// pay for it.
struct Split {
  CompletionCallback done;
  size_t pending = 0;
  bool failed = false;
  Completion result;
  std::vector<iovec> iov;  // the pieces of every chunk, back to back
};

}  // namespace

void Association::SubmitRw(uint16_t qid, uint8_t opcode, uint32_t nsid,
                          uint64_t slba, uint32_t block_size,
                          const MemDesc& data, CompletionCallback done) {
  const bool to_controller = (opcode & 0x1) != 0;  // Write, Compare
  const uint64_t len = data.length();
  uint64_t max = max_transfer_ == 0 ? len : max_transfer_;
  max = std::min<uint64_t>(max, uint64_t{65536} * block_size);
  max -= max % block_size;
  if (max == 0) max = block_size;
  if (len <= max) {
    SubmitIo(qid, RwSqe(opcode, nsid, slba, len / block_size), data,
             to_controller, std::move(done));
    return;
  }
  auto* split = new Split;
  split->done = std::move(done);
  split->pending = (len + max - 1) / max;
  // Room for every chunk's pieces: a chunk spans at most all segments.
  split->iov.resize(split->pending * (data.segment_count() + 1));
  size_t iov_used = 0;
  for (uint64_t off = 0; off < len; off += max) {
    const uint64_t n = std::min(max, len - off);
    iovec* pieces = split->iov.data() + iov_used;
    const size_t k = data.Slice(off, n, pieces, split->iov.size() - iov_used);
    iov_used += k;
    SubmitIo(qid, RwSqe(opcode, nsid, slba + off / block_size, n / block_size),
             MemDesc(pieces, k), to_controller, [split](Completion c) {
               if (!c.ok() && !split->failed) {
                 split->failed = true;
                 split->result = std::move(c);
               } else if (!split->failed) {
                 split->result = std::move(c);
               }
               if (--split->pending > 0) return;
               CompletionCallback cb = std::move(split->done);
               Completion out = std::move(split->result);
               delete split;
               cb(std::move(out));
             });
  }
}

}  // namespace nvmeof::host
