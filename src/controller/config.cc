// The configuration schema: walks the parsed JSON, applies defaults, derives
// identifiers and checks every field and cross-reference (config.h).
// Writing a config back out is in config_json.cc.

#include "nvmeof/target_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <span>
#include <utility>

#include "io/socket.h"
#include "nvmeof/proto/nqn.h"
#include "controller/backend_registry.h"
#include "controller/config_auth.h"
#include "controller/config_ports.h"
#include "controller/config_reader.h"
#include "controller/config_values.h"

namespace nvmeof::controller {
namespace {

using config_internal::AsString;
using config_internal::ChildPath;
using config_internal::ErrorAt;
using config_internal::ExpectArray;
using config_internal::ExpectObject;
using config_internal::IndexPath;
using config_internal::Json;
using config_internal::ObjectReader;
using config_internal::PortsCollide;
using config_internal::ReadPort;
using config_internal::ReadReferral;
using config_internal::ReadUint;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kMaxNsid = 0xFFFFFFFE;
// A guard against pointing the daemon at /dev/zero or a disk image.
constexpr size_t kMaxConfigFileSize = 16 * kMiB;

// Identify Controller SN (20 bytes) and MN (40 bytes) hold printable ASCII.
Status CheckAsciiField(const std::string& value, size_t max,
                       std::string_view path) {
  if (value.empty() || value.size() > max) {
    return ErrorAt(path, "must be 1 to " + std::to_string(max) +
                             " characters, got " +
                             std::to_string(value.size()));
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return ErrorAt(path, "must be printable ASCII, got " +
                               config_internal::Describe(Json(value)));
    }
  }
  return Status::Ok();
}

// Reads an identifier made of hex digits (`out.size()` bytes) from `key`.
Status ReadHexId(const ObjectReader& r, std::string_view key,
                 std::span<uint8_t> out) {
  const Json* v = r.Find(key);
  if (v == nullptr) return Status::Ok();
  NVMEOF_ASSIGN_OR_RETURN(std::string text, AsString(*v, r.PathOf(key)));
  if (!config_internal::ParseHex(text, out)) {
    return ErrorAt(r.PathOf(key), "must be " + std::to_string(out.size() * 2) +
                                      " hex digits, got " +
                                      config_internal::Describe(*v));
  }
  return Status::Ok();
}

// The keys of a namespace object that are not its backend's own.
constexpr std::string_view kNamespaceKeys[] = {
    "nsid",      "bdev_name", "backend", "block_size",
    "read_only", "uuid",      "nguid",   "eui64"};
// The same for a named backend ("bdevs").
constexpr std::string_view kBdevKeys[] = {"name", "backend", "block_size",
                                          "read_only", "uuid"};
// The keys that describe a backend inline, which a namespace that names a
// bdev must not have.
constexpr std::string_view kInlineBackendKeys[] = {"backend", "block_size",
                                                   "read_only"};

// Every key an object may hold: its own and every backend's.
std::vector<std::string_view> KnownKeys(std::span<const std::string_view> own) {
  std::vector<std::string_view> known(own.begin(), own.end());
  for (std::string_view k : BackendRegistry::Global().all_keys())
    known.push_back(k);
  return known;
}

// Reads a UUID in its text form from `key`; `fallback` if there is none.
Result<std::array<uint8_t, 16>> ReadUuid(const ObjectReader& r,
                                         std::string_view key,
                                         const std::array<uint8_t, 16>& fallback) {
  const Json* v = r.Find(key);
  if (v == nullptr) return fallback;
  NVMEOF_ASSIGN_OR_RETURN(std::string text, AsString(*v, r.PathOf(key)));
  Result<std::array<uint8_t, 16>> uuid = config_internal::ParseUuid(text);
  if (!uuid.ok()) return ErrorAt(r.PathOf(key), uuid.status().message());
  return *uuid;
}

// Reads the backend part of a namespace or bdev object (whose own keys are
// `own`): the type, the shared options, then the plug-in's own settings.
// Keys that belong to another backend type are refused. REQUIRES: keys
// nobody knows were refused.
Result<BackendConfig> ReadBackend(const ObjectReader& r,
                                  std::span<const std::string_view> own) {
  const BackendRegistry& registry = BackendRegistry::Global();
  BackendConfig b;
  if (!r.Has("backend")) return r.Missing("backend");
  std::vector<std::string_view> types = registry.types();
  NVMEOF_ASSIGN_OR_RETURN(size_t type, r.Enum("backend", types, 0));
  b.type = std::string(types[type]);
  const BackendPlugin* plugin = registry.Find(b.type);
  Status foreign;
  r.ForEachKey([&](std::string_view key) {
    if (!foreign.ok()) return;
    for (std::string_view k : own) {
      if (k == key) return;
    }
    for (std::string_view k : plugin->keys()) {
      if (k == key) return;
    }
    foreign = ErrorAt(r.PathOf(key),
                      "not allowed for backend '" + b.type + "'");
  });
  NVMEOF_RETURN_IF_ERROR(foreign);

  NVMEOF_ASSIGN_OR_RETURN(uint64_t block_size,
                          r.Size("block_size", 0, UINT64_MAX, 512));
  if (block_size != 512 && block_size != 4096) {
    return ErrorAt(r.PathOf("block_size"),
                   "must be 512 or 4096, got " + std::to_string(block_size));
  }
  b.options.block_size = static_cast<uint32_t>(block_size);
  NVMEOF_ASSIGN_OR_RETURN(b.params, plugin->Read(r, b.options));
  NVMEOF_ASSIGN_OR_RETURN(b.options.read_only, r.Bool("read_only", false));
  return b;
}

// The named backends a config holds, and which namespace serves each.
struct BdevUse {
  const std::vector<BdevConfig>* bdevs = nullptr;
  std::map<std::string, std::string, std::less<>> user;  // name -> its path
};

Result<BdevConfig> ReadBdev(const Json& value, const std::string& path) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(value, path));
  ObjectReader r(value, path);
  NVMEOF_RETURN_IF_ERROR(r.CheckKnownKeys(KnownKeys(kBdevKeys)));
  BdevConfig b;
  if (!r.Has("name")) return r.Missing("name");
  NVMEOF_ASSIGN_OR_RETURN(b.name, r.String("name", ""));
  NVMEOF_RETURN_IF_ERROR(CheckAsciiField(b.name, 255, r.PathOf("name")));
  NVMEOF_ASSIGN_OR_RETURN(b.backend, ReadBackend(r, kBdevKeys));
  NVMEOF_ASSIGN_OR_RETURN(
      b.uuid, ReadUuid(r, "uuid", config_internal::DeriveUuid("bdev:" + b.name, 0)));
  return b;
}

