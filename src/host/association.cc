// The host's association with a controller: connect, enable, identify,
// I/O queues, keep-alive, disconnect.

#include <openssl/crypto.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/dhchap.h"
#include "auth/tls_psk.h"
#include "host/host_queue.h"
#include "nvmeof/host.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::host {

namespace {

constexpr uint16_t kAdminQueueSize = 32;
constexpr uint32_t kAdminIcd = 8192;

std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
    line.pop_back();
  return line;
}

// A UUID from /etc/machine-id (32 hex digits), so that the default host
// identity is stable on this machine; random when there is none.
std::array<uint8_t, 16> MachineUuid() {
  std::array<uint8_t, 16> id{};
  std::string m = ReadFirstLine("/etc/machine-id");
  if (m.size() >= 32) {
    for (int i = 0; i < 16; ++i) {
      id[i] = static_cast<uint8_t>(std::stoi(m.substr(2 * i, 2), nullptr, 16));
    }
  } else {
    std::ifstream r("/dev/urandom", std::ios::binary);
    r.read(reinterpret_cast<char*>(id.data()), 16);
  }
  id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x40);  // version 4
  id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);  // variant 1
  return id;
}

std::string UuidString(const std::array<uint8_t, 16>& u) {
  char buf[37];
  std::snprintf(
      buf, sizeof(buf),
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
      u[12], u[13], u[14], u[15]);
  return buf;
}

bool ParseUuid(const std::string& s, std::array<uint8_t, 16>* out) {
  std::string hex;
  for (char c : s) {
    if (c != '-') hex.push_back(c);
  }
  if (hex.size() != 32) return false;
  for (int i = 0; i < 16; ++i) {
    char* end = nullptr;
    std::string byte = hex.substr(2 * i, 2);
    long v = std::strtol(byte.c_str(), &end, 16);
    if (end != byte.c_str() + 2) return false;
    (*out)[i] = static_cast<uint8_t>(v);
  }
  return true;
}

}  // namespace

std::array<uint8_t, 16> DefaultHostId() {
  std::array<uint8_t, 16> id{};
  if (ParseUuid(ReadFirstLine("/etc/nvme/hostid"), &id)) return id;
  return MachineUuid();
}

std::string DefaultHostNqn() {
  std::string nqn = ReadFirstLine("/etc/nvme/hostnqn");
  if (!nqn.empty() && ValidateNqn(nqn).ok()) return nqn;
  return "nqn.2014-08.org.nvmexpress:uuid:" + UuidString(DefaultHostId());
}

Association::Association(EventLoop* loop, ConnectOptions options)
    : loop_(loop), options_(std::move(options)) {}

Association::~Association() { Disconnect(); }

