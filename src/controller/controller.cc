#include "controller/controller.h"

#include <algorithm>

#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"

namespace nvmeof::controller {

namespace {
// CAP.TO in 500 ms units: how long the host waits for CSTS.RDY. Enabling is
// immediate here; 15 s is what Linux nvmet advertises.
constexpr uint8_t kCapTimeout = 30;
constexpr uint32_t kVersion = 0x00010400;  // NVMe 1.4
// Keep-alive granularity is KAS (100 ms units); expiry is checked with this
// much slack, as the spec allows (the host's timer and ours drift).
constexpr uint32_t kKatoSlackMs = 500;
}  // namespace

Controller::Controller(std::shared_ptr<const Subsystem> subsystem,
                       const Port* port, uint16_t cntlid, std::string hostnqn,
                       std::array<uint8_t, 16> hostid, EventLoop* loop,
                       ControllerLimits limits, QueueRef admin_queue)
    : subsystem_(std::move(subsystem)),
      port_(port),
      cntlid_(cntlid),
      hostnqn_(std::move(hostnqn)),
      hostid_(hostid),
      loop_(loop),
      limits_(limits),
      admin_queue_(admin_queue),
      granted_io_queues_(limits.max_io_queues) {}

Controller::~Controller() {
  if (kato_timer_) loop_->CancelTimer(kato_timer_);
}

Result<uint64_t> Controller::GetProperty(uint32_t ofst,
                                         PropertySize size) const {
  const bool wide = size == PropertySize::k8Bytes;
  switch (ofst) {
    case kPropertyCap: {
      if (!wide) break;
      CapRegister cap;
      cap.mqes = static_cast<uint16_t>(limits_.max_queue_size - 1);
      cap.cqr = true;
      cap.to = kCapTimeout;
      cap.css = subsystem_->is_discovery() ? kCapCssNoIo : kCapCssNvm;
      cap.mpsmin = 0;  // 4 KiB
      cap.mpsmax = 0;
      return cap.ToU64();
    }
    case kPropertyVs:
      if (wide) break;
      return uint64_t{kVersion};
    case kPropertyCc:
      if (wide) break;
      return uint64_t{cc_.ToU32()};
    case kPropertyCsts: {
      if (wide) break;
      CstsRegister csts;
      csts.rdy = ready();
      csts.cfs = cfs_;
      csts.shst = shst_;
      return uint64_t{csts.ToU32()};
    }
    default:
      break;
  }
  return InvalidArgumentError("no such property");
}

NvmeStatus Controller::SetProperty(uint32_t ofst, PropertySize size,
                                   uint64_t value) {
  if (ofst != kPropertyCc || size != PropertySize::k4Bytes) {
    return GenericStatus(sc::kInvalidField, true);
  }
  CcRegister next = CcRegister::FromU32(static_cast<uint32_t>(value));
  const bool was_enabled = cc_.en;
  if (next.en && !was_enabled) {
    // Enable: the queue entry sizes must be what fabrics uses (SQE 64 = 2^6,
    // CQE 16 = 2^4) and the page size 4 KiB; otherwise CSTS.CFS.
    const bool io = !subsystem_->is_discovery();
    if ((io && (next.iosqes != 6 || next.iocqes != 4)) || next.mps != 0) {
      cfs_ = true;
    } else {
      ready_.store(true, std::memory_order_release);
    }
  } else if (!next.en && was_enabled) {
    ready_.store(false, std::memory_order_release);
    shst_ = kCstsShstNormal;
  }
  if (next.shn != kCcShnNone && cc_.shn == kCcShnNone) {
    // Shutdown: nothing is cached in the controller itself (backends flush
    // on Flush and at exit), so it completes at once.
    shst_ = kCstsShstComplete;
  }
  if (next.shn == kCcShnNone && cc_.shn != kCcShnNone) shst_ = kCstsShstNormal;
  cc_ = next;
  return kNvmeSuccess;
}

void Controller::StartKeepAlive(uint32_t kato_ms,
                                std::function<void()> on_expired) {
  on_kato_expired_ = std::move(on_expired);
  set_kato_ms(kato_ms);
}

void Controller::StopKeepAlive() {
  on_kato_expired_ = nullptr;
  kato_ms_ = 0;
  if (kato_timer_) loop_->CancelTimer(kato_timer_);
  kato_timer_ = 0;
}

void Controller::set_kato_ms(uint32_t kato) {
  kato_ms_ = std::min(kato, kMaxKatoMs);
  Touch();
}

void Controller::Touch() {
  if (kato_timer_) {
    loop_->CancelTimer(kato_timer_);
    kato_timer_ = 0;
  }
  if (kato_ms_ == 0) return;
  kato_timer_ = loop_->AddTimer(
      std::chrono::milliseconds(kato_ms_ + kKatoSlackMs), [this] {
        kato_timer_ = 0;
        OnKeepAliveExpired();
      });
}

void Controller::OnKeepAliveExpired() {
  cfs_ = true;
  ready_.store(false, std::memory_order_release);
  if (on_kato_expired_) on_kato_expired_();
}

bool Controller::HoldAer(AerCompleter complete) {
  if (!pending_events_.empty()) {
    uint32_t dw0 = pending_events_.front();
    pending_events_.pop_front();
    complete(dw0);
    return true;
  }
  if (aers_.size() >= kMaxAers) return false;
  aers_.push_back(std::move(complete));
  return true;
}

void Controller::CancelAers() {
  std::deque<AerCompleter> held;
  held.swap(aers_);
  for (AerCompleter& c : held) c(std::nullopt);
}

void Controller::PostEvent(uint32_t dw0) {
  if (aers_.empty()) {
    pending_events_.push_back(dw0);
    return;
  }
  AerCompleter c = std::move(aers_.front());
  aers_.pop_front();
  c(dw0);
}

void Controller::NotifyNamespaceChanged(uint32_t nsid) {
  if (std::find(changed_namespaces_.begin(), changed_namespaces_.end(), nsid) ==
      changed_namespaces_.end()) {
    changed_namespaces_.push_back(nsid);
  }
  if ((async_event_config & kAecNamespaceAttribute) &&
      !namespace_notice_sent_) {
    namespace_notice_sent_ = true;
    PostEvent(AsyncEvent{kAsyncEventTypeNotice,
                         kAenNoticeNamespaceAttributeChanged,
                         static_cast<uint8_t>(LogPageId::kChangedNamespaceList)}
                  .ToDw0());
  }
}

std::vector<uint32_t> Controller::TakeChangedNamespaces(bool retain) {
  std::vector<uint32_t> out;
  out.swap(changed_namespaces_);
  if (!retain) namespace_notice_sent_ = false;
  return out;
}

void Controller::NotifyDiscoveryChanged() {
  if (!(async_event_config & kAecDiscoveryLogChange) ||
      discovery_notice_sent_) {
    return;
  }
  discovery_notice_sent_ = true;
  PostEvent(AsyncEvent{kAsyncEventTypeNotice, kAenNoticeDiscoveryLogChanged,
                       static_cast<uint8_t>(LogPageId::kDiscovery)}
                .ToDw0());
}

uint32_t Controller::io_queue_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t n = 0;
  for (const QueueRef& q : io_queues_) n += q.loop != nullptr ? 1 : 0;
  return n;
}

