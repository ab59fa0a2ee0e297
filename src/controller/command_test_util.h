// Fakes for testing a command family alone: no socket, no ControllerQueue.
//
// CommandFixture holds a loop, a subsystem with RAM namespaces, a
// FakeQueuePair (capsules with no transport under them: the test gives a
// command's data, the fake keeps what the controller sends) and a
// FakeCommandQueue (the CommandQueue the family sees: it records each
// completion). Run() hands one command to a family and returns what it
// completed with.

#ifndef NVMEOF_CONTROLLER_COMMAND_TEST_UTIL_H_
#define NVMEOF_CONTROLLER_COMMAND_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/dhchap.h"
#include "controller/backend_registry.h"
#include "controller/request.h"
#include "nvmeof/callback_queue.h"
#include "nvmeof/log.h"

namespace nvmeof::controller::test_util {

class FakeCapsule final : public Capsule {
 public:
  std::vector<uint8_t> host_data;  // what the host sends with the command
  void SetSqe(const Sqe& sqe) { mutable_sqe() = sqe; }

 private:
  friend class FakeQueuePair;
};

class FakeQueuePair final : public QueuePair {
 public:
  explicit FakeQueuePair(EventLoop* loop, size_t pool = 16)
      : QueuePair(loop, QueuePairRole::kController, 0),
        completions_(loop),
        capsules_(pool) {
    for (FakeCapsule& c : capsules_) AddToPool(&c);
  }
  ~FakeQueuePair() override { loop_->Unschedule(&completions_); }

  TransportType transport_type() const override {
    return TransportType::kLoopback;
  }
  TransportAddress local_address() const override {
    return {TransportType::kTcp, "192.0.2.7", "4420"};
  }

  // A command capsule as if received: `sqe` with an SGL of `data_length`
  // bytes, and the data the host would send for it.
  CapsulePtr Command(Sqe sqe, uint32_t data_length,
                     std::vector<uint8_t> host_data = {}) {
    Capsule* raw = TakeFromPool(true);
    EXPECT_NE(raw, nullptr) << "fake capsule pool exhausted";
    auto* c = static_cast<FakeCapsule*>(raw);
    sqe.sgl1.length = data_length;
    sqe.sgl1.type = kSglTransportType;
    sqe.flags = kSqeFlagsPsdtSgl;
    c->SetSqe(sqe);
    c->host_data = std::move(host_data);
    return CapsulePtr(c);
  }

  // With hold_sends, data handed to SendData stays with the "socket"
  // (borrowed, not copied, `released` not run) until FlushSends().
  void FlushSends() {
    for (Held& h : held_) {
      const size_t at = sent.size();
      sent.resize(at + h.mem.length());
      h.mem.CopyOut(0, sent.data() + at, h.mem.length());
      if (h.released) completions_.Post(std::move(h.released), Status());
    }
    held_.clear();
  }
  size_t held_sends() const { return held_.size(); }

  std::vector<uint8_t> sent;  // data sent to the host, in order
  bool sent_with_success = false;  // the last SendData completed the command
  bool allow_success = false;      // SQ flow control disabled: SUCCESS ok
  bool hold_sends = false;

 protected:
  Status DoTransmit(Capsule&) override { return Status(); }
  void DoReceiveData(Capsule& c, uint32_t offset, const MemDesc& mem,
                     DataCallback done) override {
    auto& fc = static_cast<FakeCapsule&>(c);
    if (offset + mem.length() > fc.host_data.size()) {
      completions_.Post(std::move(done), OutOfRangeError("no such data"));
      return;
    }
    mem.CopyIn(0, fc.host_data.data() + offset, mem.length());
    completions_.Post(std::move(done), Status());
  }
  SendDataResult DoSendData(Capsule&, uint32_t, const MemDesc& mem,
                            bool may_complete, DataCallback released) override {
    sent_with_success = may_complete && allow_success;
    const SendDataResult result{sent_with_success ? SendDataOutcome::kCompleted
                                                  : SendDataOutcome::kQueued,
                                kNvmeSuccess};
    if (hold_sends) {
      held_.push_back(Held{mem, std::move(released)});
      return result;
    }
    const size_t at = sent.size();
    sent.resize(at + mem.length());
    mem.CopyOut(0, sent.data() + at, mem.length());
    if (released) completions_.Post(std::move(released), Status());
    return result;
  }
  void DoClose(std::function<void()> done) override {
    completions_.Post([done = std::move(done)](Status) { done(); }, Status());
  }

