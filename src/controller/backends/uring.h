// The "file" and "block" backends: a regular file or a block device,
// through io_uring (liburing).
//
// Settings: "path" (required), "size" (file only; see below), "direct"
// (O_DIRECT, default false).
//
// Both types share one implementation: the Backend owns the open fd
// (O_DIRECT when "direct"), each BackendQueue owns an io_uring on its loop's
// thread.
//
// Opening:
//  - file: a regular file. Created (mode 0644), or extended sparsely, to
//    "size" if it is missing or smaller; size 0 exports the
//    file's size. A read-only backend never creates or extends.
//  - block: a block device. Its size comes from BLKGETSIZE64 (a nonzero
//    "size" exports only that much of it); BLKSSZGET must
//    report a logical block size no larger than block_size. I/O goes through
//    exactly the same io_uring path as a file.
//  - direct: after opening, one block is read with O_DIRECT into an aligned
//    buffer, so that a filesystem that refuses O_DIRECT, or needs a larger
//    alignment than block_size, fails Open() with a clear message instead of
//    failing every I/O later. With O_DIRECT every buffer given to the queue
//    must be aligned to the device's logical block size in address and
//    length (the controller's buffers are 4 KiB aligned); a misaligned one
//    fails with Internal Error (EINVAL).
//
// The queue:
//  - at most kUringQueueDepth operations are in the kernel at a time, each
//    in a preallocated slot; the rest wait in an intrusive FIFO and are
//    submitted as slots free up. Nothing is allocated per operation once
//    the pool of operation nodes has grown to the peak concurrency.
//  - SQEs are prepared as operations arrive and submitted once per loop
//    turn (an EventLoop task calls io_uring_submit).
//  - Read/Write: IORING_OP_READV/WRITEV on the caller's iovecs (copied into
//    the slot, kUringMaxSegments at a time: a longer list is transferred in
//    several steps). FUA writes carry RWF_DSYNC. Short transfers are
//    continued where they stopped; -EAGAIN is retried. A read that reaches
//    the end of the file early (the file shrank) fails like an EIO.
//  - Flush: IORING_OP_FSYNC with IORING_FSYNC_DATASYNC (fdatasync).
//  - WriteZeroes: IORING_OP_FALLOCATE(FALLOC_FL_ZERO_RANGE | KEEP_SIZE) -
//    for a block device the kernel turns it into the BLKZEROOUT operation;
//    where that is not supported, zeros are written from a static buffer.
//  - Deallocate: IORING_OP_FALLOCATE(FALLOC_FL_PUNCH_HOLE | KEEP_SIZE) -
//    for a block device a discard that guarantees zeros (unlike BLKDISCARD,
//    which does not say what reads return); if unsupported, WriteZeroes.
//    Either way the range reads as zeros afterwards.
//  - Completions: an eventfd registered with io_uring_register_eventfd and
//    watched by the loop; on readiness every CQE is reaped and its callback
//    run (never inside the call that started the operation).
//  - Errors: the CQE's errno through ErrnoToNvmeStatus() (backend.h).

#ifndef NVMEOF_CONTROLLER_BACKENDS_URING_H_
#define NVMEOF_CONTROLLER_BACKENDS_URING_H_

#include <cstddef>
#include <memory>

#include "controller/backend_registry.h"

namespace nvmeof::controller {

// SQ entries of each queue's ring, and operations in the kernel at a time.
inline constexpr unsigned kUringQueueDepth = 256;
// iovecs per SQE; a longer scatter-gather list is transferred in steps.
inline constexpr size_t kUringMaxSegments = 16;

std::unique_ptr<BackendPlugin> MakeFileBackendPlugin();
std::unique_ptr<BackendPlugin> MakeBlockBackendPlugin();

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BACKENDS_URING_H_
