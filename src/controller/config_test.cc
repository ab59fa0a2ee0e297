#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <set>
#include <string>

#include "controller/backends/common.h"
#include "controller/config_test_util.h"
#include "controller/config_values.h"
#include "controller/target_impl.h"
#include "nvmeof/target_config.h"

namespace nvmeof::controller {
namespace {

using config_testing::kHost1;
using config_testing::kNqnA;
using config_testing::kNqnB;
using config_testing::ParseOrDie;
using config_testing::WithNamespace;
using config_testing::WithPorts;
using config_testing::WithSubsystem;

// A backend setting of a namespace, and its size in bytes.
std::string PathOf(const NamespaceConfig& ns) {
  return ns.backend.params.value("path", "");
}
uint64_t SizeOf(const NamespaceConfig& ns) {
  return ParamSize(ns.backend.params, "size");
}

std::array<uint8_t, 16> Uuid(std::string_view text) {
  auto r = config_internal::ParseUuid(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : std::array<uint8_t, 16>{};
}

TEST(ConfigTest, FullFileParsesToExpectedValues) {
  constexpr std::string_view kJson = R"({
    "threads": 4,
    "log_level": "debug",
    "subsystems": [{
      "nqn": "nqn.2024-01.io.example:a",
      "serial": "SN-0001",
      "model": "Model X",
      "allow_any_host": false,
      "hosts": ["nqn.2024-01.io.example:host1"],
      "namespaces": [
        {"nsid": 7, "backend": "ram", "size": "64M", "block_size": 4096,
         "read_only": true,
         "uuid": "0A1B2C3D-4E5F-4061-8273-8495A6B7C8D9",
         "nguid": "00112233445566778899aabbccddeeff",
         "eui64": "0102030405060708"},
        {"backend": "file", "path": "/tmp/x.img", "size": 1048576,
         "direct": true},
        {"nsid": 3, "backend": "block", "path": "/dev/nvme0n1"},
        {"backend": "null", "size": "1T"}
      ]
    }],
    "ports": [{
      "id": 9, "transport": "tcp", "family": "ipv6", "address": "0::1",
      "port": 4421, "subsystems": ["nqn.2024-01.io.example:a"],
      "params": {"in_capsule_data_size": "16K", "max_h2c_data": 65536,
                 "c2h_data_pdu_size": "32KiB", "header_digest": false,
                 "data_digest": false, "max_queue_size": 1024,
                 "max_io_queues": 8}
    }]
  })";
  TargetConfig c = ParseOrDie(kJson);
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  ASSERT_EQ(c.subsystems.size(), 1u);
  const SubsystemConfig& s = c.subsystems[0];
  EXPECT_EQ(s.nqn, kNqnA);
  EXPECT_EQ(s.serial, "SN-0001");
  EXPECT_EQ(s.model, "Model X");
  EXPECT_FALSE(s.allow_any_host);
  EXPECT_EQ(s.hosts, std::vector<HostConfig>{{std::string(kHost1)}});
  ASSERT_EQ(s.namespaces.size(), 4u);

  NamespaceConfig ram;
  ram.nsid = 7;
  ram.backend.type = "ram";
  ram.backend.params["size"] = "64M";
  ram.backend.params["sparse"] = false;  // the default, written out
  ram.backend.options.block_size = 4096;
  ram.backend.options.read_only = true;
  ram.uuid = Uuid("0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9");
  ram.nguid = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  ram.eui64 = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(s.namespaces[0], ram);
  EXPECT_EQ(SizeOf(s.namespaces[0]), uint64_t{64} << 20);

  const NamespaceConfig& file = s.namespaces[1];
  EXPECT_EQ(file.nsid, 2u);  // its position + 1
  EXPECT_EQ(file.backend.type, "file");
  EXPECT_EQ(PathOf(file), "/tmp/x.img");
  EXPECT_EQ(SizeOf(file), 1048576u);
  EXPECT_EQ(file.backend.options.block_size, 512u);
  EXPECT_TRUE(file.backend.params.value("direct", false));
  EXPECT_FALSE(file.backend.options.read_only);
  EXPECT_EQ(file.uuid, config_internal::DeriveUuid(kNqnA, 2));
  EXPECT_EQ(file.nguid, config_internal::DeriveNguid(kNqnA, 2));
  EXPECT_EQ(file.eui64, (std::array<uint8_t, 8>{}));