void Controller::RecordError(uint16_t sqid, uint16_t cid, NvmeStatus status,
                             uint16_t location, uint64_t lba, uint32_t nsid) {
  std::lock_guard<std::mutex> lock(errors_mu_);
  ErrorInformationEntry e{};
  e.error_count = ++error_count_;
  e.sqid = sqid;
  e.cid = cid;
  e.status_info = status.ToCqeStatus();
  e.parameter_error_location = location;
  e.lba = lba;
  e.nsid = nsid;
  errors_.push_front(e);
  if (errors_.size() > kErrorLogEntries) errors_.pop_back();
}

std::vector<ErrorInformationEntry> Controller::ErrorLog() const {
  std::lock_guard<std::mutex> lock(errors_mu_);
  return {errors_.begin(), errors_.end()};
}

NvmeStatus Controller::AttachIoQueue(uint16_t qid, QueueRef ref,
                                     const std::string& hostnqn,
                                     const std::array<uint8_t, 16>& hostid) {
  if (hostnqn != hostnqn_ || hostid != hostid_) {
    return CommandSpecificStatus(sc::kConnectInvalidHost);
  }
  if (!ready()) return GenericStatus(sc::kCommandSequenceError, true);
  std::lock_guard<std::mutex> lock(mu_);
  if (qid == 0 || qid > granted_io_queues()) {
    return CommandSpecificStatus(sc::kConnectInvalidParameters);
  }
  if (io_queues_.size() <= qid) io_queues_.resize(qid + 1);
  if (io_queues_[qid].loop != nullptr) {
    return CommandSpecificStatus(sc::kConnectInvalidParameters);
  }
  io_queues_[qid] = ref;
  return kNvmeSuccess;
}

void Controller::DetachIoQueue(uint16_t qid) {
  std::lock_guard<std::mutex> lock(mu_);
  if (qid < io_queues_.size()) io_queues_[qid] = QueueRef{};
}

std::vector<QueueRef> Controller::TakeIoQueues() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<QueueRef> out;
  for (QueueRef& r : io_queues_) {
    if (r.loop != nullptr) out.push_back(r);
    r = QueueRef{};
  }
  return out;
}

}  // namespace nvmeof::controller
