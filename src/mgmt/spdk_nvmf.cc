// The nvmf family of the SPDK-compatible methods: subsystems, listeners,
// namespaces, hosts, the controllers and queue pairs they have, statistics
// and discovery referrals.

#include "mgmt/spdk_rpc.h"

#include <algorithm>
#include <optional>

#include "nvmeof/proto/nqn.h"

namespace nvmeof::mgmt::spdk_rpc {

namespace {

class NvmfMethods {
 public:
  explicit NvmfMethods(ControlState& s) : s_(s), t_(*s.target) {}

  void Register(RpcServer& server) {
    auto add = [&](const char* name, RpcReply (NvmfMethods::*m)(const Json&)) {
      server.AddMethod(name, [this, m](const Json& p) { return (this->*m)(p); });
    };
    add("nvmf_create_subsystem", &NvmfMethods::CreateSubsystem);
    add("nvmf_delete_subsystem", &NvmfMethods::DeleteSubsystem);
    add("nvmf_get_subsystems", &NvmfMethods::GetSubsystems);
    add("nvmf_subsystem_add_listener", &NvmfMethods::AddListener);
    add("nvmf_subsystem_remove_listener", &NvmfMethods::RemoveListener);
    add("nvmf_subsystem_get_listeners", &NvmfMethods::GetListeners);
    add("nvmf_subsystem_add_ns", &NvmfMethods::AddNs);
    add("nvmf_subsystem_remove_ns", &NvmfMethods::RemoveNs);
    add("nvmf_subsystem_add_host", &NvmfMethods::AddHost);
    add("nvmf_subsystem_remove_host", &NvmfMethods::RemoveHost);
    add("nvmf_subsystem_allow_any_host", &NvmfMethods::AllowAnyHost);
    add("nvmf_subsystem_get_controllers", &NvmfMethods::GetControllers);
    add("nvmf_subsystem_get_qpairs", &NvmfMethods::GetQpairs);
    add("nvmf_get_stats", &NvmfMethods::GetStats);
    add("nvmf_discovery_add_referral", &NvmfMethods::AddReferral);
    add("nvmf_discovery_remove_referral", &NvmfMethods::RemoveReferral);
    add("nvmf_discovery_get_referrals", &NvmfMethods::GetReferrals);
  }

 private:
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

  Json SubsystemJson(const Subsystem& s) {
    Json j = Json::object();
    j["nqn"] = s.nqn();
    j["subtype"] = "NVMe";
    j["listen_addresses"] = ListenersOf(s.nqn(), false);
    j["allow_any_host"] = s.allow_any_host();
    Json hosts = Json::array();
    for (const auto& [nqn, e] : s.host_entries()) {
      hosts.push_back(HostJson(nqn, e));
    }
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
    Status keys = add ? CheckKeys(p, "params",
                                  {"nqn", "listen_address", "secure_channel"})
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
    // --secure-channel: TLS only on this listener (its port).
    Result<bool> secure = r.Bool("secure_channel", false);
    if (!secure.ok()) return Invalid(secure.status());
    PortParams port_params = s_.tcp;
    if (*secure) port_params.tls = TlsMode::kRequired;
    controller::ListenParams params;
    params.transport = controller::ToQueuePairParams(port_params);
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
    if (Status s = CheckKeys(p, "params",
                             {"nqn", "host", "dhchap_key", "dhchap_ctrlr_key",
                              "psk"});
        !s.ok()) {
      return Invalid(s);
    }
    RpcReply fail;
    std::shared_ptr<Subsystem> s = Find(p, &fail);
    if (s == nullptr) return fail;
    Result<HostConfig> h = HostParams(p);
    if (!h.ok()) return Invalid(h.status());
    Status st = t_.AddHost(s->nqn(), *h);
    // A key that is not in the keyring is a bad parameter.
    if (st.code() == StatusCode::kNotFound ||
        st.code() == StatusCode::kInvalidArgument) {
      return Invalid(st);
    }
    if (!st.ok()) return Internal(st);
    return True();
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

  ControlState& s_;
  TargetImpl& t_;
};

}  // namespace

void RegisterNvmfMethods(RpcServer& server, ControlState& state) {
  // The methods live with the state, which outlives the server.
  auto m = std::make_shared<NvmfMethods>(state);
  m->Register(server);
  state.methods.push_back(std::move(m));
}

}  // namespace nvmeof::mgmt::spdk_rpc
