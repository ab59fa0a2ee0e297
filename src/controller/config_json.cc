// Writing a TargetConfig back out as JSON (config.h, ToJson), in the schema
// ParseConfig reads, with every default and derived value spelt out.

#include "nvmeof/target_config.h"
#include "controller/config_auth.h"
#include "controller/config_reader.h"
#include "controller/config_values.h"

namespace nvmeof::controller {
namespace {

using config_internal::FormatHex;
using config_internal::Json;

void AddBackend(Json& j, const BackendConfig& b) {
  j["backend"] = b.type;
  for (const auto& [key, value] : b.params.items()) j[key] = value;
  j["block_size"] = b.options.block_size;
  j["read_only"] = b.options.read_only;
}

Json BdevJson(const BdevConfig& b) {
  Json j = Json::object();
  j["name"] = b.name;
  AddBackend(j, b.backend);
  j["uuid"] = config_internal::FormatUuid(b.uuid);
  return j;
}

Json NamespaceJson(const NamespaceConfig& ns) {
  Json j = Json::object();
  j["nsid"] = ns.nsid;
  if (!ns.bdev_name.empty()) {
    j["bdev_name"] = ns.bdev_name;
  } else {
    AddBackend(j, ns.backend);
  }
  j["uuid"] = config_internal::FormatUuid(ns.uuid);
  j["nguid"] = FormatHex(ns.nguid);
  if (ns.eui64 != std::array<uint8_t, 8>{}) j["eui64"] = FormatHex(ns.eui64);
  return j;
}

Json SubsystemJson(const SubsystemConfig& s) {
  Json j = Json::object();
  j["nqn"] = s.nqn;
  j["serial"] = s.serial;
  j["model"] = s.model;
  j["allow_any_host"] = s.allow_any_host;
  Json hosts = Json::array();
  for (const HostConfig& h : s.hosts) hosts.push_back(config_internal::HostJson(h));
  j["hosts"] = std::move(hosts);
  j["max_namespaces"] = s.max_namespaces;
  j["min_cntlid"] = s.min_cntlid;
  j["max_cntlid"] = s.max_cntlid;
  Json namespaces = Json::array();
  for (const NamespaceConfig& ns : s.namespaces) {
    namespaces.push_back(NamespaceJson(ns));
  }
  j["namespaces"] = std::move(namespaces);
  return j;
}

Json PortJson(const PortConfig& p) {
  Json j = Json::object();
  j["id"] = p.id;
  j["transport"] = TransportTypeName(p.transport);
  j["family"] = AddressFamilyName(p.family);
  j["address"] = p.address;
  j["port"] = p.port;
  j["subsystems"] = p.subsystems;
  Json params = Json::object();
  params["in_capsule_data_size"] = p.params.in_capsule_data_size;
  params["max_h2c_data"] = p.params.max_h2c_data;
  params["c2h_data_pdu_size"] = p.params.c2h_data_pdu_size;
  params["header_digest"] = p.params.header_digest;
  params["data_digest"] = p.params.data_digest;
  params["max_queue_size"] = p.params.max_queue_size;
  params["max_io_queues"] = p.params.max_io_queues;
  params["max_connections"] = p.params.max_connections;
  params["tls"] = TlsModeName(p.params.tls);
  params["tls_psk_ke"] = p.params.tls_psk_ke;
  j["params"] = std::move(params);
  return j;
}

}  // namespace
}  // namespace nvmeof::controller

namespace nvmeof {

using controller::BdevJson;
using controller::NamespaceJson;
using controller::PortJson;
using controller::SubsystemJson;
using controller::config_internal::Json;

std::string ToJson(const TargetConfig& config) {
  Json j = Json::object();
  j["threads"] = config.threads;
  j["log_level"] = LogLevelName(config.log_level);
  j["max_connections"] = config.max_connections;
  if (!config.keys.empty()) {
    Json keys = Json::array();
    for (const KeyConfig& k : config.keys) {
      Json key = {{"name", k.name}, {"path", k.path}};
      if (k.compat) key["compat"] = true;
      keys.push_back(std::move(key));
    }
    j["keys"] = std::move(keys);
  }
  if (!config.dhchap_digests.empty()) j["dhchap_digests"] = config.dhchap_digests;
  if (!config.dhchap_dhgroups.empty()) {
    j["dhchap_dhgroups"] = config.dhchap_dhgroups;
  }
  Json bdevs = Json::array();
  for (const BdevConfig& b : config.bdevs) bdevs.push_back(BdevJson(b));
  j["bdevs"] = std::move(bdevs);
  Json subsystems = Json::array();
  for (const SubsystemConfig& s : config.subsystems) {
    subsystems.push_back(SubsystemJson(s));
  }
  j["subsystems"] = std::move(subsystems);
  Json ports = Json::array();
  for (const PortConfig& p : config.ports) ports.push_back(PortJson(p));
  j["ports"] = std::move(ports);
  Json refs = Json::array();
  for (const ReferralConfig& r : config.referrals) {
    Json ref = Json::object();
    ref["address"] = r.address;
    ref["port"] = r.port;
    if (!r.subnqn.empty()) ref["subnqn"] = r.subnqn;
    ref["secure_channel"] = r.secure_channel;
    refs.push_back(std::move(ref));
  }
  j["referrals"] = std::move(refs);
  // Strings that are not valid UTF-8 (only possible in a config built by
  // hand, not in one ParseConfig returned) are written with U+FFFD rather
  // than thrown about.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

std::string_view AddressFamilyName(AddressFamily family) {
  return family == AddressFamily::kIpv6 ? "ipv6" : "ipv4";
}

}  // namespace nvmeof