Result<NamespaceConfig> ReadNamespace(const Json& value,
                                      const std::string& path, size_t index,
                                      const std::string& nqn,
                                      uint32_t max_nsid, BdevUse& use) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(value, path));
  ObjectReader r(value, path);
  NamespaceConfig ns;
  // The NSID is checked after the keys (a typo explains more), before the
  // backend.
  NVMEOF_RETURN_IF_ERROR(r.CheckKnownKeys(KnownKeys(kNamespaceKeys)));
  NVMEOF_ASSIGN_OR_RETURN(
      uint64_t nsid,
      r.Uint("nsid", 1, kMaxNsid, std::min<uint64_t>(index + 1, kMaxNsid)));
  if (nsid > max_nsid) {
    return ErrorAt(r.PathOf("nsid"),
                   "must not be above the subsystem's max_namespaces (" +
                       std::to_string(max_nsid) + "), got " +
                       std::to_string(nsid));
  }
  ns.nsid = static_cast<uint32_t>(nsid);
  if (r.Has("bdev_name")) {
    NVMEOF_ASSIGN_OR_RETURN(ns.bdev_name, r.String("bdev_name", ""));
    const std::string name_path = r.PathOf("bdev_name");
    Status inline_key;
    r.ForEachKey([&](std::string_view key) {
      if (!inline_key.ok()) return;
      bool ours = false;
      for (std::string_view k : kNamespaceKeys) ours = ours || k == key;
      bool inline_only = !ours;  // a backend's own setting
      for (std::string_view k : kInlineBackendKeys) {
        inline_only = inline_only || k == key;
      }
      if (inline_only) {
        inline_key = ErrorAt(r.PathOf(key),
                             "not allowed with 'bdev_name' (the named "
                             "backend has its own settings)");
      }
    });
    NVMEOF_RETURN_IF_ERROR(inline_key);
    const BdevConfig* bdev = nullptr;
    std::vector<std::string_view> names;
    for (const BdevConfig& b : *use.bdevs) {
      names.push_back(b.name);
      if (b.name == ns.bdev_name) bdev = &b;
    }
    if (bdev == nullptr) {
      std::string reason = "names no bdev in $.bdevs";
      std::string_view hint = config_internal::Suggest(ns.bdev_name, names);
      if (!hint.empty())
        reason += " (did you mean '" + std::string(hint) + "'?)";
      return ErrorAt(name_path, reason);
    }
    auto [it, inserted] = use.user.emplace(ns.bdev_name, name_path);
    if (!inserted) {
      return ErrorAt(name_path, "bdev '" + ns.bdev_name +
                                    "' already serves " + it->second);
    }
    ns.backend = bdev->backend;
  } else {
    NVMEOF_ASSIGN_OR_RETURN(ns.backend, ReadBackend(r, kNamespaceKeys));
  }

  NVMEOF_ASSIGN_OR_RETURN(
      ns.uuid, ReadUuid(r, "uuid", config_internal::DeriveUuid(nqn, ns.nsid)));
  if (r.Has("nguid")) {
    NVMEOF_RETURN_IF_ERROR(ReadHexId(r, "nguid", ns.nguid));
  } else {
    ns.nguid = config_internal::DeriveNguid(nqn, ns.nsid);
  }
  NVMEOF_RETURN_IF_ERROR(ReadHexId(r, "eui64", ns.eui64));
  return ns;
}