Result<std::unique_ptr<Association>> Association::Connect(
    EventLoop& loop, const ConnectOptions& options) {
  ConnectOptions o = options;
  if (o.hostnqn.empty()) o.hostnqn = DefaultHostNqn();
  if (o.hostid == std::array<uint8_t, 16>{}) o.hostid = DefaultHostId();
  if (Status s = ValidateNqn(o.subnqn); !s.ok())
    return s.WithContext("subsystem NQN");
  if (Status s = ValidateNqn(o.hostnqn); !s.ok())
    return s.WithContext("host NQN");
  // The secrets, parsed once; the association keeps only the keys.
  std::shared_ptr<const auth::DhchapKey> host_key, ctrl_key;
  auto parse = [](std::string& text, const char* option,
                  std::shared_ptr<const auth::DhchapKey>* out) -> Status {
    if (text.empty()) return Status();
    Result<auth::DhchapKey> k = auth::DhchapKey::Parse(text);
    OPENSSL_cleanse(text.data(), text.size());
    text.clear();
    if (!k.ok()) return k.status().WithContext(option);
    *out = std::make_shared<const auth::DhchapKey>(std::move(*k));
    return Status();
  };
  Status hs = parse(o.dhchap_secret, "dhchap_secret", &host_key);
  Status cs = parse(o.dhchap_ctrl_secret, "dhchap_ctrl_secret", &ctrl_key);
  NVMEOF_RETURN_IF_ERROR(hs);
  NVMEOF_RETURN_IF_ERROR(cs);
  if (ctrl_key && !host_key) {
    return InvalidArgumentError(
        "dhchap_ctrl_secret: bidirectional authentication needs the host "
        "secret (dhchap_secret) as well");
  }
  std::shared_ptr<const TlsClientParams> tls;
  if (!o.tls_key.empty()) {
    Result<auth::TlsKey> k = auth::TlsKey::Parse(o.tls_key);
    OPENSSL_cleanse(o.tls_key.data(), o.tls_key.size());
    o.tls_key.clear();
    if (!k.ok()) return k.status().WithContext("tls_key");
    if (o.tls_identity_version != 0 && o.tls_identity_version != 1) {
      return InvalidArgumentError("tls_identity_version: 0 or 1, not " +
                                  std::to_string(o.tls_identity_version));
    }
    NVMEOF_ASSIGN_OR_RETURN(
        auth::DerivedPsk d,
        auth::DeriveTlsPsk(*k, o.hostnqn, o.subnqn, o.tls_identity_version,
                           o.tls_compat));
    auto params = std::make_shared<TlsClientParams>();
    params->identity = std::move(d.identity);
    params->psk.key.assign(d.psk.data(), d.psk.data() + d.psk.size());
    params->psk.sha384 = d.hash == auth::TlsHash::kSha384;
    tls = std::move(params);
  }
  std::unique_ptr<Association> c(new Association(&loop, std::move(o)));
  c->tls_ = std::move(tls);
  c->host_key_ = std::move(host_key);
  c->ctrl_key_ = std::move(ctrl_key);
  NVMEOF_RETURN_IF_ERROR(c->ConnectAdmin());
  NVMEOF_RETURN_IF_ERROR(c->EnableController());
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> id, c->Identify(0x01, 0));
  std::memcpy(&c->id_, id.data(), sizeof(c->id_));
  // MDTS is in units of CAP.MPSMIN pages (4 KiB << MPSMIN).
  const uint32_t page = 4096u << ((c->cap_ >> 48) & 0xF);
  c->max_transfer_ = c->id_.mdts == 0 ? 0 : page << c->id_.mdts;
  if (!c->is_discovery()) {
    NVMEOF_RETURN_IF_ERROR(c->ConnectIoQueues());
    NVMEOF_RETURN_IF_ERROR(c->RefreshNamespaces());
  }
  c->StartKeepAlive();
  NVMEOF_RETURN_IF_ERROR(c->EnableAsyncEvents());
  return c;
}

