// Get Features / Set Features: feature identifiers, the SQE fields, and the
// values of the features that matter to a fabrics host and controller
// (Number of Queues, Async Event Configuration, Keep Alive Timer, ...); and
// the completion DW0 of an Asynchronous Event Request.
//
// Sources: NVM Express Base Specification 2.0, "Get Features command",
// "Set Features command", "Feature Specific Information" and "Asynchronous
// Event Request command"; checked against Linux include/linux/nvme.h.

#ifndef NVMEOF_PROTO_FEATURES_H_
#define NVMEOF_PROTO_FEATURES_H_

#include <cstddef>
#include <cstdint>

#include "nvmeof/proto/nvme.h"

namespace nvmeof {

// Feature Identifiers (FID, CDW10 bits 7:0).
enum class FeatureId : uint8_t {
  kArbitration = 0x01,
  kPowerManagement = 0x02,
  kLbaRangeType = 0x03,
  kTemperatureThreshold = 0x04,
  kErrorRecovery = 0x05,
  kVolatileWriteCache = 0x06,
  kNumberOfQueues = 0x07,
  kInterruptCoalescing = 0x08,
  kInterruptVectorConfiguration = 0x09,
  kWriteAtomicityNormal = 0x0A,
  kAsyncEventConfiguration = 0x0B,
  kAutonomousPowerStateTransition = 0x0C,
  kHostMemoryBuffer = 0x0D,
  kTimestamp = 0x0E,
  kKeepAliveTimer = 0x0F,
  kHostIdentifier = 0x81,
  kReservationNotificationMask = 0x82,
  kReservationPersistence = 0x83,
};

// Get Features SEL, CDW10 bits 10:8.
enum class FeatureSelect : uint8_t {
  kCurrent = 0,
  kDefault = 1,
  kSaved = 2,
  kSupportedCapabilities = 3,
};
// DW0 of a Get Features with SEL kSupportedCapabilities.
inline constexpr uint32_t kFeatureCapabilitySaveable = 1u << 0;
inline constexpr uint32_t kFeatureCapabilityNamespaceSpecific = 1u << 1;
inline constexpr uint32_t kFeatureCapabilityChangeable = 1u << 2;

// Get Features: CDW10 FID 7:0, SEL 10:8; CDW11 feature specific; CDW14
// UUID index 6:0. The value comes back in CQE DW0 (and data for some FIDs).
struct GetFeaturesCommand {
  uint8_t fid = 0;
  FeatureSelect sel = FeatureSelect::kCurrent;
  uint32_t nsid = 0;
  uint32_t cdw11 = 0;
  uint8_t uuid_index = 0;
  friend bool operator==(const GetFeaturesCommand&,
                         const GetFeaturesCommand&) = default;
};
inline Sqe BuildGetFeaturesSqe(const GetFeaturesCommand& cmd) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kGetFeatures);
  sqe.nsid = cmd.nsid;
  sqe.cdw10 =
      uint32_t{cmd.fid} | ((static_cast<uint32_t>(cmd.sel) & 0x7u) << 8);
  sqe.cdw11 = cmd.cdw11;
  sqe.cdw14 = cmd.uuid_index & 0x7Fu;
  return sqe;
}
// Decodes the fields; does not check the opcode or judge the values.
inline GetFeaturesCommand ParseGetFeaturesSqe(const Sqe& sqe) {
  GetFeaturesCommand cmd;
  cmd.fid = static_cast<uint8_t>(sqe.cdw10 & 0xFF);
  cmd.sel = static_cast<FeatureSelect>((sqe.cdw10 >> 8) & 0x7);
  cmd.nsid = sqe.nsid;
  cmd.cdw11 = sqe.cdw11;
  cmd.uuid_index = static_cast<uint8_t>(sqe.cdw14 & 0x7F);
  return cmd;
}

