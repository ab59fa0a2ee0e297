// Asynchronous events on the host: one Asynchronous Event Request kept
// outstanding (as Linux does); a namespace-attribute notice makes the host
// read the Changed Namespace List (which clears the event) and the active
// namespaces, and tell the application.

#include <cstring>

#include "host/host_queue.h"
#include "nvmeof/host.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"

namespace nvmeof::host {

Status Association::RefreshNamespaces() {
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> list, Identify(0x02, 0));
  active_nsids_.clear();
  const auto* ids = reinterpret_cast<const uint32_t*>(list.data());
  for (size_t i = 0; i < list.size() / 4 && ids[i] != 0; ++i) {
    active_nsids_.push_back(ids[i]);
  }
  return Status();
}

Status Association::EnableAsyncEvents() {
  if (!options_.async_events || is_discovery() ||
      (id_.oaes & kOaesNamespaceAttribute) == 0) {
    return Status();
  }
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  sqe.cdw10 = static_cast<uint8_t>(FeatureId::kAsyncEventConfiguration);
  sqe.cdw11 = kAecNamespaceAttribute;
  Completion c = AdminSync(sqe);
  if (!c.ok()) {
    // Not fatal: the association works without notices.
    NVMEOF_LOG(kWarn, "async event configuration refused: %s",
               c.status.ok() ? NvmeStatusToString(c.nvme()).c_str()
                             : c.status.ToString().c_str());
    return Status();
  }
  aer_enabled_ = true;
  SubmitAer();
  return Status();
}

void Association::SubmitAer() {
  if (!aer_enabled_ || state_ != State::kLive || disconnected_) return;
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kAsyncEventRequest);
  SubmitAdmin(sqe, {}, false, [this](const Completion& c) { OnAer(c); });
}

void Association::OnAer(const Completion& c) {
  if (!c.ok()) return;  // the association went away (or refused the AER)
  ++async_events_;
  const AsyncEvent e = AsyncEvent::FromDw0(c.cqe.dw0);
  // Not inside the transport's callback: the handling blocks on commands.
  loop_->Defer([this, e] {
    if (state_ != State::kLive || disconnected_) return;
    if (e.type == kAsyncEventTypeNotice &&
        e.info == kAenNoticeNamespaceAttributeChanged) {
      // Reading the log page clears the event (RAE 0).
      GetLogPage(static_cast<uint8_t>(LogPageId::kChangedNamespaceList), 0, 0,
                 4096)
          .status()
          .IgnoreError();
      Status s = RefreshNamespaces();
      if (s.ok() && options_.on_namespaces_changed)
        options_.on_namespaces_changed(active_nsids_);
    }
    SubmitAer();
  });
}

}  // namespace nvmeof::host
