// The NVMe/TCP transport's cost per I/O: a host and a controller queue
// pair on one thread over 127.0.0.1, the controller answering from RAM.
// Both sides' work and the kernel's TCP are in the time, so the time per
// I/O is an upper bound of one side's cost.
//
//   build/bench/tcp_transport_bench --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "nvmeof/tcp.h"
#include "nvmeof/transport.h"

namespace nvmeof {
namespace {

void BM_TcpIo(benchmark::State& state) {
  const bool write = state.range(0) != 0;
  const uint32_t io_size = static_cast<uint32_t>(state.range(1));
  const int qd = static_cast<int>(state.range(2));
  const bool digests = state.range(3) != 0;
  const bool tls = state.range(4) != 0;
  // TLS: a fixed SHA-256 PSK for both ends (the derivations are not on the
  // data path).
  TlsPsk psk;
  psk.key.assign(32, 0x5a);
  const std::string identity =
      "NVMe0R01 nqn.2014-08.org.example:h nqn.2014-08.org.example:s";
  RegisterTcpTransport();
  auto loop = std::move(EventLoop::Create()).value();
  Transport* t = TransportRegistry::Global().Find(TransportType::kTcp);
  std::vector<uint8_t> ram(4 << 20);
  std::unique_ptr<QueuePair> ctrl, host;
  std::vector<CapsulePtr> held(qd * 2 + 8);
  auto respond = [&](Capsule& cmd) {
    Cqe cqe{};
    cqe.cid = cmd.sqe().cid;
    CapsulePtr r = ctrl->AllocateResponse(cqe);
    ctrl->Transmit(*r).IgnoreError();
  };
  ControllerQueuePairParams cp;
  cp.max_io_icd = 8192;
  if (tls) {
    auto server = std::make_shared<TlsServerParams>();
    server->mode = TlsMode::kRequired;
    server->find_psk = [psk](std::string_view) -> Result<TlsPsk> {
      return psk;
    };
    cp.tls = std::move(server);
  }
  auto listener = t->Listen(
      *loop, {TransportType::kTcp, "127.0.0.1", "0"}, cp,
      [&](std::unique_ptr<QueuePair> qp) {
        ctrl = std::move(qp);
        ctrl->SetConnected(1, false);
        ctrl->SetCallbacks(
            {[](Status) {},
             [&](CapsulePtr c) {
               Capsule* cmd = c.get();
               const uint32_t off = (cmd->sqe().cid % 64) * io_size;
               if (cmd->sqe().opcode == 0x02) {
                 SendDataResult r = cmd->SendData(
                     0, MemDesc(ram.data() + off, io_size), true, nullptr);
                 if (r.outcome != SendDataOutcome::kCompleted) respond(*cmd);
                 return;
               }
               const uint16_t slot = cmd->sqe().cid;
               held[slot] = std::move(c);
               cmd->ReceiveData(0, MemDesc(ram.data() + off, io_size),
                                [&, cmd, slot](Status) {
                                  respond(*cmd);
                                  held[slot].reset();
                                });
             }});
      });
  struct Slot {
    CapsulePtr cmd;
    std::vector<uint8_t> buf;
    bool responded = false, data = false;
  };
  std::vector<Slot> slots(qd);
  for (auto& s : slots) s.buf.resize(io_size);
  int64_t completed = 0;
  bool submitting = true;
  std::function<void(uint16_t)> submit;
  auto finish = [&](uint16_t cid) {
    Slot& s = slots[cid % qd];
    if (!(s.responded && s.data)) return;
    ++completed;
    if (submitting) submit(static_cast<uint16_t>((cid + qd) % (qd * 2)));
  };
  HostQueuePairParams hp;
  hp.qid = 1;
  hp.queue_size = static_cast<uint16_t>(qd * 2);
  hp.max_icd = 8192;
  hp.header_digest = hp.data_digest = digests;
  if (tls) {
    auto client = std::make_shared<TlsClientParams>();
    client->identity = identity;
    client->psk = psk;
    hp.tls = std::move(client);
  }
  t->Connect(*loop, (*listener)->address(), hp,
             {[](Status) {},
              [&](CapsulePtr rsp) {
                uint16_t cid = rsp->cqe().cid;
                rsp.reset();
                slots[cid % qd].responded = true;
                finish(cid);
              }},
             [&](Result<std::unique_ptr<QueuePair>> r) {
               host = std::move(r).value();
             });
  loop->RunUntil([&] { return host && ctrl; }, std::chrono::seconds(10));
  submit = [&](uint16_t cid) {
    Slot& s = slots[cid % qd];
    s.cmd.reset();
    s.responded = s.data = false;
    Sqe sqe{};
    sqe.cid = cid;
    sqe.opcode = write ? 0x01 : 0x02;
    s.cmd = host->AllocateCommand(sqe);
    s.cmd->AppendData(MemDesc(s.buf.data(), io_size), write, [&, cid](Status) {
      slots[cid % qd].data = true;
      finish(cid);
    });
    host->Transmit(*s.cmd).IgnoreError();
  };
  for (int i = 0; i < qd; ++i) submit(static_cast<uint16_t>(i));
  for (auto _ : state) {
    const int64_t target = completed + 1000;
    loop->RunUntil([&] { return completed >= target; },
                   std::chrono::seconds(30));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * 1000 * int64_t{io_size});
  submitting = false;
  loop->RunUntil(
      [&] {
        for (auto& s : slots)
          if (!(s.responded && s.data)) return false;
        return true;
      },
      std::chrono::seconds(10));
  int closed = 0;
  host->Close([&] { ++closed; });
  ctrl->Close([&] { ++closed; });
  loop->RunUntil([&] { return closed == 2; }, std::chrono::seconds(10));
  for (auto& s : slots) s.cmd.reset();
  for (auto& h : held) h.reset();
}

// {write, io size, queue depth, digests, TLS}
BENCHMARK(BM_TcpIo)
    ->ArgNames({"write", "size", "qd", "digests", "tls"})
    ->Args({0, 4096, 1, 0, 0})
    ->Args({0, 4096, 32, 0, 0})
    ->Args({1, 4096, 32, 0, 0})
    ->Args({0, 131072, 16, 0, 0})
    ->Args({0, 4096, 32, 1, 0})
    ->Args({0, 131072, 16, 1, 0})
    ->Args({0, 4096, 32, 0, 1})
    ->Args({1, 4096, 32, 0, 1})
    ->Args({0, 131072, 16, 0, 1})
    ->UseRealTime();

}  // namespace
}  // namespace nvmeof

BENCHMARK_MAIN();
