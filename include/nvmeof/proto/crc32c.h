// CRC32C (Castagnoli), the NVMe/TCP header and data digest (TCP transport
// spec 3.6.2; the same CRC as iSCSI, RFC 3720 B.4): initial value and final
// XOR 0xFFFFFFFF. Computed by ISA-L's crc32_iscsi, which uses the SSE4.2 /
// PCLMUL instructions where the CPU has them.

#ifndef NVMEOF_PROTO_CRC32C_H_
#define NVMEOF_PROTO_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace nvmeof {

// A running CRC32C over pieces of one message (a data digest over a
// scatter-gather list, or over data that arrives in several reads).
class Crc32c {
 public:
  Crc32c() = default;
  void Update(const void* data, size_t len);
  void Update(std::span<const uint8_t> data) {
    Update(data.data(), data.size());
  }
  // The digest of everything passed to Update, as it goes on the wire
  // (little-endian u32).
  uint32_t Finish() const { return ~state_; }

 private:
  uint32_t state_ = 0xFFFFFFFFu;
};

// The digest of one buffer.
uint32_t ComputeCrc32c(const void* data, size_t len);

}  // namespace nvmeof

#endif  // NVMEOF_PROTO_CRC32C_H_
