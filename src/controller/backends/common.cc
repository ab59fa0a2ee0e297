#include "controller/backends/common.h"

#include <string>

#include "controller/config_values.h"

namespace nvmeof::controller {

using config_internal::ErrorAt;
using config_internal::Json;

Json SizeJson(uint64_t bytes) {
  std::string text = config_internal::FormatSize(bytes);
  if (text.back() >= '0' && text.back() <= '9') return bytes;
  return text;
}

Status ReadSize(const config_internal::ObjectReader& r,
                const BackendOptions& options, bool required, Json& params) {
  if (!r.Has("size")) return required ? r.Missing("size") : Status::Ok();
  NVMEOF_ASSIGN_OR_RETURN(uint64_t size, r.Size("size", 1, UINT64_MAX, 0));
  if (size % options.block_size != 0) {
    return ErrorAt(r.PathOf("size"),
                   "must be a multiple of the block size (" +
                       std::to_string(options.block_size) + "), got " +
                       std::to_string(size));
  }
  params["size"] = SizeJson(size);
  return Status::Ok();
}

Result<Json> SizedBackendPlugin::Read(const config_internal::ObjectReader& r,
                                      const BackendOptions& options) const {
  Json params = Json::object();
  NVMEOF_RETURN_IF_ERROR(ReadSize(r, options, /*required=*/true, params));
  return params;
}

Result<std::unique_ptr<Backend>> SizedBackendPlugin::Open(
    const BackendConfig& config) const {
  const uint64_t size = ParamSize(config.params, "size");
  NVMEOF_RETURN_IF_ERROR(CheckSizeParam(type(), size, config.options));
  return OpenSized(config.options, size);
}

uint64_t ParamSize(const Json& params, std::string_view key) {
  auto it = params.find(key);
  if (it == params.end()) return 0;
  Result<uint64_t> v = config_internal::AsSize(*it, key, 0, UINT64_MAX);
  return v.ok() ? *v : 0;
}

Status CheckSizeParam(std::string_view type, uint64_t size,
                      const BackendOptions& options) {
  if (size != 0 && size % options.block_size == 0) return Status::Ok();
  return InvalidArgumentError(
      std::string(type) + " backend: size " + std::to_string(size) +
      (size == 0 ? " (a size is required)"
                 : " is not a multiple of the block size " +
                       std::to_string(options.block_size)));
}

}  // namespace nvmeof::controller
