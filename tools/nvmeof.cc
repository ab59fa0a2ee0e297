// nvmeof: talk to any NVMe-oF target from the command line, in the manner
// of nvme-cli: discover, identify, read, write, and more. Each verb
// connects (TCP), does its work and disconnects.

#include <sched.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nvmeof/host.h"
#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/nqn.h"
#include "nvmeof/tcp.h"
#include "tools/cpu_list.h"
#include "tools/nvmeof_perf.h"
#include "tools/nvmeof_print.h"

namespace nvmeof::tools {
namespace {

struct Common {
  std::string transport = "tcp";
  std::string traddr = "127.0.0.1";
  std::string trsvcid = "4420";
  std::string nqn;
  std::string hostnqn;
  std::string hostid;
  bool hdr_digest = false;
  bool data_digest = false;
  int nr_io_queues = 1;
  int queue_size = 128;
  int kato_s = 5;
  int ctrl_loss_tmo_s = 0;  // a one-shot command fails fast by default
  int reconnect_delay_s = 2;
  std::string output = "normal";
  uint32_t nsid = 1;
  uint64_t slba = 0;
  uint32_t block_count = 0;  // zero-based, as nvme-cli
  std::string data_file;
};

// nvme-cli's names; long forms only (their short forms clash here).
void AddReconnect(CLI::App* v, Common& c) {
  v->add_option("--ctrl-loss-tmo", c.ctrl_loss_tmo_s,
                "seconds to keep reconnecting a lost association (0: fail "
                "at once; -1: forever)")
      ->capture_default_str();
  v->add_option("--reconnect-delay", c.reconnect_delay_s,
                "seconds between reconnect attempts")
      ->capture_default_str();
}

void AddConnection(CLI::App* v, Common& c, bool nqn_short, bool json) {
  v->add_option("-t,--transport", c.transport, "transport type (tcp)")
      ->capture_default_str();
  v->add_option("-a,--traddr", c.traddr,
                "target address (numeric IPv4 or IPv6)")
      ->capture_default_str();
  v->add_option("-s,--trsvcid", c.trsvcid, "target port")
      ->capture_default_str();
  v->add_option(nqn_short ? "-n,--nqn" : "--nqn", c.nqn, "subsystem NQN");
  v->add_option("-q,--hostnqn", c.hostnqn,
                "host NQN (default: /etc/nvme/hostnqn or derived)");
  v->add_option("-I,--hostid", c.hostid,
                "host ID, a UUID (default: /etc/nvme/hostid or derived)");
  v->add_flag("-g,--hdr-digest", c.hdr_digest, "ask for header digests");
  v->add_flag("-G,--data-digest", c.data_digest, "ask for data digests");
  v->add_option("-i,--nr-io-queues", c.nr_io_queues, "I/O queues to connect")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  v->add_option("-Q,--queue-size", c.queue_size, "I/O queue entries")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  v->add_option("-k,--keep-alive-tmo", c.kato_s, "keep-alive timeout, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  AddReconnect(v, c);
  if (json) {
    v->add_option("-o,--output-format", c.output, "normal or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"normal", "json"}));
  }
}

void AddIo(CLI::App* v, Common& c, bool data, bool count) {
  v->add_option("-n,--namespace-id", c.nsid, "namespace ID")
      ->capture_default_str();
  v->add_option("-s,--start-block", c.slba, "first LBA")->capture_default_str();
  if (count) {
    v->add_option("-c,--block-count", c.block_count,
                  "number of blocks, zero-based as in nvme-cli (0: one block)");
  }
  if (data) v->add_option("-d,--data", c.data_file, "data file")->required();
}

// Connection-level options that clash with I/O short options keep only
// their long forms on I/O verbs.
void AddIoConnection(CLI::App* v, Common& c) {
  AddReconnect(v, c);
  v->add_option("-t,--transport", c.transport, "transport type (tcp)")
      ->capture_default_str();
  v->add_option("-a,--traddr", c.traddr, "target address")
      ->capture_default_str();
  v->add_option("--trsvcid", c.trsvcid, "target port")->capture_default_str();
  v->add_option("--nqn", c.nqn, "subsystem NQN")->required();
  v->add_option("-q,--hostnqn", c.hostnqn, "host NQN");
  v->add_option("-I,--hostid", c.hostid, "host ID, a UUID");
  v->add_flag("-g,--hdr-digest", c.hdr_digest, "ask for header digests");
  v->add_flag("-G,--data-digest", c.data_digest, "ask for data digests");
  v->add_option("-i,--nr-io-queues", c.nr_io_queues, "I/O queues")
      ->capture_default_str();
  v->add_option("-Q,--queue-size", c.queue_size, "I/O queue entries")
      ->capture_default_str();
  v->add_option("-k,--keep-alive-tmo", c.kato_s, "keep-alive timeout, seconds")
      ->capture_default_str();
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "nvmeof: %s\n", what.c_str());
  return 1;
}

Result<std::unique_ptr<host::Association>> Open(EventLoop& loop, const Common& c,
                                               bool discovery) {
  NVMEOF_ASSIGN_OR_RETURN(TransportType t, ParseTransportType(c.transport));
  host::ConnectOptions o;
  o.address = {t, c.traddr, c.trsvcid};
  o.subnqn = c.nqn.empty() && discovery ? std::string(kDiscoveryNqn) : c.nqn;
  if (o.subnqn.empty()) return InvalidArgumentError("--nqn is required");
  o.hostnqn = c.hostnqn;
  if (!c.hostid.empty()) {
    std::string hex;
    for (char ch : c.hostid) {
      if (ch != '-') hex.push_back(ch);
    }
    auto nibble = [](char ch) -> int {
      if (ch >= '0' && ch <= '9') return ch - '0';
      if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
      if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
      return -1;
    };
    if (hex.size() != 32)
      return InvalidArgumentError("--hostid must be a UUID");
    for (int i = 0; i < 16; ++i) {
      int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return InvalidArgumentError("--hostid must be a UUID");
      o.hostid[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
  }
  o.header_digest = c.hdr_digest;
  o.data_digest = c.data_digest;
  o.nr_io_queues = discovery ? 0 : static_cast<uint16_t>(c.nr_io_queues);
  o.queue_size = static_cast<uint16_t>(c.queue_size);
  o.kato_ms = discovery ? 0 : static_cast<uint32_t>(c.kato_s) * 1000;
  o.ctrl_loss_tmo = std::chrono::seconds(c.ctrl_loss_tmo_s);
  o.reconnect_delay = std::chrono::seconds(c.reconnect_delay_s);
  Result<std::unique_ptr<host::Association>> ctrl =
      host::Association::Connect(loop, o);
  if (!ctrl.ok()) {
    return ctrl.status().WithContext(c.traddr + ":" + c.trsvcid + " " +
                                     o.subnqn);
  }
  return ctrl;
}

// The namespace's block size (Identify Namespace, current LBA format).
Result<uint32_t> BlockSize(host::Association& ctrl, uint32_t nsid) {
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> buf, ctrl.Identify(0x00, nsid));
  IdentifyNamespace id;
  std::memcpy(&id, buf.data(), sizeof(id));
  if (id.nsze == 0)
    return NotFoundError("namespace " + std::to_string(nsid) +
                         " is not active");
  return static_cast<uint32_t>(id.lbaf[FlbasIndex(id.flbas)].block_size());
}

// Read, Write or Compare of `buf` at `slba`, split at MDTS.
// Read, Write or Compare of `buf` at `slba`; the library splits at MDTS.
Status Transfer(host::Association& ctrl, uint8_t opcode, uint32_t nsid,
                uint64_t slba, uint32_t block_size, std::vector<uint8_t>& buf) {
  bool done = false;
  host::Completion out;
  ctrl.SubmitRw(1, opcode, nsid, slba, block_size,
                MemDesc(buf.data(), buf.size()), [&](host::Completion c) {
                  out = std::move(c);
                  done = true;
                });
  ctrl.loop().RunUntil([&] { return done; }, std::chrono::minutes(5));
  if (!done) return DeadlineExceededError("transfer did not complete");
  if (!out.status.ok()) return out.status;
  if (!out.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  NvmeStatusToString(out.nvme()));
  }
  return Status();
}

int RunVerb(const std::string& verb, Common& c, const PerfOptions& perf,
            const std::vector<uint64_t>& dsm_slbs,
            const std::vector<uint32_t>& dsm_blocks, bool dsm_ad,
            uint8_t log_id, uint32_t log_len, uint64_t lpo, uint8_t feature_id,
            uint8_t sel) {
  if (verb == "perf") {
    // Each perf thread connects its own association, on its own loop.
    return RunPerf([&c](EventLoop& l) { return Open(l, c, false); }, perf);
  }
  auto loop_r = EventLoop::Create();
  if (!loop_r.ok()) return Fail(loop_r.status().ToString());
  EventLoop& loop = **loop_r;
  const bool json = c.output == "json";
  Result<std::unique_ptr<host::Association>> opened =
      Open(loop, c, verb == "discover");
  if (!opened.ok()) return Fail(opened.status().ToString());
  host::Association& ctrl = **opened;

  if (verb == "discover") {
    auto page = ctrl.ReadDiscoveryLog();
    if (!page.ok()) return Fail(page.status().ToString());
    PrintDiscoveryLog(*page, json);
    return 0;
  }
  if (verb == "id-ctrl") {
    PrintIdentifyController(ctrl.identify(), json);
    return 0;
  }
  if (verb == "id-ns") {
    auto buf = ctrl.Identify(0x00, c.nsid);
    if (!buf.ok()) return Fail(buf.status().ToString());
    PrintIdentifyNamespace(*buf, c.nsid, json);
    return 0;
  }
  if (verb == "list-ns") {
    auto buf = ctrl.Identify(0x02, 0);
    if (!buf.ok()) return Fail(buf.status().ToString());
    PrintNamespaceList(*buf, json);
    return 0;
  }
  if (verb == "get-log") {
    auto buf = ctrl.GetLogPage(log_id, 0xFFFFFFFF, lpo, log_len);
    if (!buf.ok()) return Fail(buf.status().ToString());
    PrintLogPage(log_id, *buf, json);
    return 0;
  }
  if (verb == "get-feature") {
    Sqe sqe{};
    sqe.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
    sqe.nsid = c.nsid;
    sqe.cdw10 = feature_id | (uint32_t{sel} << 8);
    host::Completion done = ctrl.AdminSync(sqe);
    if (!done.status.ok()) return Fail(done.status.ToString());
    if (!done.nvme().ok())
      return Fail("get-feature: " + NvmeStatusToString(done.nvme()));
    PrintFeature(feature_id, done.cqe.dw0, json);
    return 0;
  }
  if (verb == "flush") {
    Sqe sqe{};
    sqe.nsid = c.nsid;
    host::Completion done = ctrl.IoSync(1, sqe);
    if (!done.ok()) {
      return Fail("flush: " + (done.status.ok()
                                   ? NvmeStatusToString(done.nvme())
                                   : done.status.ToString()));
    }
    std::printf("NVMe Flush: success\n");
    return 0;
  }
  Result<uint32_t> bs = BlockSize(ctrl, c.nsid);
  if (!bs.ok()) return Fail(bs.status().ToString());
  if (verb == "write-zeroes") {
    Sqe sqe{};
    sqe.opcode = static_cast<uint8_t>(NvmOpcode::kWriteZeroes);
    sqe.nsid = c.nsid;
    sqe.cdw10 = static_cast<uint32_t>(c.slba);
    sqe.cdw11 = static_cast<uint32_t>(c.slba >> 32);
    sqe.cdw12 = c.block_count & 0xFFFF;
    host::Completion done = ctrl.IoSync(1, sqe);
    if (!done.ok()) {
      return Fail("write-zeroes: " + (done.status.ok()
                                          ? NvmeStatusToString(done.nvme())
                                          : done.status.ToString()));
    }
    std::printf("NVMe Write Zeroes: success\n");
    return 0;
  }
  if (verb == "dsm") {
    if (dsm_slbs.size() != dsm_blocks.size() || dsm_slbs.empty() ||
        dsm_slbs.size() > 256) {
      return Fail("dsm: give as many --slbs as --blocks (1 to 256)");
    }
    struct Range {
      uint32_t attributes, nlb;
      uint64_t slba;
    };
    std::vector<Range> ranges;
    for (size_t i = 0; i < dsm_slbs.size(); ++i)
      ranges.push_back({0, dsm_blocks[i], dsm_slbs[i]});
    Sqe sqe{};
    sqe.opcode = static_cast<uint8_t>(NvmOpcode::kDatasetManagement);
    sqe.nsid = c.nsid;
    sqe.cdw10 = static_cast<uint32_t>(ranges.size() - 1);
    sqe.cdw11 = dsm_ad ? (1u << 2) : 0;
    host::Completion done = ctrl.IoSync(
        1, sqe, MemDesc(ranges.data(), ranges.size() * sizeof(Range)), true);
    if (!done.ok()) {
      return Fail("dsm: " + (done.status.ok() ? NvmeStatusToString(done.nvme())
                                              : done.status.ToString()));
    }
    std::printf("NVMe DSM: success\n");
    return 0;
  }
  // read, write, compare.
  std::vector<uint8_t> buf;
  if (verb == "write" || verb == "compare") {
    std::ifstream in(c.data_file, std::ios::binary);
    if (!in)
      return Fail("cannot open " + c.data_file + ": " + std::strerror(errno));
    buf.assign(std::istreambuf_iterator<char>(in), {});
    if (buf.empty() || buf.size() % *bs != 0) {
      return Fail(c.data_file + " is " + std::to_string(buf.size()) +
                  " bytes: not a multiple of the block size (" +
                  std::to_string(*bs) + ")");
    }
  } else {
    buf.resize(uint64_t{c.block_count + 1} * *bs);
  }
  const uint8_t opcode = verb == "read" ? 0x02 : verb == "write" ? 0x01 : 0x05;
  Status st = Transfer(ctrl, opcode, c.nsid, c.slba, *bs, buf);
  if (!st.ok()) return Fail(verb + ": " + std::string(st.message()));
  if (verb == "read") {
    if (c.data_file.empty() || c.data_file == "-") {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
    } else {
      std::ofstream out(c.data_file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(buf.data()),
                static_cast<std::streamsize>(buf.size()));
      if (!out) return Fail("cannot write " + c.data_file);
      std::fprintf(stderr, "read: success (%zu bytes to %s)\n", buf.size(),
                   c.data_file.c_str());
    }
    return 0;
  }
  std::printf("%s: success\n", verb.c_str());
  return 0;
}

}  // namespace
}  // namespace nvmeof::tools

int main(int argc, char** argv) try {
  using nvmeof::tools::Common;
  CLI::App app{"nvmeof: an NVMe over Fabrics host tool (NVMe/TCP)"};
  app.require_subcommand(1);
  Common c;
  std::vector<uint64_t> slbs;
  std::vector<uint32_t> blocks;
  bool ad = false;
  int log_id = 2, feature_id = 0, sel = 0;
  uint32_t log_len = 512;
  uint64_t lpo = 0;

  auto* discover =
      app.add_subcommand("discover", "read the discovery log page");
  nvmeof::tools::AddConnection(discover, c, true, true);
  auto* id_ctrl = app.add_subcommand("id-ctrl", "Identify Controller");
  nvmeof::tools::AddConnection(id_ctrl, c, true, true);
  auto* id_ns = app.add_subcommand("id-ns", "Identify Namespace");
  nvmeof::tools::AddIoConnection(id_ns, c);
  id_ns->add_option("-n,--namespace-id", c.nsid, "namespace ID")
      ->capture_default_str();
  id_ns->add_option("-o,--output-format", c.output, "normal or json");
  auto* list_ns = app.add_subcommand("list-ns", "the active namespace IDs");
  nvmeof::tools::AddConnection(list_ns, c, true, true);
  auto* get_log = app.add_subcommand("get-log", "Get Log Page");
  nvmeof::tools::AddConnection(get_log, c, true, true);
  get_log->add_option("-l,--log-id", log_id, "log page identifier")
      ->capture_default_str();
  get_log->add_option("-L,--log-len", log_len, "bytes to read")
      ->capture_default_str();
  get_log->add_option("--lpo", lpo, "byte offset into the log page")
      ->capture_default_str();
  auto* get_feature = app.add_subcommand("get-feature", "Get Features");
  nvmeof::tools::AddConnection(get_feature, c, true, true);
  get_feature->add_option("-f,--feature-id", feature_id, "feature identifier")
      ->required();
  get_feature->add_option("-S,--sel", sel,
                          "0 current, 1 default, 2 saved, 3 capabilities");
  auto* read =
      app.add_subcommand("read", "read blocks into --data (or stdout)");
  nvmeof::tools::AddIoConnection(read, c);
  nvmeof::tools::AddIo(read, c, false, true);
  read->add_option("-d,--data", c.data_file,
                   "file to write the blocks to (default: stdout)");
  auto* write = app.add_subcommand("write", "write the whole --data file");
  nvmeof::tools::AddIoConnection(write, c);
  nvmeof::tools::AddIo(write, c, true, false);
  auto* compare = app.add_subcommand(
      "compare", "compare blocks with the whole --data file");
  nvmeof::tools::AddIoConnection(compare, c);
  nvmeof::tools::AddIo(compare, c, true, false);
  auto* flush = app.add_subcommand("flush", "Flush");
  nvmeof::tools::AddIoConnection(flush, c);
  flush->add_option("-n,--namespace-id", c.nsid,
                    "namespace ID (0xffffffff: all)");
  auto* wz = app.add_subcommand("write-zeroes", "Write Zeroes");
  nvmeof::tools::AddIoConnection(wz, c);
  nvmeof::tools::AddIo(wz, c, false, true);
  auto* dsm =
      app.add_subcommand("dsm", "Dataset Management (deallocate with --ad)");
  nvmeof::tools::AddIoConnection(dsm, c);
  dsm->add_option("-n,--namespace-id", c.nsid, "namespace ID")
      ->capture_default_str();
  dsm->add_option("--slbs", slbs, "first LBA of each range")->delimiter(',');
  dsm->add_option("--blocks", blocks, "blocks in each range")->delimiter(',');
  dsm->add_flag("-d,--ad", ad, "deallocate the ranges");
  nvmeof::tools::PerfOptions perf;
  auto* perf_cmd =
      app.add_subcommand("perf", "measure: IOPS, MB/s, latency percentiles");
  nvmeof::tools::AddIoConnection(perf_cmd, c);
  perf_cmd->add_option("-n,--namespace-id", perf.nsid, "namespace ID")
      ->capture_default_str();
  perf_cmd
      ->add_option("--queue-depth", perf.queue_depth,
                   "commands in flight per I/O queue")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  perf_cmd->add_option("--io-size", perf.io_size, "bytes per I/O")
      ->capture_default_str();
  perf_cmd
      ->add_option("--workload", perf.workload,
                   "randread randwrite read write randrw rw")
      ->capture_default_str()
      ->check(CLI::IsMember(
          {"randread", "randwrite", "read", "write", "randrw", "rw"}));
  perf_cmd->add_option("--mix", perf.mix, "read percentage of randrw/rw")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  perf_cmd->add_option("--time", perf.seconds, "seconds to run")
      ->capture_default_str();
  perf_cmd->add_flag("--verify", perf.verify,
                     "write patterns and check them on read");
  perf_cmd->add_flag("--poll", perf.poll,
                     "busy-poll (lowest latency; spins a core)");
  int cpu = -1;
  std::string cpus;
  perf_cmd
      ->add_option("--threads", perf.threads,
                   "threads, each with its own association (its own "
                   "--nr-io-queues queues)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  auto* cpus_opt = perf_cmd->add_option(
      "--cpus", cpus,
      "pin thread i to the i-th of these CPUs, cycling (as 0,2 or 0-3)");
  perf_cmd
      ->add_option("--cpu", cpu,
                   "pin to this CPU (run the target on another): --cpus "
                   "with one CPU")
      ->check(CLI::Range(0, CPU_SETSIZE - 1))
      ->excludes(cpus_opt);
  perf_cmd->add_option("--plot", perf.plot,
                       "write the latency histogram to this SVG file");
  perf_cmd->add_option("-o,--output-format", c.output, "normal or json");
  CLI11_PARSE(app, argc, argv);
  perf.json = c.output == "json";

  if (cpu >= 0) perf.cpus = {cpu};
  if (!cpus.empty()) {
    auto list = nvmeof::tools::ParseCpuList(cpus);
    if (!list.ok()) {
      std::fprintf(stderr, "nvmeof: %s\n", list.status().ToString().c_str());
      return 1;
    }
    perf.cpus = std::move(*list);
  }
  nvmeof::RegisterTcpTransport();
  std::string verb = app.get_subcommands().front()->get_name();
  return nvmeof::tools::RunVerb(
      verb, c, perf, slbs, blocks, ad, static_cast<uint8_t>(log_id), log_len,
      lpo, static_cast<uint8_t>(feature_id), static_cast<uint8_t>(sel));
} catch (const std::exception& e) {
  std::fprintf(stderr, "nvmeof: %s\n", e.what());
  return 1;
}
