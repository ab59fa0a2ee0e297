#include "controller/request.h"

#include <cassert>
#include <algorithm>
#include <cstdlib>

namespace nvmeof::controller {

std::string_view RequestStateName(RequestState state) {
  switch (state) {
    case RequestState::kFree:
      return "free";
    case RequestState::kParsing:
      return "parsing";
    case RequestState::kExecuting:
      return "executing";
    case RequestState::kAwaitingData:
      return "awaiting data";
    case RequestState::kInBackend:
      return "in backend";
    case RequestState::kHeld:
      return "held";
    case RequestState::kSending:
      return "sending";
  }
  return "?";
}

namespace {
constexpr bool Allowed(RequestState from, RequestState to) {
  using S = RequestState;
  switch (to) {
    case S::kFree:
      return from == S::kParsing || from == S::kExecuting ||
             from == S::kSending;
    case S::kParsing:
      return from == S::kFree;
    case S::kExecuting:
      return from == S::kParsing || from == S::kAwaitingData ||
             from == S::kInBackend || from == S::kHeld;
    case S::kAwaitingData:
    case S::kInBackend:
    case S::kHeld:
    case S::kSending:
      return from == S::kExecuting;
  }
  return false;
}
}  // namespace

void Request::SetState(RequestState next) {
  assert(Allowed(state_, next) && "request state step not allowed");
  (void)Allowed;
  state_ = next;
}

uint8_t* Request::Buffer(size_t n) {
  if (n <= buf_size) return buf;
  std::free(buf);
  buf = nullptr;
  buf_size = 0;
  size_t size = (n + 4095) & ~size_t{4095};
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size) != 0) return nullptr;
  buf = static_cast<uint8_t*>(p);
  buf_size = size;
  return buf;
}

Request::~Request() { std::free(buf); }

void Fail(Request& r, NvmeStatus status, ErrorLocation location) {
  r.error_location = location;
  r.queue->Complete(r, status);
}

NvmeStatus FromDataStatus(const Status& s) {
  return s.code() == StatusCode::kDataLoss
             ? GenericStatus(sc::kTransientTransportError)
             : GenericStatus(sc::kDataTransferError);
}

void ReceiveAll(Request& r, void (*next)(Request&, const Status&),
                size_t buffer_size) {
  const uint32_t len = r.cmd->data_length();
  uint8_t* buf = r.Buffer(std::max<size_t>(len, buffer_size));
  if (buf == nullptr) {
    Fail(r, GenericStatus(sc::kInternalError));
    return;
  }
  r.SetState(RequestState::kAwaitingData);
  Request* req = &r;
  r.cmd->ReceiveData(0, MemDesc(buf, len), [req, next](const Status& s) {
    req->SetState(RequestState::kExecuting);
    next(*req, s);
  });
}

void SendAndComplete(Request& r, const MemDesc& data, DataCallback released) {
  if (data.empty()) {
    r.queue->Complete(r, kNvmeSuccess);
    return;
  }
  // A backend's memory: it stays valid after `r` is freed.
  SendDataResult res = r.cmd->SendData(0, data, r.dw0 == 0 && r.dw1 == 0,
                                       std::move(released));
  switch (res.outcome) {
    case SendDataOutcome::kCompleted:
      r.queue->Release(r);
      return;
    case SendDataOutcome::kQueued:
      r.queue->Complete(r, kNvmeSuccess);
      return;
    case SendDataOutcome::kFailed:
      r.queue->Complete(r, res.status);
      return;
  }
}

void SendBufferAndComplete(Request& r, uint32_t length) {
  if (length == 0) {
    r.queue->Complete(r, kNvmeSuccess);
    return;
  }
  // Queued data goes out at the end of the turn, or later if the socket is
  // full, and the response after it; meanwhile a new command may take the
  // freed slot and fill its buffer. So the transport frees `r` when it is
  // done with the data (it does not run `released` when it fails).
  Request* req = &r;
  r.SetState(RequestState::kSending);
  SendDataResult res = r.cmd->SendData(
      0, MemDesc(r.buf, length), r.dw0 == 0 && r.dw1 == 0,
      [req](const Status&) { req->queue->Release(*req); });
  switch (res.outcome) {
    case SendDataOutcome::kCompleted:
      return;
    case SendDataOutcome::kQueued:
      r.queue->Respond(r, kNvmeSuccess);
      return;
    case SendDataOutcome::kFailed:
      r.queue->Complete(r, res.status);
      return;
  }
}

}  // namespace nvmeof::controller
