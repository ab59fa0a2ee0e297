// Fabrics commands: Connect (admin and I/O queues), Property Get/Set,
// Authentication Send/Receive (DH-HMAC-CHAP), Disconnect.

#include "controller/fabrics_cmd.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "auth/dhchap.h"
#include "auth/tls_psk.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller {

namespace {
// Connect Invalid Parameters carries in DW0 the offset of the offending
// field: in the SQE (IATTR 0) or in the Connect data (IATTR 1).
constexpr uint16_t kSqeRecfmtOffset = 40;
constexpr uint16_t kSqeQidOffset = 42;
constexpr uint16_t kSqeSqsizeOffset = 44;
constexpr uint16_t kDataCntlidOffset = 16;
constexpr uint16_t kDataSubnqnOffset = 256;
constexpr uint16_t kDataHostnqnOffset = 512;

// A refused Connect is logged for the operator: who (peer, host NQN),
// what for (subsystem, queue) and why, at most twenty times a second.
LogLimiter g_refusals(std::chrono::seconds(1), 20);

void LogRefusal(Request& r, const ConnectCommand* c,
                const ConnectDataFields* d, const std::string& why) {
  uint64_t suppressed = 0;
  if (!g_refusals.Allow(&suppressed)) return;
  std::string host = d == nullptr        ? "?"
                     : d->hostnqn.empty() ? "(empty host NQN)"
                                          : std::string(d->hostnqn);
  NVMEOF_LOG(kWarn, "Connect from %s (host %s) to %s, queue %s, refused: %s%s",
             r.queue->peer_name().c_str(), host.c_str(),
             d == nullptr ? "?" : std::string(d->subnqn).c_str(),
             c == nullptr ? "?" : std::to_string(c->qid).c_str(), why.c_str(),
             suppressed != 0 ? (" (" + std::to_string(suppressed) +
                                " more refusals not logged)")
                                   .c_str()
                             : "");
}

// Connect Invalid Parameters, DW0 pointing at the field (in the SQE, or in
// the Connect data), and the log line.
void RefuseParameter(Request& r, const ConnectCommand* c,
                     const ConnectDataFields* d, uint16_t offset, bool in_data,
                     const std::string& why) {
  LogRefusal(r, c, d, why);
  r.dw0 = ConnectInvalidParameter{offset, in_data}.ToDw0();
  Fail(r, CommandSpecificStatus(sc::kConnectInvalidParameters),
       in_data ? ErrorLocation{} : ErrorLocation::At(offset));
}

void Refuse(Request& r, const ConnectCommand* c, const ConnectDataFields* d,
            NvmeStatus status, const std::string& why) {
  LogRefusal(r, c, d, why);
  Fail(r, status);
}

// How long a queue may take to authenticate: its KATO, or 120 s without
// one (SPDK's bound; nvmet's auth_expire_secs is alike).
std::chrono::milliseconds AuthTimeout(uint32_t kato_ms) {
  return std::chrono::milliseconds(
      kato_ms != 0 ? std::min<uint32_t>(kato_ms, Controller::kMaxKatoMs)
                   : 120000);
}

std::string HostIdHex(const std::array<uint8_t, 16>& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : id) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

// An empty Host NQN (SPDK's spdk_nvme_perf sends one when its transport
// ID names no host): accepted where any host may connect, as Linux nvmet
// and SPDK accept it; warned about once per host ID.
void WarnEmptyHostNqn(const std::array<uint8_t, 16>& hostid,
                      const std::string& subnqn) {
  static std::mutex mu;
  static std::set<std::array<uint8_t, 16>> warned;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!warned.insert(hostid).second) return;
  }
  NVMEOF_LOG(kWarn,
             "host with host ID %s connects to %s with an empty host NQN "
             "(accepted: the subsystem allows any host)",
             HostIdHex(hostid).c_str(), subnqn.c_str());
}