// Set Features: CDW10 FID 7:0, SV (save) bit 31; CDW11..13 feature specific;
// CDW14 UUID index 6:0.
struct SetFeaturesCommand {
  uint8_t fid = 0;
  bool sv = false;
  uint32_t nsid = 0;
  uint32_t cdw11 = 0;
  uint32_t cdw12 = 0;
  uint32_t cdw13 = 0;
  uint8_t uuid_index = 0;
  friend bool operator==(const SetFeaturesCommand&,
                         const SetFeaturesCommand&) = default;
};
inline Sqe BuildSetFeaturesSqe(const SetFeaturesCommand& cmd) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(AdminOpcode::kSetFeatures);
  sqe.nsid = cmd.nsid;
  sqe.cdw10 = uint32_t{cmd.fid} | (cmd.sv ? 1u << 31 : 0u);
  sqe.cdw11 = cmd.cdw11;
  sqe.cdw12 = cmd.cdw12;
  sqe.cdw13 = cmd.cdw13;
  sqe.cdw14 = cmd.uuid_index & 0x7Fu;
  return sqe;
}
inline SetFeaturesCommand ParseSetFeaturesSqe(const Sqe& sqe) {
  SetFeaturesCommand cmd;
  cmd.fid = static_cast<uint8_t>(sqe.cdw10 & 0xFF);
  cmd.sv = (sqe.cdw10 >> 31) & 1;
  cmd.nsid = sqe.nsid;
  cmd.cdw11 = sqe.cdw11;
  cmd.cdw12 = sqe.cdw12;
  cmd.cdw13 = sqe.cdw13;
  cmd.uuid_index = static_cast<uint8_t>(sqe.cdw14 & 0x7F);
  return cmd;
}

// ---- Number of Queues (FID 0x07) --------------------------------------------
// Set Features CDW11 and the completion DW0 share one layout: NSQR 15:0 (I/O
// submission queues), NCQR 31:16 (completion queues), both 0-based. 0xFFFF
// is not a valid request (Invalid Field in Command).
struct NumberOfQueues {
  uint16_t nsqr = 0;  // 0-based
  uint16_t ncqr = 0;  // 0-based

  // REQUIRES: 1 <= sq_count, cq_count <= 65535.
  static constexpr NumberOfQueues FromCounts(uint32_t sq_count,
                                             uint32_t cq_count) {
    return {static_cast<uint16_t>(sq_count - 1),
            static_cast<uint16_t>(cq_count - 1)};
  }
  constexpr uint32_t sq_count() const { return uint32_t{nsqr} + 1; }
  constexpr uint32_t cq_count() const { return uint32_t{ncqr} + 1; }
  static constexpr NumberOfQueues FromDword(uint32_t dw) {
    return {static_cast<uint16_t>(dw & 0xFFFF),
            static_cast<uint16_t>(dw >> 16)};
  }
  constexpr uint32_t ToDword() const {
    return uint32_t{nsqr} | (uint32_t{ncqr} << 16);
  }
  friend bool operator==(const NumberOfQueues&,
                         const NumberOfQueues&) = default;
};
inline constexpr uint16_t kNumberOfQueuesInvalid = 0xFFFF;

// ---- Other feature values ---------------------------------------------------

// Volatile Write Cache (FID 0x06), CDW11 bit 0: WCE.
inline constexpr uint32_t kVolatileWriteCacheEnable = 1u << 0;
// Keep Alive Timer (FID 0x0F): CDW11 is KATO in milliseconds.
// Host Identifier (FID 0x81): CDW11 bit 0 EXHID: the identifier is 128 bits
// (16 bytes of data) rather than 64 (8 bytes). Fabrics requires 128.
inline constexpr uint32_t kHostIdentifierExhid = 1u << 0;
// Temperature Threshold (FID 0x04), CDW11: TMPTH 15:0 (kelvin), TMPSEL
// 19:16 (0 = composite), THSEL 21:20 (0 over, 1 under).
constexpr uint32_t TemperatureThresholdDword(uint16_t kelvin,
                                             uint8_t tmpsel = 0,
                                             bool under = false) {
  return uint32_t{kelvin} | (uint32_t{tmpsel & 0xFu} << 16) |
         (under ? 1u << 20 : 0u);
}

// Asynchronous Event Configuration (FID 0x0B), CDW11: which events may be
// reported. Bits 7:0 mirror the SMART critical warning bits.
inline constexpr uint32_t kAecSmartCriticalWarningMask = 0xFF;
inline constexpr uint32_t kAecNamespaceAttribute = 1u << 8;
inline constexpr uint32_t kAecFirmwareActivation = 1u << 9;
inline constexpr uint32_t kAecTelemetryLog = 1u << 10;
inline constexpr uint32_t kAecAnaChange = 1u << 11;
inline constexpr uint32_t kAecPredictableLatency = 1u << 12;
inline constexpr uint32_t kAecLbaStatus = 1u << 13;
inline constexpr uint32_t kAecEnduranceGroupEvent = 1u << 14;
inline constexpr uint32_t kAecDiscoveryLogChange = 1u << 31;

