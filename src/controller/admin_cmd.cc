// Admin commands (NVMe Base 2.0, section 5): Identify, Get Log Page,
// Get/Set Features, Keep Alive, Asynchronous Event Request, Abort.

#include <algorithm>
#include <cstring>

#include "nvmeof/proto/features.h"
#include "nvmeof/proto/identify.h"
#include "nvmeof/proto/log_pages.h"
#include "controller/queue.h"
#include "controller/target.h"

namespace nvmeof::controller {

namespace {
constexpr char kFirmwareRevision[] = "0.1.0";

void FillIdentifyController(const Controller& ctrl, uint16_t maxcmd,
                            IdentifyController* id) {
  const Subsystem& s = ctrl.subsystem();
  const bool disc = s.is_discovery();
  std::memset(id, 0, sizeof(*id));
  SetAsciiField(id->sn, s.serial).IgnoreError();
  SetAsciiField(id->mn, s.model).IgnoreError();
  SetAsciiField(id->fr, kFirmwareRevision).IgnoreError();
  id->rab = 6;
  id->cmic = disc ? 0 : kCmicMultiController;
  id->mdts = ctrl.limits().mdts;
  id->cntlid = ctrl.cntlid();
  id->ver = 0x00010400;
  id->oaes = disc ? kOaesDiscoveryLogChange : kOaesNamespaceAttribute;
  id->ctratt = kCtrattHostId128Bit;
  id->cntrltype = disc ? kCntrltypeDiscovery : kCntrltypeIo;
  id->acl = 3;
  id->aerl = Controller::kMaxAers - 1;
  id->frmw = (1 << 1) | 1;  // one slot, read-only
  id->lpa = kLpaCommandsEffects | kLpaExtendedData;
  id->elpe = 0;
  id->wctemp = 0x0157;
  id->cctemp = 0x0175;
  id->kas = 10;  // 100 ms units: 1 s granularity, as Linux nvmet
  id->sqes = 0x66;
  id->cqes = 0x44;
  id->maxcmd = maxcmd;
  id->nn = disc ? 0 : std::max<uint32_t>(s.max_nsid(), 1);
  id->mnan = id->nn;
  if (!disc) {
    id->oncs =
        kOncsCompare | kOncsDatasetManagement | kOncsWriteZeroes | kOncsVerify;
    id->vwc = kVwcPresent;
  }
  // SGLs supported, no alignment; in-capsule data addressed by offset.
  id->sgls = kSglsByteAligned | kSglsOffset;
  std::strncpy(id->subnqn, s.nqn().c_str(), sizeof(id->subnqn) - 1);
  id->ioccsz = (64 + ctrl.limits().io_icd) / 16;
  id->iorcsz = 1;
  id->icdoff = 0;
  id->fcatt = 0;  // dynamic controller model
  id->msdbd = 1;
  id->ofcs = kOfcsDisconnect;
}

void FillIdentifyNamespace(const Namespace& ns, IdentifyNamespace* id) {
  std::memset(id, 0, sizeof(*id));
  id->nsze = id->ncap = id->nuse = ns.num_blocks;
  // Deallocated blocks read as zeros.
  id->dlfeat = 0x01;
  id->nlbaf = 0;
  id->flbas = 0;
  id->lbaf[0].lbads = ns.lbads;
  id->nmic = kNmicShared;
  id->nsattr = ns.read_only ? 1 : 0;
  std::memcpy(id->nguid, ns.nguid.data(), 16);
  std::memcpy(id->eui64, ns.eui64.data(), 8);
}
}  // namespace

void ControllerQueue::HandleAdmin(Request* r) {
  switch (static_cast<AdminOpcode>(r->sqe().opcode)) {
    case AdminOpcode::kIdentify:
      HandleIdentify(r);
      return;
    case AdminOpcode::kGetLogPage:
      HandleGetLogPage(r);
      return;
    case AdminOpcode::kGetFeatures:
      HandleGetFeatures(r);
      return;
    case AdminOpcode::kSetFeatures:
      HandleSetFeatures(r);
      return;
    case AdminOpcode::kKeepAlive:
      Complete(r, kNvmeSuccess);  // Dispatch() restarted the timer
      return;
    case AdminOpcode::kAsyncEventRequest:
      HandleAsyncEventRequest(r);
      return;
    case AdminOpcode::kAbort:
      // Commands run to completion here: report "not aborted" (DW0 bit 0).
      r->dw0 = 1;
      Complete(r, kNvmeSuccess);
      return;
    default:
      Complete(r, GenericStatus(sc::kInvalidOpcode, true));
      return;
  }
}

void ControllerQueue::HandleIdentify(Request* r) {
  IdentifyCommand c = ParseIdentifySqe(r->sqe());
  uint8_t* buf = r->Buffer(kIdentifyDataSize);
  if (buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  std::memset(buf, 0, kIdentifyDataSize);
  const Subsystem& subsys = ctrl_->subsystem();
  auto find_ns = [&]() -> const Namespace* {
    return subsys.FindNamespace(c.nsid);
  };
  switch (c.cns) {
    case Cns::kController:
      FillIdentifyController(*ctrl_, ctrl_->limits().max_queue_size,
                             reinterpret_cast<IdentifyController*>(buf));
      break;
    case Cns::kNamespace: {
      if (subsys.is_discovery()) {
        Complete(r, GenericStatus(sc::kInvalidField, true));
        return;
      }
      const Namespace* ns = find_ns();
      if (ns == nullptr) {
        // An inactive NSID in range reads as zeros; beyond NN it is invalid.
        if (c.nsid == 0 || c.nsid > std::max<uint32_t>(subsys.max_nsid(), 1)) {
          Complete(r, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
          return;
        }
        break;
      }
      FillIdentifyNamespace(*ns, reinterpret_cast<IdentifyNamespace*>(buf));
      break;
    }
    case Cns::kActiveNamespaceList:
    case Cns::kIoCommandSetActiveNamespaceList: {
      if (c.cns == Cns::kIoCommandSetActiveNamespaceList && c.csi != kCsiNvm) {
        break;  // no namespaces of another command set
      }
      if (c.nsid >= 0xFFFFFFFE) {
        Complete(r, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
        return;
      }
      auto* list = reinterpret_cast<uint32_t*>(buf);
      size_t n = 0;
      for (const auto& [nsid, ns] : subsys.namespaces()) {
        if (nsid > c.nsid && n < kIdentifyDataSize / 4) list[n++] = nsid;
      }
      break;
    }
    case Cns::kNamespaceIdDescriptorList: {
      const Namespace* ns = find_ns();
      if (ns == nullptr) {
        Complete(r, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
        return;
      }
      NamespaceIds ids;
      ids.nguid = ns->nguid;
      ids.uuid = ns->uuid;
      ids.csi = kCsiNvm;
      EncodeNsIdDescriptorList(
          ids, std::span<uint8_t, kIdentifyDataSize>(buf, kIdentifyDataSize));
      break;
    }
    case Cns::kIoCommandSetNamespace:
      // The NVM command set's own namespace data: nothing beyond the
      // defaults (no extended LBA formats, no protection information).
      if (c.csi != kCsiNvm || find_ns() == nullptr) {
        Complete(r, GenericStatus(sc::kInvalidField, true));
        return;
      }
      break;
    case Cns::kIoCommandSetController:
      if (c.csi != kCsiNvm) {
        Complete(r, GenericStatus(sc::kInvalidField, true));
        return;
      }
      break;  // zeros: no NVM-specific controller limits
    default:
      Complete(r, GenericStatus(sc::kInvalidField, true));
      return;
  }
  SendAndComplete(r, buf,
                  std::min<uint32_t>(r->cmd->data_length(), kIdentifyDataSize));
}

bool ControllerQueue::BuildLogPage(uint8_t lid, uint8_t lsp, uint32_t nsid,
                                   std::vector<uint8_t>& out) {
  (void)lsp;
  const bool disc = ctrl_->subsystem().is_discovery();
  switch (static_cast<LogPageId>(lid)) {
    case LogPageId::kDiscovery:
      if (!disc) return false;
      BuildDiscoveryLog(out);
      return true;
    case LogPageId::kErrorInformation:
      out.assign(sizeof(ErrorInformationEntry), 0);  // no errors recorded
      return true;
    case LogPageId::kSmartHealth:
      if (disc) return false;
      BuildSmartLog(nsid, out);
      return true;
    case LogPageId::kFirmwareSlot: {
      if (disc) return false;
      out.assign(sizeof(FirmwareSlotInfo), 0);
      auto* fw = reinterpret_cast<FirmwareSlotInfo*>(out.data());
      fw->afi = MakeAfi(1);
      SetAsciiField(fw->frs[0], kFirmwareRevision).IgnoreError();
      return true;
    }
    case LogPageId::kChangedNamespaceList: {
      if (disc) return false;
      out.assign(sizeof(ChangedNamespaceList), 0);
      auto* list = reinterpret_cast<ChangedNamespaceList*>(out.data());
      std::vector<uint32_t> changed = ctrl_->TakeChangedNamespaces();
      if (changed.size() > 1024) {
        list->nsid[0] = kChangedNamespaceListOverflow;
      } else {
        std::copy(changed.begin(), changed.end(), list->nsid);
      }
      return true;
    }
    case LogPageId::kCommandsSupportedAndEffects: {
      if (disc) return false;
      out.assign(sizeof(CommandsSupportedAndEffects), 0);
      auto* e = reinterpret_cast<CommandsSupportedAndEffects*>(out.data());
      for (AdminOpcode op :
           {AdminOpcode::kGetLogPage, AdminOpcode::kIdentify,
            AdminOpcode::kAbort, AdminOpcode::kSetFeatures,
            AdminOpcode::kGetFeatures, AdminOpcode::kAsyncEventRequest,
            AdminOpcode::kKeepAlive}) {
        e->acs[static_cast<uint8_t>(op)] = kEffectsCsupp;
      }
      for (NvmOpcode op : {NvmOpcode::kFlush, NvmOpcode::kRead,
                           NvmOpcode::kCompare, NvmOpcode::kVerify}) {
        e->iocs[static_cast<uint8_t>(op)] = kEffectsCsupp;
      }
      for (NvmOpcode op : {NvmOpcode::kWrite, NvmOpcode::kWriteZeroes,
                           NvmOpcode::kDatasetManagement}) {
        e->iocs[static_cast<uint8_t>(op)] = kEffectsCsupp | kEffectsLbcc;
      }
      return true;
    }
    default:
      return false;
  }
}

void ControllerQueue::BuildSmartLog(uint32_t nsid, std::vector<uint8_t>& out) {
  out.assign(sizeof(SmartHealthLog), 0);
  auto* log = reinterpret_cast<SmartHealthLog*>(out.data());
  log->set_composite_temperature_kelvin(300);
  log->available_spare = 100;
  log->available_spare_threshold = 10;
  // Every queue of this controller: plain counters written by their own
  // loops, read here.
  // Every namespace of the subsystem (or the one NSID asked for),
  // cumulative since the target started.
  uint64_t reads = 0, writes = 0, bytes_read = 0, bytes_written = 0;
  for (const auto& [id, ns] : ctrl_->subsystem().namespaces()) {
    if (nsid != 0 && nsid != 0xFFFFFFFF && nsid != id) continue;
    ns->ForEachCounters([&](const IoCounters& c) {
      reads += c.read_commands.load(std::memory_order_relaxed);
      writes += c.write_commands.load(std::memory_order_relaxed);
      bytes_read += c.bytes_read.load(std::memory_order_relaxed);
      bytes_written += c.bytes_written.load(std::memory_order_relaxed);
    });
  }
  const uint64_t units_read = bytes_read / 512;
  const uint64_t units_written = bytes_written / 512;
  auto store = [](uint8_t* field, uint64_t v) {
    StoreCounter128(Counter128::FromU64(v), std::span<uint8_t, 16>(field, 16));
  };
  store(log->data_units_read, DataUnitsFrom512ByteUnits(units_read));
  store(log->data_units_written, DataUnitsFrom512ByteUnits(units_written));
  store(log->host_read_commands, reads);
  store(log->host_write_commands, writes);
  store(log->power_cycles, 1);
  store(log->power_on_hours, target_->UptimeHours());
}

void ControllerQueue::HandleGetLogPage(Request* r) {
  GetLogPageCommand c = ParseGetLogPageSqe(r->sqe());
  const uint64_t len = c.length_bytes();
  if (len != r->cmd->data_length() || len > ctrl_->limits().max_transfer()) {
    Complete(r, GenericStatus(sc::kInvalidField, true));
    return;
  }
  std::vector<uint8_t> page;
  if (!BuildLogPage(c.lid, c.lsp, c.nsid, page)) {
    Complete(r, CommandSpecificStatus(sc::kInvalidLogPage));
    return;
  }
  // LPO must be dword aligned and within the page; reading past the end of
  // the page returns zeros.
  if (c.lpo % 4 != 0 || c.lpo > page.size()) {
    Complete(r, GenericStatus(sc::kInvalidField, true));
    return;
  }
  uint8_t* buf = r->Buffer(len);
  if (buf == nullptr) {
    Complete(r, GenericStatus(sc::kInternalError));
    return;
  }
  std::memset(buf, 0, len);
  size_t n = std::min<uint64_t>(len, page.size() - c.lpo);
  std::memcpy(buf, page.data() + c.lpo, n);
  SendAndComplete(r, buf, static_cast<uint32_t>(len));
}

void ControllerQueue::HandleGetFeatures(Request* r) {
  GetFeaturesCommand c = ParseGetFeaturesSqe(r->sqe());
  if (c.sel == FeatureSelect::kSupportedCapabilities) {
    // Nothing is saveable; everything implemented is changeable.
    r->dw0 = kFeatureCapabilityChangeable;
    Complete(r, kNvmeSuccess);
    return;
  }
  if (c.sel == FeatureSelect::kSaved) {
    Complete(r, CommandSpecificStatus(sc::kFeatureIdNotSaveable));
    return;
  }
  const bool defaults = c.sel == FeatureSelect::kDefault;
  switch (static_cast<FeatureId>(c.fid)) {
    case FeatureId::kNumberOfQueues: {
      uint16_t n =
          defaults ? ctrl_->limits().max_io_queues : ctrl_->granted_io_queues();
      if (n == 0) n = 1;
      r->dw0 = NumberOfQueues::FromCounts(n, n).ToDword();
      break;
    }
    case FeatureId::kKeepAliveTimer:
      r->dw0 = defaults ? 0 : ctrl_->kato_ms();
      break;
    case FeatureId::kAsyncEventConfiguration:
      r->dw0 = defaults ? 0 : ctrl_->async_event_config;
      break;
    case FeatureId::kVolatileWriteCache:
      r->dw0 = (defaults || ctrl_->volatile_write_cache)
                   ? kVolatileWriteCacheEnable
                   : 0;
      break;
    case FeatureId::kArbitration:
    case FeatureId::kPowerManagement:
    case FeatureId::kErrorRecovery:
    case FeatureId::kWriteAtomicityNormal:
      r->dw0 = 0;
      break;
    case FeatureId::kTemperatureThreshold:
      r->dw0 = defaults ? 0x0157 : ctrl_->temperature_threshold;
      break;
    case FeatureId::kHostIdentifier: {
      if ((c.cdw11 & kHostIdentifierExhid) == 0) {
        // Only the 128-bit host identifier is supported (CTRATT bit 0).
        Complete(r, GenericStatus(sc::kHostIdentifierInconsistentFormat, true));
        return;
      }
      if (r->cmd->data_length() < 16) {
        Complete(r, GenericStatus(sc::kDataSglLengthInvalid, true));
        return;
      }
      uint8_t* buf = r->Buffer(16);
      std::memcpy(buf, ctrl_->hostid().data(), 16);
      SendAndComplete(r, buf, 16);
      return;
    }
    default:
      Complete(r, GenericStatus(sc::kInvalidField, true));
      return;
  }
  Complete(r, kNvmeSuccess);
}

void ControllerQueue::HandleSetFeatures(Request* r) {
  SetFeaturesCommand c = ParseSetFeaturesSqe(r->sqe());
  if (c.sv) {
    Complete(r, CommandSpecificStatus(sc::kFeatureIdNotSaveable));
    return;
  }
  switch (static_cast<FeatureId>(c.fid)) {
    case FeatureId::kNumberOfQueues: {
      NumberOfQueues want = NumberOfQueues::FromDword(c.cdw11);
      if (want.nsqr == kNumberOfQueuesInvalid ||
          want.ncqr == kNumberOfQueuesInvalid) {
        Complete(r, GenericStatus(sc::kInvalidField, true));
        return;
      }
      uint32_t asked = std::min(want.sq_count(), want.cq_count());
      uint16_t n = static_cast<uint16_t>(
          std::min<uint32_t>(asked, ctrl_->limits().max_io_queues));
      if (ctrl_->subsystem().is_discovery()) n = 0;
      ctrl_->set_granted_io_queues(n);
      uint16_t report = n == 0 ? 1 : n;
      r->dw0 = NumberOfQueues::FromCounts(report, report).ToDword();
      break;
    }
    case FeatureId::kKeepAliveTimer:
      ctrl_->set_kato_ms(c.cdw11);
      break;
    case FeatureId::kAsyncEventConfiguration:
      ctrl_->async_event_config = c.cdw11;
      break;
    case FeatureId::kVolatileWriteCache:
      ctrl_->volatile_write_cache = c.cdw11 & kVolatileWriteCacheEnable;
      break;
    case FeatureId::kTemperatureThreshold:
      ctrl_->temperature_threshold = static_cast<uint16_t>(c.cdw11 & 0xFFFF);
      break;
    case FeatureId::kHostIdentifier:
      // The host identifier comes with Connect; it cannot change after.
      Complete(r, GenericStatus(sc::kCommandSequenceError, true));
      return;
    default:
      Complete(r, GenericStatus(sc::kInvalidField, true));
      return;
  }
  Complete(r, kNvmeSuccess);
}

void ControllerQueue::HandleAsyncEventRequest(Request* r) {
  bool held = ctrl_->HoldAer([this, r](std::optional<uint32_t> dw0) {
    if (!dw0) {
      Release(r);
      return;
    }
    r->dw0 = *dw0;
    Complete(r, kNvmeSuccess);
  });
  if (!held)
    Complete(r, CommandSpecificStatus(sc::kAsyncEventRequestLimitExceeded));
}

}  // namespace nvmeof::controller