Result<SubsystemConfig> ReadSubsystem(const Json& value,
                                      const std::string& path, BdevUse& use) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(value, path));
  ObjectReader r(value, path);
  NVMEOF_RETURN_IF_ERROR(r.CheckKnownKeys(
      {"nqn", "serial", "model", "allow_any_host", "hosts", "max_namespaces",
       "min_cntlid", "max_cntlid", "namespaces"}));
  SubsystemConfig s;
  if (!r.Has("nqn")) return r.Missing("nqn");
  NVMEOF_ASSIGN_OR_RETURN(s.nqn, r.String("nqn", ""));
  if (Status valid = ValidateNqn(s.nqn); !valid.ok()) {
    return ErrorAt(r.PathOf("nqn"), valid.message());
  }
  if (s.nqn == kDiscoveryNqn) {
    return ErrorAt(r.PathOf("nqn"),
                   "the discovery NQN is reserved for the discovery "
                   "service, which every port serves");
  }
  NVMEOF_ASSIGN_OR_RETURN(
      s.serial, r.String("serial", config_internal::DeriveSerial(s.nqn)));
  NVMEOF_RETURN_IF_ERROR(CheckAsciiField(s.serial, 20, r.PathOf("serial")));
  NVMEOF_ASSIGN_OR_RETURN(s.model, r.String("model", "nvmeof"));
  NVMEOF_RETURN_IF_ERROR(CheckAsciiField(s.model, 40, r.PathOf("model")));

  if (const Json* hosts = r.Find("hosts")) {
    NVMEOF_ASSIGN_OR_RETURN(s.hosts,
                            config_internal::ReadHosts(*hosts, r.PathOf("hosts")));
  }
  NVMEOF_ASSIGN_OR_RETURN(s.allow_any_host,
                          r.Bool("allow_any_host", s.hosts.empty()));
  if (s.allow_any_host && !s.hosts.empty()) {
    return ErrorAt(r.PathOf("allow_any_host"),
                   "true contradicts the non-empty 'hosts' list (ambiguous: "
                   "remove one of them)");
  }
  NVMEOF_RETURN_IF_ERROR(
      ReadUint(r, "max_namespaces", 1, kMaxNsid, s.max_namespaces));
  NVMEOF_RETURN_IF_ERROR(ReadUint(r, "min_cntlid", 1, 0xFFEF, s.min_cntlid));
  NVMEOF_RETURN_IF_ERROR(ReadUint(r, "max_cntlid", 1, 0xFFEF, s.max_cntlid));
  if (s.max_cntlid < s.min_cntlid) {
    return ErrorAt(r.PathOf("max_cntlid"),
                   "must not be below min_cntlid (" +
                       std::to_string(s.min_cntlid) + "), got " +
                       std::to_string(s.max_cntlid));
  }

  if (const Json* list = r.Find("namespaces")) {
    std::string list_path = r.PathOf("namespaces");
    NVMEOF_RETURN_IF_ERROR(ExpectArray(*list, list_path));
    std::map<uint32_t, size_t> by_nsid;  // nsid -> index in the list
    for (size_t i = 0; i < list->size(); ++i) {
      std::string ns_path = IndexPath(list_path, i);
      NVMEOF_ASSIGN_OR_RETURN(
          NamespaceConfig ns,
          ReadNamespace((*list)[i], ns_path, i, s.nqn, s.max_namespaces, use));
      auto [it, inserted] = by_nsid.emplace(ns.nsid, i);
      if (!inserted) {
        return ErrorAt(ChildPath(ns_path, "nsid"),
                       "nsid " + std::to_string(ns.nsid) +
                           " is already used by " +
                           IndexPath(list_path, it->second));
      }
      s.namespaces.push_back(std::move(ns));
    }
  }
  return s;
}