 private:
  struct Held {
    MemDesc mem;
    DataCallback released;
  };
  CallbackQueue<Status> completions_;
  std::vector<FakeCapsule> capsules_;
  std::vector<Held> held_;
};

// The target around the queue: subsystems by NQN, controllers by CNTLID.
class FakeTargetServices final : public TargetServices {
 public:
  std::shared_ptr<const Subsystem> FindSubsystem(
      std::string_view nqn) const override {
    for (const Subsystem* s : subsystems) {
      // Not owned: the fixture keeps the subsystems.
      if (s->nqn() == nqn) return std::shared_ptr<const Subsystem>(std::shared_ptr<void>(), s);
    }
    return nullptr;
  }
  DiscoveryView Discovery(const Port& port) const override {
    DiscoveryView v;
    for (const Subsystem* s : subsystems) {
      if (port.Exposes(s)) v.subsystems.push_back(FindSubsystem(s->nqn()));
    }
    v.referrals = referrals;
    v.genctr = 42;
    return v;
  }
  std::shared_ptr<Controller> CreateController(
      std::shared_ptr<const Subsystem> subsystem, const Port* port,
      std::string hostnqn, std::array<uint8_t, 16> hostid, EventLoop* loop,
      ControllerLimits limits, QueueRef admin_queue) override {
    auto c = std::make_shared<Controller>(std::move(subsystem), port,
                                          next_cntlid, std::move(hostnqn),
                                          hostid, loop, limits, admin_queue);
    controllers[next_cntlid++] = c;
    return c;
  }
  std::shared_ptr<Controller> FindController(uint16_t cntlid) const override {
    auto it = controllers.find(cntlid);
    return it == controllers.end() ? nullptr : it->second;
  }
  uint64_t UptimeHours() const override { return 3; }
  std::unique_ptr<auth::ControllerAuth> Authenticator(
      const Subsystem& subsystem, const std::string& hostnqn) const override {
    return authenticator ? authenticator(subsystem, hostnqn) : nullptr;
  }

  // Null, or what Authenticator returns.
  std::function<std::unique_ptr<auth::ControllerAuth>(const Subsystem&,
                                                      const std::string&)>
      authenticator;
  std::vector<const Subsystem*> subsystems;
  std::vector<Referral> referrals;
  std::map<uint16_t, std::shared_ptr<Controller>> controllers;
  uint16_t next_cntlid = 1;
};

// The queue a family sees: completions are recorded, requests freed.
class FakeCommandQueue final : public CommandQueue {
 public:
  FakeCommandQueue(EventLoop* loop, FakeTargetServices* target,
                   const Port* port, FakeQueuePair* qp)
      : loop_(loop), target_(target), port_(port), qp_(qp) {}
  ~FakeCommandQueue() {
    for (auto& [ns, q] : backends_) loop_->RunUntil(
        [&] { return q->in_flight() == 0; }, std::chrono::seconds(5));
  }

