// Steady-state I/O over TCP allocates nothing: global operator new is
// replaced in this test program to count allocations, counted only while
// a test asks for it.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "nvmeof/tcp.h"
#include "nvmeof/transport.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// GCC 12 cannot see that this pair matches (-Wmismatched-new-delete).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace nvmeof {
namespace {

constexpr auto kWait = std::chrono::seconds(20);

// A host and a controller on one loop over 127.0.0.1, reads, in-capsule
// writes and R2T writes at queue depth 32 on a RAM buffer.
class AllocTest : public ::testing::TestWithParam<bool> {};

TEST_P(AllocTest, SteadyStateIoAllocatesNothing) {
  const bool digests = GetParam();
  RegisterTcpTransport();
  auto loop = std::move(EventLoop::Create()).value();
  Transport* t = TransportRegistry::Global().Find(TransportType::kTcp);
  std::vector<uint8_t> ram(1 << 20, 0x42);
  std::unique_ptr<QueuePair> ctrl, host;
  std::vector<CapsulePtr> held;  // write commands waiting for data
  held.reserve(64);

  auto respond = [&](Capsule& cmd) {
    Cqe cqe{};
    cqe.cid = cmd.sqe().cid;
    CapsulePtr r = ctrl->AllocateResponse(cqe);
    ctrl->Transmit(*r).IgnoreError();
  };
  auto listener = t->Listen(
      *loop, {TransportType::kTcp, "127.0.0.1", "0"}, {},
      [&](std::unique_ptr<QueuePair> qp) {
        ctrl = std::move(qp);
        ctrl->SetCallbacks(
            {[](Status) {},
             [&](CapsulePtr c) {
               Capsule* cmd = c.get();
               const uint32_t off = (cmd->sqe().cid % 32) * 16384;
               const uint32_t len = cmd->data_length();
               if (cmd->sqe().opcode == 0x02) {
                 SendDataResult r = cmd->SendData(
                     0, MemDesc(ram.data() + off, len), true, nullptr);
                 if (r.outcome != SendDataOutcome::kCompleted) respond(*cmd);
                 return;
               }
               held.push_back(std::move(c));
               cmd->ReceiveData(0, MemDesc(ram.data() + off, len),
                                [&, cmd](Status) {
                                  respond(*cmd);
                                  for (auto& h : held) {
                                    if (h.get() == cmd) {
                                      h = std::move(held.back());
                                      held.pop_back();
                                      break;
                                    }
                                  }
                                });
             }});
      });
  ASSERT_TRUE(listener.ok());

  struct Slot {
    CapsulePtr cmd;
    std::vector<uint8_t> buf = std::vector<uint8_t>(16384);
    bool responded = false, data = false;
  };
  std::vector<Slot> slots(32);
  long completed = 0;
  std::function<void(uint16_t)> submit;  // set up once, before counting

  HostQueuePairParams hp;
  hp.qid = 1;
  hp.queue_size = 64;
  hp.max_icd = 8192;
  hp.header_digest = hp.data_digest = digests;
  auto finish = [&](uint16_t cid) {
    Slot& s = slots[cid % 32];
    if (!(s.responded && s.data)) return;
    ++completed;
    submit(static_cast<uint16_t>(cid + 32));
  };
  t->Connect(*loop, listener.value()->address(), hp,
             {[](Status) {},
              [&](CapsulePtr rsp) {
                uint16_t cid = rsp->cqe().cid;
                rsp.reset();
                slots[cid % 32].responded = true;
                finish(cid);
              }},
             [&](Result<std::unique_ptr<QueuePair>> r) {
               host = std::move(r).value();
             });
  ASSERT_TRUE(loop->RunUntil([&] { return host && ctrl; }, kWait));

  submit = [&](uint16_t cid) {
    Slot& s = slots[cid % 32];
    s.cmd.reset();
    s.responded = s.data = false;
    Sqe sqe{};
    sqe.cid = cid;
    // In turn: a 4 KiB read, a 4 KiB write in the capsule, a 16 KiB write
    // pulled by R2T.
    const int kind = cid % 3;
    sqe.opcode = kind == 0 ? 0x02 : 0x01;
    const size_t len = kind == 2 ? 16384 : 4096;
    s.cmd = host->AllocateCommand(sqe);
    s.cmd->AppendData(MemDesc(s.buf.data(), len), sqe.opcode == 0x01,
                      [&, cid](Status) {
                        slots[cid % 32].data = true;
                        finish(cid);
                      });
    host->Transmit(*s.cmd).IgnoreError();
  };
  for (uint16_t i = 0; i < 32; ++i) submit(i);
  // Warm up: pools and queues grow to their working size.
  ASSERT_TRUE(loop->RunUntil([&] { return completed >= 5000; }, kWait));
  g_allocations = 0;
  g_counting = true;
  const long start = completed;
  bool ok = loop->RunUntil([&] { return completed >= start + 5000; }, kWait);
  g_counting = false;
  ASSERT_TRUE(ok);
  EXPECT_EQ(g_allocations.load(), 0) << "allocations in 5000 steady-state I/Os";

  // Stop submitting, drain, close.
  submit = [](uint16_t) {};
  ASSERT_TRUE(loop->RunUntil(
      [&] {
        for (auto& s : slots)
          if (!(s.responded && s.data)) return false;
        return true;
      },
      kWait));
  int closed = 0;
  host->Close([&] { ++closed; });
  ctrl->Close([&] { ++closed; });
  ASSERT_TRUE(loop->RunUntil([&] { return closed == 2; }, kWait));
  for (auto& s : slots) s.cmd.reset();
  held.clear();
}

INSTANTIATE_TEST_SUITE_P(Digests, AllocTest, ::testing::Values(false, true));

}  // namespace
}  // namespace nvmeof
