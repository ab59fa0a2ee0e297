// The configuration's DH-HMAC-CHAP parts (config_auth.cc): a subsystem's
// hosts (an NQN, or an object naming the host's keys), the keyring and the
// hashes and DH groups allowed. Internal to config.cc; errors are
// "PATH: REASON" as config_reader.h's.

#ifndef NVMEOF_CONTROLLER_CONFIG_AUTH_H_
#define NVMEOF_CONTROLLER_CONFIG_AUTH_H_

#include <string>
#include <vector>

#include "controller/config_reader.h"
#include "nvmeof/target_config.h"

namespace nvmeof::controller::config_internal {

// "hosts": ["nqn...", {"nqn": "nqn...", "dhchap_key": "k1",
// "dhchap_ctrlr_key": "k2"}], NQNs valid and distinct.
[[nodiscard]] Result<std::vector<HostConfig>> ReadHosts(
    const Json& value, const std::string& path);
// "keys": [{"name": "k1", "path": "/etc/nvmeof/k1"}]: names unique, paths
// absolute (the files are read when the target starts or reloads).
[[nodiscard]] Result<std::vector<KeyConfig>> ReadKeys(const Json& value,
                                                      const std::string& path);
// "dhchap_digests" and "dhchap_dhgroups" of the top level, as canonical
// names.
[[nodiscard]] Status ReadDhchapLists(const ObjectReader& r,
                                     TargetConfig& config);
// Every key a host names is in config.keys.
[[nodiscard]] Status CheckHostKeys(const TargetConfig& config);

// The JSON of a host: its NQN alone when it has no key.
Json HostJson(const HostConfig& host);

}  // namespace nvmeof::controller::config_internal

#endif  // NVMEOF_CONTROLLER_CONFIG_AUTH_H_