// UUIDs, NGUIDs and EUI64s identify a namespace globally: no two namespaces
// of the target may share one (zero EUI64s, "not reported", excepted).
Status CheckIdsUnique(const std::vector<SubsystemConfig>& subsystems) {
  std::map<std::string, std::string> seen;  // "kind:hex" -> its path
  for (size_t s = 0; s < subsystems.size(); ++s) {
    const auto& namespaces = subsystems[s].namespaces;
    for (size_t n = 0; n < namespaces.size(); ++n) {
      const NamespaceConfig& ns = namespaces[n];
      std::string ns_path =
          IndexPath(ChildPath(IndexPath("$.subsystems", s), "namespaces"), n);
      std::pair<std::string_view, std::string> ids[] = {
          {"uuid", config_internal::FormatHex(ns.uuid)},
          {"nguid", config_internal::FormatHex(ns.nguid)},
          {"eui64", config_internal::FormatHex(ns.eui64)}};
      for (const auto& [kind, hex] : ids) {
        if (kind == "eui64" && hex == std::string(16, '0')) continue;
        std::string field = ChildPath(ns_path, kind);
        auto [it, inserted] =
            seen.emplace(std::string(kind) + ":" + hex, field);
        if (!inserted) return ErrorAt(field, "duplicate of " + it->second);
      }
    }
  }
  return Status::Ok();
}

