#include "controller/backends/ram.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "controller/backends/common.h"

namespace nvmeof::controller {
namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;
constexpr uint64_t kStreamingMinBytes = uint64_t{64} << 20;

class RamBackend final : public Backend {
 public:
  RamBackend(const BackendOptions& options, uint64_t size, uint8_t* mem)
      : Backend(options, size), mem_(mem) {}
  ~RamBackend() override { munmap(mem_, size_bytes()); }

  BackendCapabilities capabilities() const override {
    BackendCapabilities c;
    c.memory_mapped = true;
    return c;
  }
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;

  uint8_t* memory() const { return mem_; }
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

class RamQueue final : public QueueBase {
 public:
  RamQueue(RamBackend* backend, EventLoop& loop)
      : QueueBase(*backend, loop), backend_(backend) {}

  MemDesc Map(uint64_t offset, uint64_t length, bool for_write) override {
    if (!Check(offset, length).ok()) return MemDesc();
    MemDesc m(backend_->memory() + offset, length);
    if (for_write) m.set_streaming(backend_->size_bytes() >= kStreamingMinBytes);
    return m;
  }
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
  RamBackend* const backend_;
};

Result<std::unique_ptr<BackendQueue>> RamBackend::OpenQueue(EventLoop& loop) {
  return std::unique_ptr<BackendQueue>(new RamQueue(this, loop));
}

class RamPlugin final : public SizedBackendPlugin {
 public:
  std::string_view type() const override { return "ram"; }

 protected:
  Result<std::unique_ptr<Backend>> OpenSized(const BackendOptions& options,
                                             uint64_t size) const override {
    // Anonymous private memory reads as zeros; MAP_NORESERVE: a large
    // namespace costs nothing until it is written. The mapping starts on
    // a huge-page boundary and asks for transparent huge pages (no
    // reserved hugetlbfs pages needed): one TLB entry covers 2 MiB instead
    // of 4 KiB, which at random 4 KiB I/O over a large namespace saves a
    // page walk per copy and per digest.
    const size_t padded = size + kHugePage;
    void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
      return ErrnoError(errno, "ram backend: cannot map " +
                                   std::to_string(size) + " bytes");
    }
    auto* base = static_cast<uint8_t*>(raw);
    auto* mem = reinterpret_cast<uint8_t*>(
        (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) &
        ~(kHugePage - 1));
    static const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t used = (size + kPage - 1) / kPage * kPage;
    if (mem > base) munmap(base, static_cast<size_t>(mem - base));
    if (base + padded > mem + used) {
      munmap(mem + used, static_cast<size_t>(base + padded - (mem + used)));
    }
    madvise(mem, used, MADV_HUGEPAGE);  // advice: a refusal changes nothing
    return std::unique_ptr<Backend>(new RamBackend(options, size, mem));
  }
};

}  // namespace

std::unique_ptr<BackendPlugin> MakeRamBackendPlugin() {
  return std::make_unique<RamPlugin>();
}

}  // namespace nvmeof::controller