// A queue over TLS carries the identity the host authenticated with: it
// must be this host's, for this subsystem (a PSK is a host's key for one
// subsystem, and the discovery NQN's identity only reaches discovery). A
// host with a PSK connects over TLS only. False: refused (Connect Invalid
// Host) and logged.
bool SecureChannelAllows(Request& r, const ConnectCommand& c,
                         const ConnectDataFields& d, const Subsystem& subsys,
                         const std::string& hostnqn) {
  const std::string identity = r.queue->tls_identity();
  if (!identity.empty()) {
    Result<auth::TlsIdentity> id = auth::ParseTlsIdentity(identity);
    if (!id.ok() || id->hostnqn != hostnqn || id->subnqn != subsys.nqn()) {
      Refuse(r, &c, &d, CommandSpecificStatus(sc::kConnectInvalidHost),
             "its TLS identity \"" + identity + "\" is not this host's for " +
                 subsys.nqn());
      return false;
    }
    return true;
  }
  if (subsys.is_discovery()) return true;
  std::optional<HostEntry> h = subsys.FindHost(hostnqn);
  if (h && h->tls_key != nullptr) {
    Refuse(r, &c, &d, CommandSpecificStatus(sc::kConnectInvalidHost),
           "the host has a TLS PSK and connects only over TLS");
    return false;
  }
  return true;
}

void ConnectAdmin(Request& r, const ConnectCommand& c,
                  const ConnectDataFields& d) {
  CommandQueue& q = *r.queue;
  std::shared_ptr<const Subsystem> subsys = q.target().FindSubsystem(d.subnqn);
  if (subsys == nullptr) {
    RefuseParameter(r, &c, &d, kDataSubnqnOffset, true, "no such subsystem");
    return;
  }
  if (!subsys->is_discovery() && !q.port().Exposes(subsys->nqn())) {
    RefuseParameter(r, &c, &d, kDataSubnqnOffset, true,
                    "the subsystem is not exposed on this port");
    return;
  }
  const std::string hostnqn(d.hostnqn);
  std::array<uint8_t, 16> hostid;
  std::memcpy(hostid.data(), d.hostid.data(), 16);
  if (Status valid = ValidateNqn(hostnqn); !hostnqn.empty() && !valid.ok()) {
    RefuseParameter(r, &c, &d, kDataHostnqnOffset, true,
                    "the host NQN is not valid: " + std::string(valid.message()));
    return;
  }
  if (!subsys->is_discovery() && !subsys->HostAllowed(hostnqn)) {
    Refuse(r, &c, &d, CommandSpecificStatus(sc::kConnectInvalidHost),
           "the host is not allowed on this subsystem");
    return;
  }
  if (!SecureChannelAllows(r, c, d, *subsys, hostnqn)) return;
  if (hostnqn.empty()) WarnEmptyHostNqn(hostid, subsys->nqn());
  if (d.cntlid != kCntlidDynamic) {
    // The dynamic controller model: the admin queue asks for any CNTLID.
    RefuseParameter(r, &c, &d, kDataCntlidOffset, true,
                    "an admin queue must ask for CNTLID FFFFh (the dynamic "
                    "controller model), not " +
                        std::to_string(d.cntlid));
    return;
  }
  const ListenParams& params = q.port().params;
  // Admin SQSIZE: at least 31 (32 entries, the spec's minimum for the
  // admin queue of a fabrics controller), at most MQES.
  if (c.sqsize < 31 || c.sqsize >= params.transport.max_queue_size) {
    RefuseParameter(r, &c, &d, kSqeSqsizeOffset, false,
                    "admin SQSIZE " + std::to_string(c.sqsize) +
                        " (0-based) is not 31.." +
                        std::to_string(params.transport.max_queue_size - 1));
    return;
  }
  // KATO 0: no keep-alive; the association then lives until its connection
  // closes, as Linux nvmet allows. An absurd KATO is capped
  // (Controller::kMaxKatoMs) rather than held for weeks.
  ControllerLimits limits;
  limits.max_queue_size = params.transport.max_queue_size;
  limits.max_io_queues = subsys->is_discovery() ? 0 : params.max_io_queues;
  limits.io_icd = params.transport.max_io_icd;
  std::shared_ptr<Controller> ctrl =
      q.target().CreateController(subsys, &q.port(), hostnqn, hostid,
                                  &r.cmd->qpair().loop(), limits,
                                  q.self_ref());
  if (ctrl == nullptr) {
    Refuse(r, &c, &d, CommandSpecificStatus(sc::kControllerBusy),
           "every CNTLID is in use");
    return;
  }
  NVMEOF_LOG(kInfo, "controller %u: %s for %s from %s (KATO %u ms)",
             ctrl->cntlid(), subsys->nqn().c_str(),
             hostnqn.empty() ? "(empty host NQN)" : hostnqn.c_str(),
             q.peer_name().c_str(),
             std::min<uint32_t>(c.kato, Controller::kMaxKatoMs));
  ctrl->StartKeepAlive(c.kato, [&q, cntlid = ctrl->cntlid(), kato = c.kato] {
    NVMEOF_LOG(
        kWarn,
        "controller %u: keep-alive timeout (%u ms): ending the association",
        cntlid, kato);
    q.Close();
  });
  std::unique_ptr<auth::ControllerAuth> authenticator =
      q.target().Authenticator(*subsys, hostnqn);
  r.dw0 = ConnectResponse{ctrl->cntlid(),
                          authenticator != nullptr ? kAuthreqAtr : uint16_t{0}}
              .ToDw0();
  q.Bind(std::move(ctrl), 0, static_cast<uint16_t>(c.sqsize + 1),
         c.cattr & kCattrDisableSqFlowControl);
  if (authenticator != nullptr) {
    q.RequireAuthentication(std::move(authenticator), AuthTimeout(c.kato));
  }
  q.Complete(r, kNvmeSuccess);
}