  EXPECT_EQ(s.namespaces[2].nsid, 3u);
  EXPECT_EQ(s.namespaces[2].backend.type, "block");
  EXPECT_EQ(PathOf(s.namespaces[2]), "/dev/nvme0n1");
  EXPECT_EQ(SizeOf(s.namespaces[2]), 0u);
  EXPECT_EQ(s.namespaces[3].nsid, 4u);
  EXPECT_EQ(s.namespaces[3].backend.type, "null");
  EXPECT_EQ(SizeOf(s.namespaces[3]), uint64_t{1} << 40);

  ASSERT_EQ(c.ports.size(), 1u);
  PortConfig port;
  port.id = 9;
  port.transport = TransportType::kTcp;
  port.family = AddressFamily::kIpv6;
  port.address = "::1";  // normalized
  port.port = 4421;
  port.subsystems = {std::string(kNqnA)};
  port.params = PortParams{16384, 65536, 32768, false, false, 1024, 8};
  EXPECT_EQ(c.ports[0], port);
}

TEST(ConfigTest, DefaultsApply) {
  TargetConfig c = ParseOrDie(
      R"({"subsystems": [{"nqn": "nqn.2024-01.io.example:a",
                          "namespaces": [{"backend": "ram", "size": 1024}]},
                         {"nqn": "nqn.2024-01.io.example:b"}]})");
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  ASSERT_EQ(c.subsystems.size(), 2u);
  const SubsystemConfig& a = c.subsystems[0];
  EXPECT_EQ(a.serial, config_internal::DeriveSerial(kNqnA));
  EXPECT_EQ(a.serial.size(), 20u);
  EXPECT_NE(a.serial, c.subsystems[1].serial);
  EXPECT_EQ(a.model, "nvmeof");
  EXPECT_TRUE(a.allow_any_host);
  EXPECT_TRUE(a.hosts.empty());
  ASSERT_EQ(a.namespaces.size(), 1u);
  const NamespaceConfig& ns = a.namespaces[0];
  EXPECT_EQ(ns.nsid, 1u);
  EXPECT_EQ(ns.backend.options.block_size, 512u);
  EXPECT_FALSE(ns.backend.params.value("direct", false));
  EXPECT_FALSE(ns.backend.options.read_only);
  EXPECT_EQ(ns.uuid, config_internal::DeriveUuid(kNqnA, 1));
  EXPECT_EQ(ns.nguid, config_internal::DeriveNguid(kNqnA, 1));
  EXPECT_TRUE(c.subsystems[1].namespaces.empty());

  // One port, 127.0.0.1:4420, exposing every subsystem.
  ASSERT_EQ(c.ports.size(), 1u);
  PortConfig port;
  port.id = 1;
  port.family = AddressFamily::kIpv4;
  port.address = "127.0.0.1";
  port.port = 4420;
  port.subsystems = {std::string(kNqnA), std::string(kNqnB)};
  EXPECT_EQ(c.ports[0], port);
  EXPECT_EQ(c.ports[0].params,
            (PortParams{8192, 131072, 131072, true, true, 128, 64}));
}

TEST(ConfigTest, HostsTurnAllowAnyHostOff) {
  TargetConfig c = ParseOrDie(WithSubsystem(
      R"({"nqn": "nqn.2024-01.io.example:a",
          "hosts": ["nqn.2024-01.io.example:host1"]})"));
  EXPECT_FALSE(c.subsystems[0].allow_any_host);
  // An empty list is no list.
  c = ParseOrDie(WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                                   "hosts": []})"));
  EXPECT_TRUE(c.subsystems[0].allow_any_host);
  // Closed to everyone, on purpose.
  c = ParseOrDie(WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                                   "allow_any_host": false})"));
  EXPECT_FALSE(c.subsystems[0].allow_any_host);
  EXPECT_TRUE(c.subsystems[0].hosts.empty());
}

