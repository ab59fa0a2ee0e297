// What every backend shares (nvmeof/backend.h).

#include "nvmeof/backend.h"

#include <cerrno>

namespace nvmeof {

NvmeStatus ErrnoToNvmeStatus(int err) {
  switch (err) {
    case 0:
      return kNvmeSuccess;
    case ENOSPC:
    case EDQUOT:
      return GenericStatus(sc::kCapacityExceeded, /*dnr=*/true);
    case EREMOTEIO:
      return GenericStatus(sc::kLbaOutOfRange, /*dnr=*/true);
    case EOPNOTSUPP:
      return GenericStatus(sc::kInvalidOpcode, /*dnr=*/true);
    case ENODATA:
      return MediaStatus(sc::kAccessDenied);
    case EIO:
    default:
      return GenericStatus(sc::kInternalError, /*dnr=*/true);
  }
}

NvmeStatus CheckRange(uint64_t offset, uint64_t length, uint64_t size,
                      uint32_t block_size) {
  if (offset % block_size != 0 || length % block_size != 0) {
    return GenericStatus(sc::kInvalidField, /*dnr=*/true);
  }
  if (offset > size || length > size - offset) {
    return GenericStatus(sc::kLbaOutOfRange, /*dnr=*/true);
  }
  return kNvmeSuccess;
}

Backend::~Backend() = default;

Status Backend::Sync() { return Status(); }

Status Backend::Grow(uint64_t /*new_size*/) {
  return UnimplementedError("this backend cannot be resized");
}

BackendQueue::~BackendQueue() = default;

MemDesc BackendQueue::Map(uint64_t /*offset*/, uint64_t /*length*/,
                          bool /*for_write*/) {
  return MemDesc();
}

}  // namespace nvmeof
