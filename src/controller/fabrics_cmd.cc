// Fabrics commands (NVMe Base 2.0, section 6): Connect, Property Get/Set,
// Disconnect.

#include <cstring>

#include "nvmeof/log.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/nqn.h"
#include "controller/queue.h"
#include "controller/target.h"

namespace nvmeof::controller {

namespace {
// Connect Invalid Parameters carries in DW0 the offset of the offending
// field: in the SQE (IATTR 0) or in the Connect data (IATTR 1).
uint32_t InvalidParam(uint16_t offset, bool in_data) {
  return ConnectInvalidParameter{offset, in_data}.ToDw0();
}
constexpr uint16_t kSqeRecfmtOffset = 40;
constexpr uint16_t kSqeQidOffset = 42;
constexpr uint16_t kSqeSqsizeOffset = 44;
constexpr uint16_t kDataCntlidOffset = 16;
constexpr uint16_t kDataSubnqnOffset = 256;
constexpr uint16_t kDataHostnqnOffset = 512;
}  // namespace

void ControllerQueue::HandleFabrics(Request* r) {
  switch (GetFabricsCommandType(r->sqe())) {
    case FabricsCommandType::kConnect:
      HandleConnect(r);
      return;
    case FabricsCommandType::kPropertyGet:
      HandlePropertyGet(r);
      return;
    case FabricsCommandType::kPropertySet:
      HandlePropertySet(r);
      return;
    case FabricsCommandType::kDisconnect:
      // The host ends this queue: answer, then close the connection (it
      // closes too once it has the answer).
      if (!bound_) {
        Complete(r, GenericStatus(sc::kCommandSequenceError, true));
        return;
      }
      Complete(r, kNvmeSuccess);
      return;
    default:
      // Authentication is not supported (no DH-HMAC-CHAP).
      Complete(r, GenericStatus(sc::kInvalidField, true));
      return;
  }
}

void ControllerQueue::HandleConnect(Request* r) {
  if (bound_) {
    // A second Connect on a bound queue.
    Complete(r, GenericStatus(sc::kCommandSequenceError, true));
    return;
  }
  if (r->cmd->data_length() != sizeof(ConnectData)) {
    Complete(r, GenericStatus(sc::kDataSglLengthInvalid, true));
    return;
  }
  ReceiveAll(r, [](Request* req, const Status& s) {
    req->queue->FinishConnect(req, s);
  });
}

void ControllerQueue::FinishConnect(Request* r, const Status& data_status) {
  if (!data_status.ok()) {
    Complete(r, data_status.code() == StatusCode::kDataLoss
                    ? GenericStatus(sc::kTransientTransportError)
                    : GenericStatus(sc::kDataTransferError));
    return;
  }
  Result<ConnectCommand> c = ParseConnectSqe(r->sqe());
  ConnectData data;
  std::memcpy(&data, r->buf, sizeof(data));
  if (!c.ok() || c->recfmt != kConnectRecfmt) {
    r->dw0 = InvalidParam(kSqeRecfmtOffset, false);
    Complete(r, CommandSpecificStatus(sc::kIncompatibleFormat));
    return;
  }
  Result<ConnectDataFields> d = ParseConnectData(data);
  if (!d.ok()) {
    r->dw0 = InvalidParam(kDataSubnqnOffset, true);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  if (c->qid == 0) {
    ConnectAdmin(r, *c, *d);
  } else {
    ConnectIo(r, *c, *d);
  }
}

void ControllerQueue::ConnectAdmin(Request* r, const ConnectCommand& c,
                                   const ConnectDataFields& d) {
  const Subsystem* subsys = target_->FindSubsystem(d.subnqn);
  if (subsys == nullptr ||
      (!subsys->is_discovery() && !port_->Exposes(subsys))) {
    r->dw0 = InvalidParam(kDataSubnqnOffset, true);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  if (ValidateNqn(d.hostnqn).ok() == false) {
    r->dw0 = InvalidParam(kDataHostnqnOffset, true);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  if (!subsys->is_discovery() && !subsys->HostAllowed(std::string(d.hostnqn))) {
    NVMEOF_LOG(kWarn, "host %.*s refused: not allowed on %s",
               static_cast<int>(d.hostnqn.size()), d.hostnqn.data(),
               subsys->nqn().c_str());
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidHost));
    return;
  }
  if (d.cntlid != kCntlidDynamic) {
    // The dynamic controller model: the admin queue asks for any CNTLID.
    r->dw0 = InvalidParam(kDataCntlidOffset, true);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  const ListenParams& params = target_->port_params(*port_);
  // Admin SQSIZE: at least 31 (32 entries, the spec's minimum for the
  // admin queue of a fabrics controller), at most MQES.
  if (c.sqsize < 31 || c.sqsize >= params.transport.max_queue_size) {
    r->dw0 = InvalidParam(kSqeSqsizeOffset, false);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  if (c.kato == 0 && !subsys->is_discovery()) {
    // An I/O controller needs keep-alive: without it a vanished host would
    // hold its controller forever. (A discovery controller may go without.)
    r->dw0 = InvalidParam(48, false);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  ControllerLimits limits;
  limits.max_queue_size = params.transport.max_queue_size;
  limits.max_io_queues = subsys->is_discovery() ? 0 : params.max_io_queues;
  limits.io_icd = params.transport.max_io_icd;
  std::array<uint8_t, 16> hostid;
  std::memcpy(hostid.data(), d.hostid.data(), 16);
  ctrl_ = target_->CreateController(subsys, port_, std::string(d.hostnqn),
                                    hostid, loop_, limits);
  if (ctrl_ == nullptr) {
    Complete(r, CommandSpecificStatus(sc::kControllerBusy));
    return;
  }
  bound_ = true;
  qid_ = 0;
  sqsize_ = static_cast<uint16_t>(c.sqsize + 1);
  qp_->SetConnected(0, c.cattr & kCattrDisableSqFlowControl);
  ctrl_->StartKeepAlive(c.kato, [this] {
    NVMEOF_LOG(
        kWarn,
        "controller %u: keep-alive timeout (%u ms): ending the association",
        ctrl_->cntlid(), ctrl_->kato_ms());
    Close();
  });
  NVMEOF_LOG(kInfo, "controller %u: %s for %s (KATO %u ms)", ctrl_->cntlid(),
             subsys->nqn().c_str(), ctrl_->hostnqn().c_str(), c.kato);
  r->dw0 = ConnectResponse{ctrl_->cntlid(), 0}.ToDw0();
  Complete(r, kNvmeSuccess);
}

void ControllerQueue::ConnectIo(Request* r, const ConnectCommand& c,
                                const ConnectDataFields& d) {
  std::shared_ptr<Controller> ctrl = target_->FindController(d.cntlid);
  if (ctrl == nullptr || ctrl->subsystem().nqn() != d.subnqn ||
      &ctrl->port() != port_) {
    r->dw0 = InvalidParam(kDataCntlidOffset, true);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  if (ctrl->subsystem().is_discovery()) {
    r->dw0 = InvalidParam(kSqeQidOffset, false);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  if (c.sqsize == 0 || c.sqsize >= ctrl->limits().max_queue_size) {
    r->dw0 = InvalidParam(kSqeSqsizeOffset, false);
    Complete(r, CommandSpecificStatus(sc::kConnectInvalidParameters));
    return;
  }
  std::array<uint8_t, 16> hostid;
  std::memcpy(hostid.data(), d.hostid.data(), 16);
  NvmeStatus st = ctrl->AttachIoQueue(c.qid, QueueRef{loop_, id_},
                                      std::string(d.hostnqn), hostid);
  if (!st.ok()) {
    if (st.sct == StatusCodeType::kCommandSpecific &&
        st.sc == sc::kConnectInvalidParameters) {
      r->dw0 = InvalidParam(kSqeQidOffset, false);
    }
    Complete(r, st);
    return;
  }
  ctrl_ = std::move(ctrl);
  bound_ = true;
  qid_ = c.qid;
  NVMEOF_LOG(kDebug, "controller %u: I/O queue %u, %u entries", ctrl_->cntlid(),
             c.qid, c.sqsize + 1u);
  sqsize_ = static_cast<uint16_t>(c.sqsize + 1);
  qp_->SetConnected(c.qid, c.cattr & kCattrDisableSqFlowControl);
  r->dw0 = ConnectResponse{ctrl_->cntlid(), 0}.ToDw0();
  Complete(r, kNvmeSuccess);
}

void ControllerQueue::HandlePropertyGet(Request* r) {
  Result<PropertyGetCommand> c = ParsePropertyGetSqe(r->sqe());
  if (!bound_ || qid_ != 0) {
    Complete(r, GenericStatus(sc::kCommandSequenceError, true));
    return;
  }
  if (!c.ok()) {
    Complete(r, GenericStatus(sc::kInvalidField, true));
    return;
  }
  Result<uint64_t> v = ctrl_->GetProperty(c->ofst, c->size);
  if (!v.ok()) {
    Complete(r, GenericStatus(sc::kInvalidField, true));
    return;
  }
  Cqe cqe{};
  SetPropertyGetValue(*v, &cqe);
  r->dw0 = cqe.dw0;
  // An 8-byte value spans DW0 and DW1; DW1 goes through the same path.
  Cqe full{};
  full.dw0 = cqe.dw0;
  full.dw1 = cqe.dw1;
  full.sqhd = sqhd_;
  full.sqid = qid_;
  full.cid = r->sqe().cid;
  CapsulePtr rsp = qp_->AllocateResponse(full);
  if (rsp) qp_->Transmit(*rsp).IgnoreError();
  Release(r);
}

void ControllerQueue::HandlePropertySet(Request* r) {
  Result<PropertySetCommand> c = ParsePropertySetSqe(r->sqe());
  if (!bound_ || qid_ != 0) {
    Complete(r, GenericStatus(sc::kCommandSequenceError, true));
    return;
  }
  if (!c.ok()) {
    Complete(r, GenericStatus(sc::kInvalidField, true));
    return;
  }
  Complete(r, ctrl_->SetProperty(c->ofst, c->size, c->value));
}

}  // namespace nvmeof::controller
