#include "controller/io_cmd.h"

#include <algorithm>
#include <cstring>

#include "base/annotations.h"
#include "nvmeof/log.h"

namespace nvmeof::controller {

namespace {
constexpr uint32_t kBroadcastNsid = 0xFFFFFFFF;
constexpr uint32_t kFua = 1u << 30;           // CDW12 of Read/Write
constexpr uint32_t kDsmDeallocate = 1u << 2;  // CDW11 of DSM (AD)
constexpr ErrorLocation kSlbaLocation = ErrorLocation::At(kSqeCdw10);
constexpr ErrorLocation kNlbLocation = ErrorLocation::At(kSqeCdw12);
constexpr ErrorLocation kSglLocation = ErrorLocation::At(kSqeSgl1);

struct DsmRange {
  uint32_t attributes;
  uint32_t nlb;  // 1-based here (the spec's Length in LBAs)
  uint64_t slba;
};
static_assert(sizeof(DsmRange) == 16);

constexpr bool MovesData(NvmOpcode op) {
  return op == NvmOpcode::kRead || op == NvmOpcode::kWrite ||
         op == NvmOpcode::kCompare;
}

// The parse step of the commands that address a range: SLBA (CDW10-11)
// and NLB (CDW12 15:0, 0-based) into r.offset / r.length in bytes, checked
// against the namespace; those that move data must carry exactly that much
// (and no more than MDTS). Writes to a read-only namespace are refused.
NvmeStatus ParseRange(Request& r, ErrorLocation* where) {
  const Sqe& sqe = r.sqe();
  const uint64_t slba = uint64_t{sqe.cdw10} | (uint64_t{sqe.cdw11} << 32);
  const uint64_t nlb = uint64_t{sqe.cdw12 & 0xFFFF} + 1;
  const Namespace& ns = *r.ns;
  r.error_lba = slba;
  if (slba >= ns.num_blocks() || nlb > ns.num_blocks() - slba) {
    *where = slba >= ns.num_blocks() ? kSlbaLocation : kNlbLocation;
    return GenericStatus(sc::kLbaOutOfRange, true);
  }
  r.offset = slba << ns.lbads;
  const uint64_t len = nlb << ns.lbads;
  const NvmOpcode op = static_cast<NvmOpcode>(sqe.opcode);
  if (MovesData(op)) {
    if (len != r.cmd->data_length()) {
      *where = kSglLocation;
      return GenericStatus(sc::kDataSglLengthInvalid, true);
    }
    if (len > r.queue->controller().limits().max_transfer()) {
      *where = kNlbLocation;
      return GenericStatus(sc::kInvalidField, true);
    }
  }
  r.length = static_cast<uint32_t>(std::min<uint64_t>(len, 0xFFFFFFFFu));
  return kNvmeSuccess;
}

// A backend's failure (EIO, ENOSPC, ...) is logged for the operator, at
// most twice a second over the whole target.
LogLimiter g_backend_errors(std::chrono::seconds(1), 2);

void LogBackendError(const Request& r, NvmeStatus st) {
  uint64_t suppressed = 0;
  if (!g_backend_errors.Allow(&suppressed)) return;
  NVMEOF_LOG(kError,
             "namespace %u of %s: %s (opcode 0x%02x, LBA %llu, %u bytes) "
             "failed in its backend: %s%s",
             r.ns->nsid, r.queue->controller().subsystem().nqn().c_str(),
             r.queue->peer_name().c_str(), r.sqe().opcode,
             static_cast<unsigned long long>(r.offset >> r.ns->lbads),
             r.length, NvmeStatusToString(st).c_str(),
             suppressed != 0 ? (" (" + std::to_string(suppressed) +
                                " more backend errors not logged)")
                                   .c_str()
                             : "");
}

// Completes `r` when a backend operation it waits for is done.
void BackendDone(Request& r, NvmeStatus st) {
  r.SetState(RequestState::kExecuting);
  if (!st.ok() && r.ns != nullptr) LogBackendError(r, st);
  r.queue->Complete(r, st);
}

// Starts a backend operation for `r`: returns the queue, or completes `r`
// with Internal Error and returns null.
BackendQueue* BackendOf(Request& r) {
  BackendQueue* bq = r.queue->BackendFor(*r.ns);
  if (bq == nullptr) Fail(r, GenericStatus(sc::kInternalError));
  return bq;
}

void Read(Request& r, BackendQueue& bq) {
  IoCounters& n = r.ns->counters(r.queue->thread_index());
  IoCounters::Add(n.read_commands, 1);
  IoCounters::Add(n.bytes_read, r.length);
  r.rw = 1;
  if (r.ns->caps.memory_mapped) {
    MemDesc mem = bq.Map(r.offset, r.length, /*for_write=*/false);
    if (!mem.empty()) {
      // Sent from the namespace's memory: sendmsg's copy is the kernel's
      // (annotations.h).
      SendAndComplete(r, mem);
      return;
    }
  }
  uint8_t* buf = r.Buffer(r.length);
  if (buf == nullptr) {
    Fail(r, GenericStatus(sc::kInternalError));
    return;
  }
  r.SetState(RequestState::kInBackend);
  Request* req = &r;
  bq.Read(r.offset, MemDesc(buf, r.length), [req](NvmeStatus st) {
    if (!st.ok()) {
      BackendDone(*req, st);
      return;
    }
    req->SetState(RequestState::kExecuting);
    SendBufferAndComplete(*req, req->length);
  });
}

// The host's data of a Write is in r.buf: on to the backend.
void WriteReceived(Request& r, const Status& s) {
  if (!s.ok()) {
    Fail(r, FromDataStatus(s));
    return;
  }
  BackendQueue* bq = BackendOf(r);
  if (bq == nullptr) return;
  const bool fua = r.sqe().cdw12 & kFua;
  Request* req = &r;
  r.SetState(RequestState::kInBackend);
  bq->Write(r.offset, MemDesc(r.buf, r.length), fua,
            [req](NvmeStatus st) { BackendDone(*req, st); });
}

void Write(Request& r, BackendQueue& bq) {
  IoCounters& n = r.ns->counters(r.queue->thread_index());
  IoCounters::Add(n.write_commands, 1);
  IoCounters::Add(n.bytes_written, r.length);
  r.rw = 2;
  Request* req = &r;
  if (r.ns->caps.memory_mapped) {
    // Straight into the namespace. A failed transfer (digest error) leaves
    // the range partly written, which a failed write may do (NVM Command
    // Set 3.2.6): the host retries it.
    MemDesc mem = bq.Map(r.offset, r.length, /*for_write=*/true);
    if (!mem.empty()) {
      r.SetState(RequestState::kAwaitingData);
      r.cmd->ReceiveData(0, mem, [req](const Status& s) {
        req->SetState(RequestState::kExecuting);
        req->queue->Complete(*req, s.ok() ? kNvmeSuccess : FromDataStatus(s));
      });
      return;
    }
  }
  ReceiveAll(r, WriteReceived);
}

// A Flush of every namespace (NSID FFFFFFFFh) or of r.ns; namespaces
// without a volatile write cache have nothing to make durable.
void Flush(Request& r) {
  struct Pending {
    size_t left = 0;
    NvmeStatus status = kNvmeSuccess;
  };
  std::vector<const Namespace*> targets;
  if (r.ns != nullptr) {
    targets.push_back(r.ns);
  } else {
    for (const auto& [nsid, ns] : r.queue->Namespaces(r).by_nsid)
      targets.push_back(ns.get());
  }
  auto pending = std::make_shared<Pending>();
  Request* req = &r;
  r.SetState(RequestState::kInBackend);
  for (const Namespace* ns : targets) {
    if (!ns->caps.volatile_write_cache) continue;
    BackendQueue* bq = r.queue->BackendFor(*ns);
    if (bq == nullptr) continue;
    ++pending->left;
    bq->Flush([req, pending](NvmeStatus st) {
      if (!st.ok()) pending->status = st;
      if (--pending->left == 0) BackendDone(*req, pending->status);
    });
  }
  if (pending->left == 0) BackendDone(r, kNvmeSuccess);
}

void WriteZeroes(Request& r, BackendQueue& bq) {
  Request* req = &r;
  r.SetState(RequestState::kInBackend);
  bq.WriteZeroes(r.offset, r.length,
                 [req](NvmeStatus st) { BackendDone(*req, st); });
}

void FinishDatasetManagement(Request& r, const Status& s) {
  if (!s.ok()) {
    Fail(r, FromDataStatus(s));
    return;
  }
  if ((r.sqe().cdw11 & kDsmDeallocate) == 0) {
    r.queue->Complete(r, kNvmeSuccess);  // only hints: nothing to do
    return;
  }
  if (r.ns->read_only) {
    Fail(r, GenericStatus(sc::kNamespaceWriteProtected, true));
    return;
  }
  const uint32_t n = (r.sqe().cdw10 & 0xFF) + 1;
  const auto* ranges = reinterpret_cast<const DsmRange*>(r.buf);
  const Namespace& ns = *r.ns;
  for (uint32_t i = 0; i < n; ++i) {
    if (ranges[i].slba >= ns.num_blocks() ||
        ranges[i].nlb > ns.num_blocks() - ranges[i].slba) {
      r.error_lba = ranges[i].slba;
      Fail(r, GenericStatus(sc::kLbaOutOfRange, true));
      return;
    }
  }
  BackendQueue* bq = BackendOf(r);
  if (bq == nullptr) return;
  // Deallocate every range at once; the first error wins.
  struct Pending {
    uint32_t left = 1;  // the initial count, dropped below
    NvmeStatus status = kNvmeSuccess;
  };
  auto state = std::make_shared<Pending>();
  Request* req = &r;
  auto done = [req, state](NvmeStatus st) {
    if (!st.ok() && state->status.ok()) state->status = st;
    if (--state->left == 0) BackendDone(*req, state->status);
  };
  r.SetState(RequestState::kInBackend);
  for (uint32_t i = 0; i < n; ++i) {
    if (ranges[i].nlb == 0) continue;
    ++state->left;
    bq->Deallocate(ranges[i].slba << ns.lbads,
                   uint64_t{ranges[i].nlb} << ns.lbads, done);
  }
  done(kNvmeSuccess);
}

void DatasetManagement(Request& r) {
  // NR+1 ranges. The buffer may be longer: Linux always sends 4096 bytes
  // (256 ranges' worth) whatever NR says, and its own target takes that.
  const uint32_t nr = (r.sqe().cdw10 & 0xFF) + 1;
  const uint32_t len = r.cmd->data_length();
  if (len < nr * sizeof(DsmRange) || len > 256 * sizeof(DsmRange)) {
    Fail(r, GenericStatus(sc::kDataSglLengthInvalid, true), kSglLocation);
    return;
  }
  r.SetState(RequestState::kExecuting);
  ReceiveAll(r, FinishDatasetManagement);
}

// The host's data is in the first half of r.buf; `stored` is the
// namespace's.
void CompareWith(Request& r, const uint8_t* stored) {
  const bool same = std::memcmp(r.buf, stored, r.length) == 0;
  r.queue->Complete(r,
                    same ? kNvmeSuccess : MediaStatus(sc::kCompareFailure, true));
}

// The host's data of a Compare is in the first half of r.buf: compare it
// with the namespace's memory, or with what the backend reads into the
// second half.
void CompareReceived(Request& r, const Status& s) {
  if (!s.ok()) {
    Fail(r, FromDataStatus(s));
    return;
  }
  BackendQueue* bq = BackendOf(r);
  if (bq == nullptr) return;
  if (r.ns->caps.memory_mapped) {
    MemDesc mem = bq->Map(r.offset, r.length, false);
    if (mem.segment_count() == 1) {
      CompareWith(r, static_cast<const uint8_t*>(mem.segments()[0].iov_base));
      return;
    }
  }
  Request* req = &r;
  r.SetState(RequestState::kInBackend);
  bq->Read(r.offset, MemDesc(r.buf + r.length, r.length),
           [req](NvmeStatus st) {
             if (!st.ok()) {
               BackendDone(*req, st);
               return;
             }
             req->SetState(RequestState::kExecuting);
             CompareWith(*req, req->buf + req->length);
           });
}

void Compare(Request& r, BackendQueue& /*bq*/) {
  ReceiveAll(r, CompareReceived, size_t{r.length} * 2);
}

void Verify(Request& r, BackendQueue& bq) {
  if (r.ns->caps.memory_mapped ||
      r.length > r.queue->controller().limits().max_transfer()) {
    // Memory cannot fail a read; a range larger than a transfer is checked
    // for range only.
    r.queue->Complete(r, kNvmeSuccess);
    return;
  }
  // Read the range to check that it can be read.
  uint8_t* buf = r.Buffer(r.length);
  if (buf == nullptr) {
    Fail(r, GenericStatus(sc::kInternalError));
    return;
  }
  Request* req = &r;
  r.SetState(RequestState::kInBackend);
  bq.Read(r.offset, MemDesc(buf, r.length),
          [req](NvmeStatus st) { BackendDone(*req, st); });
}

// The commands that address a range of the namespace, by opcode.
using RangeHandler = void (*)(Request&, BackendQueue&);
RangeHandler RangeHandlerFor(NvmOpcode op) {
  switch (op) {
    case NvmOpcode::kRead:
      return Read;
    case NvmOpcode::kWrite:
      return Write;
    case NvmOpcode::kWriteZeroes:
      return WriteZeroes;
    case NvmOpcode::kCompare:
      return Compare;
    case NvmOpcode::kVerify:
      return Verify;
    default:
      return nullptr;
  }
}

}  // namespace

void ExecuteIo(Request& r) {
  const Sqe& sqe = r.sqe();
  const NvmOpcode op = static_cast<NvmOpcode>(sqe.opcode);
  if (op == NvmOpcode::kFlush && sqe.nsid == kBroadcastNsid) {
    r.ns = nullptr;
    r.SetState(RequestState::kExecuting);
    Flush(r);
    return;
  }
  r.ns = r.queue->Namespaces(r).Find(sqe.nsid);
  if (r.ns == nullptr) {
    Fail(r, GenericStatus(sc::kInvalidNamespaceOrFormat, true),
         ErrorLocation::At(kSqeNsid));
    return;
  }
  // After what the host saw complete before it sent this (annotations.h).
  NVMEOF_HAPPENS_AFTER(r.ns);
  IoCounters::Add(r.ns->counters(r.queue->thread_index()).commands, 1);
  r.counted = true;
  if (op == NvmOpcode::kFlush) {
    r.SetState(RequestState::kExecuting);
    Flush(r);
    return;
  }
  if (op == NvmOpcode::kDatasetManagement) {
    DatasetManagement(r);
    return;
  }
  const RangeHandler handler = RangeHandlerFor(op);
  if (handler == nullptr) {
    Fail(r, GenericStatus(sc::kInvalidOpcode, true),
         ErrorLocation::At(kSqeOpcode));
    return;
  }
  // Parse: the range (and the data it moves).
  ErrorLocation where;
  if (NvmeStatus st = ParseRange(r, &where); !st.ok()) {
    Fail(r, st, where);
    return;
  }
  const bool writes = op == NvmOpcode::kWrite || op == NvmOpcode::kWriteZeroes;
  if (writes && r.ns->read_only) {
    Fail(r, GenericStatus(sc::kNamespaceWriteProtected, true));
    return;
  }
  // Execute.
  r.SetState(RequestState::kExecuting);
  if (BackendQueue* bq = BackendOf(r)) handler(r, *bq);
}

}  // namespace nvmeof::controller