  TargetServices& target() override { return *target_; }
  const Port& port() const override { return *port_; }
  TransportAddress local_address() const override {
    return qp_->local_address();
  }
  size_t thread_index() const override { return 0; }
  std::string peer_name() const override { return "192.0.2.9:40000"; }
  bool bound() const override { return ctrl_ != nullptr; }
  uint16_t qid() const override { return qid_; }
  Controller& controller() const override { return *ctrl_; }
  void Bind(std::shared_ptr<Controller> ctrl, uint16_t qid, uint16_t sqsize,
            bool sq_flow_control_disabled) override {
    ctrl_ = std::move(ctrl);
    qid_ = qid;
    sqsize_ = sqsize;
    qp_->allow_success = sq_flow_control_disabled;
  }
  QueueRef self_ref() const override { return QueueRef{loop_, 1}; }
  void RequireAuthentication(std::unique_ptr<auth::ControllerAuth> a,
                             std::chrono::milliseconds timeout) override {
    auth_ = std::move(a);
    authenticated_ = false;
    auth_timeout = timeout;
  }
  void RenewAuthentication(std::unique_ptr<auth::ControllerAuth> a) override {
    auth_ = std::move(a);
  }
  auth::ControllerAuth* authentication() override { return auth_.get(); }
  bool authenticated() const override { return authenticated_; }
  void AuthenticationEnded(bool succeeded) override {
    auth_ended.push_back(succeeded);
    if (succeeded) authenticated_ = true;
  }
  void Close() override { ++closes; }
  void Complete(Request& r, NvmeStatus status) override {
    Respond(r, status);
    responded_ = nullptr;
    Free(r);
  }
  void Respond(Request& r, NvmeStatus status) override {
    completed = status;
    dw0 = r.dw0;
    dw1 = r.dw1;
    error_location = r.error_location.value;
    responded_ = &r;
  }
  void Release(Request& r) override {
    if (&r != responded_) ++released;
    responded_ = nullptr;
    Free(r);
  }
  const NamespaceTable& Namespaces(Request&) override {
    // Every table handed out stays alive as long as the fake.
    tables_.push_back(ctrl_->subsystem().namespaces());
    return *tables_.back();
  }
  BackendQueue* BackendFor(const Namespace& ns) override {
    auto it = backends_.find(&ns);
    if (it != backends_.end()) return it->second.get();
    auto q = ns.backend->OpenQueue(*loop_);
    if (!q.ok()) return nullptr;
    return (backends_[&ns] = std::move(q).value()).get();
  }

  std::shared_ptr<Controller> ctrl_;
  uint16_t qid_ = 0;
  uint16_t sqsize_ = 0;

  std::optional<NvmeStatus> completed;  // the last Complete's status
  uint32_t dw0 = 0, dw1 = 0;
  uint16_t error_location = ErrorLocation::kNone;
  int released = 0;  // Release() calls (no response)
  int closes = 0;
  std::unique_ptr<auth::ControllerAuth> auth_;
  bool authenticated_ = true;
  std::chrono::milliseconds auth_timeout{0};
  std::vector<bool> auth_ended;  // AuthenticationEnded's arguments

 private:
  void Free(Request& r) {
    r.SetState(RequestState::kFree);
    r.cmd.reset();
    done_ = true;
  }
  friend class CommandFixture;
  EventLoop* const loop_;
  FakeTargetServices* const target_;
  const Port* const port_;
  FakeQueuePair* const qp_;
  std::map<const Namespace*, std::unique_ptr<BackendQueue>> backends_;
  std::vector<std::shared_ptr<const NamespaceTable>> tables_;
  bool done_ = false;
  const Request* responded_ = nullptr;  // answered, not yet freed
};

// The lines logged while it lives (a sink instead of stderr).
class LogCapture {
 public:
  LogCapture() {
    SetLogSink([this](LogSeverity, const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    });
  }
  ~LogCapture() { SetLogSink(nullptr); }
  // Whether a line holds every one of `parts`.
  bool Has(std::initializer_list<std::string_view> parts) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& l : lines_) {
      bool all = true;
      for (std::string_view p : parts) all = all && l.find(p) != l.npos;
      if (all) return true;
    }
    return false;
  }
  std::string All() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : lines_) out += l + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// What a command ended with.
struct Outcome {
  std::optional<NvmeStatus> status;  // nullopt: released without a response
  uint32_t dw0 = 0;
  uint32_t dw1 = 0;
  uint16_t error_location = ErrorLocation::kNone;
  std::vector<uint8_t> data;  // sent to the host
};

// A RAM namespace whose NGUID and UUID are made from its NSID.
inline std::shared_ptr<Namespace> RamNamespace(uint32_t nsid,
                                               uint32_t block_size,
                                               uint64_t size,
                                               bool read_only = false) {
  BackendConfig bc;
  bc.type = "ram";
  bc.params["size"] = size;
  bc.options.block_size = block_size;
  bc.options.read_only = read_only;
  auto backend = OpenBackend(bc);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  auto ns = Namespace::Create(nsid, std::move(backend).value());
  ns->inline_config = bc;
  for (int i = 0; i < 16; ++i)
    ns->nguid[i] = ns->uuid[i] = static_cast<uint8_t>(nsid * 16 + i);
  return ns;
}

