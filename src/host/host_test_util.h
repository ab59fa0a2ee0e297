// What the host tests that run against the project's own controller share:
// a subsystem with a RAM namespace, a write read back and checked, and the
// wait for an association to come back after its target restarted.

#ifndef NVMEOF_HOST_HOST_TEST_UTIL_H_
#define NVMEOF_HOST_HOST_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "controller/backend_registry.h"
#include "controller/subsystem.h"
#include "nvmeof/host.h"

namespace nvmeof::host_test {

// Subsystem `nqn` with namespace 1 on 1 MiB of RAM, open only to the hosts
// it lists. Null (with a test failure) if the backend cannot open.
inline std::shared_ptr<controller::Subsystem> RamSubsystem(const char* nqn) {
  auto s = std::make_shared<controller::Subsystem>(
      nqn, controller::SubsystemType::kNvm);
  BackendConfig bc;
  bc.type = "ram";
  bc.params["size"] = 1 << 20;
  auto backend = controller::OpenBackend(bc);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  if (!backend.ok()) return nullptr;
  s->AddNamespace(controller::Namespace::Create(1, std::move(*backend)));
  s->set_allow_any_host(false);
  return s;
}

// Writes `size` bytes (a pattern of `lba`) at `lba` on I/O queue `qid`,
// reads them back and compares.
inline void WriteReadBack(host::Association& a, uint16_t qid, uint32_t lba,
                          size_t size = 4096) {
  std::vector<uint8_t> out(size), in(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(lba + i * 7);
  Sqe w{};
  w.opcode = 0x01;
  w.nsid = 1;
  w.cdw10 = lba;
  w.cdw12 = static_cast<uint32_t>(size / 512 - 1);
  host::Completion c = a.IoSync(qid, w, MemDesc(out.data(), out.size()), true);
  ASSERT_TRUE(c.ok()) << c.status.ToString() << " "
                      << NvmeStatusToString(c.nvme());
  Sqe r = w;
  r.opcode = 0x02;
  c = a.IoSync(qid, r, MemDesc(in.data(), in.size()));
  ASSERT_TRUE(c.ok()) << c.status.ToString();
  EXPECT_EQ(in, out);
}

// The target went away: a Flush on queue 1 makes the association notice
// (it is no longer live when this returns); `restart` brings the target
// back, and this waits for the one reconnect and the Flush's completion.
template <typename Restart>
void LoseAndRecover(EventLoop& loop, host::Association& a, Restart&& restart) {
  Sqe sqe{};
  sqe.opcode = 0x00;  // Flush
  sqe.nsid = 1;
  bool done = false;
  a.SubmitIo(1, sqe, {}, false, [&](host::Completion) { done = true; });
  ASSERT_TRUE(loop.RunUntil(
      [&] { return a.state() != host::Association::State::kLive; },
      std::chrono::seconds(10)));
  restart();
  ASSERT_TRUE(loop.RunUntil(
      [&] {
        return done && a.state() == host::Association::State::kLive &&
               a.reconnects() == 1;
      },
      std::chrono::seconds(20)));
}

}  // namespace nvmeof::host_test

#endif  // NVMEOF_HOST_HOST_TEST_UTIL_H_
