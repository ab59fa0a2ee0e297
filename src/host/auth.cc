// The host's DH-HMAC-CHAP on a queue: the auth::HostAuth transaction
// carried by Fabrics Authentication Send (the message as the command's
// data, TL its length) and Authentication Receive (AL 4096, as the Linux
// host), one command at a time, synchronously like the Connect before it.

#include <string>
#include <vector>

#include "auth/dhchap.h"
#include "host/host_queue.h"
#include "nvmeof/host.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/fabrics.h"

namespace nvmeof::host {

namespace {

// "DH-HMAC-CHAP: why" -> "why" (the caller says what failed where).
std::string Reason(const Status& s) {
  std::string m(s.message());
  constexpr std::string_view kPrefix = "DH-HMAC-CHAP: ";
  if (m.starts_with(kPrefix)) m.erase(0, kPrefix.size());
  return m;
}

}  // namespace

Status Association::Authenticate(HostQueue& q, uint16_t qid) {
  const std::string where = "DH-HMAC-CHAP on queue " + std::to_string(qid);
  if (!host_key_) {
    return FailedPreconditionError(
        where + ": no host secret (--dhchap-secret) is set");
  }
  auth::HostAuthConfig config;
  config.hostnqn = options_.hostnqn;
  config.subnqn = options_.subnqn;
  config.host_key = host_key_;
  config.ctrl_key = ctrl_key_;
  // A T_ID per transaction, from the association's counter (as the Linux
  // host's per-controller one).
  auth::HostAuth tx(config, ++auth_tid_);
  auth::HostAuth::Step step = tx.Start();
  std::vector<uint8_t> buf;
  for (;;) {
    if (!step.send.empty()) {
      AuthenticationCommand cmd;
      cmd.send = true;
      cmd.length = static_cast<uint32_t>(step.send.size());
      Completion c = Await(q, BuildAuthenticationSqe(cmd),
                           MemDesc(step.send.data(), step.send.size()), true);
      // A Failure2 we send ends the transaction whatever its completion
      // says: our own reason is the one to report.
      if (!step.done) {
        if (!c.status.ok())
          return c.status.WithContext(where + " failed: Authentication Send");
        if (!c.nvme().ok()) {
          return Status(StatusCode::kFailedPrecondition,
                        where + " failed: Authentication Send: " +
                            NvmeStatusToString(c.nvme(), /*fabrics=*/true));
        }
      }
    }
    if (step.done) break;
    if (!step.receive) {
      return InternalError(where + ": the transaction stalled");
    }
    AuthenticationCommand cmd;
    cmd.send = false;
    cmd.length = auth::kMaxMessage;
    buf.assign(auth::kMaxMessage, 0);
    Completion c = Await(q, BuildAuthenticationSqe(cmd),
                         MemDesc(buf.data(), buf.size()), false);
    if (!c.status.ok())
      // nvmet may drop the queue as it answers with AUTH_Failure1 (a fatal
      // controller error), before the answer reaches us.
      return c.status.WithContext(where + " failed: Authentication Receive");
    if (!c.nvme().ok()) {
      return Status(StatusCode::kFailedPrecondition,
                    where + " failed: Authentication Receive: " +
                        NvmeStatusToString(c.nvme(), /*fabrics=*/true));
    }
    step = tx.OnReceive(buf);
  }
  if (!step.result.ok()) {
    return Status(step.result.code(),
                  where + " failed: " + Reason(step.result));
  }
  auth_hash_ = std::string(auth::HashName(tx.hash()));
  auth_dhgroup_ = std::string(auth::DhGroupName(tx.dhgroup()));
  auth_bidirectional_ = ctrl_key_ != nullptr;
  // Which hash and group, never a secret: at info for the admin queue (as
  // the Linux host), at debug for each I/O queue.
  if (qid == 0) {
    NVMEOF_LOG(kInfo,
               "controller %u: queue 0 authenticated (DH-HMAC-CHAP, hash %s, "
               "DH group %s, %s)",
               cntlid_, auth_hash_.c_str(), auth_dhgroup_.c_str(),
               auth_bidirectional_ ? "bidirectional" : "one-way");
  } else {
    NVMEOF_LOG(kDebug,
               "controller %u: queue %u authenticated (hash %s, DH group %s)",
               cntlid_, qid, auth_hash_.c_str(), auth_dhgroup_.c_str());
  }
  return Status();
}

Status Association::Reauthenticate() {
  if (disconnected_ || state_ != State::kLive || admin_ == nullptr) {
    return UnavailableError("re-authentication: the association is not live");
  }
  if (!host_key_) {
    return FailedPreconditionError(
        "re-authentication: no host secret (--dhchap-secret) is set");
  }
  NVMEOF_RETURN_IF_ERROR(Authenticate(*admin_, 0));
  for (size_t i = 0; i < io_queues_.size(); ++i) {
    // A queue lost meanwhile ends the round: the association reconnects
    // (authenticating again) on its own.
    if (state_ != State::kLive) {
      return UnavailableError(
          "re-authentication: the association was lost meanwhile");
    }
    NVMEOF_RETURN_IF_ERROR(
        Authenticate(*io_queues_[i], static_cast<uint16_t>(i + 1)));
  }
  return Status();
}

}  // namespace nvmeof::host
