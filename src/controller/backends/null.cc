#include "controller/backends/null.h"

#include <cstring>

#include "controller/backends/common.h"

namespace nvmeof::controller {
namespace {

class NullBackend final : public Backend {
 public:
  NullBackend(const BackendOptions& options, uint64_t size)
      : Backend(options, size) {}
  BackendCapabilities capabilities() const override { return {}; }
  Status Grow(uint64_t new_size) override {
    set_size(new_size);  // nothing behind it
    return Status();
  }
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;
};

class NullQueue final : public QueueBase {
 public:
  NullQueue(const NullBackend& backend, EventLoop& loop)
      : QueueBase(backend, loop) {}

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
};

Result<std::unique_ptr<BackendQueue>> NullBackend::OpenQueue(EventLoop& loop) {
  return std::unique_ptr<BackendQueue>(new NullQueue(*this, loop));
}

class NullPlugin final : public SizedBackendPlugin {
 public:
  std::string_view type() const override { return "null"; }

 protected:
  Result<std::unique_ptr<Backend>> OpenSized(const BackendOptions& options,
                                             uint64_t size) const override {
    return std::unique_ptr<Backend>(new NullBackend(options, size));
  }
};

}  // namespace

std::unique_ptr<BackendPlugin> MakeNullBackendPlugin() {
  return std::make_unique<NullPlugin>();
}

}  // namespace nvmeof::controller
