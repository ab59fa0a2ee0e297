#include "nvmeof/proto/status_codes.h"

#include <cstdio>

namespace nvmeof {
namespace {

// Names as the spec and nvme-cli (libnvme nvme_status_to_string) give them,
// without nvme-cli's explanation after the colon.
std::string_view GenericName(uint8_t code) {
  switch (code) {
    case sc::kSuccess:
      return "Success";
    case sc::kInvalidOpcode:
      return "Invalid Command Opcode";
    case sc::kInvalidField:
      return "Invalid Field in Command";
    case sc::kCommandIdConflict:
      return "Command ID Conflict";
    case sc::kDataTransferError:
      return "Data Transfer Error";
    case sc::kAbortedPowerLoss:
      return "Commands Aborted due to Power Loss Notification";
    case sc::kInternalError:
      return "Internal Error";
    case sc::kAbortRequested:
      return "Command Abort Requested";
    case sc::kAbortedSqDeletion:
      return "Command Aborted due to SQ Deletion";
    case sc::kAbortedFailedFused:
      return "Command Aborted due to Failed Fused Command";
    case sc::kAbortedMissingFused:
      return "Command Aborted due to Missing Fused Command";
    case sc::kInvalidNamespaceOrFormat:
      return "Invalid Namespace or Format";
    case sc::kCommandSequenceError:
      return "Command Sequence Error";
    case sc::kInvalidSglSegmentDescriptor:
      return "Invalid SGL Segment Descriptor";
    case sc::kInvalidNumberOfSglDescriptors:
      return "Invalid Number of SGL Descriptors";
    case sc::kDataSglLengthInvalid:
      return "Data SGL Length Invalid";
    case sc::kMetadataSglLengthInvalid:
      return "Metadata SGL Length Invalid";
    case sc::kSglDescriptorTypeInvalid:
      return "SGL Descriptor Type Invalid";
    case sc::kInvalidUseOfCmb:
      return "Invalid Use of Controller Memory Buffer";
    case sc::kPrpOffsetInvalid:
      return "PRP Offset Invalid";
    case sc::kAtomicWriteUnitExceeded:
      return "Atomic Write Unit Exceeded";
    case sc::kOperationDenied:
      return "Operation Denied";
    case sc::kSglOffsetInvalid:
      return "SGL Offset Invalid";
    case sc::kHostIdentifierInconsistentFormat:
      return "Host Identifier Inconsistent Format";
    case sc::kKeepAliveTimerExpired:
      return "Keep Alive Timer Expired";
    case sc::kKeepAliveTimeoutInvalid:
      return "Keep Alive Timeout Invalid";
    case sc::kAbortedPreemptAbort:
      return "Command Aborted due to Preempt and Abort";
    case sc::kSanitizeFailed:
      return "Sanitize Failed";
    case sc::kSanitizeInProgress:
      return "Sanitize In Progress";
    case sc::kSglDataBlockGranularityInvalid:
      return "SGL Data Block Granularity Invalid";
    case sc::kNamespaceWriteProtected:
      return "Namespace is Write Protected";
    case sc::kCommandInterrupted:
      return "Command Interrupted";
    case sc::kTransientTransportError:
      return "Transient Transport Error";
    case sc::kLbaOutOfRange:
      return "LBA Out of Range";
    case sc::kCapacityExceeded:
      return "Capacity Exceeded";
    case sc::kNamespaceNotReady:
      return "Namespace Not Ready";
    case sc::kReservationConflict:
      return "Reservation Conflict";
    case sc::kFormatInProgress:
      return "Format In Progress";
    default:
      return "Unknown Status";
  }
}

std::string_view CommandSpecificName(uint8_t code, bool fabrics) {
  switch (code) {
    case sc::kCompletionQueueInvalid:
      return "Completion Queue Invalid";
    case sc::kInvalidQueueIdentifier:
      return "Invalid Queue Identifier";
    case sc::kInvalidQueueSize:
      return "Invalid Queue Size";
    case sc::kAbortCommandLimitExceeded:
      return "Abort Command Limit Exceeded";
    case sc::kAsyncEventRequestLimitExceeded:
      return "Asynchronous Event Request Limit Exceeded";
    case sc::kInvalidFirmwareSlot:
      return "Invalid Firmware Slot";
    case sc::kInvalidFirmwareImage:
      return "Invalid Firmware Image";
    case sc::kInvalidLogPage:
      return "Invalid Log Page";
    case sc::kInvalidFormat:
      return "Invalid Format";
    case sc::kFeatureIdNotSaveable:
      return "Feature Identifier Not Saveable";
    case sc::kFeatureNotChangeable:
      return "Feature Not Changeable";
    case sc::kFeatureNotNamespaceSpecific:
      return "Feature Not Namespace Specific";
    default:
      break;
  }
  // SC 0x80 and up are defined per command set: Fabrics or NVM.
  if (fabrics) {
    switch (code) {
      case sc::kIncompatibleFormat:
        return "Incompatible Format";
      case sc::kControllerBusy:
        return "Controller Busy";
      case sc::kConnectInvalidParameters:
        return "Connect Invalid Parameters";
      case sc::kConnectRestartDiscovery:
        return "Connect Restart Discovery";
      case sc::kConnectInvalidHost:
        return "Connect Invalid Host";
      case sc::kInvalidQueueType:
        return "Invalid Queue Type";
      case sc::kDiscoverRestart:
        return "Discover Restart";
      case sc::kAuthenticationRequired:
        return "Authentication Required";
      default:
        return "Unknown Status";
    }
  }
  switch (code) {
    case sc::kConflictingAttributes:
      return "Conflicting Attributes";
    case sc::kInvalidProtectionInformation:
      return "Invalid Protection Information";
    case sc::kAttemptedWriteToReadOnlyRange:
      return "Attempted Write to Read Only Range";
    default:
      return "Unknown Status";
  }
}

std::string_view MediaName(uint8_t code) {
  switch (code) {
    case sc::kWriteFault:
      return "Write Fault";
    case sc::kUnrecoveredReadError:
      return "Unrecovered Read Error";
    case sc::kEndToEndGuardCheckError:
      return "End-to-end Guard Check Error";
    case sc::kEndToEndApplicationTagCheckError:
      return "End-to-end Application Tag Check Error";
    case sc::kEndToEndReferenceTagCheckError:
      return "End-to-end Reference Tag Check Error";
    case sc::kCompareFailure:
      return "Compare Failure";
    case sc::kAccessDenied:
      return "Access Denied";
    case sc::kDeallocatedOrUnwrittenBlock:
      return "Deallocated or Unwritten Logical Block";
    default:
      return "Unknown Status";
  }
}

std::string_view PathName(uint8_t code) {
  switch (code) {
    case sc::kInternalPathError:
      return "Internal Path Error";
    case sc::kAnaPersistentLoss:
      return "Asymmetric Access Persistent Loss";
    case sc::kAnaInaccessible:
      return "Asymmetric Access Inaccessible";
    case sc::kAnaTransition:
      return "Asymmetric Access Transition";
    case sc::kControllerPathingError:
      return "Controller Pathing Error";
    case sc::kHostPathingError:
      return "Host Pathing Error";
    case sc::kCommandAbortedByHost:
      return "Command Aborted By Host";
    default:
      return "Unknown Status";
  }
}

}  // namespace

std::string_view NvmeStatusName(NvmeStatus status, bool fabrics) {
  switch (status.sct) {
    case StatusCodeType::kGeneric:
      return GenericName(status.sc);
    case StatusCodeType::kCommandSpecific:
      return CommandSpecificName(status.sc, fabrics);
    case StatusCodeType::kMediaError:
      return MediaName(status.sc);
    case StatusCodeType::kPathRelated:
      return PathName(status.sc);
    case StatusCodeType::kVendorSpecific:
      return "Vendor Specific Status";
  }
  return "Unknown Status";
}

std::string NvmeStatusToString(NvmeStatus status, bool fabrics) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), " (sct 0x%x, sc 0x%02x%s)",
                static_cast<unsigned>(status.sct), status.sc,
                status.dnr ? ", dnr" : "");
  return std::string(NvmeStatusName(status, fabrics)) + buf;
}

}  // namespace nvmeof
