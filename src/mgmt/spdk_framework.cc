// The framework family of the SPDK-compatible methods: version, method
// list, the config rpc.py save_config composes, nvmeof_save_config, and the
// TCP transport (nvmf_create_transport, nvmf_get_transports).

#include "mgmt/spdk_rpc.h"

#include <cerrno>
#include <cstdio>
#include <fstream>

namespace nvmeof::mgmt::spdk_rpc {

namespace {

class FrameworkMethods {
 public:
  explicit FrameworkMethods(ControlState& s) : s_(s), t_(*s.target) {}

  void Register(RpcServer& server) {
    auto add = [&](const char* name, RpcReply (FrameworkMethods::*m)(const Json&)) {
      server.AddMethod(name, [this, m](const Json& p) { return (this->*m)(p); });
    };
    server_ = &server;
    add("spdk_get_version", &FrameworkMethods::SpdkGetVersion);
    add("rpc_get_methods", &FrameworkMethods::RpcGetMethods);
    add("framework_get_subsystems", &FrameworkMethods::FrameworkGetSubsystems);
    add("framework_get_config", &FrameworkMethods::FrameworkGetConfig);
    add("bdev_wait_for_examine", &FrameworkMethods::NoOp);
    add("nvmeof_save_config", &FrameworkMethods::SaveConfig);
    add("nvmf_create_transport", &FrameworkMethods::CreateTransport);
    add("nvmf_get_transports", &FrameworkMethods::GetTransports);
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
        {{{"subsystem", "keyring"}, {"depends_on", Json::array()}},
         {{"subsystem", "bdev"}, {"depends_on", Json::array()}},
         {{"subsystem", "nvmf"},
          {"depends_on", Json::array({"bdev", "keyring"})}}}));
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
    if (*name == "keyring") return RpcReply::Ok(KeyringConfig());
    if (*name == "bdev") return RpcReply::Ok(BdevConfig());
    if (*name == "nvmf") return RpcReply::Ok(NvmfConfig());
    return Invalid("Subsystem '" + *name + "' not found");
  }

  Json KeyringConfig() {
    Json out = Json::array();
    for (const controller::KeyInfo& k : t_.keys()) {
      out.push_back({{"method", "keyring_file_add_key"},
                     {"params", {{"name", k.name}, {"path", k.path}}}});
    }
    return out;
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
    const controller::DhchapPolicy policy = t_.dhchap_policy();
    if (!policy.hashes.empty() || !policy.dhgroups.empty()) {
      std::vector<std::string> digests, dhgroups;
      controller::FromDhchapPolicy(policy, &digests, &dhgroups);
      Json params = Json::object();
      if (!digests.empty()) params["dhchap_digests"] = digests;
      if (!dhgroups.empty()) params["dhchap_dhgroups"] = dhgroups;
      out.push_back({{"method", "nvmf_set_config"}, {"params", params}});
    }
    if (s_.tcp_transport) {
      out.push_back({{"method", "nvmf_create_transport"},
                     {"params", TransportJson(s_)}});
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
      for (const auto& [nqn, e] : s->host_entries()) {
        Json params = HostJson(nqn, e);
        params.erase("nqn");
        params["nqn"] = s->nqn();
        params["host"] = nqn;
        out.push_back(
            {{"method", "nvmf_subsystem_add_host"}, {"params", params}});
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
               {"secure_channel",
                port->params.transport.tls != nullptr &&
                    port->params.transport.tls->mode == TlsMode::kRequired}}}});
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
    return RpcReply::Ok(Json::array({TransportJson(s_)}));
  }

  ControlState& s_;
  TargetImpl& t_;
  RpcServer* server_ = nullptr;
};

}  // namespace

void RegisterFrameworkMethods(RpcServer& server, ControlState& state) {
  // The methods live with the state, which outlives the server.
  auto m = std::make_shared<FrameworkMethods>(state);
  m->Register(server);
  state.methods.push_back(std::move(m));
}

}  // namespace nvmeof::mgmt::spdk_rpc
