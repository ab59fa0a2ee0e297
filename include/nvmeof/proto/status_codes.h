// NVMe status: the status code type (SCT), status code (SC) and flags that a
// CQE carries (Base spec 4.2.3), and the named codes nvmeof uses.
//
// This is the second kind of error of DESIGN.md: a command that fails is a
// transport operation that succeeded, so an NvmeStatus is never a Status.

#ifndef NVMEOF_PROTO_STATUS_CODES_H_
#define NVMEOF_PROTO_STATUS_CODES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace nvmeof {

// Status code types (Base spec figure 93).
enum class StatusCodeType : uint8_t {
  kGeneric = 0x0,
  kCommandSpecific = 0x1,
  kMediaError = 0x2,
  kPathRelated = 0x3,
  kVendorSpecific = 0x7,
};

struct NvmeStatus {
  StatusCodeType sct = StatusCodeType::kGeneric;
  uint8_t sc = 0;
  bool dnr = false;   // Do Not Retry
  bool more = false;  // more information in the Error log
  uint8_t crd = 0;    // Command Retry Delay (0-3)

  bool ok() const { return sct == StatusCodeType::kGeneric && sc == 0; }

  // The CQE status field (bits 15:1; the phase bit 0 is left clear).
  constexpr uint16_t ToCqeStatus() const {
    return static_cast<uint16_t>(
        (dnr ? 1u << 15 : 0u) | (more ? 1u << 14 : 0u) |
        (uint32_t{crd & 0x3u} << 12) |
        (uint32_t{static_cast<uint8_t>(sct) & 0x7u} << 9) |
        (uint32_t{sc} << 1));
  }
  static constexpr NvmeStatus FromCqeStatus(uint16_t field) {
    NvmeStatus s;
    s.sc = static_cast<uint8_t>((field >> 1) & 0xFF);
    s.sct = static_cast<StatusCodeType>((field >> 9) & 0x7);
    s.crd = static_cast<uint8_t>((field >> 12) & 0x3);
    s.more = (field >> 14) & 1;
    s.dnr = (field >> 15) & 1;
    return s;
  }
  // SCT and SC as Linux prints them: (sct << 8) | sc, e.g. 0x182.
  constexpr uint16_t Code() const {
    return static_cast<uint16_t>((static_cast<uint16_t>(sct) << 8) | sc);
  }

  friend constexpr bool operator==(const NvmeStatus& a, const NvmeStatus& b) {
    return a.sct == b.sct && a.sc == b.sc && a.dnr == b.dnr &&
           a.more == b.more && a.crd == b.crd;
  }
};

constexpr NvmeStatus MakeStatus(StatusCodeType sct, uint8_t sc,
                                bool dnr = false) {
  NvmeStatus s;
  s.sct = sct;
  s.sc = sc;
  s.dnr = dnr;
  return s;
}

