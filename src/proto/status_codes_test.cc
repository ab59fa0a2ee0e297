#include "nvmeof/proto/status_codes.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace nvmeof {
namespace {

constexpr NvmeStatus Cs(uint8_t code) { return CommandSpecificStatus(code); }

TEST(NvmeStatusNameTest, SpecNames) {
  EXPECT_EQ(NvmeStatusName(kNvmeSuccess), "Success");
  EXPECT_EQ(NvmeStatusName(GenericStatus(sc::kInvalidOpcode)),
            "Invalid Command Opcode");
  EXPECT_EQ(NvmeStatusName(GenericStatus(sc::kInvalidField)),
            "Invalid Field in Command");
  EXPECT_EQ(NvmeStatusName(GenericStatus(sc::kLbaOutOfRange)),
            "LBA Out of Range");
  EXPECT_EQ(NvmeStatusName(GenericStatus(sc::kTransientTransportError)),
            "Transient Transport Error");
  EXPECT_EQ(NvmeStatusName(GenericStatus(sc::kKeepAliveTimerExpired)),
            "Keep Alive Timer Expired");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kInvalidLogPage)), "Invalid Log Page");
  EXPECT_EQ(NvmeStatusName(MediaStatus(sc::kUnrecoveredReadError)),
            "Unrecovered Read Error");
  EXPECT_EQ(NvmeStatusName(
                MakeStatus(StatusCodeType::kPathRelated, sc::kAnaTransition)),
            "Asymmetric Access Transition");
  EXPECT_EQ(NvmeStatusName(MakeStatus(StatusCodeType::kVendorSpecific, 0x42)),
            "Vendor Specific Status");
}

TEST(NvmeStatusNameTest, FabricsSelectsCommandSetNames) {
  EXPECT_EQ(NvmeStatusName(Cs(sc::kConnectInvalidParameters), true),
            "Connect Invalid Parameters");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kConnectInvalidParameters), false),
            "Attempted Write to Read Only Range");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kIncompatibleFormat), true),
            "Incompatible Format");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kConflictingAttributes), false),
            "Conflicting Attributes");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kConnectInvalidHost), true),
            "Connect Invalid Host");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kConnectInvalidHost), false),
            "Unknown Status");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kAuthenticationRequired), true),
            "Authentication Required");
  // Codes below 0x80 are the same with or without fabrics.
  EXPECT_EQ(NvmeStatusName(Cs(sc::kInvalidQueueSize), true),
            "Invalid Queue Size");
  EXPECT_EQ(NvmeStatusName(Cs(sc::kInvalidQueueSize), false),
            "Invalid Queue Size");
}

TEST(NvmeStatusNameTest, UnknownCodes) {
  EXPECT_EQ(NvmeStatusName(GenericStatus(0x7F)), "Unknown Status");
  EXPECT_EQ(NvmeStatusName(Cs(0x7F), true), "Unknown Status");
  EXPECT_EQ(NvmeStatusName(MediaStatus(0x10)), "Unknown Status");
  EXPECT_EQ(NvmeStatusName(MakeStatus(static_cast<StatusCodeType>(5), 0)),
            "Unknown Status");
}

