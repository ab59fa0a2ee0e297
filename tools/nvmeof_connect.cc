// The nvmeof tool's connection flags and how a verb connects.

#include <cstdio>
#include <cstring>

#include "nvmeof/proto/nqn.h"
#include "tools/nvmeof_cli.h"

namespace nvmeof::tools {

namespace {

// nvme-cli's names; long forms only (their short forms clash here).
void AddReconnect(CLI::App* v, Args& a) {
  v->add_option("--ctrl-loss-tmo", a.ctrl_loss_tmo_s,
                "seconds to keep reconnecting a lost association (0: fail "
                "at once; -1: forever)")
      ->capture_default_str();
  v->add_option("--reconnect-delay", a.reconnect_delay_s,
                "seconds between reconnect attempts")
      ->capture_default_str();
}

Status ParseHostId(const std::string& text, std::array<uint8_t, 16>& out) {
  std::string hex;
  for (char ch : text) {
    if (ch != '-') hex.push_back(ch);
  }
  auto nibble = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  if (hex.size() != 32) return InvalidArgumentError("--hostid must be a UUID");
  for (int i = 0; i < 16; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgumentError("--hostid must be a UUID");
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return Status::Ok();
}

}  // namespace

void AddConnection(CLI::App* v, Args& a, bool nqn_short, bool json) {
  v->add_option("-t,--transport", a.transport, "transport type (tcp)")
      ->capture_default_str();
  v->add_option("-a,--traddr", a.traddr,
                "target address (numeric IPv4 or IPv6)")
      ->capture_default_str();
  v->add_option("-s,--trsvcid", a.trsvcid, "target port")
      ->capture_default_str();
  v->add_option(nqn_short ? "-n,--nqn" : "--nqn", a.nqn, "subsystem NQN");
  v->add_option("-q,--hostnqn", a.hostnqn,
                "host NQN (default: /etc/nvme/hostnqn or derived)");
  v->add_option("-I,--hostid", a.hostid,
                "host ID, a UUID (default: /etc/nvme/hostid or derived)");
  v->add_flag("-g,--hdr-digest", a.hdr_digest, "ask for header digests");
  v->add_flag("-G,--data-digest", a.data_digest, "ask for data digests");
  v->add_option("-i,--nr-io-queues", a.nr_io_queues, "I/O queues to connect")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  v->add_option("-Q,--queue-size", a.queue_size, "I/O queue entries")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  v->add_option("-k,--keep-alive-tmo", a.kato_s, "keep-alive timeout, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  AddReconnect(v, a);
  if (json) {
    v->add_option("-o,--output-format", a.output, "normal or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"normal", "json"}));
  }
}

void AddIo(CLI::App* v, Args& a, bool data, bool count) {
  v->add_option("-n,--namespace-id", a.nsid, "namespace ID")
      ->capture_default_str();
  v->add_option("-s,--start-block", a.slba, "first LBA")->capture_default_str();
  if (count) {
    v->add_option("-c,--block-count", a.block_count,
                  "number of blocks, zero-based as in nvme-cli (0: one block)");
  }
  if (data) v->add_option("-d,--data", a.data_file, "data file")->required();
}

void AddIoConnection(CLI::App* v, Args& a) {
  AddReconnect(v, a);
  v->add_option("-t,--transport", a.transport, "transport type (tcp)")
      ->capture_default_str();
  v->add_option("-a,--traddr", a.traddr, "target address")
      ->capture_default_str();
  v->add_option("--trsvcid", a.trsvcid, "target port")->capture_default_str();
  v->add_option("--nqn", a.nqn, "subsystem NQN")->required();
  v->add_option("-q,--hostnqn", a.hostnqn, "host NQN");
  v->add_option("-I,--hostid", a.hostid, "host ID, a UUID");
  v->add_flag("-g,--hdr-digest", a.hdr_digest, "ask for header digests");
  v->add_flag("-G,--data-digest", a.data_digest, "ask for data digests");
  v->add_option("-i,--nr-io-queues", a.nr_io_queues, "I/O queues")
      ->capture_default_str();
  v->add_option("-Q,--queue-size", a.queue_size, "I/O queue entries")
      ->capture_default_str();
  v->add_option("-k,--keep-alive-tmo", a.kato_s, "keep-alive timeout, seconds")
      ->capture_default_str();
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "nvmeof: %s\n", what.c_str());
  return 1;
}

Result<IdentifyNamespace> ActiveNamespace(host::Association& assoc,
                                          uint32_t nsid) {
  const std::string inactive = "namespace " + std::to_string(nsid) +
                               " is not active on this controller";
  Result<std::vector<uint8_t>> buf = assoc.Identify(0x00, nsid);
  if (!buf.ok()) {
    // The controller's own status: Invalid Namespace or Format beyond NN.
    if (buf.status().code() == StatusCode::kFailedPrecondition) {
      return NotFoundError(inactive + " (" + std::string(buf.status().message()) +
                           ")");
    }
    return buf.status();
  }
  IdentifyNamespace id;
  std::memcpy(&id, buf->data(), sizeof(id));
  if (id.nsze == 0) return NotFoundError(inactive);
  return id;
}

int Fail(const Status& why) { return Fail(std::string(why.message())); }

// "127.0.0.1:4420", "[::1]:4420".
std::string Endpoint(const Args& a) {
  return a.traddr.find(':') != std::string::npos
             ? "[" + a.traddr + "]:" + a.trsvcid
             : a.traddr + ":" + a.trsvcid;
}

Result<std::unique_ptr<host::Association>> Open(EventLoop& loop,
                                                const Args& a, bool discovery) {
  NVMEOF_ASSIGN_OR_RETURN(TransportType t, ParseTransportType(a.transport));
  host::ConnectOptions o;
  o.address = {t, a.traddr, a.trsvcid};
  o.subnqn = a.nqn.empty() && discovery ? std::string(kDiscoveryNqn) : a.nqn;
  if (o.subnqn.empty()) return InvalidArgumentError("--nqn is required");
  o.hostnqn = a.hostnqn;
  if (!a.hostid.empty()) NVMEOF_RETURN_IF_ERROR(ParseHostId(a.hostid, o.hostid));
  o.header_digest = a.hdr_digest;
  o.data_digest = a.data_digest;
  o.nr_io_queues = discovery ? 0 : static_cast<uint16_t>(a.nr_io_queues);
  o.queue_size = static_cast<uint16_t>(a.queue_size);
  o.kato_ms = discovery ? 0 : static_cast<uint32_t>(a.kato_s) * 1000;
  o.ctrl_loss_tmo = std::chrono::seconds(a.ctrl_loss_tmo_s);
  o.reconnect_delay = std::chrono::seconds(a.reconnect_delay_s);
  Result<std::unique_ptr<host::Association>> assoc =
      host::Association::Connect(loop, o);
  if (!assoc.ok()) {
    return assoc.status().WithContext(Endpoint(a) + " " + o.subnqn);
  }
  return assoc;
}

Result<Session> OpenSession(const Args& a, bool discovery) {
  Session s;
  NVMEOF_ASSIGN_OR_RETURN(s.loop, EventLoop::Create());
  NVMEOF_ASSIGN_OR_RETURN(s.assoc, Open(*s.loop, a, discovery));
  return s;
}

}  // namespace nvmeof::tools
