// The transport API suite over the loopback transport, plus what is
// loopback's own.
#include "transport/loopback.h"

#include "transport_suite.h"

namespace nvmeof {
namespace {

TransportSuiteParam LoopbackParam() {
  TransportSuiteParam p;
  p.name = "loopback";
  p.type = TransportType::kLoopback;
  p.traddr = "suite";
  return p;
}

INSTANTIATE_TEST_SUITE_P(Loopback, TransportSuite,
                         ::testing::Values(LoopbackParam()),
                         [](const auto& info) { return info.param.name; });

TEST(LoopbackTest, ConnectWithoutListenerFails) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  Transport* t = TransportRegistry::Global().Find(TransportType::kLoopback);
  ASSERT_NE(t, nullptr);
  bool done = false;
  Status st;
  t->Connect(**loop, TransportAddress{TransportType::kLoopback, "nobody", ""},
             HostQueuePairParams{}, QueuePairCallbacks{},
             [&](Result<std::unique_ptr<QueuePair>> r) {
               done = true;
               st = r.status();
             });
  EXPECT_FALSE(done);  // never inside Connect()
  ASSERT_TRUE((*loop)->RunUntil([&] { return done; }, std::chrono::seconds(5)));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
}

TEST(LoopbackTest, DuplicateListenerNameRefused) {
  auto loop = EventLoop::Create();
  Transport* t = TransportRegistry::Global().Find(TransportType::kLoopback);
  TransportAddress a{TransportType::kLoopback, "dup", ""};
  auto l1 = t->Listen(**loop, a, {}, [](std::unique_ptr<QueuePair>) {});
  ASSERT_TRUE(l1.ok());
  auto l2 = t->Listen(**loop, a, {}, [](std::unique_ptr<QueuePair>) {});
  EXPECT_EQ(l2.status().code(), StatusCode::kAlreadyExists);
}

TEST(TransportRegistryTest, NamesRoundTrip) {
  for (TransportType t : {TransportType::kTcp, TransportType::kLoopback}) {
    auto parsed = ParseTransportType(TransportTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_FALSE(ParseTransportType("carrier-pigeon").ok());
}

}  // namespace
}  // namespace nvmeof
