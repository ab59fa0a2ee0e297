#include "mgmt/spdk_rpc.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "io/socket.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::mgmt::spdk_rpc {

RpcReply Invalid(const Status& s) {
  return RpcReply::Error(rpc_code::kInvalidParams, std::string(s.message()));
}
RpcReply Invalid(std::string message) {
  return RpcReply::Error(rpc_code::kInvalidParams, std::move(message));
}
RpcReply Internal(const Status& s) {
  return RpcReply::Error(rpc_code::kInternalError, std::string(s.message()));
}
RpcReply Errno(int code, const Status& s) {
  return RpcReply::Error(code, std::string(s.message()));
}
RpcReply True() { return RpcReply::Ok(true); }

// Unknown keys are refused by name; ignored ones are checked as above.
Status CheckKeys(const Json& obj, std::string_view path,
                 std::initializer_list<std::string_view> known,
                 std::initializer_list<Ignored> ignored) {
  for (const auto& item : obj.items()) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string& key = item.key();
    const Json& value = item.value();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    auto it = std::find_if(ignored.begin(), ignored.end(),
                           [&](const Ignored& i) { return i.key == key; });
    const std::string where = std::string(path) + "." + key;
    if (it == ignored.end()) {
      return InvalidArgumentError(where + ": unknown parameter");
    }
    if (!it->any && value != it->value) {
      return InvalidArgumentError(where + ": " + value.dump() +
                                  " is not supported here (only " +
                                  it->value.dump() + ")");
    }
  }
  return Status();
}

// The object at `key` (required), for nested parameters.
Result<const Json*> Object(const Json& params, std::string_view path,
                           std::string_view key) {
  auto it = params.find(key);
  const std::string where = std::string(path) + "." + std::string(key);
  if (it == params.end()) {
    return InvalidArgumentError(where + ": required field is missing");
  }
  if (!it->is_object()) {
    return InvalidArgumentError(where + ": must be an object");
  }
  return &*it;
}

Result<std::string> RequiredString(const ObjectReader& r,
                                   std::string_view key) {
  if (!r.Has(key)) return r.Missing(key);
  return r.String(key, "");
}

// "TCP" (case-insensitive) is the one transport.
Status CheckTrtype(const ObjectReader& r, bool required) {
  if (!r.Has("trtype")) {
    return required ? r.Missing("trtype") : Status();
  }
  NVMEOF_ASSIGN_OR_RETURN(std::string t, r.String("trtype", ""));
  std::string upper = t;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  if (upper != "TCP") {
    return InvalidArgumentError(r.PathOf("trtype") + ": transport '" + t +
                                "' is not available (only TCP)");
  }
  return Status();
}

Result<Address> ReadAddress(const Json& obj, const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(
      CheckKeys(obj, path, {"trtype", "traddr", "adrfam", "trsvcid"}));
  ObjectReader r(obj, path);
  NVMEOF_RETURN_IF_ERROR(CheckTrtype(r, true));
  Address a;
  NVMEOF_ASSIGN_OR_RETURN(a.traddr, RequiredString(r, "traddr"));
  if (!r.Has("trsvcid")) return r.Missing("trsvcid");
  NVMEOF_ASSIGN_OR_RETURN(a.trsvcid, r.String("trsvcid", ""));
  if (a.trsvcid.empty() || a.trsvcid.size() > 5 ||
      a.trsvcid.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(a.trsvcid) > 65535) {
    return InvalidArgumentError(r.PathOf("trsvcid") + ": '" + a.trsvcid +
                                "' is not a TCP port");
  }
  // One spelling per port ("04420" is 4420), as the listener reports it.
  a.trsvcid = std::to_string(std::stoul(a.trsvcid));
  // Numeric only: a daemon does not resolve names.
  Result<SocketAddress> parsed = SocketAddress::Parse(
      a.traddr, static_cast<uint16_t>(std::stoul(a.trsvcid)));
  if (!parsed.ok()) {
    return InvalidArgumentError(r.PathOf("traddr") + ": " +
                                std::string(parsed.status().message()));
  }
  a.traddr = parsed->Host();  // normalized ("::1", no brackets)
  a.ipv6 = parsed->family() == AF_INET6;
  if (r.Has("adrfam")) {
    NVMEOF_ASSIGN_OR_RETURN(std::string f, r.String("adrfam", ""));
    std::string lower = f;
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    if (lower != "ipv4" && lower != "ipv6") {
      return InvalidArgumentError(r.PathOf("adrfam") + ": '" + f +
                                  "' is not IPv4 or IPv6");
    }
    if ((lower == "ipv6") != a.ipv6) {
      return InvalidArgumentError(r.PathOf("adrfam") + ": " + f +
                                  " does not match address " + a.traddr);
    }
  }
  return a;
}

Json AddressJson(bool ipv6, const std::string& traddr,
                 const std::string& trsvcid) {
  return Json{{"trtype", "TCP"},
              {"adrfam", ipv6 ? "IPv6" : "IPv4"},
              {"traddr", traddr},
              {"trsvcid", trsvcid}};
}

std::string UpperHex(std::span<const uint8_t> bytes) {
  std::string s = FormatHex(bytes);
  for (char& c : s) c = static_cast<char>(std::toupper(c));
  return s;
}

std::array<uint8_t, 16> RandomUuid() {
  std::random_device rd;
  std::array<uint8_t, 16> u;
  for (auto& b : u) b = static_cast<uint8_t>(rd());
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return u;
}

// The method SPDK's config would recreate a bdev with.
std::string CreateMethod(const NamedBackend& b) {
  if (b.config.type == "ram") return "bdev_malloc_create";
  if (b.config.type == "null") return "bdev_null_create";
  return "bdev_aio_create";
}

Json NsJson(const Namespace& ns, bool listing) {
  Json j = Json::object();
  j["nsid"] = ns.nsid;
  j["bdev_name"] = ns.backend_name.empty() ? "ns" + std::to_string(ns.nsid)
                                           : ns.backend_name;
  if (listing) j["name"] = j["bdev_name"];
  j["nguid"] = UpperHex(ns.nguid);
  const std::array<uint8_t, 8> zero{};
  if (ns.eui64 != zero) j["eui64"] = UpperHex(ns.eui64);
  j["uuid"] = FormatUuid(ns.uuid);
  if (!listing) j["no_auto_visible"] = false;
  return j;
}

Json ReferralJson(const Referral& ref) {
  return Json{{"address", AddressJson(ref.ipv6, ref.traddr, ref.trsvcid)},
              {"secure_channel", ref.secure_channel},
              {"subnqn", ref.subnqn.empty() ? std::string(kDiscoveryNqn)
                                            : ref.subnqn}};
}

Json TransportJson(const ControlState& state) {
  const PortParams& t = state.tcp;
  return Json{{"trtype", "TCP"},
              {"max_queue_depth", t.max_queue_size},
              {"max_io_qpairs_per_ctrlr", t.max_io_queues},
              {"in_capsule_data_size", t.in_capsule_data_size},
              {"max_io_size", uint32_t{1} << 20},
              {"max_aq_depth", state.max_aq_depth},
              {"c2h_success", state.c2h_success},
              {"dif_insert_or_strip", false},
              {"zcopy", false}};
}

}  // namespace nvmeof::mgmt::spdk_rpc
