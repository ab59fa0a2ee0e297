#include "controller/backends/ram.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "controller/backends/common.h"
#include "nvmeof/log.h"

namespace nvmeof::controller {
namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;
constexpr uint64_t kStreamingMinBytes = uint64_t{64} << 20;

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

// MemAvailable of /proc/meminfo, in bytes (0 if it cannot be read).
uint64_t AvailableMemory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "MemAvailable: %" SCNu64 " kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib * 1024;
}

std::string Gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f GiB", double(bytes) / (1 << 30));
  return buf;
}

// Faults every page of [mem, mem + length) in now, in transparent huge
// pages where it can, so that the first I/Os do not wait for it.
void Commit(uint8_t* mem, size_t length) {
  static const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  madvise(mem, length, MADV_HUGEPAGE);  // advice: a refusal changes nothing
  if (madvise(mem, length, MADV_POPULATE_WRITE) != 0) {
    for (size_t off = 0; off < length; off += kPage) mem[off] = 0;
  }
}

// Address space reserved for growth: four times the size, within 2^46.
uint64_t Reservation(uint64_t size) {
  constexpr uint64_t kMax = uint64_t{1} << 46;
  return std::max(size, std::min(size * 4, kMax));
}

class RamBackend final : public Backend {
 public:
  RamBackend(const BackendOptions& options, uint64_t size, uint8_t* mem,
             uint64_t reserved, bool sparse)
      : Backend(options, size),
        mem_(mem),
        reserved_(reserved),
        sparse_(sparse) {}
  ~RamBackend() override { munmap(mem_, reserved_); }

  // Within the address space reserved at creation (four times the first
  // size): the new range is committed first, unless sparse.
  Status Grow(uint64_t new_size) override {
    const uint64_t now = size_bytes();
    if (new_size > reserved_) {
      return OutOfRangeError(
          "a RAM backend grows within the address space reserved when it "
          "was created (four times its size where there was room: here " +
          Gib(reserved_) + "); create it larger");
    }
    if (new_size <= now) return Status();
    const uint64_t available = AvailableMemory();
    if (!sparse_ && available != 0 && new_size - now > available) {
      return ResourceExhaustedError(
          "ram backend: growing by " + Gib(new_size - now) +
          " does not fit in the " + Gib(available) + " of memory available");
    }
    if (!sparse_) Commit(mem_ + now, new_size - now);
    set_size(new_size);
    return Status();
  }

  BackendCapabilities capabilities() const override {
    BackendCapabilities c;
    c.memory_mapped = true;
    return c;
  }
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;

  uint8_t* memory() const { return mem_; }
  // Zeros [offset, offset + length). A committed namespace stays
  // committed: the range is cleared. A sparse one hands whole huge-page
  // sized ranges back to the kernel (they read as zeros afterwards and cost
  // no memory) and clears the edges.
  void Zero(uint64_t offset, uint64_t length) {
    if (!sparse_) {
      std::memset(mem_ + offset, 0, length);
      return;
    }
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
  const uint64_t reserved_;  // bytes of address space mapped at mem_
  const bool sparse_;
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

class RamPlugin final : public BackendPlugin {
 public:
  std::string_view type() const override { return "ram"; }
  std::span<const std::string_view> keys() const override { return kKeys; }
  Result<config_internal::Json> Read(
      const config_internal::ObjectReader& r,
      const BackendOptions& options) const override {
    config_internal::Json params = config_internal::Json::object();
    NVMEOF_RETURN_IF_ERROR(ReadSize(r, options, /*required=*/true, params));
    NVMEOF_ASSIGN_OR_RETURN(bool sparse, r.Bool("sparse", false));
    params["sparse"] = sparse;
    return params;
  }
  Result<std::unique_ptr<Backend>> Open(
      const BackendConfig& config) const override {
    const uint64_t size = ParamSize(config.params, "size");
    NVMEOF_RETURN_IF_ERROR(CheckSizeParam("ram", size, config.options));
    auto it = config.params.find("sparse");
    const bool sparse =
        it != config.params.end() && it->is_boolean() && it->get<bool>();
    const uint64_t available = AvailableMemory();
    if (available != 0 && size > available) {
      if (!sparse) {
        return ResourceExhaustedError(
            "ram backend: " + Gib(size) + " does not fit in the " +
            Gib(available) +
            " of memory available now (MemAvailable); give a smaller size, "
            "or \"sparse\": true to allocate blocks as they are written");
      }
      NVMEOF_LOG(kWarn,
                 "ram backend: a sparse %s namespace is larger than the %s of "
                 "memory available: writing all of it would exhaust memory",
                 Gib(size).c_str(), Gib(available).c_str());
    }
    // Anonymous private memory reads as zeros. The mapping starts on a
    // huge-page boundary, and reserves room to grow (Grow): address space
    // only (MAP_NORESERVE); what is used is committed below.
    static const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    uint64_t reserved = (Reservation(size) + kPage - 1) / kPage * kPage;
    size_t padded = reserved + kHugePage;
    void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
      // Where address space is short (a sanitizer's layout, a vm.max_map
      // limit), a namespace that cannot grow in place is still one.
      reserved = (size + kPage - 1) / kPage * kPage;
      padded = reserved + kHugePage;
      raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (raw == MAP_FAILED) {
      return ErrnoError(errno, "ram backend: cannot map " +
                                   std::to_string(size) + " bytes");
    }
    auto* base = static_cast<uint8_t*>(raw);
    auto* mem = reinterpret_cast<uint8_t*>(
        (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) &
        ~(kHugePage - 1));
    const size_t used = (size + kPage - 1) / kPage * kPage;
    if (mem > base) munmap(base, static_cast<size_t>(mem - base));
    if (base + padded > mem + reserved) {
      munmap(mem + reserved,
             static_cast<size_t>(base + padded - (mem + reserved)));
    }
    if (sparse) {
      // Small pages: a scattered write commits 4 KiB, not 2 MiB.
      madvise(mem, reserved, MADV_NOHUGEPAGE);
    } else {
      // Transparent huge pages (no reserved hugetlbfs pages needed): one
      // TLB entry covers 2 MiB, which at random I/O over a large namespace
      // saves a page walk per copy and per digest.
      Commit(mem, used);
    }
    return std::unique_ptr<Backend>(
        new RamBackend(config.options, size, mem, reserved, sparse));
  }

 private:
  static constexpr std::string_view kKeys[] = {"size", "sparse"};
};

}  // namespace

std::unique_ptr<BackendPlugin> MakeRamBackendPlugin() {
  return std::make_unique<RamPlugin>();
}

}  // namespace nvmeof::controller