// Timestamp (FID 0x0E) data, 8 bytes: milliseconds since the epoch in bytes
// 5:0; byte 6 attributes (bit 0 synch, bits 3:1 origin).
struct TimestampData {
  uint8_t timestamp[6];
  uint8_t attributes;
  uint8_t reserved;

  uint64_t milliseconds() const {
    uint64_t v = 0;
    for (int i = 5; i >= 0; --i) v = (v << 8) | timestamp[i];
    return v;
  }
  // Keeps the low 48 bits of `ms`.
  void set_milliseconds(uint64_t ms) {
    for (int i = 0; i < 6; ++i)
      timestamp[i] = static_cast<uint8_t>(ms >> (8 * i));
  }
};
static_assert(sizeof(TimestampData) == 8);
static_assert(offsetof(TimestampData, attributes) == 6);

// ---- Asynchronous events ----------------------------------------------------

// Asynchronous Event Type, completion DW0 bits 2:0.
inline constexpr uint8_t kAsyncEventTypeError = 0;
inline constexpr uint8_t kAsyncEventTypeSmartHealth = 1;
inline constexpr uint8_t kAsyncEventTypeNotice = 2;
inline constexpr uint8_t kAsyncEventTypeImmediate = 3;
inline constexpr uint8_t kAsyncEventTypeIoCommandSpecific = 6;
inline constexpr uint8_t kAsyncEventTypeVendorSpecific = 7;

// Asynchronous Event Information, DW0 bits 15:8, per type.
// Error status.
inline constexpr uint8_t kAenErrorInvalidDoorbellRegister = 0x00;
inline constexpr uint8_t kAenErrorInvalidDoorbellValue = 0x01;
inline constexpr uint8_t kAenErrorDiagnosticFailure = 0x02;
inline constexpr uint8_t kAenErrorPersistentInternal = 0x03;
inline constexpr uint8_t kAenErrorTransientInternal = 0x04;
inline constexpr uint8_t kAenErrorFirmwareImageLoad = 0x05;
// SMART / Health status.
inline constexpr uint8_t kAenSmartReliability = 0x00;
inline constexpr uint8_t kAenSmartTemperatureThreshold = 0x01;
inline constexpr uint8_t kAenSmartSpareBelowThreshold = 0x02;
// Notice.
inline constexpr uint8_t kAenNoticeNamespaceAttributeChanged =
    0x00;  // LID 0x04
inline constexpr uint8_t kAenNoticeFirmwareActivationStarting =
    0x01;  // LID 0x03
inline constexpr uint8_t kAenNoticeTelemetryLogChanged = 0x02;
inline constexpr uint8_t kAenNoticeAnaChange = 0x03;
inline constexpr uint8_t kAenNoticePredictableLatencyAggregate = 0x04;
inline constexpr uint8_t kAenNoticeLbaStatusAlert = 0x05;
inline constexpr uint8_t kAenNoticeEnduranceGroupEventAggregate = 0x06;
inline constexpr uint8_t kAenNoticeDiscoveryLogChanged = 0xF0;  // LID 0x70
// I/O command specific status.
inline constexpr uint8_t kAenIoReservationLogAvailable = 0x00;
inline constexpr uint8_t kAenIoSanitizeCompleted = 0x01;
inline constexpr uint8_t kAenIoSanitizeCompletedUnexpectedDeallocation = 0x02;

// Completion DW0 of an Asynchronous Event Request: type 2:0, information
// 15:8, the log page to read (and so clear the event) 23:16.
struct AsyncEvent {
  uint8_t type = 0;  // 3 bits
  uint8_t info = 0;
  uint8_t lid = 0;
  constexpr uint32_t ToDw0() const {
    return uint32_t{type & 0x7u} | (uint32_t{info} << 8) |
           (uint32_t{lid} << 16);
  }
  static constexpr AsyncEvent FromDw0(uint32_t dw0) {
    return {static_cast<uint8_t>(dw0 & 0x7),
            static_cast<uint8_t>((dw0 >> 8) & 0xFF),
            static_cast<uint8_t>((dw0 >> 16) & 0xFF)};
  }
  friend bool operator==(const AsyncEvent&, const AsyncEvent&) = default;
};

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_FEATURES_H_
