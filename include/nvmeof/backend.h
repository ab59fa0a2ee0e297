// Namespace storage backends: where a namespace's blocks live.
//
// A Backend is one namespace's storage, opened before the namespace is
// served and then shared, read-only, by every I/O thread. Each I/O thread
// opens its own BackendQueue on its own event loop; a queue has no locks and
// is used only on that loop's thread.
//
// The backends the daemon knows (ram, null, file, block) are plug-ins of a
// registry keyed by type name (src/controller/backend_registry.h): each one
// reads its own config block and opens its storage. A program that embeds
// the target can also hand a Backend of its own to nvmeof::Target directly
// (examples/embed_target.cc).
//
// Data path: a queue allocates nothing, takes no lock and copies nothing
// per I/O in steady state. A backend whose memory can be addressed directly
// (ram) says so in its capabilities and maps byte ranges (Map): the
// controller then sends from and receives into that memory, with no copy at
// all.

#ifndef NVMEOF_BACKEND_H_
#define NVMEOF_BACKEND_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nvmeof/callback.h"
#include "nvmeof/callback_queue.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/mem_desc.h"
#include "nvmeof/proto/status_codes.h"
#include "nvmeof/status.h"

namespace nvmeof {

// What every backend is opened with, besides its own settings.
struct BackendOptions {
  uint32_t block_size = 512;  // the exported LBA size: 512 or 4096
  bool read_only = false;     // writes fail with Namespace Write Protected
};

// What a backend can do; the controller reads it, never the backend's type.
struct BackendCapabilities {
  // Queues map byte ranges of the backend's memory (BackendQueue::Map), so
  // that reads are sent from it and writes received into it directly.
  bool memory_mapped = false;
  // Completed writes may sit in a volatile cache until Flush (file, block);
  // without it Flush has nothing to do and the controller skips it.
  bool volatile_write_cache = false;
  // Reserved for a backend that executes whole NVMe commands itself (a
  // passthrough to a local NVMe device): the I/O command family would hand
  // such a namespace's commands to BackendQueue::Execute instead of
  // decoding them. No backend does yet; docs/ARCHITECTURE.md says where it
  // plugs in.
  bool whole_commands = false;
};

// Completion of a backend operation, with an NVMe status. It always runs
// later on the queue's loop thread, never inside the call that started the
// operation.
using BackendCallback = Callback<void(NvmeStatus)>;
// Completions a queue delivers later on its loop, counting its in_flight().
using BackendCompletions = CallbackQueue<NvmeStatus>;

// The NVMe status for an errno from the OS, as Linux nvmet maps them
// (drivers/nvme/target/core.c errno_to_nvme_status(), the errno side of
// io-cmd-bdev.c blk_to_nvme_status()):
//   0                 -> Success
//   ENOSPC, EDQUOT    -> Capacity Exceeded, DNR   (EDQUOT: our addition)
//   EREMOTEIO         -> LBA Out of Range, DNR
//   EOPNOTSUPP        -> Invalid Command Opcode, DNR
//   ENODATA           -> Access Denied (media and data integrity)
//   EIO and the rest  -> Internal Error, DNR
// nvmet never reports Write Fault or Unrecovered Read Error from an errno
// (an EIO does not say which it was), and neither do we.
NvmeStatus ErrnoToNvmeStatus(int err);

// The status for an operation on [offset, offset + length) of a backend of
// `size` bytes: Success, LBA Out of Range (DNR) past the end, or Invalid
// Field in Command (DNR) if offset or length is not a multiple of
// `block_size`. A zero length is valid.
NvmeStatus CheckRange(uint64_t offset, uint64_t length, uint64_t size,
                      uint32_t block_size);

class BackendQueue;

// One backend per namespace, shared by every I/O thread. Thread-safe: after
// it is opened nothing in it changes.
class Backend {
 public:
  // REQUIRES: every queue opened from this backend has been destroyed.
  virtual ~Backend();

  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const BackendOptions& options() const { return options_; }
  // The size grows (Grow) while queues run: read per operation.
  uint64_t size_bytes() const { return size_.load(std::memory_order_acquire); }
  uint32_t block_size() const { return options_.block_size; }
  uint64_t num_blocks() const { return size_bytes() / options_.block_size; }
  bool read_only() const { return options_.read_only; }

