// Output of the nvmeof tool: nvme-cli's text layout, or JSON (-o json).

#ifndef NVMEOF_TOOLS_NVMEOF_PRINT_H_
#define NVMEOF_TOOLS_NVMEOF_PRINT_H_

#include <cstdint>
#include <vector>

#include "nvmeof/proto/identify.h"

namespace nvmeof::tools {

void PrintDiscoveryLog(const std::vector<uint8_t>& page, bool json);
void PrintIdentifyController(const IdentifyController& id, bool json);
void PrintIdentifyNamespace(const std::vector<uint8_t>& buf, uint32_t nsid,
                            bool json);
void PrintNamespaceList(const std::vector<uint8_t>& buf, bool json);
void PrintLogPage(uint8_t lid, const std::vector<uint8_t>& buf, bool json);
void PrintFeature(uint8_t fid, uint8_t sel, uint32_t dw0, bool json);

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_NVMEOF_PRINT_H_
