// Identify (NVMe Base 2.0, 5.17): the controller, a namespace, the active
// namespace list, the namespace identification descriptors, and the NVM
// command set's structures.

#include <algorithm>
#include <cstring>

#include "controller/admin_cmd.h"
#include "nvmeof/proto/identify.h"

namespace nvmeof::controller {

namespace {
constexpr char kFirmwareRevision[] = "0.1.0";
constexpr ErrorLocation kCnsLocation = ErrorLocation::At(kSqeCdw10);
constexpr ErrorLocation kNsidLocation = ErrorLocation::At(kSqeNsid);
constexpr ErrorLocation kCsiLocation = ErrorLocation::At(kSqeCdw11 + 3);

void FillIdentifyController(const Controller& ctrl, const NamespaceTable& t,
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
  id->elpe = Controller::kErrorLogEntries - 1;
  id->wctemp = 0x0157;
  id->cctemp = 0x0175;
  id->kas = 10;  // 100 ms units: 1 s granularity, as Linux nvmet
  id->sqes = 0x66;
  id->cqes = 0x44;
  id->maxcmd = ctrl.limits().max_queue_size;
  id->nn = disc ? 0 : std::max(s.max_namespaces, t.max_nsid());
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
  id->nsze = id->ncap = id->nuse = ns.num_blocks();
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

// Checks the command's fields against what it asks for; on success the
// 4 KiB answer is built into `buf` by BuildIdentify.
NvmeStatus ParseIdentify(const IdentifyCommand& c, const Subsystem& subsys,
                         const NamespaceTable& table, ErrorLocation* where) {
  const bool ns_valid =
      c.nsid != 0 &&
      c.nsid <= std::max(subsys.max_namespaces, table.max_nsid());
  switch (c.cns) {
    case Cns::kController:
      return kNvmeSuccess;
    case Cns::kNamespace:
      if (subsys.is_discovery()) {
        *where = kCnsLocation;
        return GenericStatus(sc::kInvalidField, true);
      }
      // An inactive NSID in range reads as zeros; beyond NN it is invalid.
      if (!ns_valid) {
        *where = kNsidLocation;
        return GenericStatus(sc::kInvalidNamespaceOrFormat, true);
      }
      return kNvmeSuccess;
    case Cns::kActiveNamespaceList:
    case Cns::kIoCommandSetActiveNamespaceList:
      if (c.nsid >= 0xFFFFFFFE) {
        *where = kNsidLocation;
        return GenericStatus(sc::kInvalidNamespaceOrFormat, true);
      }
      return kNvmeSuccess;
    case Cns::kNamespaceIdDescriptorList:
      if (table.Find(c.nsid) == nullptr) {
        *where = kNsidLocation;
        return GenericStatus(sc::kInvalidNamespaceOrFormat, true);
      }
      return kNvmeSuccess;
    case Cns::kIoCommandSetNamespace:
      // The NVM command set's own namespace data: nothing beyond the
      // defaults (no extended LBA formats, no protection information).
      if (c.csi != kCsiNvm || table.Find(c.nsid) == nullptr) {
        *where = c.csi != kCsiNvm ? kCsiLocation : kNsidLocation;
        return GenericStatus(sc::kInvalidField, true);
      }
      return kNvmeSuccess;
    case Cns::kIoCommandSetController:
      if (c.csi != kCsiNvm) {
        *where = kCsiLocation;
        return GenericStatus(sc::kInvalidField, true);
      }
      return kNvmeSuccess;
    default:
      *where = kCnsLocation;
      return GenericStatus(sc::kInvalidField, true);
  }
}

void BuildIdentify(const IdentifyCommand& c, const Controller& ctrl,
                   const NamespaceTable& table, uint8_t* buf) {
  std::memset(buf, 0, kIdentifyDataSize);
  switch (c.cns) {
    case Cns::kController:
      FillIdentifyController(ctrl, table,
                             reinterpret_cast<IdentifyController*>(buf));
      return;
    case Cns::kNamespace:
      if (const Namespace* ns = table.Find(c.nsid)) {
        FillIdentifyNamespace(*ns, reinterpret_cast<IdentifyNamespace*>(buf));
      }
      return;
    case Cns::kActiveNamespaceList:
    case Cns::kIoCommandSetActiveNamespaceList: {
      if (c.cns == Cns::kIoCommandSetActiveNamespaceList && c.csi != kCsiNvm) {
        return;  // no namespaces of another command set
      }
      auto* list = reinterpret_cast<uint32_t*>(buf);
      size_t n = 0;
      for (const auto& [nsid, ns] : table.by_nsid) {
        if (nsid > c.nsid && n < kIdentifyDataSize / 4) list[n++] = nsid;
      }
      return;
    }
    case Cns::kNamespaceIdDescriptorList: {
      const Namespace* ns = table.Find(c.nsid);
      NamespaceIds ids;
      ids.nguid = ns->nguid;
      ids.uuid = ns->uuid;
      ids.csi = kCsiNvm;
      EncodeNsIdDescriptorList(
          ids, std::span<uint8_t, kIdentifyDataSize>(buf, kIdentifyDataSize));
      return;
    }
    default:
      return;  // zeros: no NVM-specific limits
  }
}

}  // namespace

void ExecuteIdentify(Request& r) {
  IdentifyCommand c = ParseIdentifySqe(r.sqe());
  const Controller& ctrl = r.queue->controller();
  const NamespaceTable& table = r.queue->Namespaces(r);
  ErrorLocation where;
  NvmeStatus st = ParseIdentify(c, ctrl.subsystem(), table, &where);
  if (!st.ok()) {
    Fail(r, st, where);
    return;
  }
  r.SetState(RequestState::kExecuting);
  uint8_t* buf = r.Buffer(kIdentifyDataSize);
  if (buf == nullptr) {
    Fail(r, GenericStatus(sc::kInternalError));
    return;
  }
  BuildIdentify(c, ctrl, table, buf);
  SendBufferAndComplete(
      r, std::min<uint32_t>(r.cmd->data_length(), kIdentifyDataSize));
}

}  // namespace nvmeof::controller
