#include "nvmeof/proto/features.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace nvmeof {
namespace {

TEST(FeatureIdTest, SpecValues) {
  const std::pair<FeatureId, int> ids[] = {
      {FeatureId::kArbitration, 0x01},
      {FeatureId::kPowerManagement, 0x02},
      {FeatureId::kTemperatureThreshold, 0x04},
      {FeatureId::kErrorRecovery, 0x05},
      {FeatureId::kVolatileWriteCache, 0x06},
      {FeatureId::kNumberOfQueues, 0x07},
      {FeatureId::kInterruptCoalescing, 0x08},
      {FeatureId::kInterruptVectorConfiguration, 0x09},
      {FeatureId::kWriteAtomicityNormal, 0x0A},
      {FeatureId::kAsyncEventConfiguration, 0x0B},
      {FeatureId::kAutonomousPowerStateTransition, 0x0C},
      {FeatureId::kHostMemoryBuffer, 0x0D},
      {FeatureId::kTimestamp, 0x0E},
      {FeatureId::kKeepAliveTimer, 0x0F},
      {FeatureId::kHostIdentifier, 0x81},
      {FeatureId::kReservationNotificationMask, 0x82},
      {FeatureId::kReservationPersistence, 0x83},
  };
  for (const auto& [id, value] : ids) EXPECT_EQ(static_cast<int>(id), value);
}

TEST(GetFeaturesTest, SelectInBits10To8) {
  GetFeaturesCommand cmd;
  cmd.fid = static_cast<uint8_t>(FeatureId::kNumberOfQueues);
  cmd.sel = FeatureSelect::kSaved;
  cmd.nsid = 1;
  cmd.cdw11 = 0xDEADBEEF;
  cmd.uuid_index = 3;
  const Sqe sqe = BuildGetFeaturesSqe(cmd);
  EXPECT_EQ(sqe.opcode, 0x0A);
  EXPECT_EQ(sqe.cdw10, 0x207u);
  EXPECT_EQ(sqe.cdw11, 0xDEADBEEFu);
  EXPECT_EQ(sqe.cdw14, 3u);
  EXPECT_EQ(ParseGetFeaturesSqe(sqe), cmd);

  cmd.sel = FeatureSelect::kSupportedCapabilities;
  EXPECT_EQ(BuildGetFeaturesSqe(cmd).cdw10, 0x307u);
  EXPECT_EQ(ParseGetFeaturesSqe(BuildGetFeaturesSqe(cmd)).sel,
            FeatureSelect::kSupportedCapabilities);
  // Bits above SEL do not leak into it.
  Sqe raw{};
  raw.cdw10 = 0xFFFFF806;
  EXPECT_EQ(ParseGetFeaturesSqe(raw).sel, FeatureSelect::kCurrent);
  EXPECT_EQ(ParseGetFeaturesSqe(raw).fid, 0x06);
}

TEST(SetFeaturesTest, SaveBitAndRoundTrip) {
  SetFeaturesCommand cmd;
  cmd.fid = static_cast<uint8_t>(FeatureId::kKeepAliveTimer);
  cmd.sv = true;
  cmd.cdw11 = 5000;
  cmd.cdw12 = 1;
  cmd.cdw13 = 2;
  const Sqe sqe = BuildSetFeaturesSqe(cmd);
  EXPECT_EQ(sqe.opcode, 0x09);
  EXPECT_EQ(sqe.cdw10, 0x8000000Fu);
  EXPECT_EQ(sqe.cdw11, 5000u);
  EXPECT_EQ(ParseSetFeaturesSqe(sqe), cmd);
  cmd.sv = false;
  EXPECT_EQ(BuildSetFeaturesSqe(cmd).cdw10, 0x0Fu);
}

TEST(NumberOfQueuesTest, ZeroBasedBothWays) {
  const NumberOfQueues q = NumberOfQueues::FromCounts(8, 4);
  EXPECT_EQ(q.nsqr, 7);
  EXPECT_EQ(q.ncqr, 3);
  EXPECT_EQ(q.ToDword(), 0x00030007u);
  const NumberOfQueues d = NumberOfQueues::FromDword(0x003F000F);
  EXPECT_EQ(d.sq_count(), 16u);
  EXPECT_EQ(d.cq_count(), 64u);
  EXPECT_EQ(NumberOfQueues::FromDword(d.ToDword()), d);
  EXPECT_EQ(NumberOfQueues::FromCounts(1, 1).ToDword(), 0u);
  EXPECT_EQ(NumberOfQueues::FromCounts(65535, 65535).ToDword(), 0xFFFEFFFEu);
  EXPECT_EQ(NumberOfQueues::FromDword(0xFFFFFFFF).nsqr, kNumberOfQueuesInvalid);
}

TEST(AsyncEventTest, Dw0Layout) {
  const AsyncEvent ns_changed{kAsyncEventTypeNotice,
                              kAenNoticeNamespaceAttributeChanged, 0x04};
  EXPECT_EQ(ns_changed.ToDw0(), 0x00040002u);
  const AsyncEvent discovery{kAsyncEventTypeNotice,
                             kAenNoticeDiscoveryLogChanged, 0x70};
  EXPECT_EQ(discovery.ToDw0(), 0x0070F002u);
  const AsyncEvent smart{kAsyncEventTypeSmartHealth,
                         kAenSmartTemperatureThreshold, 0x02};
  EXPECT_EQ(smart.ToDw0(), 0x00020101u);
  EXPECT_EQ(AsyncEvent::FromDw0(0x0070F002), discovery);
  EXPECT_EQ(AsyncEvent::FromDw0(smart.ToDw0()), smart);
  // Reserved bits 7:3 and 31:24 are ignored.
  EXPECT_EQ(AsyncEvent::FromDw0(0xFF0401FA), (AsyncEvent{2, 0x01, 0x04}));
  EXPECT_EQ(kAsyncEventTypeIoCommandSpecific, 6);
  EXPECT_EQ(kAsyncEventTypeVendorSpecific, 7);
}

TEST(FeatureValuesTest, AsyncEventConfigurationBitsMatchOaes) {
  EXPECT_EQ(kAecNamespaceAttribute, 1u << 8);
  EXPECT_EQ(kAecFirmwareActivation, 1u << 9);
  EXPECT_EQ(kAecAnaChange, 1u << 11);
  EXPECT_EQ(kAecDiscoveryLogChange, 0x80000000u);
}

TEST(FeatureValuesTest, TemperatureThreshold) {
  EXPECT_EQ(TemperatureThresholdDword(343), 343u);
  EXPECT_EQ(TemperatureThresholdDword(273, 2, true),
            273u | (2u << 16) | (1u << 20));
}

TEST(FeatureValuesTest, TimestampRoundTrip) {
  TimestampData ts;
  std::memset(&ts, 0, sizeof(ts));
  ts.set_milliseconds(0x0000123456789ABC);
  ts.attributes = 1;
  std::array<uint8_t, 8> raw;
  std::memcpy(raw.data(), &ts, raw.size());
  EXPECT_EQ(raw[0], 0xBC);
  EXPECT_EQ(raw[5], 0x12);
  EXPECT_EQ(raw[6], 1);
  EXPECT_EQ(ts.milliseconds(), 0x0000123456789ABCu);
  ts.set_milliseconds(0xFFFF000000000001);  // only 48 bits kept
  EXPECT_EQ(ts.milliseconds(), 1u);
}

}  // namespace
}  // namespace nvmeof