Result<std::unique_ptr<HostQueue>> Association::ConnectQueue(uint16_t qid,
                                                            uint16_t size,
                                                            uint32_t kato,
                                                            uint32_t max_icd) {
  HostQueuePairParams p;
  p.qid = qid;
  p.queue_size = size;
  p.header_digest = options_.header_digest;
  p.data_digest = options_.data_digest;
  p.max_icd = max_icd;
  p.tls = tls_;
  NVMEOF_ASSIGN_OR_RETURN(
      std::unique_ptr<HostQueue> q,
      HostQueue::Connect(*loop_, options_.address, p, options_.connect_timeout,
                         options_.command_timeout,
                         [this](const Status& s) { OnQueueFailed(s); }));
  // Fabrics Connect, with the host's identity and the controller to join.
  ConnectCommand cmd;
  cmd.qid = qid;
  cmd.sqsize = static_cast<uint16_t>(size - 1);
  cmd.kato = kato;
  cmd.cattr = options_.disable_sq_flow_control ? kCattrDisableSqFlowControl : 0;
  NVMEOF_ASSIGN_OR_RETURN(
      ConnectData data,
      BuildConnectData(options_.hostid, qid == 0 ? kCntlidDynamic : cntlid_,
                       options_.subnqn, options_.hostnqn));
  Completion c =
      Await(*q, BuildConnectSqe(cmd), MemDesc(&data, sizeof(data)), true);
  if (!c.status.ok())
    return c.status.WithContext("Connect (qid " + std::to_string(qid) + ")");
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Connect (qid " + std::to_string(qid) + ") refused: " +
                      NvmeStatusToString(c.nvme(), /*fabrics=*/true));
  }
  const ConnectResponse rsp = ConnectResponse::FromDw0(c.cqe.dw0);
  if (qid == 0) cntlid_ = rsp.cntlid;
  if (rsp.authreq & kAuthreqAscr) {
    return Status(StatusCode::kUnimplemented,
                  "Connect (qid " + std::to_string(qid) +
                      "): the controller requires secure channel "
                      "concatenation (TLS after DH-HMAC-CHAP), which this "
                      "host does not do");
  }
  if (rsp.authreq & kAuthreqAtr) {
    if (!host_key_) {
      return Status(StatusCode::kFailedPrecondition,
                    "Connect (qid " + std::to_string(qid) +
                        "): the controller requires DH-HMAC-CHAP "
                        "authentication and no --dhchap-secret is set");
    }
    NVMEOF_RETURN_IF_ERROR(Authenticate(*q, qid));
  }
  return q;
}

Status Association::ConnectAdmin() {
  NVMEOF_ASSIGN_OR_RETURN(
      admin_, ConnectQueue(0, kAdminQueueSize, options_.kato_ms, kAdminIcd));
  return Status();
}

Status Association::EnableController() {
  NVMEOF_ASSIGN_OR_RETURN(cap_, GetProperty(kPropertyCap, true));
  CcRegister cc;
  cc.en = true;
  cc.iosqes = 6;
  cc.iocqes = 4;
  NVMEOF_RETURN_IF_ERROR(SetProperty(kPropertyCc, cc.ToU32()));
  // Wait for CSTS.RDY, up to CAP.TO (500 ms units).
  const auto limit = std::chrono::milliseconds(
      500 * std::max<uint64_t>((cap_ >> 24) & 0xFF, 1));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    NVMEOF_ASSIGN_OR_RETURN(uint64_t csts, GetProperty(kPropertyCsts, false));
    if (csts & 0x2)
      return UnavailableError(
          "controller fatal status (CSTS.CFS) after enable");
    if (csts & 0x1) return Status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError("controller not ready within CAP.TO");
    }
    bool waited = false;
    loop_->AddTimer(pause, [&] { waited = true; });
    loop_->RunUntil([&] { return waited; }, pause + std::chrono::seconds(1));
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

Status Association::ConnectIoQueues() {
  if (options_.nr_io_queues == 0) return Status();
  io_queues_.clear();
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  sqe.cdw10 = static_cast<uint8_t>(FeatureId::kNumberOfQueues);
  sqe.cdw11 =
      NumberOfQueues::FromCounts(options_.nr_io_queues, options_.nr_io_queues)
          .ToDword();
  Completion c = AdminSync(sqe);
  if (!c.ok()) {
    return c.status.ok() ? Status(StatusCode::kFailedPrecondition,
                                  "Set Features Number of Queues: " +
                                      NvmeStatusToString(c.nvme()))
                         : c.status;
  }
  NumberOfQueues granted = NumberOfQueues::FromDword(c.cqe.dw0);
  const uint32_t n = std::min<uint32_t>(
      {options_.nr_io_queues, granted.sq_count(), granted.cq_count()});
  const uint16_t mqes = static_cast<uint16_t>((cap_ & 0xFFFF) + 1);
  const uint16_t size = std::min(options_.queue_size, mqes);
  io_queue_size_ = size;
  const uint32_t icd = id_.ioccsz >= 4 ? id_.ioccsz * 16 - 64 : 0;
  for (uint32_t qid = 1; qid <= n; ++qid) {
    NVMEOF_ASSIGN_OR_RETURN(
        std::unique_ptr<HostQueue> q,
        ConnectQueue(static_cast<uint16_t>(qid), size, 0, icd));
    io_queues_.push_back(std::move(q));
  }
  return Status();
}

