#include "nvmeof/proto/status_codes.h"

#include <cstdio>

namespace nvmeof {

std::string_view NvmeStatusName(NvmeStatus status, bool /*fabrics*/) {
  if (status.ok()) return "Success";
  return "Unknown Status";
}

std::string NvmeStatusToString(NvmeStatus status, bool fabrics) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), " (sct 0x%x, sc 0x%02x%s)",
                static_cast<unsigned>(status.sct), status.sc,
                status.dnr ? ", dnr" : "");
  return std::string(NvmeStatusName(status, fabrics)) + buf;
}

}  // namespace nvmeof
