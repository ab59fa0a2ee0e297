// Admin commands other than Identify and Get Log Page: Get/Set Features,
// Keep Alive, Asynchronous Event Request, Abort.

#include "controller/admin_cmd.h"

#include <algorithm>
#include <cstring>

#include "nvmeof/proto/features.h"

namespace nvmeof::controller {

namespace {
// CDW10 of Get/Set Features: FID in byte 40, SEL bits 10:8 (byte 41), SV
// bit 31 (byte 43, bit 7).
constexpr ErrorLocation kFidLocation = ErrorLocation::At(kSqeCdw10);
constexpr ErrorLocation kSelLocation = ErrorLocation::At(kSqeCdw10 + 1);
constexpr ErrorLocation kSvLocation = ErrorLocation::At(kSqeCdw10 + 3, 7);

void GetFeatures(Request& r) {
  Controller& ctrl = r.queue->controller();
  GetFeaturesCommand c = ParseGetFeaturesSqe(r.sqe());
  if (c.sel == FeatureSelect::kSupportedCapabilities) {
    // Nothing is saveable; everything implemented is changeable.
    r.dw0 = kFeatureCapabilityChangeable;
    r.queue->Complete(r, kNvmeSuccess);
    return;
  }
  if (c.sel == FeatureSelect::kSaved) {
    Fail(r, CommandSpecificStatus(sc::kFeatureIdNotSaveable), kSelLocation);
    return;
  }
  const bool defaults = c.sel == FeatureSelect::kDefault;
  switch (static_cast<FeatureId>(c.fid)) {
    case FeatureId::kNumberOfQueues: {
      uint16_t n =
          defaults ? ctrl.limits().max_io_queues : ctrl.granted_io_queues();
      if (n == 0) n = 1;
      r.dw0 = NumberOfQueues::FromCounts(n, n).ToDword();
      break;
    }
    case FeatureId::kKeepAliveTimer:
      r.dw0 = defaults ? 0 : ctrl.kato_ms();
      break;
    case FeatureId::kAsyncEventConfiguration:
      r.dw0 = defaults ? 0 : ctrl.async_event_config;
      break;
    case FeatureId::kVolatileWriteCache:
      r.dw0 = (defaults || ctrl.volatile_write_cache)
                  ? kVolatileWriteCacheEnable
                  : 0;
      break;
    case FeatureId::kArbitration:
    case FeatureId::kPowerManagement:
    case FeatureId::kErrorRecovery:
    case FeatureId::kWriteAtomicityNormal:
      r.dw0 = 0;
      break;
    case FeatureId::kTemperatureThreshold:
      r.dw0 = defaults ? 0x0157 : ctrl.temperature_threshold;
      break;
    case FeatureId::kHostIdentifier: {
      if ((c.cdw11 & kHostIdentifierExhid) == 0) {
        // Only the 128-bit host identifier is supported (CTRATT bit 0).
        Fail(r, GenericStatus(sc::kHostIdentifierInconsistentFormat, true),
             ErrorLocation::At(kSqeCdw11));
        return;
      }
      if (r.cmd->data_length() < 16) {
        Fail(r, GenericStatus(sc::kDataSglLengthInvalid, true),
             ErrorLocation::At(kSqeSgl1));
        return;
      }
      uint8_t* buf = r.Buffer(16);
      if (buf == nullptr) {
        Fail(r, GenericStatus(sc::kInternalError));
        return;
      }
      std::memcpy(buf, ctrl.hostid().data(), 16);
      SendBufferAndComplete(r, 16);
      return;
    }
    default:
      Fail(r, GenericStatus(sc::kInvalidField, true), kFidLocation);
      return;
  }
  r.queue->Complete(r, kNvmeSuccess);
}

void SetFeatures(Request& r) {
  Controller& ctrl = r.queue->controller();
  SetFeaturesCommand c = ParseSetFeaturesSqe(r.sqe());
  if (c.sv) {
    Fail(r, CommandSpecificStatus(sc::kFeatureIdNotSaveable), kSvLocation);
    return;
  }
  switch (static_cast<FeatureId>(c.fid)) {
    case FeatureId::kNumberOfQueues: {
      NumberOfQueues want = NumberOfQueues::FromDword(c.cdw11);
      if (want.nsqr == kNumberOfQueuesInvalid ||
          want.ncqr == kNumberOfQueuesInvalid) {
        Fail(r, GenericStatus(sc::kInvalidField, true),
             ErrorLocation::At(kSqeCdw11));
        return;
      }
      uint32_t asked = std::min(want.sq_count(), want.cq_count());
      uint16_t n = static_cast<uint16_t>(
          std::min<uint32_t>(asked, ctrl.limits().max_io_queues));
      if (ctrl.subsystem().is_discovery()) n = 0;
      ctrl.set_granted_io_queues(n);
      uint16_t report = n == 0 ? 1 : n;
      r.dw0 = NumberOfQueues::FromCounts(report, report).ToDword();
      break;
    }
    case FeatureId::kKeepAliveTimer:
      ctrl.set_kato_ms(c.cdw11);
      break;
    case FeatureId::kAsyncEventConfiguration:
      ctrl.async_event_config = c.cdw11;
      break;
    case FeatureId::kVolatileWriteCache:
      ctrl.volatile_write_cache = c.cdw11 & kVolatileWriteCacheEnable;
      break;
    case FeatureId::kTemperatureThreshold:
      ctrl.temperature_threshold = static_cast<uint16_t>(c.cdw11 & 0xFFFF);
      break;
    case FeatureId::kHostIdentifier:
      // The host identifier comes with Connect; it cannot change after.
      Fail(r, GenericStatus(sc::kCommandSequenceError, true));
      return;
    default:
      Fail(r, GenericStatus(sc::kInvalidField, true), kFidLocation);
      return;
  }
  r.queue->Complete(r, kNvmeSuccess);
}

void AsyncEventRequest(Request& r) {
  Request* req = &r;
  r.SetState(RequestState::kExecuting);
  r.SetState(RequestState::kHeld);
  bool held = r.queue->controller().HoldAer([req](std::optional<uint32_t> dw0) {
    req->SetState(RequestState::kExecuting);
    if (!dw0) {
      req->queue->Release(*req);  // cancelled: the admin queue is going away
      return;
    }
    req->dw0 = *dw0;
    req->queue->Complete(*req, kNvmeSuccess);
  });
  if (!held) {
    r.SetState(RequestState::kExecuting);
    Fail(r, CommandSpecificStatus(sc::kAsyncEventRequestLimitExceeded));
  }
}

}  // namespace

void ExecuteAdmin(Request& r) {
  switch (static_cast<AdminOpcode>(r.sqe().opcode)) {
    case AdminOpcode::kIdentify:
      ExecuteIdentify(r);
      return;
    case AdminOpcode::kGetLogPage:
      ExecuteGetLogPage(r);
      return;
    case AdminOpcode::kGetFeatures:
      GetFeatures(r);
      return;
    case AdminOpcode::kSetFeatures:
      SetFeatures(r);
      return;
    case AdminOpcode::kKeepAlive:
      r.queue->Complete(r, kNvmeSuccess);  // the queue restarted the timer
      return;
    case AdminOpcode::kAsyncEventRequest:
      AsyncEventRequest(r);
      return;
    case AdminOpcode::kAbort:
      // Commands run to completion here: report "not aborted" (DW0 bit 0).
      r.dw0 = 1;
      r.queue->Complete(r, kNvmeSuccess);
      return;
    default:
      Fail(r, GenericStatus(sc::kInvalidOpcode, true),
           ErrorLocation::At(kSqeOpcode));
      return;
  }
}

}  // namespace nvmeof::controller
