// The bdev family of the SPDK-compatible methods: RAM (malloc), null and
// file or block device (aio, uring) bdevs; resize, rescan, listing and I/O
// statistics.

#include "mgmt/spdk_rpc.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "controller/backend_registry.h"
#include "io/socket.h"

namespace nvmeof::mgmt::spdk_rpc {

namespace {
std::string ProductName(const NamedBackend& b) {
  if (b.config.type == "ram") return "Malloc disk";
  if (b.config.type == "null") return "Null disk";
  if (b.config.type == "file" || b.config.type == "block") return "AIO disk";
  return b.config.type + " disk";
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

class BdevMethods {
 public:
  explicit BdevMethods(ControlState& s) : s_(s), t_(*s.target) {}

  void Register(RpcServer& server) {
    auto add = [&](const char* name, RpcReply (BdevMethods::*m)(const Json&)) {
      server.AddMethod(name, [this, m](const Json& p) { return (this->*m)(p); });
    };
    add("bdev_malloc_create", &BdevMethods::MallocCreate);
    add("bdev_malloc_delete", &BdevMethods::MallocDelete);
    add("bdev_null_create", &BdevMethods::NullCreate);
    add("bdev_null_delete", &BdevMethods::NullDelete);
    add("bdev_null_resize", &BdevMethods::NullResize);
    add("bdev_aio_create", &BdevMethods::AioCreate);
    add("bdev_aio_delete", &BdevMethods::FileDelete);
    add("bdev_aio_rescan", &BdevMethods::Rescan);
    add("bdev_uring_create", &BdevMethods::UringCreate);
    add("bdev_uring_delete", &BdevMethods::FileDelete);
    add("bdev_uring_rescan", &BdevMethods::Rescan);
    add("bdev_resize", &BdevMethods::Resize);
    add("bdev_get_bdevs", &BdevMethods::GetBdevs);
    add("bdev_get_iostat", &BdevMethods::GetIostat);
  }

 private:
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
};

}  // namespace

void RegisterBdevMethods(RpcServer& server, ControlState& state) {
  // The methods live with the state, which outlives the server.
  auto m = std::make_shared<BdevMethods>(state);
  m->Register(server);
  state.methods.push_back(std::move(m));
}

}  // namespace nvmeof::mgmt::spdk_rpc