TEST(ConfigTest, HostsNameTheirKeys) {
  TargetConfig c = ParseOrDie(
      R"json({"keys": [{"name": "k1", "path": "/etc/nvmeof/k1"}],
          "dhchap_digests": ["hmac(sha384)"],
          "subsystems": [{"nqn": "nqn.2024-01.io.example:a",
                          "hosts": [{"nqn": "nqn.2024-01.io.example:host1",
                                     "dhchap_key": "k1",
                                     "dhchap_ctrlr_key": "k1"}]}]})json");
  EXPECT_EQ(c.keys, (std::vector<KeyConfig>{{"k1", "/etc/nvmeof/k1"}}));
  EXPECT_EQ(c.dhchap_digests, std::vector<std::string>{"sha384"});
  EXPECT_TRUE(c.dhchap_dhgroups.empty());
  EXPECT_FALSE(c.subsystems[0].allow_any_host);
  EXPECT_EQ(c.subsystems[0].hosts,
            (std::vector<HostConfig>{{std::string(kHost1), "k1", "k1"}}));
}

TEST(ConfigTest, PortDefaultsFollowPosition) {
  TargetConfig c = ParseOrDie(WithPorts(
      R"({"address": "::", "port": 4430}, {"port": 4421},
         {"address": "[::1]"})"));
  ASSERT_EQ(c.ports.size(), 3u);
  EXPECT_EQ(c.ports[0].id, 1);
  EXPECT_EQ(c.ports[0].family, AddressFamily::kIpv6);
  EXPECT_EQ(c.ports[0].address, "::");
  EXPECT_EQ(c.ports[0].port, 4430);
  EXPECT_EQ(c.ports[1].id, 2);
  EXPECT_EQ(c.ports[1].address, "127.0.0.1");
  EXPECT_EQ(c.ports[1].port, 4421);
  EXPECT_EQ(c.ports[2].id, 3);
  EXPECT_EQ(c.ports[2].address, "::1");
  EXPECT_EQ(c.ports[2].subsystems.size(), 2u);
  // A port may expose nothing but discovery.
  c = ParseOrDie(WithPorts(R"({"subsystems": []})"));
  EXPECT_TRUE(c.ports[0].subsystems.empty());
}

TEST(ConfigTest, DerivedIdsAreTheSameInEveryParse) {
  // The same (NQN, NSID) in two parses of a file gives the same ids.
  std::string file = WithNamespace(
      R"({"backend": "ram", "size": 512}, {"backend": "ram", "size": 512})");
  TargetConfig a = ParseOrDie(file);
  EXPECT_EQ(a, ParseOrDie(file));
  const auto& ns = a.subsystems[0].namespaces;
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_NE(ns[0].uuid, ns[1].uuid);
  EXPECT_NE(ns[0].nguid, ns[1].nguid);
  // The same NSID in another subsystem: other ids.
  TargetConfig b = ParseOrDie(
      R"({"subsystems": [{"nqn": "nqn.2024-01.io.example:b",
          "namespaces": [{"backend": "ram", "size": 512}]}]})");
  EXPECT_NE(b.subsystems[0].namespaces[0].uuid, ns[0].uuid);
}

