#include "controller/backend_registry.h"

#include <algorithm>

namespace nvmeof::controller {

BackendRegistry& BackendRegistry::Global() {
  static BackendRegistry* registry = new BackendRegistry();
  return *registry;
}

BackendRegistry::BackendRegistry() { RegisterBuiltinBackends(*this); }

void BackendRegistry::Register(std::unique_ptr<BackendPlugin> plugin) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& p : plugins_) {
    if (p->type() == plugin->type()) {
      p = std::move(plugin);
      return;
    }
  }
  plugins_.push_back(std::move(plugin));
}

const BackendPlugin* BackendRegistry::Find(std::string_view type) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : plugins_) {
    if (p->type() == type) return p.get();
  }
  return nullptr;
}

std::vector<std::string_view> BackendRegistry::types() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string_view> out;
  for (const auto& p : plugins_) out.push_back(p->type());
  return out;
}

std::vector<std::string_view> BackendRegistry::all_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string_view> out;
  for (const auto& p : plugins_) {
    for (std::string_view k : p->keys()) {
      if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
    }
  }
  return out;
}

Result<std::unique_ptr<Backend>> OpenBackend(const BackendConfig& config) {
  const BackendPlugin* plugin = BackendRegistry::Global().Find(config.type);
  if (plugin == nullptr) {
    return InvalidArgumentError("no backend type '" + config.type + "'");
  }
  const uint32_t bs = config.options.block_size;
  if (bs != 512 && bs != 4096) {
    const std::string what = config.params.contains("path")
                                 ? config.params["path"].get<std::string>()
                                 : config.type + " backend";
    return InvalidArgumentError(what + ": block size " + std::to_string(bs) +
                                " is not 512 or 4096");
  }
  return plugin->Open(config);
}

}  // namespace nvmeof::controller
