// The nvmeof tool's admin verbs: discover, id-ctrl, id-ns, list-ns,
// get-log, get-feature.

#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"
#include "tools/nvmeof_cli.h"
#include "tools/nvmeof_print.h"

namespace nvmeof::tools {

namespace {

void ConnectionFlags(CLI::App* v, Args& a) { AddConnection(v, a, true, true); }

int Discover(Args& a) {
  auto s = OpenSession(a, /*discovery=*/true);
  if (!s.ok()) return Fail(s.status().ToString());
  auto page = s->assoc->ReadDiscoveryLog();
  if (!page.ok()) return Fail(page.status().ToString());
  PrintDiscoveryLog(*page, a.json());
  return 0;
}

int IdCtrl(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status().ToString());
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
  if (!s.ok()) return Fail(s.status().ToString());
  auto buf = s->assoc->Identify(0x00, a.nsid);
  if (!buf.ok()) return Fail(buf.status().ToString());
  PrintIdentifyNamespace(*buf, a.nsid, a.json());
  return 0;
}

int ListNs(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status().ToString());
  auto buf = s->assoc->Identify(0x02, 0);
  if (!buf.ok()) return Fail(buf.status().ToString());
  PrintNamespaceList(*buf, a.json());
  return 0;
}

void GetLogFlags(CLI::App* v, Args& a) {
  AddConnection(v, a, true, true);
  v->add_option("-l,--log-id", a.log_id, "log page identifier")
      ->capture_default_str();
  v->add_option("-L,--log-len", a.log_len, "bytes to read")
      ->capture_default_str();
  v->add_option("--lpo", a.lpo, "byte offset into the log page")
      ->capture_default_str();
}

int GetLog(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status().ToString());
  const uint8_t lid = static_cast<uint8_t>(a.log_id);
  auto buf = s->assoc->GetLogPage(lid, 0xFFFFFFFF, a.lpo, a.log_len);
  if (!buf.ok()) return Fail(buf.status().ToString());
  PrintLogPage(lid, *buf, a.json());
  return 0;
}

void GetFeatureFlags(CLI::App* v, Args& a) {
  AddConnection(v, a, true, true);
  v->add_option("-f,--feature-id", a.feature_id, "feature identifier")
      ->required();
  v->add_option("-S,--sel", a.sel,
                "0 current, 1 default, 2 saved, 3 capabilities");
}

int GetFeature(Args& a) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status().ToString());
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
  sqe.nsid = a.nsid;
  sqe.cdw10 = static_cast<uint8_t>(a.feature_id) |
              (uint32_t{static_cast<uint8_t>(a.sel)} << 8);
  host::Completion done = s->assoc->AdminSync(sqe);
  if (!done.status.ok()) return Fail(done.status.ToString());
  if (!done.nvme().ok())
    return Fail("get-feature: " + NvmeStatusToString(done.nvme()));
  PrintFeature(static_cast<uint8_t>(a.feature_id), done.cqe.dw0, a.json());
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