TEST(ConfigTest, SizesInAFile) {
  // A number, or a string of either unit spelling.
  TargetConfig c = ParseOrDie(WithNamespace(
      R"({"backend": "ram", "size": "3MiB"}, {"backend": "ram", "size": 8192},
         {"backend": "ram", "size": "1g", "block_size": "4K"})"));
  EXPECT_EQ(SizeOf(c.subsystems[0].namespaces[0]), uint64_t{3} << 20);
  EXPECT_EQ(SizeOf(c.subsystems[0].namespaces[1]), 8192u);
  EXPECT_EQ(SizeOf(c.subsystems[0].namespaces[2]), uint64_t{1} << 30);
  EXPECT_EQ(c.subsystems[0].namespaces[2].backend.options.block_size, 4096u);
}

TEST(ConfigTest, ToJsonRoundTrips) {
  const std::string files[] = {
      WithNamespace(R"({"backend": "ram", "size": 512})"),
      WithNamespace(R"({"backend": "file", "path": "/tmp/a"},
                       {"backend": "file", "path": "/tmp/b", "size": "1536",
                        "direct": true, "read_only": true,
                        "eui64": "00000000000000ff"},
                       {"nsid": 77, "backend": "block", "path": "/dev/x",
                        "block_size": "4K"},
                       {"backend": "null", "size": "5G"})"),
      WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                        "serial": "s", "model": "m",
                        "hosts": ["nqn.2024-01.io.example:host1"]})"),
      WithPorts(R"({"address": "::", "family": "ipv6", "port": 1,
                    "subsystems": ["nqn.2024-01.io.example:b"],
                    "params": {"in_capsule_data_size": 0,
                               "header_digest": false}},
                   {"id": 100, "address": "10.0.0.1"},
                   {"id": 7, "address": "10.0.0.2", "subsystems": []})"),
      R"({"bdevs": [{"name": "Malloc0", "backend": "ram", "size": "1M"},
                    {"name": "f", "backend": "file", "path": "/tmp/f",
                     "read_only": true,
                     "uuid": "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9"}],
          "subsystems": [{"nqn": "nqn.2024-01.io.example:a",
                          "max_namespaces": 32, "min_cntlid": 10,
                          "max_cntlid": 20,
                          "namespaces": [{"nsid": 3, "bdev_name": "f"},
                                         {"bdev_name": "Malloc0"}]}]})",
      "{}",
      R"({"ports": []})",
      R"({"keys": [{"name": "k1", "path": "/etc/nvmeof/k1"},
                   {"name": "k2", "path": "/etc/nvmeof/k2"}],
          "dhchap_digests": ["sha512", "SHA-384"],
          "dhchap_dhgroups": ["ffdhe4096", "null"],
          "subsystems": [{"nqn": "nqn.2024-01.io.example:a",
                          "hosts": ["nqn.2024-01.io.example:host1",
                                    {"nqn": "nqn.2024-01.io.example:host2",
                                     "dhchap_key": "k1"},
                                    {"nqn": "nqn.2024-01.io.example:host3",
                                     "dhchap_key": "k1",
                                     "dhchap_ctrlr_key": "k2"}]}]})",
      R"({"keys": [{"name": "p1", "path": "/etc/nvmeof/p1"},
                   {"name": "p2", "path": "/etc/nvmeof/p2", "compat": true}],
          "ports": [{"id": 1, "port": 4420,
                     "params": {"tls": "required", "tls_psk_ke": false}},
                    {"id": 2, "port": 4421, "params": {"tls": "allowed"}}],
          "subsystems": [{"nqn": "nqn.2024-01.io.example:a",
                          "hosts": [{"nqn": "nqn.2024-01.io.example:host1",
                                     "psk": "p1"},
                                    {"nqn": "nqn.2024-01.io.example:host2",
                                     "psk": "p2", "dhchap_key": "p1"}]}]})",
  };
  for (const std::string& file : files) {
    TargetConfig config = ParseOrDie(file);
    std::string json = ToJson(config);
    Result<TargetConfig> again = ParseConfig(json, "effective.json");
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << json;
    EXPECT_EQ(*again, config) << json;
    EXPECT_EQ(ToJson(*again), json);
  }
}

TEST(ConfigTest, NothingToServeIsATargetToFill) {
  TargetConfig empty = ParseOrDie("{}");
  EXPECT_TRUE(empty.bdevs.empty());
  EXPECT_TRUE(empty.subsystems.empty());
  ASSERT_EQ(empty.ports.size(), 1u) << "the default port, for discovery";
  EXPECT_TRUE(empty.ports[0].subsystems.empty());
  EXPECT_TRUE(ParseOrDie(R"({"ports": []})").ports.empty());
}

TEST(ConfigTest, NamespacesNameBdevs) {
  TargetConfig c = ParseOrDie(
      R"({"bdevs": [{"name": "Malloc0", "backend": "ram", "size": 4096,
                     "block_size": 4096}],
          "subsystems": [{"nqn": "nqn.2024-01.io.example:a",
                          "namespaces": [{"bdev_name": "Malloc0"}]}],
          "ports": [{"subsystems": []}]})");
  ASSERT_EQ(c.bdevs.size(), 1u);
  EXPECT_EQ(c.bdevs[0].uuid, config_internal::DeriveUuid("bdev:Malloc0", 0))
      << "derived from the name: stable across restarts";
  EXPECT_EQ(c.bdevs[0].backend.options.block_size, 4096u);
  const NamespaceConfig& ns = c.subsystems[0].namespaces[0];
  EXPECT_EQ(ns.bdev_name, "Malloc0");
  EXPECT_EQ(ns.nsid, 1u);
  EXPECT_EQ(ns.backend, c.bdevs[0].backend) << "the bdev's settings";
  EXPECT_EQ(ns.uuid, config_internal::DeriveUuid(kNqnA, 1));
  EXPECT_EQ(c.subsystems[0].max_namespaces, 1024u);
  EXPECT_EQ(c.subsystems[0].min_cntlid, 1u);
  EXPECT_EQ(c.subsystems[0].max_cntlid, 0xFFEFu);
  EXPECT_TRUE(c.ports[0].subsystems.empty()) << "discovery alone";
}

