// What DH-HMAC-CHAP costs.
//
// BM_Transaction: one queue's transaction, auth::HostAuth against
// auth::ControllerAuth in memory (both ends' CPU: key generation, the DH
// shared secret, the HMACs), per hash and DH group, one- or two-way.
// BM_Connect: a whole Association::Connect (admin queue, enable, Identify,
// one I/O queue) over 127.0.0.1 to a TargetImpl on its own thread, without
// authentication and with it per group: what a host waits for per
// association with two queues authenticated.
//
//   build/bench/auth_bench --benchmark_min_time=1
//
// The data path is untouched: authentication happens once per queue,
// before any I/O; afterwards a command costs one more bool test in the
// controller queue's dispatch.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "auth/dhchap.h"
#include "controller/backend_registry.h"
#include "controller/target_impl.h"
#include "nvmeof/host.h"
#include "nvmeof/log.h"
#include "nvmeof/tcp.h"

namespace nvmeof {
namespace {

constexpr char kNqn[] = "nqn.2024-11.io.nvmeof.bench:auth";
constexpr char kHost[] = "nqn.2024-11.io.nvmeof.bench:host";

auth::DhchapKey Key(uint8_t first) {
  auth::DhchapKey k;
  k.transform = 0;
  std::vector<uint8_t> s(32);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(first + i);
  k.secret = auth::SecretBytes(s);
  return k;
}

void BM_Transaction(benchmark::State& state) {
  const auto hash = static_cast<auth::HashId>(state.range(0));
  const auto group = static_cast<auth::DhGroup>(state.range(1));
  const bool bidirectional = state.range(2) != 0;
  auto hk = std::make_shared<const auth::DhchapKey>(Key(0));
  auto ck = std::make_shared<const auth::DhchapKey>(Key(0x40));
  for (auto _ : state) {
    auth::ControllerAuth c({kHost, kNqn, hk, ck, {hash}, {group}});
    auth::HostAuth h({kHost, kNqn, hk, bidirectional ? ck : nullptr, {hash},
                      {group}},
                     1);
    auth::HostAuth::Step step = h.Start();
    while (!step.done) {
      if (!step.send.empty()) c.OnSend(step.send);
      if (!step.receive) break;
      std::optional<std::vector<uint8_t>> msg = c.OnReceive(4096);
      if (!msg) break;
      step = h.OnReceive(*msg);
    }
    if (!step.send.empty()) c.OnSend(step.send);
    if (!step.done || !step.result.ok() || !c.succeeded()) {
      state.SkipWithError("the transaction failed");
      return;
    }
  }
  state.SetLabel(std::string(auth::HashName(hash)) + " " +
                 std::string(auth::DhGroupName(group)) +
                 (bidirectional ? " two-way" : " one-way"));
}
BENCHMARK(BM_Transaction)
    ->ArgsProduct({{1}, {0, 1, 2, 3, 4, 5}, {0, 1}})
    ->ArgsProduct({{2, 3}, {0, 2}, {1}})
    ->Unit(benchmark::kMicrosecond);

// range(0): -1 no authentication, else the DH group (two-way, SHA-256).
void BM_Connect(benchmark::State& state) {
  RegisterTcpTransport();
  const int group = static_cast<int>(state.range(0));
  auto hk = std::make_shared<const auth::DhchapKey>(Key(0));
  auto ck = std::make_shared<const auth::DhchapKey>(Key(0x40));
  controller::TargetImpl target;
  auto s = std::make_unique<controller::Subsystem>(
      kNqn, controller::SubsystemType::kNvm);
  BackendConfig bc;
  bc.type = "ram";
  bc.params["size"] = 1 << 20;
  s->AddNamespace(controller::Namespace::Create(
      1, std::move(controller::OpenBackend(bc)).value()));
  s->set_allow_any_host(false);
  controller::HostEntry e;
  if (group >= 0) {
    e.host_key = hk;
    e.ctrl_key = ck;
  }
  s->AddHost(kHost, std::move(e));
  if (!target.AddSubsystem(std::move(s)).ok() ||
      !target.AddPort(1, TransportType::kTcp, "127.0.0.1", "0", {}, {}).ok()) {
    state.SkipWithError("no target");
    return;
  }
  if (group >= 0) {
    target.SetDhchapPolicy({{auth::HashId::kSha256},
                            {static_cast<auth::DhGroup>(group)}});
  }
  if (!target.Start(1).ok()) {
    state.SkipWithError("the target did not start");
    return;
  }
  auto loop = std::move(EventLoop::Create()).value();
  host::ConnectOptions o;
  o.address = {TransportType::kTcp, "127.0.0.1",
               target.listen_addresses()[0].trsvcid};
  o.subnqn = kNqn;
  o.hostnqn = kHost;
  o.nr_io_queues = 1;
  o.queue_size = 16;
  o.async_events = false;
  if (group >= 0) {
    o.dhchap_secret = hk->Format();
    o.dhchap_ctrl_secret = ck->Format();
  }
  for (auto _ : state) {
    auto a = host::Association::Connect(*loop, o);
    if (!a.ok()) {
      state.SkipWithError(a.status().ToString().c_str());
      break;
    }
    (*a)->Disconnect();
  }
  target.Stop();
  state.SetLabel(group < 0 ? "no authentication"
                           : "sha256 " +
                                 std::string(auth::DhGroupName(
                                     static_cast<auth::DhGroup>(group))) +
                                 " two-way, 2 queues");
}
BENCHMARK(BM_Connect)
    ->Arg(-1)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace nvmeof

int main(int argc, char** argv) {
  nvmeof::SetLogSeverity(nvmeof::LogSeverity::kWarn);  // one line a queue
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
