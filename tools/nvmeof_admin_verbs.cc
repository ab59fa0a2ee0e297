// The nvmeof tool's admin verbs: discover, id-ctrl, id-ns, list-ns,
// get-log, get-feature.

#include <cstring>

#include "nvmeof/proto/features.h"
#include "nvmeof/proto/identify.h"
#include "nvmeof/proto/log_pages.h"
#include "tools/nvmeof_cli.h"
#include "tools/nvmeof_print.h"

namespace nvmeof::tools {

namespace {

void ConnectionFlags(CLI::App* v, Args& a) { AddConnection(v, a, true, true); }

int Discover(Args& a) {
  auto s = OpenSession(a, /*discovery=*/true);
  if (!s.ok()) return Fail(s.status());
  auto page = s->assoc->ReadDiscoveryLog();
  if (!page.ok()) return Fail(page.status());
  PrintDiscoveryLog(*page, a.json());
  return 0;
}

int IdCtrl(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  PrintIdentifyController(s->assoc->identify(), a.json());
  return 0;
}

void IdNsFlags(CLI::App* v, Args& a) {
  AddIoConnection(v, a);
  v->add_option("-n,--namespace-id", a.nsid, "namespace ID")
      ->capture_default_str();
  v->add_option("-o,--output-format", a.output, "normal or json");
}

int IdNs(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  auto id = ActiveNamespace(*s->assoc, a.nsid);
  if (!id.ok()) return Fail(id.status());
  std::vector<uint8_t> buf(kIdentifyDataSize);
  std::memcpy(buf.data(), &*id, sizeof(*id));
  PrintIdentifyNamespace(buf, a.nsid, a.json());
  return 0;
}

int ListNs(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  auto buf = s->assoc->Identify(0x02, 0);
  if (!buf.ok()) return Fail(buf.status());
  PrintNamespaceList(*buf, a.json());
  return 0;
}

void GetLogFlags(CLI::App* v, Args& a) {
  AddConnection(v, a, true, true);
  v->add_option("-l,--log-id", a.log_id, "log page identifier")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  v->add_option("-L,--log-len", a.log_len,
                "bytes to read (a multiple of 4, at most 16 MiB; read in "
                "pieces of the controller's largest transfer)")
      ->capture_default_str();
  v->add_option("--lpo", a.lpo, "byte offset into the log page")
      ->capture_default_str();
}

// The most get-log reads: a log page may be large (a discovery log of
// many entries), but not gigabytes.
constexpr uint32_t kMaxLogLen = 16 << 20;

int GetLog(Args& a) {
  if (a.log_len == 0 || a.log_len % 4 != 0 || a.log_len > kMaxLogLen) {
    return Fail("--log-len " + std::to_string(a.log_len) +
                ": must be a multiple of 4 from 4 to 16777216 (16 MiB)");
  }
  if (a.lpo % 4 != 0) {
    return Fail("--lpo " + std::to_string(a.lpo) + ": must be a multiple of 4");
  }
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  const uint8_t lid = static_cast<uint8_t>(a.log_id);
  // In pieces of at most one transfer: a large page never needs one large
  // command (nor a controller that allows one).
  const uint32_t piece = s->assoc->max_transfer() == 0
                             ? a.log_len
                             : std::min(a.log_len, s->assoc->max_transfer());
  std::vector<uint8_t> page;
  page.reserve(a.log_len);
  for (uint32_t got = 0; got < a.log_len;) {
    const uint32_t n = std::min(piece, a.log_len - got);
    auto buf = s->assoc->GetLogPage(lid, 0xFFFFFFFF, a.lpo + got, n);
    if (!buf.ok()) return Fail(buf.status());
    page.insert(page.end(), buf->begin(), buf->end());
    got += n;
  }
  PrintLogPage(lid, page, a.json());
  return 0;
}

void GetFeatureFlags(CLI::App* v, Args& a) {
  // -S is the selector here (nvme-cli's -s is taken by --trsvcid).
  AddConnection(v, a, true, true, /*secret_short=*/false);
  v->add_option("-f,--feature-id", a.feature_id, "feature identifier")
      ->required()
      ->check(CLI::Range(0, 255));
  v->add_option("-S,--sel", a.sel,
                "0 current, 1 default, 2 saved, 3 capabilities")
      ->check(CLI::Range(0, 3));
}

int GetFeature(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
  sqe.nsid = a.nsid;
  sqe.cdw10 = static_cast<uint8_t>(a.feature_id) |
              (uint32_t{static_cast<uint8_t>(a.sel)} << 8);
  host::Completion done = s->assoc->AdminSync(sqe);
  if (!done.status.ok()) return Fail(done.status);
  if (!done.nvme().ok())
    return Fail("get-feature: " + NvmeStatusToString(done.nvme()));
  PrintFeature(static_cast<uint8_t>(a.feature_id), static_cast<uint8_t>(a.sel),
               done.cqe.dw0, a.json());
  return 0;
}

}  // namespace

std::vector<Verb> AdminVerbs() {
  return {
      {"discover", "read the discovery log page", ConnectionFlags, Discover},
      {"id-ctrl", "Identify Controller", ConnectionFlags, IdCtrl},
      {"id-ns", "Identify Namespace", IdNsFlags, IdNs},
      {"list-ns", "the active namespace IDs", ConnectionFlags, ListNs},
      {"get-log", "Get Log Page", GetLogFlags, GetLog},
      {"get-feature", "Get Features", GetFeatureFlags, GetFeature},
  };
}

}  // namespace nvmeof::tools