void ConnectIo(Request& r, const ConnectCommand& c,
               const ConnectDataFields& d) {
  CommandQueue& q = *r.queue;
  std::shared_ptr<Controller> ctrl = q.target().FindController(d.cntlid);
  if (ctrl == nullptr || ctrl->subsystem().nqn() != d.subnqn ||
      &ctrl->port() != &q.port()) {
    RefuseParameter(r, &c, &d, kDataCntlidOffset, true,
                    "no controller " + std::to_string(d.cntlid) +
                        " of this subsystem on this port");
    return;
  }
  if (ctrl->subsystem().is_discovery()) {
    RefuseParameter(r, &c, &d, kSqeQidOffset, false,
                    "a discovery controller has no I/O queues");
    return;
  }
  if (!SecureChannelAllows(r, c, d, ctrl->subsystem(), std::string(d.hostnqn))) {
    return;
  }
  if (c.sqsize == 0 || c.sqsize >= ctrl->limits().max_queue_size) {
    RefuseParameter(r, &c, &d, kSqeSqsizeOffset, false,
                    "SQSIZE " + std::to_string(c.sqsize) +
                        " (0-based) is not 1.." +
                        std::to_string(ctrl->limits().max_queue_size - 1));
    return;
  }
  std::array<uint8_t, 16> hostid;
  std::memcpy(hostid.data(), d.hostid.data(), 16);
  NvmeStatus st =
      ctrl->AttachIoQueue(c.qid, q.self_ref(), std::string(d.hostnqn), hostid);
  if (!st.ok()) {
    if (st.sct == StatusCodeType::kCommandSpecific &&
        st.sc == sc::kConnectInvalidParameters) {
      RefuseParameter(r, &c, &d, kSqeQidOffset, false,
                      "QID " + std::to_string(c.qid) +
                          " is beyond the queues granted (" +
                          std::to_string(ctrl->granted_io_queues()) +
                          ") or already connected");
      return;
    }
    Refuse(r, &c, &d, st,
           st.sc == sc::kConnectInvalidHost
               ? "the host NQN or host ID differs from its admin queue's"
               : "controller " + std::to_string(d.cntlid) +
                     " is not enabled");
    return;
  }
  NVMEOF_LOG(kDebug, "controller %u: I/O queue %u, %u entries", ctrl->cntlid(),
             c.qid, c.sqsize + 1u);
  std::unique_ptr<auth::ControllerAuth> authenticator =
      q.target().Authenticator(ctrl->subsystem(), ctrl->hostnqn());
  r.dw0 = ConnectResponse{ctrl->cntlid(),
                          authenticator != nullptr ? kAuthreqAtr : uint16_t{0}}
              .ToDw0();
  const uint32_t kato = ctrl->kato_ms();
  q.Bind(std::move(ctrl), c.qid, static_cast<uint16_t>(c.sqsize + 1),
         c.cattr & kCattrDisableSqFlowControl);
  if (authenticator != nullptr) {
    q.RequireAuthentication(std::move(authenticator), AuthTimeout(kato));
  }
  q.Complete(r, kNvmeSuccess);
}

