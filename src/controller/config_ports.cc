#include "controller/config_ports.h"

#include <sys/socket.h>

#include <algorithm>

#include "io/socket.h"
#include "controller/config_values.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller::config_internal {

namespace {
constexpr uint64_t kMiB = 1024 * 1024;
}  // namespace

Result<std::vector<std::string>> ReadNqnList(const Json& value,
                                             const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(ExpectArray(value, path));
  std::vector<std::string> nqns;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string item_path = IndexPath(path, i);
    NVMEOF_ASSIGN_OR_RETURN(std::string nqn, AsString(value[i], item_path));
    Status valid = ValidateNqn(nqn);
    if (!valid.ok()) return ErrorAt(item_path, valid.message());
    for (size_t j = 0; j < nqns.size(); ++j) {
      if (nqns[j] == nqn) {
        return ErrorAt(item_path, "duplicate of " + IndexPath(path, j));
      }
    }
    nqns.push_back(std::move(nqn));
  }
  return nqns;
}

Result<PortParams> ReadPortParams(const Json& value, const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(value, path));
  ObjectReader r(value, path);
  NVMEOF_RETURN_IF_ERROR(r.CheckKnownKeys(
      {"in_capsule_data_size", "max_h2c_data", "c2h_data_pdu_size",
       "header_digest", "data_digest", "max_queue_size", "max_io_queues",
       "max_connections", "tls", "tls_psk_ke"}));
  PortParams p;
  NVMEOF_ASSIGN_OR_RETURN(uint64_t icd, r.Size("in_capsule_data_size", 0, kMiB,
                                               p.in_capsule_data_size));
  if (icd % 16 != 0) {
    return ErrorAt(r.PathOf("in_capsule_data_size"),
                   "must be a multiple of 16, got " + std::to_string(icd));
  }
  p.in_capsule_data_size = static_cast<uint32_t>(icd);
  NVMEOF_ASSIGN_OR_RETURN(
      uint64_t h2c, r.Size("max_h2c_data", 4096, 16 * kMiB, p.max_h2c_data));
  if (h2c % 4 != 0) {
    return ErrorAt(r.PathOf("max_h2c_data"),
                   "must be a multiple of 4, got " + std::to_string(h2c));
  }
  p.max_h2c_data = static_cast<uint32_t>(h2c);
  NVMEOF_ASSIGN_OR_RETURN(uint64_t c2h, r.Size("c2h_data_pdu_size", 4096,
                                               16 * kMiB, p.c2h_data_pdu_size));
  p.c2h_data_pdu_size = static_cast<uint32_t>(c2h);
  NVMEOF_ASSIGN_OR_RETURN(p.header_digest, r.Bool("header_digest", true));
  NVMEOF_ASSIGN_OR_RETURN(p.data_digest, r.Bool("data_digest", true));
  NVMEOF_RETURN_IF_ERROR(
      ReadUint(r, "max_queue_size", 2, 1024, p.max_queue_size));
  NVMEOF_RETURN_IF_ERROR(
      ReadUint(r, "max_io_queues", 1, 65534, p.max_io_queues));
  NVMEOF_RETURN_IF_ERROR(
      ReadUint(r, "max_connections", 1, 1000000, p.max_connections));
  // In TlsMode's order.
  NVMEOF_ASSIGN_OR_RETURN(size_t tls,
                          r.Enum("tls", {"none", "allowed", "required"}, 0));
  p.tls = static_cast<TlsMode>(tls);
  NVMEOF_ASSIGN_OR_RETURN(p.tls_psk_ke, r.Bool("tls_psk_ke", true));
  return p;
}

