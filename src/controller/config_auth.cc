#include "controller/config_auth.h"

#include "auth/dhchap.h"
#include "auth/key_file.h"
#include "nvmeof/proto/nqn.h"

namespace nvmeof::controller::config_internal {

namespace {

Status CheckKeyName(const std::string& name, const std::string& path) {
  Status valid = auth::ValidateKeyName(name);
  return valid.ok() ? valid : ErrorAt(path, valid.message());
}

Result<HostConfig> ReadHost(const Json& value, const std::string& path) {
  HostConfig h;
  if (value.is_string()) {
    h.nqn = value.get<std::string>();
    if (Status v = ValidateNqn(h.nqn); !v.ok()) {
      return ErrorAt(path, v.message());
    }
    return h;
  }
  if (!value.is_object()) {
    return ErrorAt(path, "must be a host NQN or an object "
                         "{\"nqn\", \"dhchap_key\", \"dhchap_ctrlr_key\", "
                         "\"psk\"}, "
                         "got " + Describe(value));
  }
  ObjectReader r(value, path);
  NVMEOF_RETURN_IF_ERROR(
      r.CheckKnownKeys({"nqn", "dhchap_key", "dhchap_ctrlr_key", "psk"}));
  if (!r.Has("nqn")) return r.Missing("nqn");
  NVMEOF_ASSIGN_OR_RETURN(h.nqn, r.String("nqn", ""));
  if (Status v = ValidateNqn(h.nqn); !v.ok()) {
    return ErrorAt(r.PathOf("nqn"), v.message());
  }
  NVMEOF_ASSIGN_OR_RETURN(h.dhchap_key, r.String("dhchap_key", ""));
  NVMEOF_ASSIGN_OR_RETURN(h.dhchap_ctrlr_key, r.String("dhchap_ctrlr_key", ""));
  NVMEOF_ASSIGN_OR_RETURN(h.psk, r.String("psk", ""));
  if (r.Has("psk")) {
    NVMEOF_RETURN_IF_ERROR(CheckKeyName(h.psk, r.PathOf("psk")));
  }
  if (r.Has("dhchap_key")) {
    NVMEOF_RETURN_IF_ERROR(CheckKeyName(h.dhchap_key, r.PathOf("dhchap_key")));
  }
  if (r.Has("dhchap_ctrlr_key")) {
    NVMEOF_RETURN_IF_ERROR(
        CheckKeyName(h.dhchap_ctrlr_key, r.PathOf("dhchap_ctrlr_key")));
    if (h.dhchap_key.empty()) {
      return ErrorAt(r.PathOf("dhchap_ctrlr_key"),
                     "a controller key needs a host key (dhchap_key)");
    }
  }
  return h;
}

// One list of names, each parsed by `parse`, stored by its canonical name.
template <typename Parse, typename Name>
Status ReadNames(const ObjectReader& r, std::string_view key, Parse parse,
                 Name name, std::vector<std::string>& out) {
  const Json* list = r.Find(key);
  if (list == nullptr) return Status();
  const std::string path = r.PathOf(key);
  NVMEOF_RETURN_IF_ERROR(ExpectArray(*list, path));
  if (list->empty()) {
    return ErrorAt(path, "must not be empty (leave it out to allow all)");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string item = IndexPath(path, i);
    NVMEOF_ASSIGN_OR_RETURN(std::string text, AsString((*list)[i], item));
    auto id = parse(text);
    if (!id.ok()) return ErrorAt(item, id.status().message());
    std::string canonical(name(*id));
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j] == canonical) {
        return ErrorAt(item, "duplicate of " + IndexPath(path, j));
      }
    }
    out.push_back(std::move(canonical));
  }
  return Status();
}

}  // namespace

Result<std::vector<HostConfig>> ReadHosts(const Json& value,
                                          const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(ExpectArray(value, path));
  std::vector<HostConfig> hosts;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item = IndexPath(path, i);
    NVMEOF_ASSIGN_OR_RETURN(HostConfig h, ReadHost(value[i], item));
    for (size_t j = 0; j < hosts.size(); ++j) {
      if (hosts[j].nqn == h.nqn) {
        return ErrorAt(item, "duplicate of " + IndexPath(path, j));
      }
    }
    hosts.push_back(std::move(h));
  }
  return hosts;
}

Result<std::vector<KeyConfig>> ReadKeys(const Json& value,
                                        const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(ExpectArray(value, path));
  std::vector<KeyConfig> keys;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item = IndexPath(path, i);
    NVMEOF_RETURN_IF_ERROR(ExpectObject(value[i], item));
    ObjectReader r(value[i], item);
    NVMEOF_RETURN_IF_ERROR(r.CheckKnownKeys({"name", "path", "compat"}));
    KeyConfig k;
    if (!r.Has("name")) return r.Missing("name");
    if (!r.Has("path")) return r.Missing("path");
    NVMEOF_ASSIGN_OR_RETURN(k.name, r.String("name", ""));
    NVMEOF_RETURN_IF_ERROR(CheckKeyName(k.name, r.PathOf("name")));
    NVMEOF_ASSIGN_OR_RETURN(k.path, r.String("path", ""));
    if (k.path.empty() || k.path[0] != '/') {
      return ErrorAt(r.PathOf("path"), "must be an absolute path");
    }
    NVMEOF_ASSIGN_OR_RETURN(k.compat, r.Bool("compat", false));
    for (size_t j = 0; j < keys.size(); ++j) {
      if (keys[j].name == k.name) {
        return ErrorAt(r.PathOf("name"),
                       "duplicate of " + ChildPath(IndexPath(path, j), "name"));
      }
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

Status ReadDhchapLists(const ObjectReader& r, TargetConfig& config) {
  NVMEOF_RETURN_IF_ERROR(ReadNames(r, "dhchap_digests", auth::ParseHashName,
                                   auth::HashName, config.dhchap_digests));
  return ReadNames(r, "dhchap_dhgroups", auth::ParseDhGroupName,
                   auth::DhGroupName, config.dhchap_dhgroups);
}

Status CheckHostKeys(const TargetConfig& config) {
  auto known = [&](const std::string& name) {
    for (const KeyConfig& k : config.keys) {
      if (k.name == name) return true;
    }
    return false;
  };
  for (size_t i = 0; i < config.subsystems.size(); ++i) {
    const auto& hosts = config.subsystems[i].hosts;
    for (size_t j = 0; j < hosts.size(); ++j) {
      const std::string path =
          IndexPath(ChildPath(IndexPath("$.subsystems", i), "hosts"), j);
      for (const auto& [field, name] :
           {std::pair<const char*, const std::string&>{"dhchap_key",
                                                       hosts[j].dhchap_key},
            {"dhchap_ctrlr_key", hosts[j].dhchap_ctrlr_key},
            {"psk", hosts[j].psk}}) {
        if (!name.empty() && !known(name)) {
          return ErrorAt(ChildPath(path, field),
                         "no key '" + name + "' in $.keys");
        }
      }
    }
  }
  return Status();
}

Json HostJson(const HostConfig& host) {
  if (host.dhchap_key.empty() && host.dhchap_ctrlr_key.empty() &&
      host.psk.empty()) {
    return host.nqn;
  }
  Json j = {{"nqn", host.nqn}};
  if (!host.dhchap_key.empty()) j["dhchap_key"] = host.dhchap_key;
  if (!host.dhchap_ctrlr_key.empty()) {
    j["dhchap_ctrlr_key"] = host.dhchap_ctrlr_key;
  }
  if (!host.psk.empty()) j["psk"] = host.psk;
  return j;
}

}  // namespace nvmeof::controller::config_internal
