// The discovery log page (LID 0x70; NVMe Base 2.0, 5.16.1.23): for the
// connecting host, the subsystems it may reach on this port, then the
// current discovery subsystem itself.

#ifndef NVMEOF_CONTROLLER_DISCOVERY_H_
#define NVMEOF_CONTROLLER_DISCOVERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "controller/request.h"
#include "controller/subsystem.h"

namespace nvmeof::controller {

// The whole page for `hostnqn` connected to `port`: the subsystems of
// `view` it may reach, the referrals, then the current discovery
// subsystem. A port on a wildcard address reports `local_traddr`, the
// address this host reached (as Linux nvmet does: 0.0.0.0 is no address to
// connect to).
std::vector<uint8_t> BuildDiscoveryLog(const Port& port,
                                       const DiscoveryView& view,
                                       const std::string& hostnqn,
                                       const std::string& local_traddr);

}  // namespace nvmeof::controller

#endif  // NVMEOF_CONTROLLER_DISCOVERY_H_