void Association::StartKeepAlive() {
  if (options_.kato_ms == 0) return;
  auto period =
      std::chrono::milliseconds(std::max<uint32_t>(options_.kato_ms / 2, 100));
  keep_alive_timer_ = loop_->AddTimer(period, [this] {
    keep_alive_timer_ = 0;
    if (disconnected_ || state_ != State::kLive) return;
    Sqe sqe{};
    sqe.opcode = static_cast<uint8_t>(AdminOpcode::kKeepAlive);
    SubmitAdmin(sqe, {}, false, [](const Completion&) {});
    StartKeepAlive();
  });
}

void Association::SubmitAdmin(const Sqe& sqe, const MemDesc& data,
                             bool to_controller, CompletionCallback done) {
  admin_->Submit(sqe, data, to_controller, std::move(done));
}

Completion Association::Await(HostQueue& q, const Sqe& sqe, const MemDesc& data,
                             bool to_controller) {
  bool done = false;
  Completion out;
  q.Submit(sqe, data, to_controller, [&](Completion c) {
    out = std::move(c);
    done = true;
  });
  // The queue's own deadline check fails the command; this bound only
  // guards against a loop that stops turning.
  if (!loop_->RunUntil([&] { return done; },
                       options_.command_timeout + std::chrono::seconds(5))) {
    out.status = DeadlineExceededError("command did not complete");
  }
  return out;
}

Completion Association::AdminSync(const Sqe& sqe, const MemDesc& data,
                                 bool to_controller) {
  return Await(*admin_, sqe, data, to_controller);
}

Completion Association::IoSync(uint16_t qid, const Sqe& sqe, const MemDesc& data,
                              bool to_controller) {
  return Await(*io_queues_[qid - 1], sqe, data, to_controller);
}

Result<uint64_t> Association::GetProperty(uint32_t ofst, bool eight_bytes) {
  PropertyGetCommand cmd;
  cmd.ofst = ofst;
  cmd.size = eight_bytes ? PropertySize::k8Bytes : PropertySize::k4Bytes;
  Completion c = AdminSync(BuildPropertyGetSqe(cmd));
  if (!c.status.ok()) return c.status;
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Property Get: " + NvmeStatusToString(c.nvme(), true));
  }
  uint64_t v = PropertyGetValue(c.cqe);
  return eight_bytes ? v : (v & 0xFFFFFFFFu);
}

Status Association::SetProperty(uint32_t ofst, uint32_t value) {
  PropertySetCommand cmd;
  cmd.ofst = ofst;
  cmd.value = value;
  Completion c = AdminSync(BuildPropertySetSqe(cmd));
  if (!c.status.ok()) return c.status;
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Property Set: " + NvmeStatusToString(c.nvme(), true));
  }
  return Status();
}

Result<std::vector<uint8_t>> Association::Identify(uint8_t cns, uint32_t nsid,
                                                  uint8_t csi) {
  IdentifyCommand cmd;
  cmd.cns = static_cast<Cns>(cns);
  cmd.nsid = nsid;
  cmd.csi = csi;
  std::vector<uint8_t> buf(kIdentifyDataSize);
  Completion c =
      AdminSync(BuildIdentifySqe(cmd), MemDesc(buf.data(), buf.size()));
  if (!c.status.ok()) return c.status;
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Identify (CNS " + std::to_string(cns) +
                      "): " + NvmeStatusToString(c.nvme()));
  }
  return buf;
}