void FinishConnect(Request& r, const Status& data_status) {
  if (!data_status.ok()) {
    Fail(r, FromDataStatus(data_status));
    return;
  }
  Result<ConnectCommand> c = ParseConnectSqe(r.sqe());
  ConnectData data;
  std::memcpy(&data, r.buf, sizeof(data));
  if (!c.ok() || c->recfmt != kConnectRecfmt) {
    LogRefusal(r, nullptr, nullptr,
               "Connect record format " +
                   (c.ok() ? std::to_string(c->recfmt) : std::string("?")) +
                   ", not 0");
    r.dw0 = ConnectInvalidParameter{kSqeRecfmtOffset, false}.ToDw0();
    Fail(r, CommandSpecificStatus(sc::kIncompatibleFormat),
         ErrorLocation::At(kSqeRecfmtOffset));
    return;
  }
  Result<ConnectDataFields> d = ParseConnectData(data);
  if (!d.ok()) {
    RefuseParameter(r, &*c, nullptr, kDataSubnqnOffset, true,
                    "the Connect data is not valid: " +
                        std::string(d.status().message()));
    return;
  }
  if (c->qid == 0) {
    ConnectAdmin(r, *c, *d);
  } else {
    ConnectIo(r, *c, *d);
  }
}

void Connect(Request& r) {
  if (r.queue->bound()) {
    // A second Connect on a bound queue.
    Fail(r, GenericStatus(sc::kCommandSequenceError, true));
    return;
  }
  if (r.cmd->data_length() != sizeof(ConnectData)) {
    Fail(r, GenericStatus(sc::kDataSglLengthInvalid, true),
         ErrorLocation::At(kSqeSgl1));
    return;
  }
  r.SetState(RequestState::kExecuting);
  ReceiveAll(r, FinishConnect);
}

// Property Get/Set: admin queue only, after Connect.
bool CheckPropertyQueue(Request& r) {
  if (!r.queue->bound() || r.queue->qid() != 0) {
    Fail(r, GenericStatus(sc::kCommandSequenceError, true));
    return false;
  }
  if (!r.queue->authenticated()) {
    Fail(r, CommandSpecificStatus(sc::kAuthenticationRequired));
    return false;
  }
  return true;
}

// ---- Authentication Send / Receive: DH-HMAC-CHAP ----

// The largest Authentication Receive served: a Challenge of ffdhe8192 and
// SHA-512 is 1104 bytes; the Linux host asks with AL 4096.
constexpr uint32_t kMaxAuthReceive = 16384;
constexpr uint16_t kSqeSpsp0 = 41;
constexpr uint16_t kSqeSpsp1 = 42;
constexpr uint16_t kSqeSecp = 43;

// (ExecuteFabrics dispatched on the command type: parsing cannot fail.)
// The checks both commands share (as SPDK: the protocol fields, and TL or
// AL equal to the command's transfer length). Null when `r` was failed.
auth::ControllerAuth* CheckAuthentication(Request& r,
                                          const AuthenticationCommand& c) {
  if (!r.queue->bound()) {
    Fail(r, GenericStatus(sc::kCommandSequenceError, true));
    return nullptr;
  }
  auth::ControllerAuth* a = r.queue->authentication();
  if (c.secp != kSecpNvmeAuth) {
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(kSqeSecp));
    return nullptr;
  }
  if (c.spsp0 != 0x01 || c.spsp1 != 0x01) {
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(c.spsp0 != 0x01 ? kSqeSpsp0 : kSqeSpsp1));
    return nullptr;
  }
  const uint32_t limit = c.send ? auth::kMaxMessage : kMaxAuthReceive;
  if (c.length == 0 || c.length != r.cmd->data_length() || c.length > limit) {
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(kSqeCdw11));
    return nullptr;
  }
  if (a == nullptr) {
    // No transaction on this queue: its host has no key.
    Fail(r, GenericStatus(sc::kCommandSequenceError, true));
    return nullptr;
  }
  return a;
}

// After a message moved: the transaction's end, if it ended.
void AfterAuthMessage(CommandQueue& q, const auth::ControllerAuth& a,
                      auth::ControllerAuth::State before) {
  if (a.state() == before) return;
  if (a.succeeded()) q.AuthenticationEnded(true);
  if (a.failed()) q.AuthenticationEnded(false);
}

