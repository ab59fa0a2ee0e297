#include "controller/backend.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "controller/uring_backend.h"

namespace nvmeof::controller {

std::string_view BackendKindName(BackendConfig::Kind kind) {
  switch (kind) {
    case BackendConfig::Kind::kRam:
      return "ram";
    case BackendConfig::Kind::kNull:
      return "null";
    case BackendConfig::Kind::kFile:
      return "file";
    case BackendConfig::Kind::kBlock:
      return "block";
  }
  return "unknown";
}

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

// ---- Backend, BackendQueue ----

Result<std::unique_ptr<Backend>> Backend::Open(const BackendConfig& config) {
  const std::string what =
      config.path.empty()
          ? std::string(BackendKindName(config.kind)) + " backend"
          : config.path;
  if (config.block_size != 512 && config.block_size != 4096) {
    return InvalidArgumentError(what + ": block size " +
                                std::to_string(config.block_size) +
                                " is not 512 or 4096");
  }
  switch (config.kind) {
    case BackendConfig::Kind::kRam:
      return OpenRamBackend(config);
    case BackendConfig::Kind::kNull:
      return OpenNullBackend(config);
    case BackendConfig::Kind::kFile:
    case BackendConfig::Kind::kBlock:
      return OpenUringBackend(config);
  }
  return InvalidArgumentError(what + ": unknown backend kind");
}

Backend::~Backend() = default;

uint8_t* Backend::memory() { return nullptr; }

Status Backend::Sync() { return Status(); }

BackendQueue::~BackendQueue() = default;

namespace {

constexpr NvmeStatus kWriteProtected =
    GenericStatus(sc::kNamespaceWriteProtected, /*dnr=*/true);

std::string SizeError(std::string_view kind, uint64_t size,
                      uint32_t block_size) {
  return std::string(kind) + " backend: size " + std::to_string(size) +
         (size == 0 ? " (a size is required)"
                    : " is not a multiple of the block size " +
                          std::to_string(block_size));
}

// ---- ram ----

constexpr uint64_t kHugePage = uint64_t{2} << 20;

class RamBackend final : public Backend {
 public:
  RamBackend(const BackendConfig& config, uint8_t* mem)
      : Backend(config, config.size), mem_(mem) {}
  ~RamBackend() override { munmap(mem_, size_bytes()); }

  uint8_t* memory() override { return mem_; }
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;

  // Zeros [offset, offset + length): whole huge pages are handed back to
  // the kernel (they read as zeros afterwards and cost no memory), the
  // rest is cleared, so that the mapping keeps its huge pages.
  void Zero(uint64_t offset, uint64_t length) {
    uint64_t begin = (offset + kHugePage - 1) / kHugePage * kHugePage;
    uint64_t end = (offset + length) / kHugePage * kHugePage;
    if (begin < end && madvise(mem_ + begin, end - begin, MADV_DONTNEED) == 0) {
      std::memset(mem_ + offset, 0, begin - offset);
      std::memset(mem_ + end, 0, offset + length - end);
      return;
    }
    std::memset(mem_ + offset, 0, length);
  }

 private:
  uint8_t* const mem_;
};

class RamQueue final : public BackendQueue {
 public:
  RamQueue(RamBackend* backend, EventLoop& loop)
      : backend_(backend), completions_(&loop, &in_flight_) {}

  void Read(uint64_t offset, const MemDesc& dst,
            BackendCallback done) override {
    NvmeStatus s = Check(offset, dst.length());
    if (s.ok()) dst.CopyIn(0, backend_->memory() + offset, dst.length());
    Finish(std::move(done), s);
  }
  void Write(uint64_t offset, const MemDesc& src, bool /*fua*/,
             BackendCallback done) override {
    NvmeStatus s = CheckWrite(offset, src.length());
    if (s.ok()) src.CopyOut(0, backend_->memory() + offset, src.length());
    Finish(std::move(done), s);
  }
  void Flush(BackendCallback done) override {
    Finish(std::move(done), kNvmeSuccess);
  }
  void WriteZeroes(uint64_t offset, uint64_t length,
                   BackendCallback done) override {
    NvmeStatus s = CheckWrite(offset, length);
    if (s.ok()) backend_->Zero(offset, length);
    Finish(std::move(done), s);
  }
  void Deallocate(uint64_t offset, uint64_t length,
                  BackendCallback done) override {
    WriteZeroes(offset, length, std::move(done));
  }

