// Get Log Page (NVMe Base 2.0, 5.16): Error Information, SMART / Health,
// Firmware Slot, Changed Namespace List, Commands Supported and Effects,
// and on a discovery controller the Discovery log (discovery.h).

#include <algorithm>
#include <cstring>

#include "controller/admin_cmd.h"
#include "controller/discovery.h"
#include "nvmeof/proto/log_pages.h"

namespace nvmeof::controller {

namespace {
constexpr char kFirmwareRevision[] = "0.1.0";
constexpr ErrorLocation kLidLocation = ErrorLocation::At(kSqeCdw10);
constexpr ErrorLocation kNumdLocation = ErrorLocation::At(kSqeCdw10 + 2);
constexpr ErrorLocation kLpoLocation = ErrorLocation::At(kSqeCdw12);

std::vector<uint8_t> SmartLog(const NamespaceTable& table, uint32_t nsid,
                              uint64_t power_on_hours) {
  std::vector<uint8_t> out(sizeof(SmartHealthLog), 0);
  auto* log = reinterpret_cast<SmartHealthLog*>(out.data());
  log->set_composite_temperature_kelvin(300);
  log->available_spare = 100;
  log->available_spare_threshold = 10;
  // Every namespace of the subsystem (or the one NSID asked for),
  // cumulative since the target started; each thread's counters are summed.
  uint64_t reads = 0, writes = 0, bytes_read = 0, bytes_written = 0;
  for (const auto& [id, ns] : table.by_nsid) {
    if (nsid != 0 && nsid != 0xFFFFFFFF && nsid != id) continue;
    ns->ForEachCounters([&](const IoCounters& c) {
      reads += c.read_commands.load(std::memory_order_relaxed);
      writes += c.write_commands.load(std::memory_order_relaxed);
      bytes_read += c.bytes_read.load(std::memory_order_relaxed);
      bytes_written += c.bytes_written.load(std::memory_order_relaxed);
    });
  }
  auto store = [](uint8_t* field, uint64_t v) {
    StoreCounter128(Counter128::FromU64(v), std::span<uint8_t, 16>(field, 16));
  };
  store(log->data_units_read, DataUnitsFrom512ByteUnits(bytes_read / 512));
  store(log->data_units_written,
        DataUnitsFrom512ByteUnits(bytes_written / 512));
  store(log->host_read_commands, reads);
  store(log->host_write_commands, writes);
  store(log->power_cycles, 1);
  store(log->power_on_hours, power_on_hours);
  return out;
}

std::vector<uint8_t> EffectsLog() {
  std::vector<uint8_t> out(sizeof(CommandsSupportedAndEffects), 0);
  auto* e = reinterpret_cast<CommandsSupportedAndEffects*>(out.data());
  for (AdminOpcode op :
       {AdminOpcode::kGetLogPage, AdminOpcode::kIdentify, AdminOpcode::kAbort,
        AdminOpcode::kSetFeatures, AdminOpcode::kGetFeatures,
        AdminOpcode::kAsyncEventRequest, AdminOpcode::kKeepAlive}) {
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
  return out;
}

// The whole log page `c.lid`, or false when this controller has no such
// page.
bool BuildLogPage(const GetLogPageCommand& c, Request& r,
                  std::vector<uint8_t>& out) {
  CommandQueue& q = *r.queue;
  Controller& ctrl = q.controller();
  const bool disc = ctrl.subsystem().is_discovery();
  switch (static_cast<LogPageId>(c.lid)) {
    case LogPageId::kDiscovery:
      if (!disc) return false;
      out = BuildDiscoveryLog(q.port(), q.target().Discovery(q.port()),
                              ctrl.hostnqn(), q.local_address().traddr);
      if (!c.rae) ctrl.DiscoveryLogRead();
      return true;
    case LogPageId::kErrorInformation: {
      // Newest first; at least one (empty) entry.
      std::vector<ErrorInformationEntry> errors = ctrl.ErrorLog();
      out.assign(std::max<size_t>(errors.size(), 1) *
                     sizeof(ErrorInformationEntry),
                 0);
      if (!errors.empty()) {
        std::memcpy(out.data(), errors.data(),
                    errors.size() * sizeof(ErrorInformationEntry));
      }
      return true;
    }
    case LogPageId::kSmartHealth:
      if (disc) return false;
      out = SmartLog(q.Namespaces(r), c.nsid, q.target().UptimeHours());
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
      std::vector<uint32_t> changed = ctrl.TakeChangedNamespaces(c.rae);
      if (changed.size() > 1024) {
        list->nsid[0] = kChangedNamespaceListOverflow;
      } else {
        std::copy(changed.begin(), changed.end(), list->nsid);
      }
      return true;
    }
    case LogPageId::kCommandsSupportedAndEffects:
      if (disc) return false;
      out = EffectsLog();
      return true;
    default:
      return false;
  }
}

}  // namespace

void ExecuteGetLogPage(Request& r) {
  GetLogPageCommand c = ParseGetLogPageSqe(r.sqe());
  const uint64_t len = c.length_bytes();
  if (len != r.cmd->data_length() ||
      len > r.queue->controller().limits().max_transfer()) {
    Fail(r, GenericStatus(sc::kInvalidField, true), kNumdLocation);
    return;
  }
  // LPO must be dword aligned.
  if (c.lpo % 4 != 0) {
    Fail(r, GenericStatus(sc::kInvalidField, true), kLpoLocation);
    return;
  }
  r.SetState(RequestState::kExecuting);
  std::vector<uint8_t> page;
  if (!BuildLogPage(c, r, page)) {
    Fail(r, CommandSpecificStatus(sc::kInvalidLogPage), kLidLocation);
    return;
  }
  // Within the page; reading past its end returns zeros.
  if (c.lpo > page.size()) {
    Fail(r, GenericStatus(sc::kInvalidField, true), kLpoLocation);
    return;
  }
  uint8_t* buf = r.Buffer(len);
  if (buf == nullptr) {
    Fail(r, GenericStatus(sc::kInternalError));
    return;
  }
  std::memset(buf, 0, len);
  size_t n = std::min<uint64_t>(len, page.size() - c.lpo);
  std::memcpy(buf, page.data() + c.lpo, n);
  SendBufferAndComplete(r, static_cast<uint32_t>(len));
}

}  // namespace nvmeof::controller
