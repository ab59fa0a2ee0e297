// The controller end to end, what its tests share: TargetTest, a
// TargetImpl with two I/O threads serving RAM namespaces over NVMe/TCP on
// 127.0.0.1 or over the loopback transport, and the host library driving
// it from the test thread.

#ifndef NVMEOF_CONTROLLER_TARGET_TEST_UTIL_H_
#define NVMEOF_CONTROLLER_TARGET_TEST_UTIL_H_

#include "controller/target_impl.h"

#include "controller/backend_registry.h"
#include "controller/command_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "host/host_queue.h"
#include "nvmeof/host.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/features.h"
#include "nvmeof/proto/log_pages.h"
#include "nvmeof/proto/nqn.h"
#include "nvmeof/tcp.h"

namespace nvmeof::controller::target_testing {

constexpr char kNqn[] = "nqn.2024-01.io.nvmeof.test:ram";
constexpr char kPrivateNqn[] = "nqn.2024-01.io.nvmeof.test:private";
constexpr char kHostNqn[] = "nqn.2024-01.io.nvmeof.test:host-a";
constexpr char kOtherHostNqn[] = "nqn.2024-01.io.nvmeof.test:host-b";
constexpr uint64_t kRamSize = 16 << 20;

using test_util::RamNamespace;

// Every test runs over NVMe/TCP on 127.0.0.1 and over the in-process

class TargetTest : public ::testing::TestWithParam<TransportType> {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    auto s = std::make_unique<Subsystem>(kNqn, SubsystemType::kNvm);
    s->serial = "SN-TEST-0001";
    s->model = "nvmeof test";
    s->AddNamespace(RamNamespace(1, 512, kRamSize));
    s->AddNamespace(RamNamespace(2, 4096, kRamSize, /*read_only=*/true));
    ASSERT_TRUE(target_.AddSubsystem(std::move(s)).ok());
    auto p = std::make_unique<Subsystem>(kPrivateNqn, SubsystemType::kNvm);
    p->set_allow_any_host(false);
    p->AddHost(kHostNqn);
    p->AddNamespace(RamNamespace(1, 512, 1 << 20));
    ASSERT_TRUE(target_.AddSubsystem(std::move(p)).ok());
    ListenParams params;
    params.transport.max_queue_size = 64;
    params.max_io_queues = 4;
    type_ = GetParam();
    const std::string traddr =
        type_ == TransportType::kTcp
            ? "127.0.0.1"
            : std::string("target-test-") + ::testing::UnitTest::GetInstance()
                                                ->current_test_info()
                                                ->name();
    ASSERT_TRUE(target_
                    .AddPort(1, type_, traddr,
                             type_ == TransportType::kTcp ? "0" : "", {},
                             params)
                    .ok());
    ASSERT_TRUE(target_.Start(2).ok());
    traddr_ = target_.listen_addresses()[0].traddr;
    port_ = target_.listen_addresses()[0].trsvcid;
    loop_ = std::move(EventLoop::Create()).value();
  }
  void TearDown() override {
    ctrl_.reset();
    target_.Stop();
  }

  host::ConnectOptions Options(const std::string& nqn = kNqn) {
    host::ConnectOptions o;
    o.address = {type_, traddr_, port_};
    o.subnqn = nqn;
    o.hostnqn = kHostNqn;
    o.nr_io_queues = 2;
    o.queue_size = 32;
    return o;
  }
  void ConnectDefault() {
    auto c = host::Association::Connect(*loop_, Options());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ctrl_ = std::move(c).value();
  }
  host::Completion Rw(uint8_t opcode, uint32_t nsid, uint64_t slba,
                      uint32_t nlb, std::vector<uint8_t>& buf,
                      uint16_t qid = 1) {
    Sqe sqe{};
    sqe.opcode = opcode;
    sqe.nsid = nsid;
    sqe.cdw10 = static_cast<uint32_t>(slba);
    sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
    sqe.cdw12 = nlb - 1;
    return ctrl_->IoSync(qid, sqe, MemDesc(buf.data(), buf.size()),
                         opcode != 0x02);
  }

  TargetImpl target_;
  TransportType type_ = TransportType::kTcp;
  std::string traddr_;
  std::string port_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<host::Association> ctrl_;
};


inline std::string TransportName(
    const ::testing::TestParamInfo<TransportType>& info) {
  return std::string(TransportTypeName(info.param));
}

}  // namespace nvmeof::controller::target_testing

#endif  // NVMEOF_CONTROLLER_TARGET_TEST_UTIL_H_
