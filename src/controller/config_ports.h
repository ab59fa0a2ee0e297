// The configuration's ports and referrals (config_ports.cc): a port's
// address, limits and subsystems, a referral of the discovery log.
// Internal to config.cc; errors are "PATH: REASON" as config_reader.h's.

#ifndef NVMEOF_CONTROLLER_CONFIG_PORTS_H_
#define NVMEOF_CONTROLLER_CONFIG_PORTS_H_

#include <string>
#include <vector>

#include "controller/config_reader.h"
#include "nvmeof/target_config.h"

namespace nvmeof::controller::config_internal {

// An array of distinct valid NQNs (a port's subsystems).
[[nodiscard]] Result<std::vector<std::string>> ReadNqnList(
    const Json& value, const std::string& path);
[[nodiscard]] Result<PortParams> ReadPortParams(const Json& value,
                                                const std::string& path);
// Port number `index` of the file; its subsystems are among `subsystems`.
[[nodiscard]] Result<PortConfig> ReadPort(
    const Json& value, const std::string& path, size_t index,
    const std::vector<SubsystemConfig>& subsystems);
[[nodiscard]] Result<ReferralConfig> ReadReferral(const Json& value,
                                                  const std::string& path);
// Two listeners on one port of one family collide when their addresses are
// equal or one of them is the wildcard.
bool PortsCollide(const PortConfig& a, const PortConfig& b);

}  // namespace nvmeof::controller::config_internal

#endif  // NVMEOF_CONTROLLER_CONFIG_PORTS_H_