Result<std::vector<uint8_t>> Association::GetLogPage(uint8_t lid, uint32_t nsid,
                                                    uint64_t offset,
                                                    uint32_t length) {
  GetLogPageCommand cmd;
  cmd.lid = lid;
  cmd.nsid = nsid;
  cmd.lpo = offset;
  cmd.numd = NumdFromBytes(length);
  std::vector<uint8_t> buf(length);
  Completion c =
      AdminSync(BuildGetLogPageSqe(cmd), MemDesc(buf.data(), buf.size()));
  if (!c.status.ok()) return c.status;
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Get Log Page " + std::to_string(lid) + ": " +
                      NvmeStatusToString(c.nvme()));
  }
  return buf;
}

Result<uint32_t> Association::GetFeature(uint8_t fid, uint8_t sel,
                                        uint32_t cdw11) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
  sqe.cdw10 = fid | (uint32_t{sel} << 8);
  sqe.cdw11 = cdw11;
  Completion c = AdminSync(sqe);
  if (!c.status.ok()) return c.status;
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Get Features " + std::to_string(fid) + ": " +
                      NvmeStatusToString(c.nvme()));
  }
  return c.cqe.dw0;
}

Result<uint32_t> Association::SetFeature(uint8_t fid, uint32_t cdw11,
                                        uint32_t cdw12) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  sqe.cdw10 = fid;
  sqe.cdw11 = cdw11;
  sqe.cdw12 = cdw12;
  Completion c = AdminSync(sqe);
  if (!c.status.ok()) return c.status;
  if (!c.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "Set Features " + std::to_string(fid) + ": " +
                      NvmeStatusToString(c.nvme()));
  }
  return c.cqe.dw0;
}

Result<std::vector<uint8_t>> Association::ReadDiscoveryLog() {
  const uint8_t lid = static_cast<uint8_t>(LogPageId::kDiscovery);
  for (int attempt = 0; attempt < 10; ++attempt) {
    NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> head,
                            GetLogPage(lid, 0, 0, sizeof(DiscoveryLogHeader)));
    DiscoveryLogHeader h;
    std::memcpy(&h, head.data(), sizeof(h));
    if (h.numrec > 1024)
      return ProtocolError("discovery log claims too many records");
    const uint64_t size = DiscoveryLogPageSize(h.numrec);
    NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> page,
                            GetLogPage(lid, 0, 0, static_cast<uint32_t>(size)));
    // The page changed while we read it if GENCTR moved: read it again.
    NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> again,
                            GetLogPage(lid, 0, 0, sizeof(DiscoveryLogHeader)));
    DiscoveryLogHeader h2;
    std::memcpy(&h2, again.data(), sizeof(h2));
    if (h2.genctr == h.genctr) return page;
  }
  return UnavailableError("discovery log kept changing while being read");
}

void Association::Disconnect() {
  if (disconnected_) return;
  disconnected_ = true;
  for (EventLoop::TimerId* t :
       {&keep_alive_timer_, &reconnect_timer_, &fast_fail_timer_}) {
    if (*t) loop_->CancelTimer(*t);
    *t = 0;
  }
  FailHeld(CancelledError("disconnected"));
  // A normal shutdown (CC.SHN = 01b), then wait for SHST complete, briefly:
  // a controller that is already gone does not hold up the close.
  if (admin_ != nullptr && !admin_->failed()) {
    CcRegister cc;
    cc.en = true;
    cc.iosqes = 6;
    cc.iocqes = 4;
    cc.shn = kCcShnNormal;
    if (SetProperty(kPropertyCc, cc.ToU32()).ok()) {
      for (int i = 0; i < 50; ++i) {
        Result<uint64_t> csts = GetProperty(kPropertyCsts, false);
        if (!csts.ok() || ((*csts >> 2) & 0x3) == kCstsShstComplete) break;
      }
    }
  }
  state_ = State::kFailed;
  TearDownQueues(CancelledError("disconnected"));
}

}  // namespace nvmeof::host