constexpr char kTestNqn[] = "nqn.2024-01.io.nvmeof.test:family";
constexpr char kTestHostNqn[] = "nqn.2024-01.io.nvmeof.test:host";

class CommandFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
    subsystem_ = std::make_unique<Subsystem>(kTestNqn, SubsystemType::kNvm);
    subsystem_->serial = "SN-FAMILY";
    subsystem_->model = "family test";
    subsystem_->AddNamespace(RamNamespace(1, 512, 1 << 20, false));
    subsystem_->AddNamespace(RamNamespace(3, 4096, 1 << 20, true));
    port_.Expose(subsystem_->nqn());
    port_.traddr = "0.0.0.0";
    port_.trsvcid = "4420";
    services_.subsystems.push_back(subsystem_.get());
    qp_ = std::make_unique<FakeQueuePair>(loop_.get());
    queue_ = std::make_unique<FakeCommandQueue>(loop_.get(), &services_,
                                                &port_, qp_.get());
  }
  void TearDown() override {
    queue_.reset();
    services_.controllers.clear();
    bool closed = false;
    qp_->Close([&] { closed = true; });
    loop_->RunUntil([&] { return closed; }, std::chrono::seconds(5));
    qp_.reset();
  }

  // Binds the queue to a ready controller of the subsystem, as queue `qid`.
  void BindReady(uint16_t qid) {
    ControllerLimits limits;
    limits.max_io_queues = 4;
    auto ctrl = services_.CreateController(
        std::shared_ptr<const Subsystem>(std::shared_ptr<void>(),
                                         subsystem_.get()),
        &port_, kTestHostNqn, {}, loop_.get(), limits, QueueRef{});
    CcRegister cc;
    cc.en = true;
    cc.iosqes = 6;
    cc.iocqes = 4;
    ASSERT_TRUE(ctrl->SetProperty(kPropertyCc, PropertySize::k4Bytes,
                                  cc.ToU32())
                    .ok());
    ASSERT_TRUE(ctrl->ready());
    queue_->Bind(std::move(ctrl), qid, 32, false);
  }

  // Runs one command through `execute` (ExecuteAdmin, ExecuteIo, ...) and
  // the loop until it completes. `data_length` is its SGL length; `host`
  // the data the host sends.
  Outcome Run(void (*execute)(Request&), const Sqe& sqe,
              uint32_t data_length = 0, std::vector<uint8_t> host = {}) {
    const size_t sent_before = qp_->sent.size();
    Start(execute, sqe, data_length, std::move(host));
    EXPECT_TRUE(loop_->RunUntil([&] { return queue_->done_; },
                                std::chrono::seconds(5)))
        << "the command never completed";
    Outcome o;
    o.status = queue_->completed;
    o.dw0 = queue_->dw0;
    o.dw1 = queue_->dw1;
    o.error_location = queue_->error_location;
    o.data.assign(qp_->sent.begin() + static_cast<ptrdiff_t>(sent_before),
                  qp_->sent.end());
    return o;
  }
  // Starts one command; the loop is not run.
  void Start(void (*execute)(Request&), const Sqe& sqe,
             uint32_t data_length = 0, std::vector<uint8_t> host = {}) {
    request_.queue = queue_.get();
    request_.cmd = qp_->Command(sqe, data_length, std::move(host));
    request_.dw0 = request_.dw1 = 0;
    request_.ns = nullptr;
    request_.error_location = ErrorLocation{};
    request_.SetState(RequestState::kParsing);
    queue_->completed.reset();
    queue_->released = 0;
    queue_->done_ = false;
    execute(request_);
  }
  // Whether the last command's request went back to the pool.
  bool freed() const { return queue_->done_; }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Subsystem> subsystem_;
  Port port_;
  FakeTargetServices services_;
  std::unique_ptr<FakeQueuePair> qp_;
  std::unique_ptr<FakeCommandQueue> queue_;
  Request request_;
};

}  // namespace nvmeof::controller::test_util

#endif  // NVMEOF_CONTROLLER_COMMAND_TEST_UTIL_H_
