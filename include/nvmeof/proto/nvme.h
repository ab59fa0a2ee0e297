// The NVMe submission and completion queue entries, SGL descriptors and
// opcodes: the wire structures shared by every layer.
//
// All multi-byte fields are little-endian on the wire. nvmeof builds only for
// little-endian hosts (checked below), so these structures are read and
// written in place. Sources: NVM Express Base Specification 2.0, sections
// 4.1 (SQE), 4.2 (CQE), 4.3.2 (SGL); NVMe over Fabrics 1.1, section 2.

#ifndef NVMEOF_PROTO_NVME_H_
#define NVMEOF_PROTO_NVME_H_

#include <bit>
#include <cstddef>
#include <cstdint>

#include "nvmeof/proto/status_codes.h"

namespace nvmeof {

static_assert(std::endian::native == std::endian::little,
              "nvmeof reads wire structures in place: little-endian only");

// SGL descriptor (Base spec 4.3.2), 16 bytes. Byte 15 holds the descriptor
// type in bits 7:4 and the subtype in bits 3:0.
struct SglDescriptor {
  uint64_t address;
  uint32_t length;
  uint8_t reserved[3];
  uint8_t type;  // (type << 4) | subtype
};
static_assert(sizeof(SglDescriptor) == 16);
static_assert(offsetof(SglDescriptor, length) == 8);
static_assert(offsetof(SglDescriptor, type) == 15);

// SGL descriptor types and subtypes as NVMe/TCP uses them (TCP transport
// spec 3.5.2): in-capsule data is a Data Block with the Offset subtype; data
// moved by R2T/H2CData or C2HData is a Transport Data Block, subtype
// transport specific.
inline constexpr uint8_t kSglTypeDataBlock = 0x0;
inline constexpr uint8_t kSglTypeTransportDataBlock = 0x5;
inline constexpr uint8_t kSglSubtypeAddress = 0x0;
inline constexpr uint8_t kSglSubtypeOffset = 0x1;
inline constexpr uint8_t kSglSubtypeTransport = 0xA;
inline constexpr uint8_t kSglIcdType =
    (kSglTypeDataBlock << 4) | kSglSubtypeOffset;  // 0x01
inline constexpr uint8_t kSglTransportType =
    (kSglTypeTransportDataBlock << 4) | kSglSubtypeTransport;  // 0x5A

// Submission queue entry (Base spec 4.1), 64 bytes.
struct Sqe {
  uint8_t opcode;
  uint8_t flags;  // FUSE bits 1:0, PSDT bits 7:6
  uint16_t cid;
  uint32_t nsid;
  uint32_t cdw2;
  uint32_t cdw3;
  uint64_t mptr;
  SglDescriptor sgl1;  // DPTR
  uint32_t cdw10;
  uint32_t cdw11;
  uint32_t cdw12;
  uint32_t cdw13;
  uint32_t cdw14;
  uint32_t cdw15;
};
static_assert(sizeof(Sqe) == 64);
static_assert(offsetof(Sqe, cid) == 2);
static_assert(offsetof(Sqe, nsid) == 4);
static_assert(offsetof(Sqe, mptr) == 16);
static_assert(offsetof(Sqe, sgl1) == 24);
static_assert(offsetof(Sqe, cdw10) == 40);
static_assert(offsetof(Sqe, cdw15) == 60);

// PSDT (SQE flags bits 7:6): 01b = SGLs for the data, as fabrics requires.
inline constexpr uint8_t kSqeFlagsPsdtMask = 0xC0;
inline constexpr uint8_t kSqeFlagsPsdtSgl = 0x40;
inline constexpr uint8_t kSqeFlagsFuseMask = 0x03;

// Completion queue entry (Base spec 4.2), 16 bytes.
struct Cqe {
  uint32_t dw0;  // command specific
  uint32_t dw1;
  uint16_t sqhd;
  uint16_t sqid;
  uint16_t cid;
  uint16_t status;  // phase bit 0, then NvmeStatus::ToCqeStatus() bits 15:1
};
static_assert(sizeof(Cqe) == 16);
static_assert(offsetof(Cqe, sqhd) == 8);
static_assert(offsetof(Cqe, sqid) == 10);
static_assert(offsetof(Cqe, cid) == 12);
static_assert(offsetof(Cqe, status) == 14);

// Admin command opcodes (Base spec 5, figure 28).
enum class AdminOpcode : uint8_t {
  kDeleteIoSq = 0x00,
  kCreateIoSq = 0x01,
  kGetLogPage = 0x02,
  kDeleteIoCq = 0x04,
  kCreateIoCq = 0x05,
  kIdentify = 0x06,
  kAbort = 0x08,
  kSetFeatures = 0x09,
  kGetFeatures = 0x0A,
  kAsyncEventRequest = 0x0C,
  kNamespaceManagement = 0x0D,
  kFirmwareCommit = 0x10,
  kFirmwareDownload = 0x11,
  kNamespaceAttachment = 0x15,
  kKeepAlive = 0x18,
  kDirectiveSend = 0x19,
  kDirectiveReceive = 0x1A,
  kFormatNvm = 0x80,
  kSecuritySend = 0x81,
  kSecurityReceive = 0x82,
  kSanitize = 0x84,
};

// NVM command set opcodes (NVM Command Set spec 3, figure 15).
enum class NvmOpcode : uint8_t {
  kFlush = 0x00,
  kWrite = 0x01,
  kRead = 0x02,
  kWriteUncorrectable = 0x04,
  kCompare = 0x05,
  kWriteZeroes = 0x08,
  kDatasetManagement = 0x09,
  kVerify = 0x0C,
  kReservationRegister = 0x0D,
  kReservationReport = 0x0E,
  kReservationAcquire = 0x11,
  kReservationRelease = 0x15,
  kCopy = 0x19,
};

// The Fabrics command opcode; the command type is in FCTYPE (byte 4).
inline constexpr uint8_t kFabricsOpcode = 0x7F;

// Data transfer direction encoded in opcode bits 1:0 (Base spec 5):
// 01b host to controller, 10b controller to host, 11b bidirectional.
enum class DataDirection : uint8_t {
  kNone = 0,
  kHostToController = 1,
  kControllerToHost = 2,
  kBidirectional = 3
};
inline constexpr DataDirection OpcodeDataDirection(uint8_t opcode) {
  return static_cast<DataDirection>(opcode & 0x3);
}

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_NVME_H_