  virtual BackendCapabilities capabilities() const = 0;
  // Makes every completed write durable, synchronously (fdatasync for
  // file and block; nothing to do for ram and null). For shutdown, when no
  // loop runs any more: never on the data path.
  virtual Status Sync();

  // Opens a queue for the calling thread, whose loop is `loop`; the queue
  // belongs to that loop. Thread-safe; call it on the loop's thread.
  // REQUIRES: `loop` outlives the queue; the queue does not outlive *this.
  virtual Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) = 0;

  // Grows the backend to `new_size` bytes (a multiple of the block size,
  // not smaller than now) while its queues run: the new range is usable
  // when this returns. From the controlling thread. Backends that cannot
  // grow fail with the reason (the default).
  virtual Status Grow(uint64_t new_size);

 protected:
  // REQUIRES: `size` is a multiple of options.block_size.
  Backend(const BackendOptions& options, uint64_t size)
      : options_(options), size_(size) {}
  // For Grow(): after the new range is ready.
  void set_size(uint64_t size) {
    size_.store(size, std::memory_order_release);
  }

 private:
  const BackendOptions options_;
  std::atomic<uint64_t> size_;  // bytes
};

// A backend's I/O queue on one loop. Loop thread only; no locks.
//
// Offsets and lengths are in bytes. The controller checks them against the
// namespace before calling; a queue still checks them and answers a bad one
// with a status instead of crashing: LBA Out of Range (DNR) beyond the end,
// Invalid Field in Command (DNR) for an offset or length that is not a
// multiple of the block size. Writes, WriteZeroes and Deallocate on a
// read-only backend fail with Namespace Write Protected (DNR).
//
// Every operation completes exactly once through its callback, later on the
// loop (never inside the call). The caller keeps the memory of a MemDesc,
// and its iovec array, valid until that callback has run. Operations may
// complete in any order; the caller orders dependent ones (NVMe does not
// order commands either).
//
// Do not destroy a queue from inside one of its callbacks (defer it with
// EventLoop::Defer): the callbacks still due in that turn would be dropped.
class BackendQueue {
 public:
  // REQUIRES: in_flight() == 0 (the controller waits for every callback
  // before it closes). If that does not hold (e.g. at process teardown) the
  // destructor still leaves no dangling I/O: it waits for the kernel to
  // finish the operations it already has, then destroys the callbacks of
  // every unfinished operation without calling them.
  virtual ~BackendQueue();

  BackendQueue(const BackendQueue&) = delete;
  BackendQueue& operator=(const BackendQueue&) = delete;

  // Zero copy (capabilities().memory_mapped): the backend's own memory for
  // [offset, offset + length), valid as long as the backend, which the
  // caller may read (a Read's data) or, with `for_write`, fill (a Write's
  // data) instead of calling Read or Write. An empty MemDesc when the
  // backend has no such memory or the range is out of bounds.
  virtual MemDesc Map(uint64_t offset, uint64_t length, bool for_write);

  // Reads dst.length() bytes at `offset` into `dst`.
  virtual void Read(uint64_t offset, const MemDesc& dst,
                    BackendCallback done) = 0;
  // Writes src.length() bytes from `src` at `offset`. With `fua` the data is
  // durable (on media) when `done` runs with success (file, block: RWF_DSYNC;
  // ram and null have no media beyond their memory and ignore it).
  virtual void Write(uint64_t offset, const MemDesc& src, bool fua,
                     BackendCallback done) = 0;
  // Makes every write that completed before this call durable (fdatasync
  // for file and block; nothing to do for ram and null).
  virtual void Flush(BackendCallback done) = 0;
  // Writes zeros over [offset, offset + length).
  virtual void WriteZeroes(uint64_t offset, uint64_t length,
                           BackendCallback done) = 0;
  // Deallocates [offset, offset + length) (Dataset Management, attribute
  // AD). Afterwards the range reads as zeros on every kind (null reads zeros
  // anyway): the controller may advertise DLFEAT "deallocated blocks read
  // as 0x00".
  virtual void Deallocate(uint64_t offset, uint64_t length,
                          BackendCallback done) = 0;

  // Operations started and whose callback has not run yet.
  size_t in_flight() const { return in_flight_; }

 protected:
  BackendQueue() = default;

  size_t in_flight_ = 0;
};

}  // namespace nvmeof

#endif  // NVMEOF_BACKEND_H_
