// Namespace storage backends: where a namespace's blocks live.
//
// One Backend per namespace, opened from its configuration before the
// target starts and then shared, read-only, by every I/O thread. Each I/O
// thread opens its own BackendQueue on its own event loop; a queue has no
// locks and is used only on that loop's thread.
//
// Kinds:
//  - ram:   anonymous memory (mmap, MAP_NORESERVE: pages cost nothing until
//           written); memory() exposes it for zero-copy transfers.
//  - null:  reads return zeros, writes are discarded (for benchmarks).
//  - file:  a regular file, through io_uring (uring_backend.h).
//  - block: a block device, through the same io_uring path as a file.
//
// Data path: no heap allocation, no lock and no copy per I/O in steady
// state (a ram queue copies between the caller's buffer and its memory:
// that is the fallback when the controller cannot use memory() directly).
// Request nodes come from per-queue pools that grow in chunks to the
// highest concurrency seen and are then recycled.

#ifndef NVMEOF_CONTROLLER_BACKEND_H_
#define NVMEOF_CONTROLLER_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/callback_queue.h"
#include "nvmeof/callback.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/mem_desc.h"
#include "nvmeof/proto/status_codes.h"
#include "nvmeof/status.h"

namespace nvmeof::controller {

struct BackendConfig {
  enum class Kind { kRam, kNull, kFile, kBlock } kind = Kind::kRam;
  std::string path;  // file, block
  // Bytes exported. ram/null: required. file: the file is created, or
  // extended (sparse), to this size if it is missing or smaller; a larger
  // file exports only its first `size` bytes; 0 = the file's size.
  // block: 0 = the device's size, else at most the device's size.
  uint64_t size = 0;
  uint32_t block_size = 512;  // the exported LBA size: 512 or 4096
  bool direct = false;        // O_DIRECT (file, block)
  bool read_only = false;     // writes fail with Namespace Write Protected
};

// "ram", "null", "file", "block".
std::string_view BackendKindName(BackendConfig::Kind kind);

// Completion of a backend operation, with an NVMe status. It always runs
// later on the queue's loop thread, never inside the call that started the
// operation.
using BackendCallback = Callback<void(NvmeStatus)>;

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

class BackendQueue;

// One backend per namespace, shared by every I/O thread. Thread-safe: after
// Open() nothing in it changes.
class Backend {
 public:
  // Opens the storage that `config` names. Errors name the path (or the
  // kind) and the reason: ENOENT, EACCES, "is a directory", "not a block
  // device", a size that is not a multiple of block_size, a device logical
  // block size larger than block_size, O_DIRECT refused by the filesystem.
  static Result<std::unique_ptr<Backend>> Open(const BackendConfig& config);

  // REQUIRES: every queue opened from this backend has been destroyed.
  virtual ~Backend();

  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const BackendConfig& config() const { return config_; }
  uint64_t size_bytes() const { return size_; }
  uint32_t block_size() const { return config_.block_size; }
  uint64_t num_blocks() const { return size_ / config_.block_size; }
  bool read_only() const { return config_.read_only; }

  // Memory-backed backends (ram): the namespace's bytes, size_bytes() long,
  // so that the transport can send from them and receive into them without
  // a copy. Valid as long as the Backend. Null for every other kind.
  virtual uint8_t* memory();
  // Makes every completed write durable, synchronously (fdatasync for
  // file and block; nothing to do for ram and null). For shutdown, when no
  // loop runs any more: never on the data path.
  virtual Status Sync();

  // Opens a queue for the calling thread, whose loop is `loop`; the queue
  // belongs to that loop. Thread-safe; call it on the loop's thread.
  // REQUIRES: `loop` outlives the queue; the queue does not outlive *this.
  virtual Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) = 0;

 protected:
  Backend(const BackendConfig& config, uint64_t size)
      : config_(config), size_(size) {}

 private:
  const BackendConfig config_;
  const uint64_t size_;  // bytes, a multiple of block_size
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

// ---- Building blocks shared by the backends (not for the controller) ----

// Completions a backend queue delivers later on its loop (CallbackQueue,
// counting the queue's in_flight()).
using BackendCompletions = CallbackQueue<NvmeStatus>;

// The status for an operation on [offset, offset + length) of a backend of
// `size` bytes: Success, LBA Out of Range (DNR) past the end, or Invalid
// Field in Command (DNR) if offset or length is not a multiple of
// `block_size`. A zero length is valid.
NvmeStatus CheckRange(uint64_t offset, uint64_t length, uint64_t size,
                      uint32_t block_size);

// Ram and null: memory-side implementations (backend.cc).
Result<std::unique_ptr<Backend>> OpenRamBackend(const BackendConfig& config);
Result<std::unique_ptr<Backend>> OpenNullBackend(const BackendConfig& config);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BACKEND_H_
