#include "mgmt/spdk_methods.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>

#include "controller/backend_registry.h"
#include "controller/config_reader.h"
#include "controller/config_values.h"
#include "io/socket.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::mgmt {

namespace {

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

constexpr char kVersion[] = "nvmeof v0.1.0";
// The negated errno values SPDK answers for bdev-layer errors.
constexpr int kENOENT = -2;
constexpr int kEEXIST = -17;
constexpr int kENODEV = -19;
constexpr int kEINVAL = -22;

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
                 std::initializer_list<Ignored> ignored = {}) {
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

// A listen_address / address object: TCP, a numeric address, a service id.
struct Address {
  std::string traddr;
  std::string trsvcid;
  bool ipv6 = false;
};
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

std::string ProductName(const NamedBackend& b) {
  if (b.config.type == "ram") return "Malloc disk";
  if (b.config.type == "null") return "Null disk";
  if (b.config.type == "file" || b.config.type == "block") return "AIO disk";
  return b.config.type + " disk";
}

// The method SPDK's config would recreate a bdev with.
std::string CreateMethod(const NamedBackend& b) {
  if (b.config.type == "ram") return "bdev_malloc_create";
  if (b.config.type == "null") return "bdev_null_create";
  return "bdev_aio_create";
}

Json BdevJson(const NamedBackend& b) {
  const bool claimed = !b.user_nqn.empty();
  const bool ram = b.config.type == "ram";
  const bool null = b.config.type == "null";
  Json j = Json::object();
  j["name"] = b.name;
  j["aliases"] = Json::array({FormatUuid(b.uuid)});
  j["product_name"] = ProductName(b);
  j["block_size"] = b.backend->block_size();
  j["num_blocks"] = b.backend->num_blocks();
  j["uuid"] = FormatUuid(b.uuid);
  j["assigned_rate_limits"] = {{"rw_ios_per_sec", 0},
                               {"rw_mbytes_per_sec", 0},
                               {"r_mbytes_per_sec", 0},
                               {"w_mbytes_per_sec", 0}};
  j["claimed"] = claimed;
  if (claimed) j["claim_type"] = "exclusive_write";
  j["zoned"] = false;
  j["supported_io_types"] = {{"read", true},
                             {"write", !b.backend->read_only()},
                             {"unmap", !null},
                             {"flush", true},
                             {"reset", true},
                             {"nvme_admin", false},
                             {"nvme_io", false},
                             {"write_zeroes", true},
                             {"zcopy", ram},
                             {"compare", true},
                             {"abort", false}};
  Json driver = Json::object();
  if (!ram && !null) {
    driver["aio"] = {{"filename", b.config.params.value("path", "")},
                     {"block_size_override", true},
                     {"readonly", b.backend->read_only()},
                     {"fallocate", false},
                     {"nowait", false}};
  }
  j["driver_specific"] = driver;
  return j;
}

// ---- the methods, over the shared state ----

class Methods {
 public:
  explicit Methods(ControlState& s) : s_(s), t_(*s.target) {}

  void Register(RpcServer& server) {
    auto add = [&](const char* name, RpcReply (Methods::*m)(const Json&)) {
      server.AddMethod(name, [this, m](const Json& p) { return (this->*m)(p); });
    };
    server_ = &server;
    add("spdk_get_version", &Methods::SpdkGetVersion);
    add("rpc_get_methods", &Methods::RpcGetMethods);
    add("framework_get_subsystems", &Methods::FrameworkGetSubsystems);
    add("framework_get_config", &Methods::FrameworkGetConfig);
    add("bdev_wait_for_examine", &Methods::NoOp);
    add("nvmeof_save_config", &Methods::SaveConfig);
    add("nvmf_create_transport", &Methods::CreateTransport);
    add("nvmf_get_transports", &Methods::GetTransports);
    add("nvmf_create_subsystem", &Methods::CreateSubsystem);
    add("nvmf_delete_subsystem", &Methods::DeleteSubsystem);
    add("nvmf_get_subsystems", &Methods::GetSubsystems);
    add("nvmf_subsystem_add_listener", &Methods::AddListener);
    add("nvmf_subsystem_remove_listener", &Methods::RemoveListener);
    add("nvmf_subsystem_get_listeners", &Methods::GetListeners);
    add("nvmf_subsystem_add_ns", &Methods::AddNs);
    add("nvmf_subsystem_remove_ns", &Methods::RemoveNs);
    add("nvmf_subsystem_add_host", &Methods::AddHost);
    add("nvmf_subsystem_remove_host", &Methods::RemoveHost);
    add("nvmf_subsystem_allow_any_host", &Methods::AllowAnyHost);
    add("nvmf_subsystem_get_controllers", &Methods::GetControllers);
    add("nvmf_subsystem_get_qpairs", &Methods::GetQpairs);
    add("nvmf_get_stats", &Methods::GetStats);
    add("nvmf_discovery_add_referral", &Methods::AddReferral);
    add("nvmf_discovery_remove_referral", &Methods::RemoveReferral);
    add("nvmf_discovery_get_referrals", &Methods::GetReferrals);
    add("bdev_malloc_create", &Methods::MallocCreate);
    add("bdev_malloc_delete", &Methods::MallocDelete);
    add("bdev_null_create", &Methods::NullCreate);
    add("bdev_null_delete", &Methods::NullDelete);
    add("bdev_null_resize", &Methods::NullResize);
    add("bdev_aio_create", &Methods::AioCreate);
    add("bdev_aio_delete", &Methods::FileDelete);
    add("bdev_aio_rescan", &Methods::Rescan);
    add("bdev_uring_create", &Methods::UringCreate);
    add("bdev_uring_delete", &Methods::FileDelete);
    add("bdev_uring_rescan", &Methods::Rescan);
    add("bdev_resize", &Methods::Resize);
    add("bdev_get_bdevs", &Methods::GetBdevs);
    add("bdev_get_iostat", &Methods::GetIostat);
  }

 private:
  // ---- framework ----

  RpcReply SpdkGetVersion(const Json& p) {
    if (!p.empty()) return Invalid("spdk_get_version takes no parameters");
    return RpcReply::Ok({{"version", kVersion},
                         {"fields",
                          {{"major", 0},
                           {"minor", 1},
                           {"patch", 0},
                           {"suffix", ""},
                           {"commit", ""}}}});
  }

  RpcReply RpcGetMethods(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"current", "include_aliases"});
        !s.ok()) {
      return Invalid(s);
    }
    Json names = Json::array();
    for (const std::string& n : server_->MethodNames()) names.push_back(n);
    return RpcReply::Ok(names);
  }

  RpcReply FrameworkGetSubsystems(const Json& p) {
    if (!p.empty()) return Invalid("framework_get_subsystems takes no parameters");
    // In dependency order: save_config needs each dependency listed first.
    return RpcReply::Ok(Json::array(
        {{{"subsystem", "bdev"}, {"depends_on", Json::array()}},
         {{"subsystem", "nvmf"}, {"depends_on", Json::array({"bdev"})}}}));
  }

  RpcReply NoOp(const Json& p) {
    if (!p.empty()) return Invalid("this method takes no parameters");
    return True();
  }

  RpcReply FrameworkGetConfig(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name"}, {{"with_batches", false}});
        !s.ok()) {
      return Invalid(s);
    }
    ObjectReader r(p, "params");
    Result<std::string> name = RequiredString(r, "name");
    if (!name.ok()) return Invalid(name.status());
    if (*name == "bdev") return RpcReply::Ok(BdevConfig());
    if (*name == "nvmf") return RpcReply::Ok(NvmfConfig());
    return Invalid("Subsystem '" + *name + "' not found");
  }

  Json BdevConfig() {
    Json out = Json::array();
    for (const NamedBackend& b : t_.backends()) {
      Json params = Json::object();
      params["name"] = b.name;
      if (b.config.type == "ram" || b.config.type == "null") {
        params["num_blocks"] = b.backend->num_blocks();
        params["block_size"] = b.backend->block_size();
      } else {
        params["filename"] = b.config.params.value("path", "");
        params["block_size"] = b.backend->block_size();
        params["readonly"] = b.backend->read_only();
      }
      params["uuid"] = FormatUuid(b.uuid);
      out.push_back({{"method", CreateMethod(b)}, {"params", params}});
    }
    out.push_back({{"method", "bdev_wait_for_examine"}});
    return out;
  }

  Json NvmfConfig() {
    Json out = Json::array();
    if (s_.tcp_transport) {
      out.push_back({{"method", "nvmf_create_transport"},
                     {"params", TransportJson()}});
    }
    for (const Referral& ref : t_.referrals()) {
      out.push_back({{"method", "nvmf_discovery_add_referral"},
                     {"params", ReferralJson(ref)}});
    }
    auto subs = t_.subsystems();
    for (const auto& s : subs) {
      out.push_back(
          {{"method", "nvmf_create_subsystem"},
           {"params",
            {{"nqn", s->nqn()},
             {"allow_any_host", s->allow_any_host()},
             {"serial_number", s->serial},
             {"model_number", s->model},
             {"max_namespaces", s->max_namespaces},
             {"min_cntlid", s->min_cntlid},
             {"max_cntlid", s->max_cntlid}}}});
    }
    for (const auto& s : subs) {
      for (const std::string& h : s->hosts()) {
        out.push_back({{"method", "nvmf_subsystem_add_host"},
                       {"params", {{"nqn", s->nqn()}, {"host", h}}}});
      }
    }
    for (const auto& s : subs) {
      for (const auto& [nsid, ns] : s->namespaces()->by_nsid) {
        if (ns->backend_name.empty()) continue;  // inline: no bdev to name
        out.push_back({{"method", "nvmf_subsystem_add_ns"},
                       {"params",
                        {{"nqn", s->nqn()}, {"namespace", NsJson(*ns, false)}}}});
      }
    }
    for (const auto& port : t_.ports()) {
      for (const std::string& nqn : port->subsystems()) {
        out.push_back(
            {{"method", "nvmf_subsystem_add_listener"},
             {"params",
              {{"nqn", nqn},
               {"listen_address",
                AddressJson(port->ipv6, port->traddr, port->trsvcid)},
               {"secure_channel", false}}}});
      }
    }
    return out;
  }

  RpcReply SaveConfig(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"file"}); !s.ok()) return Invalid(s);
    if (!s_.save_config) {
      return RpcReply::Error(rpc_code::kInternalError,
                             "saving the config is not available here");
    }
    Result<Json> saved = s_.save_config();
    if (!saved.ok()) return Internal(saved.status());
    Json config = std::move(saved).value();
    ObjectReader r(p, "params");
    Result<std::string> file = r.String("file", "");
    if (!file.ok()) return Invalid(file.status());
    if (!file->empty()) {
      // Written beside, then renamed: a failed write leaves the old file.
      const std::string tmp = *file + ".tmp";
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << config.dump(2) << "\n";
        if (!out) {
          return Internal(ErrnoError(errno, "cannot write " + tmp));
        }
      }
      if (std::rename(tmp.c_str(), file->c_str()) != 0) {
        return Internal(ErrnoError(errno, "cannot rename " + tmp));
      }
    }
    return RpcReply::Ok(config);
  }

  // ---- transport ----

  Json TransportJson() const {
    const PortParams& t = s_.tcp;
    return Json{{"trtype", "TCP"},
                {"max_queue_depth", t.max_queue_size},
                {"max_io_qpairs_per_ctrlr", t.max_io_queues},
                {"in_capsule_data_size", t.in_capsule_data_size},
                {"max_io_size", uint32_t{1} << 20},
                {"max_aq_depth", s_.max_aq_depth},
                {"c2h_success", s_.c2h_success},
                {"dif_insert_or_strip", false},
                {"zcopy", false}};
  }

  RpcReply CreateTransport(const Json& p) {
    // The tunables of SPDK's buffer pools and of other transports mean
    // nothing here: accepted with any value (docs/RPC.md).
    Status keys = CheckKeys(
        p, "params",
        {"trtype", "max_queue_depth", "max_io_qpairs_per_ctrlr",
         "in_capsule_data_size", "max_io_size", "max_aq_depth", "c2h_success"},
        {{"no_srq", false},
         {"zcopy", false},
         {"dif_insert_or_strip", false},
         {"no_wr_batching", false},
         {"disable_mappable_bar0", false},
         {"disable_adaptive_irq", false},
         {"disable_shadow_doorbells", false},
         {"disable_command_passthru", false},
         {"io_unit_size", nullptr, true},
         {"num_shared_buffers", nullptr, true},
         {"buf_cache_size", nullptr, true},
         {"iobuf_small_cache_size", nullptr, true},
         {"iobuf_large_cache_size", nullptr, true},
         {"num_cqe", nullptr, true},
         {"max_srq_depth", nullptr, true},
         {"sock_priority", nullptr, true},
         {"acceptor_backlog", nullptr, true},
         {"abort_timeout_sec", nullptr, true},
         {"control_msg_num", nullptr, true},
         {"acceptor_poll_rate", nullptr, true},
         {"ack_timeout", nullptr, true},
         {"data_wr_pool_size", nullptr, true},
         {"kas", nullptr, true},
         {"min_kato", nullptr, true}});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(p, "params");
    if (Status s = CheckTrtype(r, true); !s.ok()) {
      return Invalid(s);
    }
    if (s_.tcp_transport && !s_.tcp_transport_implicit) {
      return RpcReply::Error(rpc_code::kInternalError,
                             "Transport type 'TCP' already exists");
    }
    PortParams t = s_.tcp;
    auto qd = r.Uint("max_queue_depth", 2, 1024, t.max_queue_size);
    auto ioq = r.Uint("max_io_qpairs_per_ctrlr", 1, 65534, t.max_io_queues);
    auto icd = r.Uint("in_capsule_data_size", 0, 1 << 20,
                      t.in_capsule_data_size);
    auto mio = r.Uint("max_io_size", 4096, 1 << 20, 1 << 20);
    auto aq = r.Uint("max_aq_depth", 32, 1024, s_.max_aq_depth);
    auto c2h = r.Bool("c2h_success", true);
    for (const Status* st : {&qd.status(), &ioq.status(), &icd.status(),
                             &mio.status(), &aq.status(), &c2h.status()}) {
      if (!st->ok()) return Invalid(*st);
    }
    if (*icd % 16 != 0) {
      return Invalid("params.in_capsule_data_size: must be a multiple of 16");
    }
    if (*mio != (1u << 20)) {
      return Invalid(
          "params.max_io_size: only 1048576 (MDTS 1 MiB) is supported");
    }
    t.max_queue_size = static_cast<uint16_t>(*qd);
    t.max_io_queues = static_cast<uint16_t>(*ioq);
    t.in_capsule_data_size = static_cast<uint32_t>(*icd);
    s_.tcp = t;
    s_.max_aq_depth = static_cast<uint32_t>(*aq);
    s_.c2h_success = *c2h;
    s_.tcp_transport = true;
    s_.tcp_transport_implicit = false;
    return True();
  }

  RpcReply GetTransports(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"trtype"}); !s.ok()) {
      return Invalid(s);
    }
    ObjectReader r(p, "params");
    if (Status s = CheckTrtype(r, false); !s.ok()) {
      return RpcReply::Error(kENODEV, "No such device: " +
                                          std::string(s.message()));
    }
    if (!s_.tcp_transport) {
      if (r.Has("trtype")) {
        return RpcReply::Error(kENODEV, "No such device: no TCP transport "
                                        "(nvmf_create_transport first)");
      }
      return RpcReply::Ok(Json::array());
    }
    return RpcReply::Ok(Json::array({TransportJson()}));
  }

  // ---- subsystems ----

  // The subsystem named by params.nqn, or the reply to send.
  std::shared_ptr<Subsystem> Find(const Json& p, RpcReply* fail) {
    ObjectReader r(p, "params");
    Result<std::string> nqn = RequiredString(r, "nqn");
    if (!nqn.ok()) {
      *fail = Invalid(nqn.status());
      return nullptr;
    }
    std::shared_ptr<Subsystem> s = t_.GetSubsystem(*nqn);
    if (s == nullptr) {
      *fail = Invalid("subsystem " + *nqn + " does not exist");
    }
    return s;
  }

  RpcReply CreateSubsystem(const Json& p) {
    Status keys = CheckKeys(
        p, "params",
        {"nqn", "serial_number", "model_number", "allow_any_host",
         "max_namespaces", "min_cntlid", "max_cntlid"},
        {{"ana_reporting", false},
         {"passthrough", false},
         {"enable_nssr", false},
         {"dmrsl", nullptr, true},
         {"wzsl", nullptr, true},
         {"max_discard_size_kib", nullptr, true},
         {"max_write_zeroes_size_kib", nullptr, true}});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(p, "params");
    Result<std::string> nqn = RequiredString(r, "nqn");
    if (!nqn.ok()) return Invalid(nqn.status());
    if (Status v = ValidateNqn(*nqn); !v.ok()) {
      return RpcReply::Error(rpc_code::kInternalError,
                             "Unable to create subsystem " + *nqn + ": " +
                                 std::string(v.message()));
    }
    auto serial = r.String(
        "serial_number", controller::config_internal::DeriveSerial(*nqn));
    auto model = r.String("model_number", "nvmeof");
    auto any = r.Bool("allow_any_host", false);
    auto maxns = r.Uint("max_namespaces", 0, 1024, 32);
    auto lo = r.Uint("min_cntlid", 1, 0xFFEF, 1);
    auto hi = r.Uint("max_cntlid", 1, 0xFFEF, 0xFFEF);
    for (const Status* st : {&serial.status(), &model.status(), &any.status(),
                             &maxns.status(), &lo.status(), &hi.status()}) {
      if (!st->ok()) return Invalid(*st);
    }
    if (serial->empty() || serial->size() > 20) {
      return Invalid("params.serial_number: 1 to 20 characters, got " +
                     std::to_string(serial->size()));
    }
    if (model->empty() || model->size() > 40) {
      return Invalid("params.model_number: 1 to 40 characters, got " +
                     std::to_string(model->size()));
    }
    if (*lo > *hi) {
      return Invalid("Invalid cntlid range [" + std::to_string(*lo) + "-" +
                     std::to_string(*hi) + "]");
    }
    auto s = std::make_shared<Subsystem>(*nqn, SubsystemType::kNvm);
    s->serial = *serial;
    s->model = *model;
    s->set_allow_any_host(*any);
    s->max_namespaces = *maxns == 0 ? 32 : static_cast<uint32_t>(*maxns);
    s->min_cntlid = static_cast<uint16_t>(*lo);
    s->max_cntlid = static_cast<uint16_t>(*hi);
    if (Status st = t_.AddSubsystem(std::move(s)); !st.ok()) {
      return RpcReply::Error(rpc_code::kInternalError,
                             "Unable to create subsystem " + *nqn + ": " +
                                 std::string(st.message()));
    }
    return True();
  }

  RpcReply DeleteSubsystem(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn"}); !s.ok()) return Invalid(s);
    RpcReply fail;
    std::shared_ptr<Subsystem> s = Find(p, &fail);
    if (s == nullptr) return fail;
    if (Status st = t_.DeleteSubsystem(s->nqn()); !st.ok()) return Invalid(st);
    return True();
  }

  Json ListenersOf(const std::string& nqn, bool discovery) {
    Json out = Json::array();
    auto ports = t_.ports();
    // Newest first, as SPDK lists them.
    for (auto it = ports.rbegin(); it != ports.rend(); ++it) {
      const auto& port = *it;
      if (discovery || port->Exposes(nqn)) {
        out.push_back(AddressJson(port->ipv6, port->traddr, port->trsvcid));
      }
    }
    return out;
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

  Json SubsystemJson(const Subsystem& s) {
    Json j = Json::object();
    j["nqn"] = s.nqn();
    j["subtype"] = "NVMe";
    j["listen_addresses"] = ListenersOf(s.nqn(), false);
    j["allow_any_host"] = s.allow_any_host();
    Json hosts = Json::array();
    for (const std::string& h : s.hosts()) hosts.push_back({{"nqn", h}});
    j["hosts"] = hosts;
    j["serial_number"] = s.serial;
    j["model_number"] = s.model;
    j["max_namespaces"] = s.max_namespaces;
    j["min_cntlid"] = s.min_cntlid;
    j["max_cntlid"] = s.max_cntlid;
    Json nss = Json::array();
    for (const auto& [nsid, ns] : s.namespaces()->by_nsid) {
      nss.push_back(NsJson(*ns, true));
    }
    j["namespaces"] = nss;
    return j;
  }

  RpcReply GetSubsystems(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn"}); !s.ok()) return Invalid(s);
    ObjectReader r(p, "params");
    Result<std::string> want = r.String("nqn", "");
    if (!want.ok()) return Invalid(want.status());
    Json out = Json::array();
    const std::string disc(kDiscoveryNqn);
    // Sorted by NQN: the discovery NQN (nqn.2014-08...) comes first.
    if (want->empty() || *want == disc) {
      out.push_back({{"nqn", disc},
                     {"subtype", "Discovery"},
                     {"listen_addresses", ListenersOf(disc, true)},
                     {"allow_any_host", true},
                     {"hosts", Json::array()}});
    }
    for (const auto& s : t_.subsystems()) {
      if (!want->empty() && s->nqn() != *want) continue;
      out.push_back(SubsystemJson(*s));
    }
    if (!want->empty() && out.empty()) {
      return RpcReply::Error(kENODEV,
                             "No such device: subsystem " + *want);
    }
    return RpcReply::Ok(out);
  }

  // ---- listeners ----

  RpcReply ListenerChange(const Json& p, bool add) {
    Status keys = add ? CheckKeys(p, "params", {"nqn", "listen_address"},
                                  {{"secure_channel", false}})
                      : CheckKeys(p, "params", {"nqn", "listen_address"});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(p, "params");
    Result<std::string> nqn = RequiredString(r, "nqn");
    if (!nqn.ok()) return Invalid(nqn.status());
    Result<const Json*> obj = Object(p, "params", "listen_address");
    if (!obj.ok()) return Invalid(obj.status());
    Result<Address> a = ReadAddress(**obj, "params.listen_address");
    if (!a.ok()) return Invalid(a.status());
    if (add && !s_.tcp_transport) {
      return Invalid("there is no TCP transport: nvmf_create_transport -t TCP "
                     "first");
    }
    controller::ListenParams params;
    params.transport = controller::ToQueuePairParams(s_.tcp);
    params.max_io_queues = s_.tcp.max_io_queues;
    Status st = add ? t_.AddListener(*nqn, TransportType::kTcp, a->traddr,
                                     a->trsvcid, params)
                    : t_.RemoveListener(*nqn, TransportType::kTcp, a->traddr,
                                        a->trsvcid);
    if (!st.ok()) return Invalid(st);
    return True();
  }
  RpcReply AddListener(const Json& p) { return ListenerChange(p, true); }
  RpcReply RemoveListener(const Json& p) { return ListenerChange(p, false); }

  // params.nqn of a method that takes nothing else: a subsystem that
  // exists, or the discovery NQN; none, with `fail` set, otherwise.
  std::optional<std::string> OnlyNqn(const Json& p, RpcReply* fail) {
    if (Status s = CheckKeys(p, "params", {"nqn"}); !s.ok()) {
      *fail = Invalid(s);
      return std::nullopt;
    }
    ObjectReader r(p, "params");
    Result<std::string> nqn = RequiredString(r, "nqn");
    if (!nqn.ok()) {
      *fail = Invalid(nqn.status());
      return std::nullopt;
    }
    if (*nqn != kDiscoveryNqn && t_.GetSubsystem(*nqn) == nullptr) {
      *fail = Invalid("subsystem " + *nqn + " does not exist");
      return std::nullopt;
    }
    return *nqn;
  }

  RpcReply GetListeners(const Json& p) {
    RpcReply fail;
    std::optional<std::string> nqn = OnlyNqn(p, &fail);
    if (!nqn) return fail;
    const bool disc = *nqn == kDiscoveryNqn;
    Json out = Json::array();
    for (Json& a : ListenersOf(*nqn, disc)) out.push_back({{"address", a}});
    return RpcReply::Ok(out);
  }

  // ---- namespaces ----

  RpcReply AddNs(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn", "namespace"}); !s.ok()) {
      return Invalid(s);
    }
    RpcReply fail;
    std::shared_ptr<Subsystem> s = Find(p, &fail);
    if (s == nullptr) return fail;
    Result<const Json*> obj = Object(p, "params", "namespace");
    if (!obj.ok()) return Invalid(obj.status());
    const std::string path = "params.namespace";
    Status keys = CheckKeys(**obj, path,
                            {"bdev_name", "nsid", "nguid", "eui64", "uuid"},
                            {{"no_auto_visible", false},
                             {"hide_metadata", false}});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(**obj, path);
    Result<std::string> bdev = RequiredString(r, "bdev_name");
    if (!bdev.ok()) return Invalid(bdev.status());
    Result<NamedBackend> b = t_.GetBackend(*bdev);
    if (!b.ok()) return Invalid(b.status());
    // The lowest free NSID unless given.
    auto table = s->namespaces();
    uint32_t free_nsid = 1;
    while (table->Find(free_nsid) != nullptr) ++free_nsid;
    Result<uint64_t> nsid = r.Uint("nsid", 1, 0xFFFFFFFE, free_nsid);
    if (!nsid.ok()) return Invalid(nsid.status());
    auto ns = std::make_shared<Namespace>();
    ns->nsid = static_cast<uint32_t>(*nsid);
    // By default SPDK's: the bdev's UUID, and its bytes as the NGUID.
    ns->uuid = b->uuid;
    ns->nguid = b->uuid;
    if (r.Has("uuid")) {
      Result<std::string> text = r.String("uuid", "");
      Result<std::array<uint8_t, 16>> u =
          text.ok() ? ParseUuid(*text) : Result<std::array<uint8_t, 16>>(
                                             text.status());
      if (!u.ok()) return Invalid(r.PathOf("uuid") + ": " +
                                  std::string(u.status().message()));
      ns->uuid = *u;
    }
    for (auto [key, out] : {std::pair<std::string_view, std::span<uint8_t>>{
                                "nguid", ns->nguid},
                            {"eui64", ns->eui64}}) {
      if (!r.Has(key)) continue;
      Result<std::string> text = r.String(key, "");
      if (!text.ok() || !ParseHex(*text, out)) {
        return Invalid(r.PathOf(key) + ": " + std::to_string(out.size() * 2) +
                       " hex digits expected");
      }
    }
    Status st = t_.AddNamespaceFromBackend(s->nqn(), *bdev, ns);
    if (!st.ok()) return Invalid(st);
    return RpcReply::Ok(*nsid);
  }

  RpcReply RemoveNs(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn", "nsid"}); !s.ok()) {
      return Invalid(s);
    }
    RpcReply fail;
    std::shared_ptr<Subsystem> s = Find(p, &fail);
    if (s == nullptr) return fail;
    ObjectReader r(p, "params");
    if (!r.Has("nsid")) return Invalid(r.Missing("nsid"));
    Result<uint64_t> nsid = r.Uint("nsid", 1, 0xFFFFFFFE, 0);
    if (!nsid.ok()) return Invalid(nsid.status());
    Status st = t_.RemoveNamespace(s->nqn(), static_cast<uint32_t>(*nsid));
    if (!st.ok()) return Invalid(st);
    return True();
  }

  // ---- hosts ----

  RpcReply AddHost(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn", "host"}); !s.ok()) {
      // The secrets of DH-HMAC-CHAP and TLS come with their own issue.
      for (const char* key : {"psk", "dhchap_key", "dhchap_ctrlr_key"}) {
        if (p.contains(key)) {
          return Invalid(std::string("params.") + key +
                         ": authentication keys are not supported yet");
        }
      }
      return Invalid(s);
    }
    return WithHost(p, [this](const std::string& nqn, const std::string& h) {
      return t_.AddHost(nqn, h);
    });
  }

  RpcReply RemoveHost(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn", "host"},
                             {{"timeout_ms", nullptr, true}});
        !s.ok()) {
      return Invalid(s);
    }
    return WithHost(p, [this](const std::string& nqn, const std::string& h) {
      return t_.RemoveHost(nqn, h);
    });
  }

  // `op` on the subsystem params.nqn names and the host params.host does.
  RpcReply WithHost(
      const Json& p,
      const std::function<Status(const std::string&, const std::string&)>&
          op) {
    RpcReply fail;
    std::shared_ptr<Subsystem> s = Find(p, &fail);
    if (s == nullptr) return fail;
    ObjectReader r(p, "params");
    Result<std::string> host = RequiredString(r, "host");
    if (!host.ok()) return Invalid(host.status());
    Status st = op(s->nqn(), *host);
    if (!st.ok()) return Internal(st);
    return True();
  }

  RpcReply AllowAnyHost(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"nqn", "allow_any_host"}); !s.ok()) {
      return Invalid(s);
    }
    RpcReply fail;
    std::shared_ptr<Subsystem> s = Find(p, &fail);
    if (s == nullptr) return fail;
    ObjectReader r(p, "params");
    if (!r.Has("allow_any_host")) return Invalid(r.Missing("allow_any_host"));
    Result<bool> allow = r.Bool("allow_any_host", false);
    if (!allow.ok()) return Invalid(allow.status());
    Status st = t_.SetAllowAnyHost(s->nqn(), *allow);
    if (!st.ok()) return Invalid(st);
    return True();
  }

  // ---- what is connected ----

  RpcReply GetControllers(const Json& p) {
    RpcReply fail;
    std::optional<std::string> nqn = OnlyNqn(p, &fail);
    if (!nqn) return fail;
    const bool disc = *nqn == kDiscoveryNqn;
    Json out = Json::array();
    for (const ControllerInfo& c : t_.Controllers(*nqn)) {
      out.push_back({{"cntlid", c.cntlid},
                     {"cntrltype", disc ? "discovery" : "io"},
                     {"hostnqn", c.hostnqn},
                     {"hostid", FormatUuid(c.hostid)},
                     // SPDK counts the admin queue too.
                     {"num_io_qpairs", c.io_queues + 1}});
    }
    return RpcReply::Ok(out);
  }

  static Json PeerJson(const std::string& peer) {
    // "ADDR:PORT" or "[ADDR]:PORT".
    std::string host = peer, port;
    size_t colon = peer.rfind(':');
    if (colon != std::string::npos) {
      host = peer.substr(0, colon);
      port = peer.substr(colon + 1);
    }
    if (host.size() >= 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    return AddressJson(host.find(':') != std::string::npos, host, port);
  }

  RpcReply GetQpairs(const Json& p) {
    RpcReply fail;
    std::optional<std::string> nqn = OnlyNqn(p, &fail);
    if (!nqn) return fail;
    Json out = Json::array();
    for (const QueuePairInfo& q : t_.QueuePairs(*nqn)) {
      Json listen = q.port ? AddressJson(q.port->ipv6, q.port->traddr,
                                         q.port->trsvcid)
                           : Json::object();
      out.push_back({{"cntlid", q.cntlid},
                     {"qid", q.qid},
                     {"state", "enabled"},
                     {"thread", "nvmeof_io_" + std::to_string(q.thread)},
                     {"hostnqn", q.hostnqn},
                     {"listen_address", listen},
                     {"peer_address", PeerJson(q.peer)}});
    }
    return RpcReply::Ok(out);
  }

  // Read and write commands each thread completed, over every namespace.
  std::vector<uint64_t> CompletedPerThread(size_t threads) {
    std::vector<uint64_t> done(threads, 0);
    for (const auto& s : t_.subsystems()) {
      for (const auto& [nsid, ns] : s->namespaces()->by_nsid) {
        for (size_t i = 0; i < threads; ++i) {
          const auto& c = ns->counters(i);
          done[i] += c.read_commands.load(std::memory_order_relaxed) +
                     c.write_commands.load(std::memory_order_relaxed);
        }
      }
    }
    return done;
  }

  RpcReply GetStats(const Json& p) {
    if (!p.empty()) {
      if (Status s = CheckKeys(p, "params", {}); !s.ok()) return Invalid(s);
    }
    auto stats = t_.ThreadStatistics();
    std::vector<uint64_t> done = CompletedPerThread(stats.size());
    Json groups = Json::array();
    for (const auto& st : stats) {
      groups.push_back(
          {{"name", "nvmeof_io_" + std::to_string(st.index)},
           {"admin_qpairs", st.admin_total},
           {"io_qpairs", st.io_total},
           {"current_admin_qpairs", st.admin_now},
           {"current_io_qpairs", st.io_now},
           {"current_unassociated_qpairs", st.unbound_now},
           {"pending_bdev_io", 0},
           {"completed_nvme_io", done[st.index]},
           {"transports", Json::array({{{"trtype", "TCP"}}})}});
    }
    return RpcReply::Ok({{"tick_rate", 1000000000}, {"poll_groups", groups}});
  }

  // ---- referrals ----

  static Json ReferralJson(const Referral& ref) {
    return Json{{"address", AddressJson(ref.ipv6, ref.traddr, ref.trsvcid)},
                {"secure_channel", ref.secure_channel},
                {"subnqn", ref.subnqn.empty() ? std::string(kDiscoveryNqn)
                                              : ref.subnqn}};
  }

  Result<Referral> ReadReferral(const Json& p, bool add) {
    NVMEOF_RETURN_IF_ERROR(
        add ? CheckKeys(p, "params", {"address", "subnqn"},
                        {{"secure_channel", false}})
            : CheckKeys(p, "params", {"address", "subnqn"}));
    NVMEOF_ASSIGN_OR_RETURN(const Json* obj, Object(p, "params", "address"));
    NVMEOF_ASSIGN_OR_RETURN(Address a, ReadAddress(*obj, "params.address"));
    if (a.trsvcid == "0") {
      return InvalidArgumentError(
          "params.address.trsvcid: a referral names a port from 1 to 65535");
    }
    ObjectReader r(p, "params");
    Referral ref;
    ref.traddr = a.traddr;
    ref.trsvcid = a.trsvcid;
    ref.ipv6 = a.ipv6;
    NVMEOF_ASSIGN_OR_RETURN(ref.subnqn, r.String("subnqn", ""));
    if (ref.subnqn == kDiscoveryNqn) ref.subnqn.clear();
    return ref;
  }

  RpcReply AddReferral(const Json& p) {
    Result<Referral> ref = ReadReferral(p, true);
    if (!ref.ok()) return Invalid(ref.status());
    if (Status st = t_.AddReferral(*ref); !st.ok()) return Internal(st);
    return True();
  }

  RpcReply RemoveReferral(const Json& p) {
    Result<Referral> ref = ReadReferral(p, false);
    if (!ref.ok()) return Invalid(ref.status());
    if (Status st = t_.RemoveReferral(*ref); !st.ok()) {
      return RpcReply::Error(rpc_code::kInternalError,
                             "Unable to remove a referral: " +
                                 std::string(st.message()));
    }
    return True();
  }

  RpcReply GetReferrals(const Json& p) {
    if (!p.empty()) {
      if (Status s = CheckKeys(p, "params", {}); !s.ok()) return Invalid(s);
    }
    Json out = Json::array();
    for (const Referral& ref : t_.referrals()) out.push_back(ReferralJson(ref));
    return RpcReply::Ok(out);
  }

  // ---- bdevs ----

  // A new named backend of `type` from `config`, named `name` (or
  // PREFIX<N>), with `uuid_text` or a random UUID.
  RpcReply MakeBdev(BackendConfig config, const ObjectReader& r,
                    const char* prefix, uint64_t* counter) {
    Result<std::string> name = r.String("name", "");
    if (!name.ok()) return Invalid(name.status());
    std::string n = *name;
    if (n.empty()) {
      if (counter == nullptr) return Invalid(r.Missing("name"));
      // Counted on every attempt, as SPDK does; a name taken by hand is
      // skipped (where SPDK would fail with EEXIST).
      do {
        n = prefix + std::to_string((*counter)++);
      } while (t_.GetBackend(n).ok());
    }
    std::array<uint8_t, 16> uuid = RandomUuid();
    if (r.Has("uuid")) {
      Result<std::string> text = r.String("uuid", "");
      Result<std::array<uint8_t, 16>> u =
          text.ok() ? ParseUuid(*text)
                    : Result<std::array<uint8_t, 16>>(text.status());
      if (!u.ok()) {
        return Invalid(r.PathOf("uuid") + ": " +
                       std::string(u.status().message()));
      }
      uuid = *u;
    }
    if (t_.GetBackend(n).ok()) {
      return RpcReply::Error(kEEXIST, "File exists: a bdev named " + n +
                                          " already exists");
    }
    Result<std::unique_ptr<Backend>> backend = controller::OpenBackend(config);
    if (!backend.ok()) {
      const int code = backend.status().code() == StatusCode::kNotFound
                           ? kENOENT
                           : kEINVAL;
      return Errno(code, backend.status());
    }
    NamedBackend nb;
    nb.name = n;
    nb.config = std::move(config);
    nb.backend = std::move(backend).value();
    nb.uuid = uuid;
    if (Status st = t_.AddBackend(std::move(nb)); !st.ok()) {
      return Errno(kEEXIST, st);
    }
    return RpcReply::Ok(n);
  }

  // Sizes from num_blocks x block_size (bdev_malloc_create,
  // bdev_null_create): a block size the target exports, 512 or 4096.
  Result<BackendConfig> SizedConfig(const ObjectReader& r, const char* type) {
    if (!r.Has("num_blocks")) return r.Missing("num_blocks");
    if (!r.Has("block_size")) return r.Missing("block_size");
    NVMEOF_ASSIGN_OR_RETURN(uint64_t blocks,
                            r.Uint("num_blocks", 1, uint64_t{1} << 40, 0));
    NVMEOF_ASSIGN_OR_RETURN(uint64_t bs, r.Uint("block_size", 1, 1 << 20, 0));
    if (bs != 512 && bs != 4096) {
      return InvalidArgumentError(r.PathOf("block_size") +
                                  ": 512 or 4096, got " + std::to_string(bs));
    }
    BackendConfig c;
    c.type = type;
    c.options.block_size = static_cast<uint32_t>(bs);
    c.params["size"] = blocks * bs;
    return c;
  }

  RpcReply MallocCreate(const Json& p) {
    Status keys = CheckKeys(
        p, "params", {"num_blocks", "block_size", "name", "uuid"},
        {{"md_interleave", false},
         {"dif_is_head_of_md", false},
         {"md_size", 0},
         {"dif_type", 0},
         {"dif_pi_format", 0},
         {"physical_block_size", nullptr, true},
         {"optimal_io_boundary", nullptr, true},
         {"numa_id", nullptr, true}});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(p, "params");
    Result<BackendConfig> c = SizedConfig(r, "ram");
    if (!c.ok()) return Errno(kEINVAL, c.status());
    return MakeBdev(std::move(c).value(), r, "Malloc", &s_.next_malloc);
  }

  RpcReply NullCreate(const Json& p) {
    Status keys = CheckKeys(
        p, "params", {"num_blocks", "block_size", "name", "uuid"},
        {{"dif_is_head_of_md", false},
         {"md_size", 0},
         {"dif_type", 0},
         {"dif_pi_format", 0},
         {"physical_block_size", nullptr, true},
         {"preferred_write_alignment", nullptr, true},
         {"preferred_write_granularity", nullptr, true},
         {"optimal_write_size", nullptr, true},
         {"preferred_unmap_alignment", nullptr, true},
         {"preferred_unmap_granularity", nullptr, true}});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(p, "params");
    if (!r.Has("name")) return Invalid(r.Missing("name"));
    Result<BackendConfig> c = SizedConfig(r, "null");
    if (!c.ok()) return Errno(kEINVAL, c.status());
    return MakeBdev(std::move(c).value(), r, "Null", nullptr);
  }

  // bdev_aio_create and bdev_uring_create: the file or block device
  // backend (io_uring either way).
  RpcReply FileCreate(const Json& p, bool aio) {
    Status keys =
        aio ? CheckKeys(p, "params",
                        {"filename", "name", "block_size", "readonly", "uuid"},
                        {{"fallocate", false}, {"nowait", false}})
            : CheckKeys(p, "params", {"filename", "name", "block_size", "uuid"});
    if (!keys.ok()) return Invalid(keys);
    ObjectReader r(p, "params");
    if (!r.Has("name")) return Invalid(r.Missing("name"));
    Result<std::string> file = RequiredString(r, "filename");
    if (!file.ok()) return Invalid(file.status());
    Result<uint64_t> bs = r.Uint("block_size", 1, 1 << 20, 512);
    Result<bool> ro = r.Bool("readonly", false);
    if (!bs.ok()) return Errno(kEINVAL, bs.status());
    if (!ro.ok()) return Invalid(ro.status());
    if (*bs != 512 && *bs != 4096) {
      return Errno(kEINVAL, InvalidArgumentError("params.block_size: 512 or "
                                                 "4096, got " +
                                                 std::to_string(*bs)));
    }
    struct stat st {};
    if (stat(file->c_str(), &st) != 0) {
      return Errno(-errno, ErrnoError(errno, *file));
    }
    BackendConfig c;
    c.type = S_ISBLK(st.st_mode) ? "block" : "file";
    c.options.block_size = static_cast<uint32_t>(*bs);
    c.options.read_only = *ro;
    c.params["path"] = *file;
    // Through the plug-in's own reader, so that its defaults (and its
    // checks) are the config file's.
    const controller::BackendPlugin* plugin =
        controller::BackendRegistry::Global().Find(c.type);
    if (plugin == nullptr) {
      return Errno(kEINVAL, InvalidArgumentError("no " + c.type + " backend"));
    }
    controller::config_internal::Json in = c.params;
    Result<controller::config_internal::Json> read =
        plugin->Read(ObjectReader(in, "params"), c.options);
    if (!read.ok()) return Errno(kEINVAL, read.status());
    c.params = std::move(read).value();
    return MakeBdev(std::move(c), r, "", nullptr);
  }
  RpcReply AioCreate(const Json& p) { return FileCreate(p, true); }
  RpcReply UringCreate(const Json& p) { return FileCreate(p, false); }

  // bdev_malloc_delete and the others: each deletes bdevs of its own
  // kind (as SPDK's do), by name.
  RpcReply BdevDelete(const Json& p, std::initializer_list<std::string_view> types) {
    if (Status s = CheckKeys(p, "params", {"name"}); !s.ok()) return Invalid(s);
    ObjectReader r(p, "params");
    Result<std::string> name = RequiredString(r, "name");
    if (!name.ok()) return Invalid(name.status());
    Result<NamedBackend> b = t_.GetBackend(*name);
    if (!b.ok()) return Errno(kENODEV, b.status());
    if (std::find(types.begin(), types.end(), b->config.type) == types.end()) {
      return Errno(kENODEV,
                   NotFoundError("bdev " + *name + " (" + ProductName(*b) +
                                 ") is not of the kind this method deletes"));
    }
    if (Status st = t_.DeleteBackend(*name); !st.ok()) {
      return Errno(kENODEV, st);
    }
    return True();
  }
  RpcReply MallocDelete(const Json& p) { return BdevDelete(p, {"ram"}); }
  RpcReply NullDelete(const Json& p) { return BdevDelete(p, {"null"}); }
  RpcReply FileDelete(const Json& p) {
    return BdevDelete(p, {"file", "block"});
  }

  RpcReply GrowTo(const std::string& name, uint64_t bytes) {
    Status st = t_.GrowBackend(name, bytes);
    if (st.code() == StatusCode::kNotFound) return Errno(kENODEV, st);
    if (!st.ok()) return Errno(kEINVAL, st);
    return True();
  }

  RpcReply NullResize(const Json& p) { return Resize(p); }

  // bdev_null_resize (SPDK) and bdev_resize (this project's, for every
  // backend that can grow): new_size in MiB.
  RpcReply Resize(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name", "new_size"}); !s.ok()) {
      return Invalid(s);
    }
    ObjectReader r(p, "params");
    Result<std::string> name = RequiredString(r, "name");
    if (!name.ok()) return Invalid(name.status());
    if (!r.Has("new_size")) return Invalid(r.Missing("new_size"));
    Result<uint64_t> mib = r.Uint("new_size", 1, uint64_t{1} << 26, 0);
    if (!mib.ok()) return Errno(kEINVAL, mib.status());
    return GrowTo(*name, *mib << 20);
  }

  // bdev_aio_rescan: the file (or device) grew underneath; serve its size.
  RpcReply Rescan(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name"}); !s.ok()) return Invalid(s);
    ObjectReader r(p, "params");
    Result<std::string> name = RequiredString(r, "name");
    if (!name.ok()) return Invalid(name.status());
    Result<NamedBackend> b = t_.GetBackend(*name);
    if (!b.ok()) return Errno(kENODEV, b.status());
    const std::string path = b->config.params.value("path", "");
    if (path.empty()) {
      return Errno(kEINVAL, InvalidArgumentError(*name + " is not a file"));
    }
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      return Errno(-errno, ErrnoError(errno, path));
    }
    uint64_t bytes = static_cast<uint64_t>(st.st_size);
    if (S_ISBLK(st.st_mode)) {
      // A block device reports no st_size: ask it.
      Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid() || ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) {
        return Errno(-errno, ErrnoError(errno, path));
      }
    }
    bytes -= bytes % b->backend->block_size();
    if (bytes <= b->backend->size_bytes()) return True();
    return GrowTo(*name, bytes);
  }

  RpcReply GetBdevs(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name"}, {{"timeout", nullptr, true}});
        !s.ok()) {
      return Invalid(s);
    }
    ObjectReader r(p, "params");
    Result<std::string> name = r.String("name", "");
    if (!name.ok()) return Invalid(name.status());
    Json out = Json::array();
    for (const NamedBackend& b : t_.backends()) {
      if (!name->empty() && b.name != *name && FormatUuid(b.uuid) != *name) {
        continue;
      }
      out.push_back(BdevJson(b));
    }
    if (!name->empty() && out.empty()) {
      return RpcReply::Error(kENODEV, "No such device: bdev " + *name);
    }
    return RpcReply::Ok(out);
  }

  RpcReply GetIostat(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name", "names"},
                             {{"per_channel", false},
                              {"reset_mode", "none"}});
        !s.ok()) {
      return Invalid(s);
    }
    std::vector<std::string> names;
    if (auto it = p.find("name"); it != p.end() && it->is_string()) {
      names.push_back(it->get<std::string>());
    }
    if (auto it = p.find("names"); it != p.end()) {
      if (!it->is_array()) return Invalid("params.names: must be an array");
      for (const Json& n : *it) {
        if (!n.is_string()) {
          return Invalid("params.names: must hold strings");
        }
        names.push_back(n.get<std::string>());
      }
    }
    auto all = t_.backends();
    for (const std::string& n : names) {
      if (std::none_of(all.begin(), all.end(),
                       [&](const NamedBackend& b) { return b.name == n; })) {
        return RpcReply::Error(kENODEV, "No such device: bdev " + n);
      }
    }
    Json bdevs = Json::array();
    for (const NamedBackend& b : all) {
      if (!names.empty() &&
          std::find(names.begin(), names.end(), b.name) == names.end()) {
        continue;
      }
      uint64_t reads = 0, writes = 0, rbytes = 0, wbytes = 0;
      if (!b.user_nqn.empty()) {
        if (auto s = t_.GetSubsystem(b.user_nqn)) {
          auto table = s->namespaces();
          if (const Namespace* ns = table->Find(b.user_nsid)) {
            ns->ForEachCounters([&](const controller::IoCounters& c) {
              reads += c.read_commands.load(std::memory_order_relaxed);
              writes += c.write_commands.load(std::memory_order_relaxed);
              rbytes += c.bytes_read.load(std::memory_order_relaxed);
              wbytes += c.bytes_written.load(std::memory_order_relaxed);
            });
          }
        }
      }
      bdevs.push_back({{"name", b.name},
                       {"bytes_read", rbytes},
                       {"num_read_ops", reads},
                       {"bytes_written", wbytes},
                       {"num_write_ops", writes},
                       {"bytes_unmapped", 0},
                       {"num_unmap_ops", 0},
                       {"read_latency_ticks", 0},
                       {"write_latency_ticks", 0},
                       {"unmap_latency_ticks", 0},
                       {"io_error", Json::object()}});
    }
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    return RpcReply::Ok(
        {{"tick_rate", 1000000000}, {"ticks", now}, {"bdevs", bdevs}});
  }

  ControlState& s_;
  TargetImpl& t_;
  RpcServer* server_ = nullptr;
};

}  // namespace

void RegisterMethods(RpcServer& server, ControlState& state) {
  // The methods live with the state, which outlives the server.
  auto m = std::make_shared<Methods>(state);
  m->Register(server);
  state.methods = std::move(m);
}

}  // namespace nvmeof::mgmt
