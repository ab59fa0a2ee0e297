// What the built-in backends share: a queue base with the range checks and
// the deferred completions every queue needs, and the readers of the
// settings several of them take ("size").

#ifndef NVMEOF_CONTROLLER_BACKENDS_COMMON_H_
#define NVMEOF_CONTROLLER_BACKENDS_COMMON_H_

#include <string_view>

#include "controller/backend_registry.h"

namespace nvmeof::controller {

inline constexpr NvmeStatus kWriteProtected =
    GenericStatus(sc::kNamespaceWriteProtected, /*dnr=*/true);

// A BackendQueue that checks ranges against its backend and completes
// operations later on its loop (BackendCompletions).
class QueueBase : public BackendQueue {
 protected:
  // REQUIRES: `backend` and `loop` outlive the queue.
  QueueBase(const Backend& backend, EventLoop& loop)
      : backend_(backend), completions_(&loop, &in_flight_) {}

  NvmeStatus Check(uint64_t offset, uint64_t length) const {
    return CheckRange(offset, length, backend_.size_bytes(),
                      backend_.block_size());
  }
  NvmeStatus CheckWrite(uint64_t offset, uint64_t length) const {
    return backend_.read_only() ? kWriteProtected : Check(offset, length);
  }
  // Completes an operation with `status` at the end of the turn.
  void Finish(BackendCallback done, NvmeStatus status) {
    ++in_flight_;
    completions_.Post(std::move(done), status);
  }

 private:
  const Backend& backend_;
  BackendCompletions completions_;
};

// Reads "size" (a number of bytes or "64M"), at least 1 and a multiple of
// the block size, into params["size"] (as SizeJson writes it). Absent: an
// error when `required`, else nothing.
Status ReadSize(const config_internal::ObjectReader& r,
                const BackendOptions& options, bool required,
                config_internal::Json& params);

// A plug-in whose only setting is a required "size" (ram, null): it opens
// its backend from the options and the size in bytes.
class SizedBackendPlugin : public BackendPlugin {
 public:
  std::span<const std::string_view> keys() const override { return kKeys; }
  Result<config_internal::Json> Read(
      const config_internal::ObjectReader& r,
      const BackendOptions& options) const override;
  Result<std::unique_ptr<Backend>> Open(
      const BackendConfig& config) const override;

 protected:
  virtual Result<std::unique_ptr<Backend>> OpenSized(
      const BackendOptions& options, uint64_t size) const = 0;

 private:
  static constexpr std::string_view kKeys[] = {"size"};
};
// The size setting `key` in bytes (0 when absent).
uint64_t ParamSize(const config_internal::Json& params, std::string_view key);
// For Open(): a nonzero size that is a multiple of the block size.
Status CheckSizeParam(std::string_view type, uint64_t size,
                      const BackendOptions& options);
// How a size is written back: "64M" where exact, else a number of bytes.
config_internal::Json SizeJson(uint64_t bytes);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BACKENDS_COMMON_H_
