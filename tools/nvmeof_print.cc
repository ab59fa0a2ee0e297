#include "tools/nvmeof_print.h"

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "nvmeof/proto/log_pages.h"

namespace nvmeof::tools {

namespace {

using json = nlohmann::ordered_json;

void Emit(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

std::string Trsvcid(std::string_view v) { return std::string(v); }

const char* TrtypeName(uint8_t t) {
  switch (t) {
    case kTrtypeRdma:
      return "rdma";
    case kTrtypeFc:
      return "fc";
    case kTrtypeTcp:
      return "tcp";
    case kTrtypeLoop:
      return "loop";
    default:
      return "unrecognized";
  }
}
const char* AdrfamName(uint8_t a) {
  switch (a) {
    case kAdrfamIpv4:
      return "ipv4";
    case kAdrfamIpv6:
      return "ipv6";
    case kAdrfamIb:
      return "infiniband";
    case kAdrfamFc:
      return "fibre-channel";
    default:
      return "unrecognized";
  }
}
const char* SubtypeName(uint8_t s) {
  switch (s) {
    case kSubtypeReferral:
      return "discovery subsystem referral";
    case kSubtypeNvm:
      return "nvme subsystem";
    case kSubtypeCurrentDiscovery:
      return "current discovery subsystem";
    default:
      return "unrecognized";
  }
}
const char* TreqName(uint8_t t) {
  switch (t & kTreqSecureChannelMask) {
    case kTreqSecureChannelRequired:
      return "required";
    case kTreqSecureChannelNotRequired:
      return "not required";
    default:
      return "not specified";
  }
}

uint64_t Counter(const uint8_t* field) {
  return LoadCounter128(std::span<const uint8_t, 16>(field, 16)).SaturatedU64();
}

}  // namespace

// Discovery log entry flags as nvme-cli names them.
std::string EflagsString(uint16_t eflags) {
  std::string out;
  auto add = [&](const char* s) {
    if (!out.empty()) out += ", ";
    out += s;
  };
  if (eflags & kEflagsDuplicateReturnedInfo) add("duplicate discovery information");
  if (eflags & kEflagsExplicitPersistentConnection) add("explicit discovery connections");
  if (eflags & 0x4) add("no cdc connectivity");
  return out.empty() ? "none" : out;
}

void PrintDiscoveryLog(const std::vector<uint8_t>& page, bool as_json) {
  DiscoveryLogHeader h;
  std::memcpy(&h, page.data(), sizeof(h));
  json records = json::array();
  if (!as_json) {
    std::printf(
        "\nDiscovery Log Number of Records %llu, Generation counter %llu\n",
        static_cast<unsigned long long>(h.numrec),
        static_cast<unsigned long long>(h.genctr));
  }
  for (uint64_t i = 0; i < h.numrec; ++i) {
    DiscoveryLogEntry e;
    std::memcpy(&e, page.data() + sizeof(h) + i * sizeof(e), sizeof(e));
    auto f = ParseDiscoveryLogEntry(e);
    if (!f.ok()) continue;
    if (as_json) {
      records.push_back(
          {{"trtype", TrtypeName(f->trtype)},
           {"adrfam", AdrfamName(f->adrfam)},
           {"subtype", SubtypeName(f->subtype)},
           {"treq", TreqName(f->treq)},
           {"portid", f->portid},
           {"trsvcid", Trsvcid(f->trsvcid)},
           {"subnqn", std::string(f->subnqn)},
           {"traddr", std::string(f->traddr)},
           {"eflags", EflagsString(f->eflags)},
           {"sectype", f->sectype == kSectypeNone ? "none" : "tls"}});
      continue;
    }
    std::printf("=====Discovery Log Entry %llu======\n",
                static_cast<unsigned long long>(i));
    std::printf(
        "trtype:  %s\nadrfam:  %s\nsubtype: %s\ntreq:    %s\nportid:  %u\n",
        TrtypeName(f->trtype), AdrfamName(f->adrfam), SubtypeName(f->subtype),
        TreqName(f->treq), f->portid);
    std::printf("trsvcid: %s\nsubnqn:  %s\ntraddr:  %s\n",
                Trsvcid(f->trsvcid).c_str(), std::string(f->subnqn).c_str(),
                std::string(f->traddr).c_str());
    std::printf("eflags:  %s\nsectype: %s\n", EflagsString(f->eflags).c_str(),
                f->sectype == kSectypeNone ? "none" : "tls");
  }
  if (as_json) Emit({{"genctr", h.genctr}, {"records", records}});
}

void PrintIdentifyController(const IdentifyController& id, bool as_json) {
  json j = {
      {"vid", id.vid},
      {"ssvid", id.ssvid},
      {"sn", std::string(ReadAsciiField(id.sn))},
      {"mn", std::string(ReadAsciiField(id.mn))},
      {"fr", std::string(ReadAsciiField(id.fr))},
      {"rab", id.rab},
      {"cmic", id.cmic},
      {"mdts", id.mdts},
      {"cntlid", id.cntlid},
      {"ver", id.ver},
      {"oaes", id.oaes},
      {"ctratt", id.ctratt},
      {"cntrltype", id.cntrltype},
      {"oacs", id.oacs},
      {"acl", id.acl},
      {"aerl", id.aerl},
      {"frmw", id.frmw},
      {"lpa", id.lpa},
      {"elpe", id.elpe},
      {"kas", id.kas},
      {"sqes", id.sqes},
      {"cqes", id.cqes},
      {"maxcmd", id.maxcmd},
      {"nn", id.nn},
      {"oncs", id.oncs},
      {"fuses", id.fuses},
      {"vwc", id.vwc},
      {"sgls", id.sgls},
      {"mnan", id.mnan},
      {"subnqn", std::string(id.subnqn, strnlen(id.subnqn, sizeof(id.subnqn)))},
      {"ioccsz", id.ioccsz},
      {"iorcsz", id.iorcsz},
      {"icdoff", id.icdoff},
      {"fcatt", id.fcatt},
      {"msdbd", id.msdbd},
      {"ofcs", id.ofcs}};
  if (as_json) {
    Emit(j);
    return;
  }
  std::printf("NVME Identify Controller:\n");
  for (auto& [k, v] : j.items()) {
    if (v.is_string()) {
      std::printf("%-10s: %s\n", k.c_str(), v.get<std::string>().c_str());
    } else {
      std::printf("%-10s: %#llx\n", k.c_str(),
                  static_cast<unsigned long long>(v.get<uint64_t>()));
    }
  }
}

void PrintIdentifyNamespace(const std::vector<uint8_t>& buf, uint32_t nsid,
                            bool as_json) {
  IdentifyNamespace id;
  std::memcpy(&id, buf.data(), sizeof(id));
  char nguid[33] = {0};
  for (int i = 0; i < 16; ++i)
    std::snprintf(nguid + 2 * i, 3, "%02x", id.nguid[i]);
  json lbafs = json::array();
  for (int i = 0; i <= id.nlbaf && i < 64; ++i) {
    lbafs.push_back({{"ms", id.lbaf[i].ms},
                     {"ds", id.lbaf[i].lbads},
                     {"rp", id.lbaf[i].rp}});
  }
  json j = {{"nsze", id.nsze},     {"ncap", id.ncap},     {"nuse", id.nuse},
            {"nsfeat", id.nsfeat}, {"nlbaf", id.nlbaf},   {"flbas", id.flbas},
            {"nmic", id.nmic},     {"dlfeat", id.dlfeat}, {"nsattr", id.nsattr},
            {"nguid", nguid},      {"lbafs", lbafs}};
  if (as_json) {
    Emit(j);
    return;
  }
  std::printf("NVME Identify Namespace %u:\n", nsid);
  std::printf("nsze    : %#llx\nncap    : %#llx\nnuse    : %#llx\n",
              static_cast<unsigned long long>(id.nsze),
              static_cast<unsigned long long>(id.ncap),
              static_cast<unsigned long long>(id.nuse));
  std::printf("nsfeat  : %#x\nnlbaf   : %u\nflbas   : %#x\nnmic    : %#x\n",
              id.nsfeat, id.nlbaf, id.flbas, id.nmic);
  std::printf("dlfeat  : %u\nnsattr  : %u\nnguid   : %s\n", id.dlfeat,
              id.nsattr, nguid);
  for (int i = 0; i <= id.nlbaf && i < 64; ++i) {
    std::printf("lbaf %2d : ms:%-3u lbads:%-3u rp:%#x %s\n", i, id.lbaf[i].ms,
                id.lbaf[i].lbads, id.lbaf[i].rp,
                i == FlbasIndex(id.flbas) ? "(in use)" : "");
  }
}

void PrintNamespaceList(const std::vector<uint8_t>& buf, bool as_json) {
  json ids = json::array();
  const auto* list = reinterpret_cast<const uint32_t*>(buf.data());
  for (size_t i = 0; i < buf.size() / 4 && list[i] != 0; ++i) {
    if (as_json) {
      ids.push_back(list[i]);
    } else {
      std::printf("[%4zu]:%#x\n", i, list[i]);
    }
  }
  if (as_json) Emit({{"nsid_list", ids}});
}

void PrintLogPage(uint8_t lid, const std::vector<uint8_t>& buf, bool as_json) {
  if (lid == static_cast<uint8_t>(LogPageId::kSmartHealth) &&
      buf.size() >= sizeof(SmartHealthLog)) {
    SmartHealthLog s;
    std::memcpy(&s, buf.data(), sizeof(s));
    json j = {{"critical_warning", s.critical_warning},
              {"temperature", s.composite_temperature_kelvin()},
              {"avail_spare", s.available_spare},
              {"spare_thresh", s.available_spare_threshold},
              {"percent_used", s.percentage_used},
              {"data_units_read", Counter(s.data_units_read)},
              {"data_units_written", Counter(s.data_units_written)},
              {"host_read_commands", Counter(s.host_read_commands)},
              {"host_write_commands", Counter(s.host_write_commands)},
              {"power_cycles", Counter(s.power_cycles)},
              {"power_on_hours", Counter(s.power_on_hours)},
              {"unsafe_shutdowns", Counter(s.unsafe_shutdowns)},
              {"media_errors", Counter(s.media_errors)},
              {"num_err_log_entries", Counter(s.number_of_error_log_entries)}};
    if (as_json) {
      Emit(j);
      return;
    }
    std::printf("Smart Log for NVME device:\n");
    for (auto& [k, v] : j.items()) {
      std::printf("%-24s: %llu\n", k.c_str(),
                  static_cast<unsigned long long>(v.get<uint64_t>()));
    }
    return;
  }
  if (as_json) {
    std::string hex;
    char b[3];
    for (uint8_t x : buf) {
      std::snprintf(b, sizeof(b), "%02x", x);
      hex += b;
    }
    Emit({{"log_id", lid}, {"length", buf.size()}, {"data", hex}});
    return;
  }
  std::printf("Device:log page %#x, %zu bytes\n", lid, buf.size());
  for (size_t i = 0; i < buf.size(); i += 16) {
    std::printf("%04zx:", i);
    for (size_t k = i; k < i + 16 && k < buf.size(); ++k)
      std::printf(" %02x", buf[k]);
    std::printf("\n");
  }
}

// nvme-cli's names of the features (nvme_feature_to_string).
const char* FeatureName(uint8_t fid) {
  switch (fid) {
    case 0x01: return "Arbitration";
    case 0x02: return "Power Management";
    case 0x03: return "LBA Range Type";
    case 0x04: return "Temperature Threshold";
    case 0x05: return "Error Recovery";
    case 0x06: return "Volatile Write Cache";
    case 0x07: return "Number of Queues";
    case 0x08: return "Interrupt Coalescing";
    case 0x09: return "Interrupt Vector Configuration";
    case 0x0A: return "Write Atomicity Normal";
    case 0x0B: return "Async Event Configuration";
    case 0x0C: return "Autonomous Power State Transition";
    case 0x0D: return "Host Memory Buffer";
    case 0x0E: return "Timestamp";
    case 0x0F: return "Keep Alive Timer";
    case 0x10: return "Host Controlled Thermal Management";
    case 0x11: return "Non-Operational Power State Config";
    case 0x80: return "Software Progress";
    case 0x81: return "Host Identifier";
    case 0x82: return "Reservation Notification Mask";
    case 0x83: return "Reservation Persistence";
    default: return "Unknown";
  }
}

void PrintFeature(uint8_t fid, uint8_t sel, uint32_t dw0, bool as_json) {
  static constexpr const char* kSel[] = {"Current value", "Default value",
                                         "Saved value", "Capabilities"};
  if (as_json) {
    Emit({{"feature_id", fid},
          {"name", FeatureName(fid)},
          {"sel", sel},
          {"value", dw0}});
    return;
  }
  std::printf("get-feature:%#04x (%s), %s:%#010x\n", fid, FeatureName(fid),
              kSel[sel & 3], dw0);
}

}  // namespace nvmeof::tools
