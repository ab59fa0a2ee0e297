// The backend plug-ins: a registry keyed by type name ("ram", "file", ...),
// like the transport registry. Each plug-in reads and checks its own part
// of a namespace's (or named backend's) config block, with the file / JSON
// path / reason errors of the rest of the config, and opens its storage
// from what it read.
//
// Adding a backend: a new pair of files under src/controller/backends/
// (a BackendPlugin and the Backend/BackendQueue it opens) and one line in
// backends/builtin.cc. Nothing else in the controller names a type.

#ifndef NVMEOF_CONTROLLER_BACKEND_REGISTRY_H_
#define NVMEOF_CONTROLLER_BACKEND_REGISTRY_H_

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nvmeof/target_config.h"
#include "controller/config_reader.h"
#include "nvmeof/backend.h"

namespace nvmeof::controller {

class BackendPlugin {
 public:
  virtual ~BackendPlugin() = default;

  // The type name the config file uses.
  virtual std::string_view type() const = 0;
  // The keys of its settings, in the order it checks them (the shared ones,
  // such as block_size, are not among them).
  virtual std::span<const std::string_view> keys() const = 0;
  // Reads its settings from `r` (an object whose unknown keys the caller has
  // already refused) and checks them; `options` are the shared ones, already
  // read. Returns them with every default filled in. Pure: no I/O.
  virtual Result<config_internal::Json> Read(
      const config_internal::ObjectReader& r,
      const BackendOptions& options) const = 0;
  // Opens the storage. Errors name the path (or the type) and the reason.
  virtual Result<std::unique_ptr<Backend>> Open(
      const BackendConfig& config) const = 0;
};

class BackendRegistry {
 public:
  // The process's registry, with the built-in plug-ins (backends/builtin.cc)
  // already registered. Thread-safe.
  static BackendRegistry& Global();

  // Replaces any plug-in of the same type.
  void Register(std::unique_ptr<BackendPlugin> plugin);
  // Null if no plug-in has that type.
  const BackendPlugin* Find(std::string_view type) const;
  // Every type, in registration order.
  std::vector<std::string_view> types() const;
  // The keys of every plug-in, each once, in registration order.
  std::vector<std::string_view> all_keys() const;

 private:
  BackendRegistry();
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<BackendPlugin>> plugins_;
};

// Registers ram, null, file and block (backends/builtin.cc).
void RegisterBuiltinBackends(BackendRegistry& registry);

// Opens the backend `config` describes through its plug-in. Checks the
// shared options (a block size of 512 or 4096) first.
Result<std::unique_ptr<Backend>> OpenBackend(const BackendConfig& config);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_BACKEND_REGISTRY_H_
