// Fuzzes the controller side of an NVMe/TCP connection: the input is what
// a host sends, from the ICReq on. The controller's upper layer answers
// every command, pulling write data with ReceiveData (in two pieces) and
// pushing read data with SendData, so that R2T/H2CData and C2HData paths
// run too. Invariants: no crash, no sanitizer report, no capsule leaked.

#include <sys/socket.h>

#include <cassert>
#include <cstdlib>

#include "fuzz_common.h"
#include "tcp/tcp_controller.h"

namespace nvmeof::fuzz {
namespace {

struct Controller {
  std::unique_ptr<QueuePair> qp;
  std::vector<CapsulePtr> held;
  std::vector<uint8_t> buf = std::vector<uint8_t>(1 << 17);
  bool down = false;

  void Respond(Capsule& cmd, NvmeStatus st) {
    Cqe cqe{};
    cqe.cid = cmd.sqe().cid;
    cqe.status = st.ToCqeStatus();
    CapsulePtr r = qp->AllocateResponse(cqe);
    if (r) qp->Transmit(*r).IgnoreError();
  }
  void Drop(Capsule* c) {
    for (auto it = held.begin(); it != held.end(); ++it) {
      if (it->get() == c) {
        held.erase(it);
        return;
      }
    }
  }
  void OnCommand(CapsulePtr c) {
    NvmeStatus v = c->Validate();
    uint32_t len = c->data_length();
    if (!v.ok() || len == 0 || len > buf.size()) {
      Respond(*c, v);
      return;
    }
    Capsule* cmd = c.get();
    held.push_back(std::move(c));
    if (cmd->sqe().opcode & 1) {  // host to controller: pull, in two pieces
      uint32_t half = len / 2;
      if (half > 0)
        cmd->ReceiveData(0, MemDesc(buf.data(), half), [](Status) {});
      cmd->ReceiveData(
          half, MemDesc(buf.data() + half, len - half), [this, cmd](Status s) {
            Respond(*cmd, s.ok() ? kNvmeSuccess
                                 : GenericStatus(sc::kTransientTransportError));
            Drop(cmd);
          });
    } else {
      SendDataResult r =
          cmd->SendData(0, MemDesc(buf.data(), len), true, nullptr);
      if (r.outcome != SendDataOutcome::kCompleted) Respond(*cmd, r.status);
      Drop(cmd);
    }
  }
};

}  // namespace
}  // namespace nvmeof::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvmeof;
  using namespace nvmeof::fuzz;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) !=
      0) {
    abort();
  }
  Controller ctrl;
  auto setup = std::make_shared<tcp::TcpControllerQueuePair::Setup>();
  setup->params.max_queue_size = 16;
  setup->params.max_h2c_data = 8192;
  setup->params.max_c2h_data = 4096;
  setup->params.ic_timeout = std::chrono::milliseconds(1000);
  setup->on_accept = [&ctrl](std::unique_ptr<QueuePair> qp) {
    ctrl.qp = std::move(qp);
    ctrl.qp->SetConnected(1, true);
    ctrl.qp->SetCallbacks(
        {[&ctrl](Status) { ctrl.down = true; },
         [&ctrl](CapsulePtr c) { ctrl.OnCommand(std::move(c)); }});
  };
  tcp::TcpControllerQueuePair::Start(
      &Loop(), std::make_unique<tcp::SocketStream>(Fd(sv[0])), setup);
  Pump(sv[1], data, size);
  if (!DrainUntilClosed(sv[1])) abort();  // the controller must end it
  ctrl.held.clear();
  if (ctrl.qp) {
    bool closed = false;
    ctrl.qp->Close([&] { closed = true; });
    if (!Loop().RunUntil([&] { return closed; }, std::chrono::seconds(5)))
      abort();
    if (ctrl.qp->capsules_in_use() != 0) abort();  // a leak
    ctrl.qp.reset();
  }
  // A connection that never got through setup deletes itself, later.
  Loop().RunOnce(std::chrono::milliseconds(0));
  close(sv[1]);
  return 0;
}