void FinishAuthSend(Request& r, const Status& data_status) {
  if (!data_status.ok()) {
    Fail(r, FromDataStatus(data_status));
    return;
  }
  CommandQueue& q = *r.queue;
  const std::span<const uint8_t> msg(r.buf, r.cmd->data_length());
  if (q.authenticated() &&
      auth::KindOf(msg) == auth::MessageKind::kNegotiate) {
    // Re-authentication: with the host's keys as they are now (they may
    // have been set since the queue was connected).
    const Controller& ctrl = q.controller();
    if (auto fresh = q.target().Authenticator(ctrl.subsystem(), ctrl.hostnqn())) {
      q.RenewAuthentication(std::move(fresh));
    }
  }
  auth::ControllerAuth& a = *q.authentication();
  const auth::ControllerAuth::State before = a.state();
  a.OnSend(msg);
  q.Complete(r, kNvmeSuccess);
  AfterAuthMessage(q, a, before);
}

void AuthSend(Request& r) {
  Result<AuthenticationCommand> c = ParseAuthenticationSqe(r.sqe());
  if (CheckAuthentication(r, *c) == nullptr) return;
  if (r.queue->qid() == 0) r.queue->controller().Touch();
  r.SetState(RequestState::kExecuting);
  ReceiveAll(r, FinishAuthSend);
}

void AuthReceive(Request& r) {
  Result<AuthenticationCommand> c = ParseAuthenticationSqe(r.sqe());
  auth::ControllerAuth* a = CheckAuthentication(r, *c);
  if (a == nullptr) return;
  CommandQueue& q = *r.queue;
  if (q.qid() == 0) q.controller().Touch();
  const auth::ControllerAuth::State before = a->state();
  std::optional<std::vector<uint8_t>> msg = a->OnReceive(c->length);
  if (!msg) {
    // No message is due (or none fits and the transaction failed).
    Fail(r, GenericStatus(sc::kCommandSequenceError, true));
    AfterAuthMessage(q, *a, before);
    return;
  }
  uint8_t* buf = r.Buffer(c->length);
  if (buf == nullptr) {
    Fail(r, GenericStatus(sc::kInternalError));
    return;
  }
  // The whole AL, zero after the message (as nvmet).
  std::memcpy(buf, msg->data(), msg->size());
  std::memset(buf + msg->size(), 0, c->length - msg->size());
  r.SetState(RequestState::kExecuting);
  SendBufferAndComplete(r, c->length);
  AfterAuthMessage(q, *a, before);
}

void PropertyGet(Request& r) {
  Result<PropertyGetCommand> c = ParsePropertyGetSqe(r.sqe());
  if (!CheckPropertyQueue(r)) return;
  if (!c.ok()) {
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(kSqeCdw10));
    return;
  }
  Result<uint64_t> v = r.queue->controller().GetProperty(c->ofst, c->size);
  if (!v.ok()) {
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(kSqeCdw11));
    return;
  }
  // An 8-byte value spans DW0 and DW1.
  Cqe cqe{};
  SetPropertyGetValue(*v, &cqe);
  r.dw0 = cqe.dw0;
  r.dw1 = cqe.dw1;
  r.queue->Complete(r, kNvmeSuccess);
}

void PropertySet(Request& r) {
  Result<PropertySetCommand> c = ParsePropertySetSqe(r.sqe());
  if (!CheckPropertyQueue(r)) return;
  if (!c.ok()) {
    Fail(r, GenericStatus(sc::kInvalidField, true),
         ErrorLocation::At(kSqeCdw10));
    return;
  }
  NvmeStatus st = r.queue->controller().SetProperty(c->ofst, c->size, c->value);
  Fail(r, st, st.ok() ? ErrorLocation{} : ErrorLocation::At(kSqeCdw11));
}

}  // namespace

void ExecuteFabrics(Request& r) {
  switch (GetFabricsCommandType(r.sqe())) {
    case FabricsCommandType::kConnect:
      Connect(r);
      return;
    case FabricsCommandType::kPropertyGet:
      PropertyGet(r);
      return;
    case FabricsCommandType::kPropertySet:
      PropertySet(r);
      return;
    case FabricsCommandType::kDisconnect:
      // The host ends this queue: answer, then close the connection (it
      // closes too once it has the answer).
      if (!r.queue->bound()) {
        Fail(r, GenericStatus(sc::kCommandSequenceError, true));
        return;
      }
      r.queue->Complete(r, kNvmeSuccess);
      return;
    case FabricsCommandType::kAuthenticationSend:
      AuthSend(r);
      return;
    case FabricsCommandType::kAuthenticationReceive:
      AuthReceive(r);
      return;
    default:
      Fail(r, GenericStatus(sc::kInvalidField, true),
           ErrorLocation::At(kSqeNsid));
      return;
  }
}

}  // namespace nvmeof::controller
