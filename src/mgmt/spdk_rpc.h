// What the families of SPDK-compatible methods share (spdk_framework.cc,
// spdk_nvmf.cc, spdk_bdev.cc): the error replies, parameter checks in
// SPDK's spelling, and the JSON forms of objects that more than one family
// prints. Internal to src/mgmt.

#ifndef NVMEOF_MGMT_SPDK_RPC_H_
#define NVMEOF_MGMT_SPDK_RPC_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "controller/config_reader.h"
#include "controller/config_values.h"
#include "controller/target_impl.h"
#include "mgmt/rpc_server.h"
#include "mgmt/spdk_methods.h"

namespace nvmeof::mgmt::spdk_rpc {

using controller::ControllerInfo;
using controller::NamedBackend;
using controller::Namespace;
using controller::QueuePairInfo;
using controller::Referral;
using controller::Subsystem;
using controller::SubsystemType;
using controller::TargetImpl;
using controller::config_internal::FormatHex;
using controller::config_internal::FormatUuid;
using controller::config_internal::ObjectReader;
using controller::config_internal::ParseHex;
using controller::config_internal::ParseUuid;

inline constexpr char kVersion[] = "nvmeof v0.1.0";
// The negated errno values SPDK answers for bdev-layer errors.
inline constexpr int kENOENT = -2;
inline constexpr int kEEXIST = -17;
inline constexpr int kENODEV = -19;
inline constexpr int kEINVAL = -22;

// The families, each adding its methods to `server` (in the order
// rpc_get_methods lists them) and keeping its table in `state`.
void RegisterFrameworkMethods(RpcServer& server, ControlState& state);
void RegisterNvmfMethods(RpcServer& server, ControlState& state);
void RegisterBdevMethods(RpcServer& server, ControlState& state);
void RegisterAuthMethods(RpcServer& server, ControlState& state);

// A host of params.host with its key names (params.dhchap_key,
// params.dhchap_ctrlr_key), and a host as nvmf_get_subsystems and
// save_config show it (key names, never secrets).
Result<HostConfig> HostParams(const Json& p);
Json HostJson(const std::string& nqn, const controller::HostEntry& e);

// Replies: invalid parameters, an internal error, SPDK's -errno codes.
RpcReply Invalid(const Status& s);
RpcReply Invalid(std::string message);
RpcReply Internal(const Status& s);
RpcReply Errno(int code, const Status& s);
RpcReply True();

// A parameter SPDK's rpc.py may send that means nothing here: accepted with
// its default value (any value when `any`), refused otherwise.
struct Ignored {
  std::string_view key;
  Json value;
  bool any = false;
};

// Unknown keys are refused by name; ignored ones are checked as above.
Status CheckKeys(const Json& obj, std::string_view path,
                 std::initializer_list<std::string_view> known,
                 std::initializer_list<Ignored> ignored = {});

// The object at `key` (required), for nested parameters.
Result<const Json*> Object(const Json& params, std::string_view path,
                           std::string_view key);
Result<std::string> RequiredString(const ObjectReader& r, std::string_view key);
// "TCP" (case-insensitive) is the one transport.
Status CheckTrtype(const ObjectReader& r, bool required);

// A listen_address / address object: TCP, a numeric address, a service id.
struct Address {
  std::string traddr;
  std::string trsvcid;
  bool ipv6 = false;
};
Result<Address> ReadAddress(const Json& obj, const std::string& path);
Json AddressJson(bool ipv6, const std::string& traddr,
                 const std::string& trsvcid);

std::string UpperHex(std::span<const uint8_t> bytes);
std::array<uint8_t, 16> RandomUuid();

// The method SPDK's config would recreate a bdev with.
std::string CreateMethod(const NamedBackend& b);
// A namespace as nvmf_get_subsystems lists it (`listing`) or as
// nvmf_subsystem_add_ns takes it.
Json NsJson(const Namespace& ns, bool listing);
Json ReferralJson(const Referral& ref);
// The TCP transport as nvmf_get_transports shows it.
Json TransportJson(const ControlState& state);

}  // namespace nvmeof::mgmt::spdk_rpc

#endif  // NVMEOF_MGMT_SPDK_RPC_H_
