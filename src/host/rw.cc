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

// A transfer larger than one command: its chunks, at most `window` of
// them in flight (so that any length fits the queue), the next one
// submitted as one completes.
struct Split {
  Association* assoc = nullptr;
  uint16_t qid = 1;
  uint8_t opcode = 0;
  uint32_t nsid = 0;
  uint64_t slba = 0;
  uint32_t block_size = 0;
  bool to_controller = false;
  uint64_t len = 0, chunk = 0;
  uint64_t next = 0;      // the offset of the next chunk to submit
  size_t in_flight = 0;
  size_t window = 1;
  uint64_t bytes_done = 0;  // of the chunks that succeeded
  bool failed = false;
  Completion result;
  CompletionCallback done;
  MemDesc data;
  std::vector<iovec> iov;  // the pieces of every chunk, back to back
  size_t iov_used = 0;

  void Pump() {
    while (!failed && in_flight < window && next < len) {
      const uint64_t off = next;
      const uint64_t n = std::min(chunk, len - off);
      next += n;
      iovec* pieces = iov.data() + iov_used;
      const size_t k = data.Slice(off, n, pieces, iov.size() - iov_used);
      iov_used += k;
      ++in_flight;
      Split* self = this;
      assoc->SubmitIo(qid, RwSqe(opcode, nsid, slba + off / block_size,
                                 n / block_size),
                      MemDesc(pieces, k), to_controller,
                      [self, n](Completion c) { self->OnChunk(n, std::move(c)); });
    }
  }
  void OnChunk(uint64_t n, Completion c) {
    --in_flight;
    if (c.ok()) {
      bytes_done += n;
      if (!failed) result = std::move(c);
    } else if (!failed) {
      failed = true;  // the first failure is the answer; no more chunks
      result = std::move(c);
    }
    Pump();
    if (in_flight > 0 || (!failed && next < len)) return;
    CompletionCallback cb = std::move(done);
    Completion out = std::move(result);
    out.bytes_done = bytes_done;
    delete this;
    cb(std::move(out));
  }
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
  split->assoc = this;
  split->qid = qid;
  split->opcode = opcode;
  split->nsid = nsid;
  split->slba = slba;
  split->block_size = block_size;
  split->to_controller = to_controller;
  split->len = len;
  split->chunk = max;
  split->done = std::move(done);
  split->data = data;
  // Leave a slot of the queue for whatever else the application sends.
  split->window = std::max<size_t>(1, io_queue_size_ > 1 ? io_queue_size_ - 1
                                                         : 1);
  // Room for every chunk's pieces: a chunk spans at most all segments.
  const size_t chunks = (len + max - 1) / max;
  split->iov.resize(chunks * (data.segment_count() + 1));
  split->Pump();
}

}  // namespace nvmeof::host