// Generic command status (Base spec figure 94; NVM Command Set figure 27).
namespace sc {
inline constexpr uint8_t kSuccess = 0x00;
inline constexpr uint8_t kInvalidOpcode = 0x01;
inline constexpr uint8_t kInvalidField = 0x02;
inline constexpr uint8_t kCommandIdConflict = 0x03;
inline constexpr uint8_t kDataTransferError = 0x04;
inline constexpr uint8_t kAbortedPowerLoss = 0x05;
inline constexpr uint8_t kInternalError = 0x06;
inline constexpr uint8_t kAbortRequested = 0x07;
inline constexpr uint8_t kAbortedSqDeletion = 0x08;
inline constexpr uint8_t kAbortedFailedFused = 0x09;
inline constexpr uint8_t kAbortedMissingFused = 0x0A;
inline constexpr uint8_t kInvalidNamespaceOrFormat = 0x0B;
inline constexpr uint8_t kCommandSequenceError = 0x0C;
inline constexpr uint8_t kInvalidSglSegmentDescriptor = 0x0D;
inline constexpr uint8_t kInvalidNumberOfSglDescriptors = 0x0E;
inline constexpr uint8_t kDataSglLengthInvalid = 0x0F;
inline constexpr uint8_t kMetadataSglLengthInvalid = 0x10;
inline constexpr uint8_t kSglDescriptorTypeInvalid = 0x11;
inline constexpr uint8_t kInvalidUseOfCmb = 0x12;
inline constexpr uint8_t kPrpOffsetInvalid = 0x13;
inline constexpr uint8_t kAtomicWriteUnitExceeded = 0x14;
inline constexpr uint8_t kOperationDenied = 0x15;
inline constexpr uint8_t kSglOffsetInvalid = 0x16;
inline constexpr uint8_t kHostIdentifierInconsistentFormat = 0x18;
inline constexpr uint8_t kKeepAliveTimerExpired = 0x19;
inline constexpr uint8_t kKeepAliveTimeoutInvalid = 0x1A;
inline constexpr uint8_t kAbortedPreemptAbort = 0x1B;
inline constexpr uint8_t kSanitizeFailed = 0x1C;
inline constexpr uint8_t kSanitizeInProgress = 0x1D;
inline constexpr uint8_t kSglDataBlockGranularityInvalid = 0x1E;
inline constexpr uint8_t kNamespaceWriteProtected = 0x20;
inline constexpr uint8_t kCommandInterrupted = 0x21;
inline constexpr uint8_t kTransientTransportError = 0x22;
// NVM command set, generic type.
inline constexpr uint8_t kLbaOutOfRange = 0x80;
inline constexpr uint8_t kCapacityExceeded = 0x81;
inline constexpr uint8_t kNamespaceNotReady = 0x82;
inline constexpr uint8_t kReservationConflict = 0x83;
inline constexpr uint8_t kFormatInProgress = 0x84;

// Command specific status (Base spec figure 95).
inline constexpr uint8_t kCompletionQueueInvalid = 0x00;
inline constexpr uint8_t kInvalidQueueIdentifier = 0x01;
inline constexpr uint8_t kInvalidQueueSize = 0x02;
inline constexpr uint8_t kAbortCommandLimitExceeded = 0x03;
inline constexpr uint8_t kAsyncEventRequestLimitExceeded = 0x05;
inline constexpr uint8_t kInvalidFirmwareSlot = 0x06;
inline constexpr uint8_t kInvalidFirmwareImage = 0x07;
inline constexpr uint8_t kInvalidLogPage = 0x09;
inline constexpr uint8_t kInvalidFormat = 0x0A;
inline constexpr uint8_t kFeatureIdNotSaveable = 0x0D;
inline constexpr uint8_t kFeatureNotChangeable = 0x0E;
inline constexpr uint8_t kFeatureNotNamespaceSpecific = 0x0F;
// NVM command set specific.
inline constexpr uint8_t kConflictingAttributes = 0x80;
inline constexpr uint8_t kInvalidProtectionInformation = 0x81;
inline constexpr uint8_t kAttemptedWriteToReadOnlyRange = 0x82;
// Fabrics command specific (Fabrics spec figure 9 / Base 2.0 figure 96).
inline constexpr uint8_t kIncompatibleFormat = 0x80;
inline constexpr uint8_t kControllerBusy = 0x81;
inline constexpr uint8_t kConnectInvalidParameters = 0x82;
inline constexpr uint8_t kConnectRestartDiscovery = 0x83;
inline constexpr uint8_t kConnectInvalidHost = 0x84;
inline constexpr uint8_t kInvalidQueueType = 0x85;
inline constexpr uint8_t kDiscoverRestart = 0x90;
inline constexpr uint8_t kAuthenticationRequired = 0x91;

// Media and data integrity errors (Base spec figure 97).
inline constexpr uint8_t kWriteFault = 0x80;
inline constexpr uint8_t kUnrecoveredReadError = 0x81;
inline constexpr uint8_t kEndToEndGuardCheckError = 0x82;
inline constexpr uint8_t kEndToEndApplicationTagCheckError = 0x83;
inline constexpr uint8_t kEndToEndReferenceTagCheckError = 0x84;
inline constexpr uint8_t kCompareFailure = 0x85;
inline constexpr uint8_t kAccessDenied = 0x86;
inline constexpr uint8_t kDeallocatedOrUnwrittenBlock = 0x87;

// Path related status (Base spec figure 98).
inline constexpr uint8_t kInternalPathError = 0x00;
inline constexpr uint8_t kAnaPersistentLoss = 0x01;
inline constexpr uint8_t kAnaInaccessible = 0x02;
inline constexpr uint8_t kAnaTransition = 0x03;
inline constexpr uint8_t kControllerPathingError = 0x60;
inline constexpr uint8_t kHostPathingError = 0x70;
inline constexpr uint8_t kCommandAbortedByHost = 0x71;
}  // namespace sc

// Shorthands for the statuses every layer returns.
inline constexpr NvmeStatus kNvmeSuccess{};
constexpr NvmeStatus GenericStatus(uint8_t code, bool dnr = false) {
  return MakeStatus(StatusCodeType::kGeneric, code, dnr);
}
constexpr NvmeStatus CommandSpecificStatus(uint8_t code, bool dnr = true) {
  return MakeStatus(StatusCodeType::kCommandSpecific, code, dnr);
}
constexpr NvmeStatus MediaStatus(uint8_t code, bool dnr = false) {
  return MakeStatus(StatusCodeType::kMediaError, code, dnr);
}

// A readable name: "Success", "Invalid Field in Command",
// "Connect Invalid Host", ... Command-specific codes are ambiguous between
// command sets; `fabrics` picks the fabrics names for SCT 1, SC >= 0x80.
std::string_view NvmeStatusName(NvmeStatus status, bool fabrics = false);
// "Invalid Field in Command (sct 0x0, sc 0x02, dnr)".
std::string NvmeStatusToString(NvmeStatus status, bool fabrics = false);

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_STATUS_CODES_H_