Result<TargetConfig> ReadTarget(const Json& root) {
  NVMEOF_RETURN_IF_ERROR(ExpectObject(root, "$"));
  ObjectReader r(root, "$");
  NVMEOF_RETURN_IF_ERROR(
      r.CheckKnownKeys({"bdevs", "subsystems", "ports", "referrals", "keys",
                        "dhchap_digests", "dhchap_dhgroups", "threads",
                        "log_level", "max_connections"}));
  TargetConfig config;
  if (const Json* keys = r.Find("keys")) {
    NVMEOF_ASSIGN_OR_RETURN(config.keys,
                            config_internal::ReadKeys(*keys, r.PathOf("keys")));
  }
  NVMEOF_RETURN_IF_ERROR(config_internal::ReadDhchapLists(r, config));
  NVMEOF_ASSIGN_OR_RETURN(uint64_t threads, r.Uint("threads", 0, 1024, 0));
  config.threads = static_cast<uint32_t>(threads);
  NVMEOF_ASSIGN_OR_RETURN(
      size_t level, r.Enum("log_level", {"error", "warn", "info", "debug"}, 2));
  config.log_level = static_cast<LogLevel>(level);
  NVMEOF_ASSIGN_OR_RETURN(
      uint64_t conns,
      r.Uint("max_connections", 1, 10000000, config.max_connections));
  config.max_connections = static_cast<uint32_t>(conns);

  if (const Json* bdevs = r.Find("bdevs")) {
    std::string bdevs_path = r.PathOf("bdevs");
    NVMEOF_RETURN_IF_ERROR(ExpectArray(*bdevs, bdevs_path));
    for (size_t i = 0; i < bdevs->size(); ++i) {
      std::string path = IndexPath(bdevs_path, i);
      NVMEOF_ASSIGN_OR_RETURN(BdevConfig b, ReadBdev((*bdevs)[i], path));
      for (size_t j = 0; j < config.bdevs.size(); ++j) {
        if (config.bdevs[j].name == b.name) {
          return ErrorAt(ChildPath(path, "name"),
                         "duplicate of " +
                             ChildPath(IndexPath(bdevs_path, j), "name"));
        }
      }
      config.bdevs.push_back(std::move(b));
    }
  }

  BdevUse use;
  use.bdevs = &config.bdevs;
  const Json no_subsystems = Json::array();
  const Json* subsystems = r.Find("subsystems");
  if (subsystems == nullptr) subsystems = &no_subsystems;
  std::string subsystems_path = r.PathOf("subsystems");
  NVMEOF_RETURN_IF_ERROR(ExpectArray(*subsystems, subsystems_path));
  for (size_t i = 0; i < subsystems->size(); ++i) {
    std::string path = IndexPath(subsystems_path, i);
    NVMEOF_ASSIGN_OR_RETURN(SubsystemConfig s,
                            ReadSubsystem((*subsystems)[i], path, use));
    for (size_t j = 0; j < config.subsystems.size(); ++j) {
      if (config.subsystems[j].nqn == s.nqn) {
        return ErrorAt(
            ChildPath(path, "nqn"),
            "duplicate of " + ChildPath(IndexPath(subsystems_path, j), "nqn"));
      }
    }
    config.subsystems.push_back(std::move(s));
  }
  NVMEOF_RETURN_IF_ERROR(CheckIdsUnique(config.subsystems));
  NVMEOF_RETURN_IF_ERROR(config_internal::CheckHostKeys(config));

  if (const Json* ports = r.Find("ports")) {
    std::string ports_path = r.PathOf("ports");
    NVMEOF_RETURN_IF_ERROR(ExpectArray(*ports, ports_path));
    for (size_t i = 0; i < ports->size(); ++i) {
      std::string path = IndexPath(ports_path, i);
      NVMEOF_ASSIGN_OR_RETURN(
          PortConfig p, ReadPort((*ports)[i], path, i, config.subsystems));
      for (size_t j = 0; j < config.ports.size(); ++j) {
        const PortConfig& other = config.ports[j];
        if (other.id == p.id) {
          return ErrorAt(ChildPath(path, "id"), "id " + std::to_string(p.id) +
                                                    " is already used by " +
                                                    IndexPath(ports_path, j));
        }
        if (PortsCollide(other, p)) {
          SocketAddress a = *SocketAddress::Parse(other.address, other.port);
          return ErrorAt(path, "listens on the same address and port as " +
                                   IndexPath(ports_path, j) + " (" +
                                   a.ToString() + ")");
        }
      }
      config.ports.push_back(std::move(p));
    }
  } else {
    PortConfig p;
    for (const SubsystemConfig& s : config.subsystems) {
      p.subsystems.push_back(s.nqn);
    }
    config.ports.push_back(std::move(p));
  }
  if (const Json* refs = r.Find("referrals")) {
    std::string refs_path = r.PathOf("referrals");
    NVMEOF_RETURN_IF_ERROR(ExpectArray(*refs, refs_path));
    for (size_t i = 0; i < refs->size(); ++i) {
      std::string path = IndexPath(refs_path, i);
      NVMEOF_ASSIGN_OR_RETURN(ReferralConfig ref, ReadReferral((*refs)[i], path));
      for (size_t j = 0; j < config.referrals.size(); ++j) {
        if (config.referrals[j] == ref) {
          return ErrorAt(path, "duplicate of " + IndexPath(refs_path, j));
        }
      }
      config.referrals.push_back(std::move(ref));
    }
  }
  return config;
}

}  // namespace

}  // namespace nvmeof::controller

namespace nvmeof {

using controller::ReadTarget;
using controller::kMaxConfigFileSize;
namespace config_internal = controller::config_internal;
using config_internal::Json;

Result<TargetConfig> ParseConfig(std::string_view json_text,
                                 std::string_view file_name) {
  try {
    Result<Json> root = config_internal::ParseJsonText(json_text);
    if (!root.ok()) return root.status().WithContext(file_name);
    Result<TargetConfig> config = ReadTarget(*root);
    if (!config.ok()) return config.status().WithContext(file_name);
    return config;
  } catch (const std::exception& e) {
    // Not expected: every accessor checks the type first. Kept so that no
    // exception ever crosses the API.
    return InternalError(
        std::string(file_name) +
        ": unexpected error reading the configuration: " + e.what());
  }
}

Result<TargetConfig> LoadConfig(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, path);
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileSize) {
      return InvalidArgumentError(
          path + ": larger than " +
          config_internal::FormatSize(kMaxConfigFileSize) +
          ", not a configuration file");
    }
  }
  return ParseConfig(text, path);
}

}  // namespace nvmeof