TEST(ConfigTest, ToJsonSpellsOutEffectiveValues) {
  TargetConfig c =
      ParseOrDie(WithNamespace(R"({"backend": "ram", "size": "1G"})"));
  std::string json = ToJson(c);
  EXPECT_NE(json.find("\"size\": \"1G\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"address\": \"127.0.0.1\""), std::string::npos);
  EXPECT_NE(json.find("\"uuid\": \"" +
                      config_internal::FormatUuid(
                          config_internal::DeriveUuid(kNqnA, 1)) +
                      "\""),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("eui64"), std::string::npos) << "none configured";
  EXPECT_EQ(json.back(), '\n');
}

TEST(ConfigTest, QueuePairParamsFollowPortParams) {
  PortParams p{4096, 65536, 32768, false, true, 64, 4};
  ControllerQueuePairParams q = ToQueuePairParams(p);
  EXPECT_EQ(q.max_io_icd, 4096u);
  EXPECT_EQ(q.max_h2c_data, 65536u);
  EXPECT_EQ(q.max_c2h_data, 32768u);
  EXPECT_FALSE(q.allow_header_digest);
  EXPECT_TRUE(q.allow_data_digest);
  EXPECT_EQ(q.max_queue_size, 64);
}

std::string ExampleFile() {
  if (const char* dir = std::getenv("NVMEOF_SOURCE_DIR")) {
    return std::string(dir) + "/examples/target.json";
  }
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/../../examples/target.json";
}

TEST(ConfigTest, TheEveryBackendExampleLoads) {
  std::string path = ExampleFile();
  path.replace(path.rfind("target.json"), 11, "backends.json");
  Result<TargetConfig> r = LoadConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> types;
  for (const NamespaceConfig& ns : r->subsystems[0].namespaces)
    types.insert(ns.backend.type);
  EXPECT_EQ(types, (std::set<std::string>{"ram", "null", "file", "block"}));
}

TEST(ConfigTest, ExampleFileLoads) {
  Result<TargetConfig> r = LoadConfig(ExampleFile());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const TargetConfig& c = *r;
  ASSERT_EQ(c.subsystems.size(), 2u);
  const SubsystemConfig& scratch = c.subsystems[0];
  EXPECT_TRUE(scratch.allow_any_host);
  ASSERT_EQ(scratch.namespaces.size(), 1u);
  EXPECT_EQ(scratch.namespaces[0].backend.type, "ram");
  EXPECT_EQ(SizeOf(scratch.namespaces[0]), uint64_t{256} << 20);
  const SubsystemConfig& data = c.subsystems[1];
  EXPECT_FALSE(data.allow_any_host);
  EXPECT_EQ(data.hosts.size(), 1u);
  ASSERT_EQ(data.namespaces.size(), 1u);
  EXPECT_EQ(data.namespaces[0].backend.type, "file");
  EXPECT_EQ(PathOf(data.namespaces[0]).rfind("/tmp/", 0), 0u);
  EXPECT_EQ(data.namespaces[0].backend.options.block_size, 4096u);
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].family, AddressFamily::kIpv4);
  EXPECT_EQ(c.ports[0].address, "127.0.0.1");
  EXPECT_EQ(c.ports[0].subsystems.size(), 2u);
  EXPECT_EQ(c.ports[1].family, AddressFamily::kIpv6);
  EXPECT_EQ(c.ports[1].address, "::1");
  EXPECT_EQ(c.ports[1].subsystems, std::vector<std::string>{data.nqn});
}

TEST(ConfigTest, LoadConfigReportsThePathAndErrno) {
  Result<TargetConfig> r = LoadConfig("/nonexistent/nvmeof/target.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "/nonexistent/nvmeof/target.json: No such file or directory");

  char path[] = "/tmp/nvmeof_config_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string bad = "{\"subsystems\": [], \"ports\": 1}";
  ASSERT_EQ(write(fd, bad.data(), bad.size()),
            static_cast<ssize_t>(bad.size()));
  close(fd);
  r = LoadConfig(path);
  unlink(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            std::string(path) + ": $.ports: must be an array, got 1");
}

}  // namespace
}  // namespace nvmeof::controller
