#include "nvmeof/proto/crc32c.h"

#include <isa-l/crc.h>

namespace nvmeof {

// crc32_iscsi(buf, len, init) takes and returns the raw register: no final
// XOR, so chaining calls over pieces is just passing the state along.
void Crc32c::Update(const void* data, size_t len) {
  if (len == 0) return;
  state_ = crc32_iscsi(static_cast<unsigned char*>(const_cast<void*>(data)),
                       static_cast<int>(len), state_);
}

uint32_t ComputeCrc32c(const void* data, size_t len) {
  Crc32c c;
  c.Update(data, len);
  return c.Finish();
}

}  // namespace nvmeof