TEST(NvmeStatusNameTest, EveryNamedCodeHasADistinctName) {
  const uint8_t generic[] = {sc::kSuccess,
                             sc::kInvalidOpcode,
                             sc::kInvalidField,
                             sc::kCommandIdConflict,
                             sc::kDataTransferError,
                             sc::kAbortedPowerLoss,
                             sc::kInternalError,
                             sc::kAbortRequested,
                             sc::kAbortedSqDeletion,
                             sc::kAbortedFailedFused,
                             sc::kAbortedMissingFused,
                             sc::kInvalidNamespaceOrFormat,
                             sc::kCommandSequenceError,
                             sc::kInvalidSglSegmentDescriptor,
                             sc::kInvalidNumberOfSglDescriptors,
                             sc::kDataSglLengthInvalid,
                             sc::kMetadataSglLengthInvalid,
                             sc::kSglDescriptorTypeInvalid,
                             sc::kInvalidUseOfCmb,
                             sc::kPrpOffsetInvalid,
                             sc::kAtomicWriteUnitExceeded,
                             sc::kOperationDenied,
                             sc::kSglOffsetInvalid,
                             sc::kHostIdentifierInconsistentFormat,
                             sc::kKeepAliveTimerExpired,
                             sc::kKeepAliveTimeoutInvalid,
                             sc::kAbortedPreemptAbort,
                             sc::kSanitizeFailed,
                             sc::kSanitizeInProgress,
                             sc::kSglDataBlockGranularityInvalid,
                             sc::kNamespaceWriteProtected,
                             sc::kCommandInterrupted,
                             sc::kTransientTransportError,
                             sc::kLbaOutOfRange,
                             sc::kCapacityExceeded,
                             sc::kNamespaceNotReady,
                             sc::kReservationConflict,
                             sc::kFormatInProgress};
  const uint8_t command_specific[] = {sc::kCompletionQueueInvalid,
                                      sc::kInvalidQueueIdentifier,
                                      sc::kInvalidQueueSize,
                                      sc::kAbortCommandLimitExceeded,
                                      sc::kAsyncEventRequestLimitExceeded,
                                      sc::kInvalidFirmwareSlot,
                                      sc::kInvalidFirmwareImage,
                                      sc::kInvalidLogPage,
                                      sc::kInvalidFormat,
                                      sc::kFeatureIdNotSaveable,
                                      sc::kFeatureNotChangeable,
                                      sc::kFeatureNotNamespaceSpecific};
  const uint8_t nvm[] = {sc::kConflictingAttributes,
                         sc::kInvalidProtectionInformation,
                         sc::kAttemptedWriteToReadOnlyRange};
  const uint8_t fabrics[] = {
      sc::kIncompatibleFormat,       sc::kControllerBusy,
      sc::kConnectInvalidParameters, sc::kConnectRestartDiscovery,
      sc::kConnectInvalidHost,       sc::kInvalidQueueType,
      sc::kDiscoverRestart,          sc::kAuthenticationRequired};
  const uint8_t media[] = {sc::kWriteFault,
                           sc::kUnrecoveredReadError,
                           sc::kEndToEndGuardCheckError,
                           sc::kEndToEndApplicationTagCheckError,
                           sc::kEndToEndReferenceTagCheckError,
                           sc::kCompareFailure,
                           sc::kAccessDenied,
                           sc::kDeallocatedOrUnwrittenBlock};
  const uint8_t path[] = {sc::kInternalPathError,      sc::kAnaPersistentLoss,
                          sc::kAnaInaccessible,        sc::kAnaTransition,
                          sc::kControllerPathingError, sc::kHostPathingError,
                          sc::kCommandAbortedByHost};
  std::set<std::string_view> names;
  size_t count = 0;
  auto check = [&](NvmeStatus s, bool fabrics_names) {
    const std::string_view name = NvmeStatusName(s, fabrics_names);
    EXPECT_NE(name, "Unknown Status") << NvmeStatusToString(s, fabrics_names);
    names.insert(name);
    ++count;
  };
  for (uint8_t c : generic) check(GenericStatus(c), false);
  for (uint8_t c : command_specific) check(Cs(c), false);
  for (uint8_t c : nvm) check(Cs(c), false);
  for (uint8_t c : fabrics) check(Cs(c), true);
  for (uint8_t c : media) check(MediaStatus(c), false);
  for (uint8_t c : path)
    check(MakeStatus(StatusCodeType::kPathRelated, c), false);
  EXPECT_EQ(names.size(), count);  // no two codes share a name
}

TEST(NvmeStatusToStringTest, Format) {
  EXPECT_EQ(NvmeStatusToString(GenericStatus(sc::kInvalidField, true)),
            "Invalid Field in Command (sct 0x0, sc 0x02, dnr)");
  EXPECT_EQ(NvmeStatusToString(Cs(sc::kConnectInvalidHost), true),
            "Connect Invalid Host (sct 0x1, sc 0x84, dnr)");
  EXPECT_EQ(NvmeStatusToString(kNvmeSuccess), "Success (sct 0x0, sc 0x00)");
}

}  // namespace
}  // namespace nvmeof