Result<PortConfig> ReadPort(const Json& value, const std::string& path,
                            size_t index,
                            const std::vector<SubsystemConfig>& subsystems) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(value, path));
  ObjectReader r(value, path);
  NVMEOF_RETURN_IF_ERROR(
      r.CheckKnownKeys({"id", "transport", "family", "address", "port",
                        "subsystems", "params"}));
  PortConfig p;
  NVMEOF_ASSIGN_OR_RETURN(
      uint64_t id,
      r.Uint("id", 1, 65535, std::min<uint64_t>(index + 1, 65535)));
  p.id = static_cast<uint16_t>(id);
  NVMEOF_ASSIGN_OR_RETURN(size_t transport, r.Enum("transport", {"tcp"}, 0));
  (void)transport;  // the only one
  p.transport = TransportType::kTcp;
  NVMEOF_ASSIGN_OR_RETURN(uint64_t port, r.Uint("port", 1, 65535, 4420));
  p.port = static_cast<uint16_t>(port);

  NVMEOF_ASSIGN_OR_RETURN(std::string address,
                          r.String("address", "127.0.0.1"));
  Result<SocketAddress> parsed = SocketAddress::Parse(address, p.port);
  if (!parsed.ok()) {
    return ErrorAt(r.PathOf("address"), parsed.status().message());
  }
  p.address = parsed->Host();
  p.family = parsed->family() == AF_INET6 ? AddressFamily::kIpv6
                                          : AddressFamily::kIpv4;
  if (r.Has("family")) {
    NVMEOF_ASSIGN_OR_RETURN(size_t family,
                            r.Enum("family", {"ipv4", "ipv6"}, 0));
    if (static_cast<AddressFamily>(family) != p.family) {
      return ErrorAt(r.PathOf("family"),
                     "'" +
                         std::string(AddressFamilyName(
                             static_cast<AddressFamily>(family))) +
                         "' contradicts the address '" + address + "' (an " +
                         (p.family == AddressFamily::kIpv6 ? "IPv6" : "IPv4") +
                         " address)");
    }
  }

  if (const Json* list = r.Find("subsystems")) {
    std::string list_path = r.PathOf("subsystems");
    NVMEOF_ASSIGN_OR_RETURN(p.subsystems, ReadNqnList(*list, list_path));
    std::vector<std::string_view> known;
    known.reserve(subsystems.size());
    for (const SubsystemConfig& s : subsystems) known.push_back(s.nqn);
    for (size_t i = 0; i < p.subsystems.size(); ++i) {
      const std::string& nqn = p.subsystems[i];
      bool found = false;
      for (std::string_view k : known) found = found || k == nqn;
      if (found) continue;
      std::string reason =
          nqn == kDiscoveryNqn
              ? "the discovery subsystem is served on every port; do not "
                "list it"
              : "names no configured subsystem";
      std::string_view hint = Suggest(nqn, known);
      if (!hint.empty())
        reason += " (did you mean '" + std::string(hint) + "'?)";
      return ErrorAt(IndexPath(list_path, i), reason);
    }
  } else {
    for (const SubsystemConfig& s : subsystems) p.subsystems.push_back(s.nqn);
  }

  if (const Json* params = r.Find("params")) {
    NVMEOF_ASSIGN_OR_RETURN(p.params,
                            ReadPortParams(*params, r.PathOf("params")));
  }
  return p;
}

Result<ReferralConfig> ReadReferral(const Json& value, const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(value, path));
  ObjectReader r(value, path);
  NVMEOF_RETURN_IF_ERROR(
      r.CheckKnownKeys({"address", "port", "subnqn", "secure_channel"}));
  ReferralConfig ref;
  NVMEOF_RETURN_IF_ERROR(ReadUint(r, "port", 1, 65535, ref.port));
  if (!r.Has("address")) return r.Missing("address");
  NVMEOF_ASSIGN_OR_RETURN(std::string address, r.String("address", ""));
  Result<SocketAddress> parsed = SocketAddress::Parse(address, ref.port);
  if (!parsed.ok()) {
    return ErrorAt(r.PathOf("address"), parsed.status().message());
  }
  ref.address = parsed->Host();
  ref.family = parsed->family() == AF_INET6 ? AddressFamily::kIpv6
                                            : AddressFamily::kIpv4;
  NVMEOF_ASSIGN_OR_RETURN(ref.subnqn, r.String("subnqn", ""));
  if (!ref.subnqn.empty()) {
    if (Status valid = ValidateNqn(ref.subnqn); !valid.ok()) {
      return ErrorAt(r.PathOf("subnqn"), valid.message());
    }
    if (ref.subnqn == kDiscoveryNqn) ref.subnqn.clear();
  }
  NVMEOF_ASSIGN_OR_RETURN(ref.secure_channel, r.Bool("secure_channel", false));
  return ref;
}

bool PortsCollide(const PortConfig& a, const PortConfig& b) {
  if (a.port != b.port || a.family != b.family) return false;
  auto wildcard = [](const PortConfig& p) {
    return p.address == "0.0.0.0" || p.address == "::";
  };
  return a.address == b.address || wildcard(a) || wildcard(b);
}

}  // namespace nvmeof::controller::config_internal
