#include <cassert>

#include "nvmeof/transport.h"

namespace nvmeof {

// ---- Capsule ----

void CapsuleDeleter::operator()(Capsule* capsule) const { capsule->Release(); }

void Capsule::Release() {
  assert(refs_ > 0);
  if (--refs_ > 0) return;
  qpair_->OnCapsuleFreed(*this);
  data_ = MemDesc();
  data_done_.Reset();
  has_data_ = false;
  data_to_controller_ = false;
  icd_length_ = 0;
  qpair_->free_.push_back(this);
}

void Capsule::AppendData(const MemDesc& mem, bool to_controller,
                         DataCallback done) {
  assert(is_command_ && qpair_->is_host() && !has_data_);
  data_ = mem;
  data_to_controller_ = to_controller;
  data_done_ = std::move(done);
  has_data_ = true;
  qpair_->DoAppendData(*this);
}

NvmeStatus Capsule::Validate() const { return qpair_->DoValidate(*this); }

void Capsule::ReceiveData(uint32_t offset, const MemDesc& mem,
                          DataCallback done) {
  assert(is_command_ && !qpair_->is_host());
  qpair_->DoReceiveData(*this, offset, mem, std::move(done));
}

SendDataResult Capsule::SendData(uint32_t offset, const MemDesc& mem,
                                 bool may_complete, DataCallback released) {
  assert(is_command_ && !qpair_->is_host());
  return qpair_->DoSendData(*this, offset, mem, may_complete,
                            std::move(released));
}

// ---- QueuePair ----

QueuePair::QueuePair(EventLoop* loop, QueuePairRole role, uint16_t qid)
    : loop_(loop), role_(role), qid_(qid) {}

QueuePair::~QueuePair() {
  assert(capsules_in_use() == 0 && "a capsule outlived its queue pair");
}

void QueuePair::AddToPool(Capsule* capsule) {
  capsule->qpair_ = this;
  free_.push_back(capsule);
  ++pool_size_;
}

Capsule* QueuePair::TakeFromPool(bool is_command) {
  if (free_.empty() && (!GrowPool() || free_.empty())) return nullptr;
  Capsule* c = free_.back();
  free_.pop_back();
  c->is_command_ = is_command;
  c->refs_ = 1;
  return c;
}

CapsulePtr QueuePair::AllocateCommand(const Sqe& sqe) {
  assert(is_host());
  Capsule* c = TakeFromPool(true);
  if (c == nullptr) return nullptr;
  c->sqe_ = sqe;
  return CapsulePtr(c);
}

CapsulePtr QueuePair::AllocateResponse(const Cqe& cqe) {
  assert(!is_host());
  Capsule* c = TakeFromPool(false);
  if (c == nullptr) return nullptr;
  c->cqe_ = cqe;
  return CapsulePtr(c);
}

Status QueuePair::Transmit(Capsule& capsule) {
  assert(capsule.qpair_ == this);
  assert(capsule.is_command_ == is_host());
  if (failed_) return UnavailableError("queue pair has failed");
  if (closing_) return FailedPreconditionError("queue pair is closing");
  return DoTransmit(capsule);
}

void QueuePair::Close(std::function<void()> done) {
  assert(!closing_);
  closing_ = true;
  DoClose(std::move(done));
}

void QueuePair::ReportError(Status status) {
  if (failed_ || closing_) return;
  failed_ = true;
  if (callbacks_.on_error) callbacks_.on_error(std::move(status));
}

// The SGL checks every transport shares (NVMe/TCP 3.5.2; FreeBSD's
// nvmf_validate_command_capsule): the command must use SGLs; its SGL1 is
// either in-capsule data (Data Block, Offset) whose length is what arrived,
// or a transport data block naming data to be moved later.
NvmeStatus QueuePair::DoValidate(const Capsule& capsule) const {
  const Sqe& sqe = capsule.sqe();
  if ((sqe.flags & kSqeFlagsPsdtMask) != kSqeFlagsPsdtSgl) {
    return GenericStatus(sc::kInvalidField, true);
  }
  const SglDescriptor& sgl = sqe.sgl1;
  switch (sgl.type) {
    case kSglIcdType:
      if (sgl.address != 0) return GenericStatus(sc::kSglOffsetInvalid, true);
      if (sgl.length != capsule.icd_length_) {
        return GenericStatus(sc::kDataSglLengthInvalid, true);
      }
      return kNvmeSuccess;
    case kSglTransportType:
      if (sgl.address != 0) return GenericStatus(sc::kSglOffsetInvalid, true);
      if (capsule.icd_length_ != 0) {
        return GenericStatus(sc::kDataSglLengthInvalid, true);
      }
      return kNvmeSuccess;
    default:
      return GenericStatus(sc::kSglDescriptorTypeInvalid, true);
  }
}

}  // namespace nvmeof
