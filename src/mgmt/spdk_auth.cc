// The DH-HMAC-CHAP family of the SPDK-compatible methods: the keyring
// (keyring_file_add_key / _remove_key, keyring_get_keys), a host's keys
// (nvmf_subsystem_set_keys) and the digests and DH groups hosts may
// negotiate (nvmf_set_config). Secrets never appear in an answer or an
// error: a key is known by its name and its file's path.

#include "mgmt/spdk_rpc.h"

namespace nvmeof::mgmt::spdk_rpc {

namespace {

class AuthMethods {
 public:
  explicit AuthMethods(ControlState& s) : t_(*s.target) {}

  void Register(RpcServer& server) {
    auto add = [&](const char* name, RpcReply (AuthMethods::*m)(const Json&)) {
      server.AddMethod(name, [this, m](const Json& p) { return (this->*m)(p); });
    };
    add("keyring_file_add_key", &AuthMethods::AddKey);
    add("keyring_file_remove_key", &AuthMethods::RemoveKey);
    add("keyring_get_keys", &AuthMethods::GetKeys);
    add("nvmf_subsystem_set_keys", &AuthMethods::SetKeys);
    add("nvmf_set_config", &AuthMethods::SetConfig);
  }

 private:
  RpcReply AddKey(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name", "path"}); !s.ok()) {
      return Invalid(s);
    }
    ObjectReader r(p, "params");
    Result<std::string> name = RequiredString(r, "name");
    if (!name.ok()) return Invalid(name.status());
    Result<std::string> path = RequiredString(r, "path");
    if (!path.ok()) return Invalid(path.status());
    Status st = t_.AddKey(*name, *path);
    if (st.code() == StatusCode::kAlreadyExists) return Errno(kEEXIST, st);
    if (!st.ok()) return Invalid(st);
    return True();
  }

  RpcReply RemoveKey(const Json& p) {
    if (Status s = CheckKeys(p, "params", {"name"}); !s.ok()) return Invalid(s);
    ObjectReader r(p, "params");
    Result<std::string> name = RequiredString(r, "name");
    if (!name.ok()) return Invalid(name.status());
    Status st = t_.RemoveKey(*name);
    if (st.code() == StatusCode::kNotFound) return Errno(kENOENT, st);
    if (!st.ok()) return Internal(st);
    return True();
  }

  RpcReply GetKeys(const Json& p) {
    if (!p.empty()) return Invalid("keyring_get_keys takes no parameters");
    Json out = Json::array();
    for (const controller::KeyInfo& k : t_.keys()) {
      // SPDK's fields; refcnt counts the keyring's own reference too.
      out.push_back({{"name", k.name},
                     {"path", k.path},
                     {"removed", false},
                     {"probed", false},
                     {"refcnt", k.users + 1}});
    }
    return RpcReply::Ok(out);
  }

  RpcReply SetKeys(const Json& p) {
    if (Status s = CheckKeys(p, "params",
                             {"nqn", "host", "dhchap_key", "dhchap_ctrlr_key"});
        !s.ok()) {
      return Invalid(s);
    }
    Result<HostConfig> h = HostParams(p);
    if (!h.ok()) return Invalid(h.status());
    ObjectReader r(p, "params");
    Result<std::string> nqn = RequiredString(r, "nqn");
    if (!nqn.ok()) return Invalid(nqn.status());
    Status st = t_.SetHostKeys(*nqn, *h);
    if (!st.ok()) return Invalid(st);
    return True();
  }

  RpcReply SetConfig(const Json& p) {
    // SPDK's other settings of nvmf_set_config mean nothing here: their
    // defaults are accepted.
    if (Status s = CheckKeys(p, "params", {"dhchap_digests", "dhchap_dhgroups"},
                             {{"acceptor_poll_rate", nullptr, true},
                              {"conn_sched", nullptr, true},
                              {"poll_groups_mask", nullptr, true},
                              {"discovery_filter", "match_any"},
                              {"admin_cmd_passthru", nullptr, true}});
        !s.ok()) {
      return Invalid(s);
    }
    controller::DhchapPolicy policy = t_.dhchap_policy();
    std::vector<std::string> digests, dhgroups;
    controller::FromDhchapPolicy(policy, &digests, &dhgroups);
    for (const auto& [key, list] :
         {std::pair<const char*, std::vector<std::string>*>{"dhchap_digests",
                                                            &digests},
          {"dhchap_dhgroups", &dhgroups}}) {
      if (!p.contains(key)) continue;
      const Json& v = p[key];
      if (!v.is_array() || v.empty()) {
        return Invalid(std::string("params.") + key +
                       ": must be a non-empty array of names");
      }
      list->clear();
      for (const Json& name : v) {
        if (!name.is_string()) {
          return Invalid(std::string("params.") + key +
                         ": must be a non-empty array of names");
        }
        list->push_back(name.get<std::string>());
      }
    }
    Result<controller::DhchapPolicy> next =
        controller::ToDhchapPolicy(digests, dhgroups);
    if (!next.ok()) return Invalid(next.status().WithContext("params"));
    t_.SetDhchapPolicy(std::move(next).value());
    return True();
  }

  TargetImpl& t_;
};

}  // namespace

Result<HostConfig> HostParams(const Json& p) {
  ObjectReader r(p, "params");
  HostConfig h;
  NVMEOF_ASSIGN_OR_RETURN(h.nqn, RequiredString(r, "host"));
  NVMEOF_ASSIGN_OR_RETURN(h.dhchap_key, r.String("dhchap_key", ""));
  NVMEOF_ASSIGN_OR_RETURN(h.dhchap_ctrlr_key, r.String("dhchap_ctrlr_key", ""));
  NVMEOF_ASSIGN_OR_RETURN(h.psk, r.String("psk", ""));
  return h;
}

Json HostJson(const std::string& nqn, const controller::HostEntry& e) {
  Json j = {{"nqn", nqn}};
  if (!e.dhchap_key.empty()) j["dhchap_key"] = e.dhchap_key;
  if (!e.dhchap_ctrlr_key.empty()) j["dhchap_ctrlr_key"] = e.dhchap_ctrlr_key;
  if (!e.psk.empty()) j["psk"] = e.psk;
  return j;
}

void RegisterAuthMethods(RpcServer& server, ControlState& state) {
  // The methods live with the state, which outlives the server.
  auto m = std::make_shared<AuthMethods>(state);
  m->Register(server);
  state.methods.push_back(std::move(m));
}

}  // namespace nvmeof::mgmt::spdk_rpc
