// NVM command set I/O commands (NVM Command Set 1.0, section 3): Read,
// Write, Flush, Write Zeroes, Dataset Management, Compare, Verify.
//
// A namespace whose backend maps its memory (capabilities().memory_mapped:
// RAM) is served with no copy: the transport sends from and receives into
// the namespace's bytes. Others go through the request's bounce buffer and
// the backend's queue on this loop.

#include <algorithm>
#include <cstring>

#include "controller/queue.h"
#include "controller/target.h"

namespace nvmeof::controller {

namespace {
constexpr uint32_t kBroadcastNsid = 0xFFFFFFFF;
constexpr uint32_t kFua = 1u << 30;           // CDW12 of Read/Write
constexpr uint32_t kDsmDeallocate = 1u << 2;  // CDW11 of DSM (AD)

struct DsmRange {
  uint32_t attributes;
  uint32_t nlb;  // 1-based here (the spec's Length in LBAs)
  uint64_t slba;
};
static_assert(sizeof(DsmRange) == 16);

NvmeStatus FromData(const Status& s) {
  // The data did not arrive intact: a digest error is transient (retry),
  // anything else is a transfer error.
  return s.code() == StatusCode::kDataLoss
             ? GenericStatus(sc::kTransientTransportError)
             : GenericStatus(sc::kDataTransferError);
}
}  // namespace

void ControllerQueue::HandleIo(Request* r) {
  const Sqe& sqe = r->sqe();
  const NvmOpcode op = static_cast<NvmOpcode>(sqe.opcode);
  if (op == NvmOpcode::kFlush && sqe.nsid == kBroadcastNsid) {
    HandleFlush(r);
    return;
  }
  r->ns = ctrl_->subsystem().FindNamespace(sqe.nsid);
  if (r->ns == nullptr) {
    Complete(r, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
    return;
  }
  switch (op) {
    case NvmOpcode::kRead:
      HandleRead(r);
      return;
    case NvmOpcode::kWrite:
      HandleWrite(r);
      return;
    case NvmOpcode::kFlush:
      HandleFlush(r);
      return;
    case NvmOpcode::kWriteZeroes:
      HandleWriteZeroes(r);
      return;
    case NvmOpcode::kDatasetManagement:
      HandleDatasetManagement(r);
      return;
    case NvmOpcode::kCompare:
      HandleCompare(r);
      return;
    case NvmOpcode::kVerify:
      HandleVerify(r);
      return;
    default:
      Complete(r, GenericStatus(sc::kInvalidOpcode, true));
      return;
  }
}

// SLBA (CDW10-11) and NLB (CDW12 15:0, 0-based) into bytes, range-checked.
// Commands that move data must carry exactly that much (and no more than
// MDTS).
NvmeStatus ControllerQueue::DecodeRange(Request* r) {
  const Sqe& sqe = r->sqe();
  const uint64_t slba = uint64_t{sqe.cdw10} | (uint64_t{sqe.cdw11} << 32);
  const uint64_t nlb = uint64_t{sqe.cdw12 & 0xFFFF} + 1;
  const Namespace& ns = *r->ns;
  if (slba >= ns.num_blocks || nlb > ns.num_blocks - slba) {
    return GenericStatus(sc::kLbaOutOfRange, true);
  }
  r->offset = slba << ns.lbads;
  const uint64_t len = nlb << ns.lbads;
  const NvmOpcode op = static_cast<NvmOpcode>(sqe.opcode);
  const bool moves_data = op == NvmOpcode::kRead || op == NvmOpcode::kWrite ||
                          op == NvmOpcode::kCompare;
  if (moves_data) {
    if (len != r->cmd->data_length())
      return GenericStatus(sc::kDataSglLengthInvalid, true);
    if (len > ctrl_->limits().max_transfer())
      return GenericStatus(sc::kInvalidField, true);
  }
  r->length = static_cast<uint32_t>(std::min<uint64_t>(len, 0xFFFFFFFFu));
  return kNvmeSuccess;
}

void ControllerQueue::HandleRead(Request* r) {
  if (NvmeStatus st = DecodeRange(r); !st.ok()) {
    Complete(r, st);
    return;
  }
  IoCounters& n = r->ns->counters(thread_index_);
  n.read_commands.fetch_add(1, std::memory_order_relaxed);
  n.bytes_read.fetch_add(r->length, std::memory_order_relaxed);
  BackendQueue* bq = QueueFor(r->ns);
  if (r->ns->caps.memory_mapped && bq != nullptr) {
    MemDesc mem = bq->Map(r->offset, r->length, false);
    if (!mem.empty()) {
      SendAndComplete(r, mem);
      return;
    }
  }
  uint8_t* buf = r->Buffer(r->length);
  if (bq == nullptr || buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  bq->Read(r->offset, MemDesc(buf, r->length), [this, r](NvmeStatus st) {
    if (!st.ok()) {
      Complete(r, st);
      return;
    }
    SendAndComplete(r, r->buf, r->length);
  });
}

void ControllerQueue::HandleWrite(Request* r) {
  if (NvmeStatus st = DecodeRange(r); !st.ok()) {
    Complete(r, st);
    return;
  }
  if (r->ns->read_only) {
    Complete(r, GenericStatus(sc::kNamespaceWriteProtected, true));
    return;
  }
  IoCounters& n = r->ns->counters(thread_index_);
  n.write_commands.fetch_add(1, std::memory_order_relaxed);
  n.bytes_written.fetch_add(r->length, std::memory_order_relaxed);
  BackendQueue* bq = QueueFor(r->ns);
  if (r->ns->caps.memory_mapped && bq != nullptr) {
    // Straight into the namespace. A failed transfer (digest error) leaves
    // the range partly written, which a failed write may do (NVM Command
    // Set 3.2.6): the host retries it.
    MemDesc mem = bq->Map(r->offset, r->length, true);
    if (!mem.empty()) {
      r->cmd->ReceiveData(0, mem, [this, r](const Status& s) {
        Complete(r, s.ok() ? kNvmeSuccess : FromData(s));
      });
      return;
    }
  }
  uint8_t* buf = r->Buffer(r->length);
  if (bq == nullptr || buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  r->cmd->ReceiveData(
      0, MemDesc(buf, r->length), [this, r, bq](const Status& s) {
        if (!s.ok()) {
          Complete(r, FromData(s));
          return;
        }
        const bool fua = r->sqe().cdw12 & kFua;
        bq->Write(r->offset, MemDesc(r->buf, r->length), fua,
                  [this, r](NvmeStatus st) { Complete(r, st); });
      });
}

void ControllerQueue::HandleFlush(Request* r) {
  // One namespace, or every one (NSID FFFFFFFFh).
  std::vector<const Namespace*> targets;
  if (r->ns != nullptr) {
    targets.push_back(r->ns);
  } else {
    for (const auto& [nsid, ns] : ctrl_->subsystem().namespaces())
      targets.push_back(ns.get());
  }
  auto pending =
      std::make_shared<std::pair<size_t, NvmeStatus>>(0, kNvmeSuccess);
  for (const Namespace* ns : targets) {
    if (!ns->caps.volatile_write_cache) continue;  // nothing to make durable
    BackendQueue* bq = QueueFor(ns);
    if (bq == nullptr) continue;
    ++pending->first;
    bq->Flush([this, r, pending](NvmeStatus st) {
      if (!st.ok()) pending->second = st;
      if (--pending->first == 0) Complete(r, pending->second);
    });
  }
  if (pending->first == 0) Complete(r, kNvmeSuccess);
}

void ControllerQueue::HandleWriteZeroes(Request* r) {
  if (NvmeStatus st = DecodeRange(r); !st.ok()) {
    Complete(r, st);
    return;
  }
  if (r->ns->read_only) {
    Complete(r, GenericStatus(sc::kNamespaceWriteProtected, true));
    return;
  }
  BackendQueue* bq = QueueFor(r->ns);
  if (bq == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  bq->WriteZeroes(r->offset, r->length,
                  [this, r](NvmeStatus st) { Complete(r, st); });
}

void ControllerQueue::HandleDatasetManagement(Request* r) {
  // NR+1 ranges. The buffer may be longer: Linux always sends 4096 bytes
  // (256 ranges' worth) whatever NR says, and its own target takes that.
  const uint32_t nr = (r->sqe().cdw10 & 0xFF) + 1;
  const uint32_t len = r->cmd->data_length();
  if (len < nr * sizeof(DsmRange) || len > 256 * sizeof(DsmRange)) {
    Complete(r, GenericStatus(sc::kDataSglLengthInvalid, true));
    return;
  }
  ReceiveAll(r, [](Request* req, const Status& s) {
    ControllerQueue* q = req->queue;
    if (!s.ok()) {
      q->Complete(req, FromData(s));
      return;
    }
    if ((req->sqe().cdw11 & kDsmDeallocate) == 0) {
      q->Complete(req, kNvmeSuccess);  // only hints: nothing to do
      return;
    }
    if (req->ns->read_only) {
      q->Complete(req, GenericStatus(sc::kNamespaceWriteProtected, true));
      return;
    }
    const uint32_t n = (req->sqe().cdw10 & 0xFF) + 1;
    const auto* ranges = reinterpret_cast<const DsmRange*>(req->buf);
    for (uint32_t i = 0; i < n; ++i) {
      const Namespace& ns = *req->ns;
      if (ranges[i].slba >= ns.num_blocks ||
          ranges[i].nlb > ns.num_blocks - ranges[i].slba) {
        q->Complete(req, GenericStatus(sc::kLbaOutOfRange, true));
        return;
      }
    }
    BackendQueue* bq = q->QueueFor(req->ns);
    if (bq == nullptr) {
      q->Complete(req, GenericStatus(sc::kInternalError));
      return;
    }
    // Deallocate every range at once; the first error wins.
    auto state =
        std::make_shared<std::pair<uint32_t, NvmeStatus>>(1, kNvmeSuccess);
    auto done = [q, req, state](NvmeStatus st) {
      if (!st.ok() && state->second.ok()) state->second = st;
      if (--state->first == 0) q->Complete(req, state->second);
    };
    const uint8_t lbads = req->ns->lbads;
    for (uint32_t i = 0; i < n; ++i) {
      if (ranges[i].nlb == 0) continue;
      ++state->first;
      bq->Deallocate(ranges[i].slba << lbads, uint64_t{ranges[i].nlb} << lbads,
                     done);
    }
    done(kNvmeSuccess);  // the initial count of 1
  });
}

void ControllerQueue::HandleCompare(Request* r) {
  if (NvmeStatus st = DecodeRange(r); !st.ok()) {
    Complete(r, st);
    return;
  }
  // The host's data in the first half of the buffer, the namespace's in
  // the second.
  uint8_t* buf = r->Buffer(size_t{r->length} * 2);
  if (buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  r->cmd->ReceiveData(0, MemDesc(buf, r->length), [this, r](const Status& s) {
    if (!s.ok()) {
      Complete(r, FromData(s));
      return;
    }
    auto compare = [this, r](const uint8_t* stored) {
      bool same = std::memcmp(r->buf, stored, r->length) == 0;
      Complete(r, same ? kNvmeSuccess : MediaStatus(sc::kCompareFailure, true));
    };
    BackendQueue* bq = QueueFor(r->ns);
    if (bq == nullptr) {
      Complete(r, GenericStatus(sc::kInternalError));
      return;
    }
    if (r->ns->caps.memory_mapped) {
      MemDesc mem = bq->Map(r->offset, r->length, false);
      if (mem.segment_count() == 1) {
        compare(static_cast<const uint8_t*>(mem.segments()[0].iov_base));
        return;
      }
    }
    bq->Read(r->offset, MemDesc(r->buf + r->length, r->length),
             [this, r, compare](NvmeStatus st) {
               if (!st.ok()) {
                 Complete(r, st);
                 return;
               }
               compare(r->buf + r->length);
             });
  });
}

void ControllerQueue::HandleVerify(Request* r) {
  if (NvmeStatus st = DecodeRange(r); !st.ok()) {
    Complete(r, st);
    return;
  }
  if (r->ns->caps.memory_mapped ||
      r->length > ctrl_->limits().max_transfer()) {
    // Memory cannot fail a read; a range larger than a transfer is checked
    // for range only.
    Complete(r, kNvmeSuccess);
    return;
  }
  // Read the range to check that it can be read.
  BackendQueue* bq = QueueFor(r->ns);
  uint8_t* buf = r->Buffer(r->length);
  if (bq == nullptr || buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  bq->Read(r->offset, MemDesc(buf, r->length),
           [this, r](NvmeStatus st) { Complete(r, st); });
}

}  // namespace nvmeof::controller