 private:
  NvmeStatus Check(uint64_t offset, uint64_t length) const {
    return CheckRange(offset, length, backend_->size_bytes(),
                      backend_->block_size());
  }
  NvmeStatus CheckWrite(uint64_t offset, uint64_t length) const {
    return backend_->read_only() ? kWriteProtected : Check(offset, length);
  }
  void Finish(BackendCallback done, NvmeStatus status) {
    ++in_flight_;
    completions_.Post(std::move(done), status);
  }

  RamBackend* const backend_;
  BackendCompletions completions_;
};

Result<std::unique_ptr<BackendQueue>> RamBackend::OpenQueue(EventLoop& loop) {
  return std::unique_ptr<BackendQueue>(new RamQueue(this, loop));
}

// ---- null ----

class NullBackend final : public Backend {
 public:
  explicit NullBackend(const BackendConfig& config)
      : Backend(config, config.size) {}
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;
};

class NullQueue final : public BackendQueue {
 public:
  NullQueue(const NullBackend* backend, EventLoop& loop)
      : backend_(backend), completions_(&loop, &in_flight_) {}

  void Read(uint64_t offset, const MemDesc& dst,
            BackendCallback done) override {
    NvmeStatus s = Check(offset, dst.length());
    if (s.ok()) {
      const iovec* seg = dst.segments();
      for (size_t i = 0; i < dst.segment_count(); ++i) {
        std::memset(seg[i].iov_base, 0, seg[i].iov_len);
      }
    }
    Finish(std::move(done), s);
  }
  void Write(uint64_t offset, const MemDesc& src, bool /*fua*/,
             BackendCallback done) override {
    Finish(std::move(done), CheckWrite(offset, src.length()));
  }
  void Flush(BackendCallback done) override {
    Finish(std::move(done), kNvmeSuccess);
  }
  void WriteZeroes(uint64_t offset, uint64_t length,
                   BackendCallback done) override {
    Finish(std::move(done), CheckWrite(offset, length));
  }
  void Deallocate(uint64_t offset, uint64_t length,
                  BackendCallback done) override {
    Finish(std::move(done), CheckWrite(offset, length));
  }

 private:
  NvmeStatus Check(uint64_t offset, uint64_t length) const {
    return CheckRange(offset, length, backend_->size_bytes(),
                      backend_->block_size());
  }
  NvmeStatus CheckWrite(uint64_t offset, uint64_t length) const {
    return backend_->read_only() ? kWriteProtected : Check(offset, length);
  }
  void Finish(BackendCallback done, NvmeStatus status) {
    ++in_flight_;
    completions_.Post(std::move(done), status);
  }

  const NullBackend* const backend_;
  BackendCompletions completions_;
};

Result<std::unique_ptr<BackendQueue>> NullBackend::OpenQueue(EventLoop& loop) {
  return std::unique_ptr<BackendQueue>(new NullQueue(this, loop));
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenRamBackend(const BackendConfig& config) {
  if (config.size == 0 || config.size % config.block_size != 0) {
    return InvalidArgumentError(
        SizeError("ram", config.size, config.block_size));
  }
  // Anonymous private memory reads as zeros; MAP_NORESERVE: a large
  // namespace costs nothing until it is written. The mapping starts on a
  // huge-page boundary and asks for transparent huge pages (no reserved
  // hugetlbfs pages needed): one TLB entry covers 2 MiB instead of 4 KiB,
  // which at random 4 KiB I/O over a large namespace saves a page walk
  // per copy and per digest.
  const size_t padded = config.size + kHugePage;
  void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    return ErrnoError(errno, "ram backend: cannot map " +
                                 std::to_string(config.size) + " bytes");
  }
  auto* base = static_cast<uint8_t*>(raw);
  auto* mem = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1));
  static const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t used = (config.size + kPage - 1) / kPage * kPage;
  if (mem > base) munmap(base, static_cast<size_t>(mem - base));
  if (base + padded > mem + used) {
    munmap(mem + used, static_cast<size_t>(base + padded - (mem + used)));
  }
  madvise(mem, used, MADV_HUGEPAGE);  // advice: a refusal changes nothing
  return std::unique_ptr<Backend>(new RamBackend(config, mem));
}

Result<std::unique_ptr<Backend>> OpenNullBackend(const BackendConfig& config) {
  if (config.size == 0 || config.size % config.block_size != 0) {
    return InvalidArgumentError(
        SizeError("null", config.size, config.block_size));
  }
  return std::unique_ptr<Backend>(new NullBackend(config));
}

}  // namespace nvmeof::controller
