// The configuration's refusals: every error names the file, the JSON path
// of the field and the reason.

#include <gtest/gtest.h>

#include <string>

#include "nvmeof/target_config.h"
#include "controller/config_test_util.h"

namespace nvmeof::controller {
namespace {

using config_testing::ErrorOf;
using config_testing::WithNamespace;
using config_testing::WithPorts;
using config_testing::WithSubsystem;

struct ErrorCase {
  std::string json;
  std::string message;
};

// Every refusal, with its path and reason, exactly.
TEST(ConfigErrorTest, ErrorsNameFilePathAndReason) {
  const ErrorCase cases[] = {
      // Top level.
      {"[]", "t.json: $: must be an object, got an array"},
      {R"({"subsystems": {}})",
       "t.json: $.subsystems: must be an array, got an object"},
      {R"({"threads": -1, "subsystems": []})",
       "t.json: $.threads: must be between 0 and 1024, got -1"},
      {R"({"threads": 2.5, "subsystems": []})",
       "t.json: $.threads: must be an integer between 0 and 1024, got 2.5"},
      {R"({"log_level": "verbose", "subsystems": []})",
       "t.json: $.log_level: must be one of 'error', 'warn', 'info', "
       "'debug', got 'verbose'"},
      {R"({"log_level": "dbug", "subsystems": []})",
       "t.json: $.log_level: must be one of 'error', 'warn', 'info', "
       "'debug', got 'dbug' (did you mean 'debug'?)"},
      // Subsystems.
      {WithSubsystem("{}"),
       "t.json: $.subsystems[0].nqn: required field is "
       "missing"},
      {WithSubsystem(R"({"nqn": 5})"),
       "t.json: $.subsystems[0].nqn: must be a string, got 5"},
      {WithSubsystem(R"({"nqn": "iqn.2024-01.x"})"),
       "t.json: $.subsystems[0].nqn: NQN must start with 'nqn.'"},
      {WithSubsystem(R"({"nqn": "nqn.2014-08.org.nvmexpress.discovery"})"),
       "t.json: $.subsystems[0].nqn: the discovery NQN is reserved for the "
       "discovery service, which every port serves"},
      {R"({"subsystems": [{"nqn": "nqn.2024-01.io.example:a"},
                          {"nqn": "nqn.2024-01.io.example:a"}]})",
       "t.json: $.subsystems[1].nqn: duplicate of $.subsystems[0].nqn"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "serial": "123456789012345678901"})"),
       "t.json: $.subsystems[0].serial: must be 1 to 20 characters, got 21"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a", "serial": ""})"),
       "t.json: $.subsystems[0].serial: must be 1 to 20 characters, got 0"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "model": "caf\u00e9"})"),
       "t.json: $.subsystems[0].model: must be printable ASCII, got "
       "'caf\\xc3\\xa9'"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "model": "12345678901234567890123456789012345678901"})"),
       "t.json: $.subsystems[0].model: must be 1 to 40 characters, got 41"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "hosts": ["nqn.2024-01.io.example:host1", "host2"]})"),
       "t.json: $.subsystems[0].hosts[1]: NQN must start with 'nqn.'"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "hosts": ["nqn.2024-01.io.example:host1",
                                   "nqn.2024-01.io.example:host1"]})"),
       "t.json: $.subsystems[0].hosts[1]: duplicate of "
       "$.subsystems[0].hosts[0]"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "allow_any_host": true,
                         "hosts": ["nqn.2024-01.io.example:host1"]})"),
       "t.json: $.subsystems[0].allow_any_host: true contradicts the "
       "non-empty 'hosts' list (ambiguous: remove one of them)"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "allow_any_host": "yes"})"),
       "t.json: $.subsystems[0].allow_any_host: must be true or false, got "
       "'yes'"},
      // DH-HMAC-CHAP: hosts with keys, the keyring, what may be negotiated.
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "hosts": [{"nqn": "nqn.2024-01.io.example:host1",
                                    "dhchap_key": "k1"}]})"),
       "t.json: $.subsystems[0].hosts[0].dhchap_key: no key 'k1' in $.keys"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "hosts": [{"nqn": "nqn.2024-01.io.example:host1",
                                    "dhchap_ctrlr_key": "k1"}]})"),
       "t.json: $.subsystems[0].hosts[0].dhchap_ctrlr_key: a controller key "
       "needs a host key (dhchap_key)"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "hosts": [{"nqn": "nqn.2024-01.io.example:host1",
                                    "dhchap_secret": "DHHC-1:00:x:"}]})"),
       "t.json: $.subsystems[0].hosts[0].dhchap_secret: unknown field"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a", "hosts": [7]})"),
       "t.json: $.subsystems[0].hosts[0]: must be a host NQN or an object "
       "{\"nqn\", \"dhchap_key\", \"dhchap_ctrlr_key\", \"psk\"}, got 7"},
      // TLS: a host's PSK is a key of the keyring; a port's mode by name.
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "hosts": [{"nqn": "nqn.2024-01.io.example:host1",
                                    "psk": "p1"}]})"),
       "t.json: $.subsystems[0].hosts[0].psk: no key 'p1' in $.keys"},
      {R"({"ports": [{"id": 1, "port": 4420, "params": {"tls": "yes"}}]})",
       "t.json: $.ports[0].params.tls: must be one of 'none', 'allowed', "
       "'required', got 'yes'"},
      {R"({"keys": [{"name": "k1", "path": "k1.key"}]})",
       "t.json: $.keys[0].path: must be an absolute path"},
      {R"({"keys": [{"name": "k 1", "path": "/k1"}]})",
       "t.json: $.keys[0].name: a key name is printable ASCII without spaces "
       "or '/'"},
      {R"({"keys": [{"name": "k1", "path": "/a"}, {"name": "k1", "path": "/b"}]})",
       "t.json: $.keys[1].name: duplicate of $.keys[0].name"},
      {R"({"keys": [{"name": "k1"}]})",
       "t.json: $.keys[0].path: required field is missing"},
      {R"({"dhchap_digests": ["sha256", "md5"]})",
       "t.json: $.dhchap_digests[1]: unknown DH-HMAC-CHAP hash (sha256, "
       "sha384 or sha512)"},
      {R"({"dhchap_dhgroups": ["ffdhe2048", "ffdhe2048"]})",
       "t.json: $.dhchap_dhgroups[1]: duplicate of $.dhchap_dhgroups[0]"},
      {R"({"dhchap_dhgroups": []})",
       "t.json: $.dhchap_dhgroups: must not be empty (leave it out to allow "
       "all)"},
      // Namespaces.
      {WithNamespace(R"({"size": 4096})"),
       "t.json: $.subsystems[0].namespaces[0].backend: required field is "
       "missing"},
      {WithNamespace(R"({"backend": "rom", "size": 4096})"),
       "t.json: $.subsystems[0].namespaces[0].backend: must be one of 'ram', "
       "'null', 'file', 'block', got 'rom' (did you mean 'ram'?)"},
      {WithNamespace(R"({"backend": "ram", "size": 4096, "nsid": 0})"),
       "t.json: $.subsystems[0].namespaces[0].nsid: must be between 1 and "
       "4294967294, got 0"},
      {WithNamespace(R"({"backend": "ram", "size": 4096,
                         "nsid": 4294967295})"),
       "t.json: $.subsystems[0].namespaces[0].nsid: must be between 1 and "
       "4294967294, got 4294967295"},
      {WithNamespace(R"({"backend": "ram", "size": 4096},
                        {"backend": "ram", "size": 4096, "nsid": 1})"),
       "t.json: $.subsystems[0].namespaces[1].nsid: nsid 1 is already used "
       "by $.subsystems[0].namespaces[0]"},
      {WithNamespace(R"({"backend": "ram"})"),
       "t.json: $.subsystems[0].namespaces[0].size: required field is "
       "missing"},
      {WithNamespace(R"({"backend": "null"})"),
       "t.json: $.subsystems[0].namespaces[0].size: required field is "
       "missing"},
      {WithNamespace(R"({"backend": "ram", "size": 0})"),
       "t.json: $.subsystems[0].namespaces[0].size: must be at least 1, got "
       "0"},
      {WithNamespace(R"({"backend": "ram", "size": 1000})"),
       "t.json: $.subsystems[0].namespaces[0].size: must be a multiple of the "
       "block size (512), got 1000"},
      {WithNamespace(R"({"backend": "ram", "size": "2K", "block_size": 4096})"),
       "t.json: $.subsystems[0].namespaces[0].size: must be a multiple of the "
       "block size (4096), got 2048"},
      {WithNamespace(R"({"backend": "ram", "size": "1.5G"})"),
       "t.json: $.subsystems[0].namespaces[0].size: not a size: '1.5G' (a "
       "whole number of bytes, optionally followed by a binary unit: K, M, "
       "G, T, P or KiB, MiB, GiB, TiB, PiB)"},
      {WithNamespace(R"({"backend": "ram", "size": -512})"),
       "t.json: $.subsystems[0].namespaces[0].size: must be a size (a number "
       "of bytes, or a string such as \"64K\" or \"1G\"), got -512"},
      {WithNamespace(R"({"backend": "ram", "size": 4096, "block_size": 1024})"),
       "t.json: $.subsystems[0].namespaces[0].block_size: must be 512 or "
       "4096, got 1024"},
      {WithNamespace(R"({"backend": "ram", "size": 4096, "path": "/x"})"),
       "t.json: $.subsystems[0].namespaces[0].path: not allowed for backend "
       "'ram'"},
      {WithNamespace(R"({"backend": "null", "size": 4096, "direct": false})"),
       "t.json: $.subsystems[0].namespaces[0].direct: not allowed for backend "
       "'null'"},
      {WithNamespace(R"({"backend": "file"})"),
       "t.json: $.subsystems[0].namespaces[0].path: required field is "
       "missing"},
      {WithNamespace(R"({"backend": "file", "path": ""})"),
       "t.json: $.subsystems[0].namespaces[0].path: must be a non-empty file "
       "name"},
      {WithNamespace(R"({"backend": "block", "path": "/dev/sda",
                         "size": "1G"})"),
       "t.json: $.subsystems[0].namespaces[0].size: not allowed for backend "
       "'block' (a block device has its own size)"},
      {WithNamespace(R"({"backend": "ram", "size": 4096,
                         "uuid": "0a1b2c3d4e5f40618273-8495a6b7c8d9"})"),
       "t.json: $.subsystems[0].namespaces[0].uuid: not a UUID in the form "
       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx: "
       "'0a1b2c3d4e5f40618273-8495a6b7c8d9'"},
      {WithNamespace(R"({"backend": "ram", "size": 4096,
                         "nguid": "0011223344556677"})"),
       "t.json: $.subsystems[0].namespaces[0].nguid: must be 32 hex digits, "
       "got '0011223344556677'"},
      {WithNamespace(R"({"backend": "ram", "size": 4096,
                         "eui64": "01020304050607zz"})"),
       "t.json: $.subsystems[0].namespaces[0].eui64: must be 16 hex digits, "
       "got '01020304050607zz'"},
      {WithNamespace(R"({"backend": "ram", "size": 4096,
                         "eui64": "0102030405060708"},
                        {"backend": "ram", "size": 4096,
                         "eui64": "0102030405060708"})"),
       "t.json: $.subsystems[0].namespaces[1].eui64: duplicate of "
       "$.subsystems[0].namespaces[0].eui64"},
      {R"({"subsystems": [
            {"nqn": "nqn.2024-01.io.example:a", "namespaces": [
              {"backend": "ram", "size": 512,
               "uuid": "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9"}]},
            {"nqn": "nqn.2024-01.io.example:b", "namespaces": [
              {"backend": "ram", "size": 512,
               "uuid": "0A1B2C3D-4E5F-4061-8273-8495A6B7C8D9"}]}]})",
       "t.json: $.subsystems[1].namespaces[0].uuid: duplicate of "
       "$.subsystems[0].namespaces[0].uuid"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "min_cntlid": 100, "max_cntlid": 99})"),
       "t.json: $.subsystems[0].max_cntlid: must not be below min_cntlid "
       "(100), got 99"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "max_cntlid": 65520})"),
       "t.json: $.subsystems[0].max_cntlid: must be between 1 and 65519, got "
       "65520"},
      {WithSubsystem(R"({"nqn": "nqn.2024-01.io.example:a",
                         "max_namespaces": 4, "namespaces": [
                           {"nsid": 5, "backend": "ram", "size": 512}]})"),
       "t.json: $.subsystems[0].namespaces[0].nsid: must not be above the "
       "subsystem's max_namespaces (4), got 5"},
      // Referrals.
      {R"({"referrals": [{"port": 8009}]})",
       "t.json: $.referrals[0].address: required field is missing"},
      {R"({"referrals": [{"address": "10.0.0.1", "subnqn": "bogus"}]})",
       "t.json: $.referrals[0].subnqn: NQN must start with 'nqn.'"},
      {R"({"referrals": [{"address": "10.0.0.1"}, {"address": "10.0.0.1"}]})",
       "t.json: $.referrals[1]: duplicate of $.referrals[0]"},
      // Named backends (bdevs) and the namespaces that name them.
      {R"({"bdevs": {}})", "t.json: $.bdevs: must be an array, got an object"},
      {R"({"bdevs": [{"backend": "ram", "size": 512}]})",
       "t.json: $.bdevs[0].name: required field is missing"},
      {R"({"bdevs": [{"name": "", "backend": "ram", "size": 512}]})",
       "t.json: $.bdevs[0].name: must be 1 to 255 characters, got 0"},
      {R"({"bdevs": [{"name": "m0", "backend": "ram", "size": 512},
                     {"name": "m0", "backend": "null", "size": 512}]})",
       "t.json: $.bdevs[1].name: duplicate of $.bdevs[0].name"},
      {R"({"bdevs": [{"name": "m0", "backend": "ram", "size": 512,
                      "nsid": 1}]})",
       "t.json: $.bdevs[0].nsid: unknown field (did you mean 'uuid'?)"},
      {R"({"bdevs": [{"name": "m0", "backend": "ram", "path": "/x"}]})",
       "t.json: $.bdevs[0].path: not allowed for backend 'ram'"},
      {R"({"bdevs": [{"name": "Malloc0", "backend": "ram", "size": 512}],
           "subsystems": [{"nqn": "nqn.2024-01.io.example:a", "namespaces": [
             {"bdev_name": "Malloc1"}]}]})",
       "t.json: $.subsystems[0].namespaces[0].bdev_name: names no bdev in "
       "$.bdevs (did you mean 'Malloc0'?)"},
      {R"({"bdevs": [{"name": "m0", "backend": "ram", "size": 512}],
           "subsystems": [{"nqn": "nqn.2024-01.io.example:a", "namespaces": [
             {"bdev_name": "m0"}, {"bdev_name": "m0"}]}]})",
       "t.json: $.subsystems[0].namespaces[1].bdev_name: bdev 'm0' already "
       "serves $.subsystems[0].namespaces[0].bdev_name"},
      {R"({"bdevs": [{"name": "m0", "backend": "ram", "size": 512}],
           "subsystems": [{"nqn": "nqn.2024-01.io.example:a", "namespaces": [
             {"bdev_name": "m0", "size": 1024}]}]})",
       "t.json: $.subsystems[0].namespaces[0].size: not allowed with "
       "'bdev_name' (the named backend has its own settings)"},
      {R"({"bdevs": [{"name": "m0", "backend": "ram", "size": 512}],
           "subsystems": [{"nqn": "nqn.2024-01.io.example:a", "namespaces": [
             {"bdev_name": "m0", "backend": "ram"}]}]})",
       "t.json: $.subsystems[0].namespaces[0].backend: not allowed with "
       "'bdev_name' (the named backend has its own settings)"},
      // Ports.
      {WithPorts(R"({"address": "localhost"})"),
       "t.json: $.ports[0].address: not a numeric IPv4 or IPv6 address: "
       "'localhost'"},
      {WithPorts(R"({"address": "::1", "family": "ipv4"})"),
       "t.json: $.ports[0].family: 'ipv4' contradicts the address '::1' (an "
       "IPv6 address)"},
      {WithPorts(R"({"address": "10.0.0.1", "family": "ipv6"})"),
       "t.json: $.ports[0].family: 'ipv6' contradicts the address '10.0.0.1' "
       "(an IPv4 address)"},
      {WithPorts(R"({"transport": "rdma"})"),
       "t.json: $.ports[0].transport: must be one of 'tcp', got 'rdma'"},
      {WithPorts(R"({"port": 0})"),
       "t.json: $.ports[0].port: must be between 1 and 65535, got 0"},
      {WithPorts(R"({"port": 65536})"),
       "t.json: $.ports[0].port: must be between 1 and 65535, got 65536"},
      {WithPorts(R"({"id": 0})"),
       "t.json: $.ports[0].id: must be between 1 and 65535, got 0"},
      {WithPorts(R"({"port": 4420}, {"id": 1, "port": 4421})"),
       "t.json: $.ports[1].id: id 1 is already used by $.ports[0]"},
      {WithPorts(R"({}, {"address": "127.0.0.1", "port": 4420})"),
       "t.json: $.ports[1]: listens on the same address and port as "
       "$.ports[0] (127.0.0.1:4420)"},
      {WithPorts(R"({"address": "::1"}, {"address": "0:0::1"})"),
       "t.json: $.ports[1]: listens on the same address and port as "
       "$.ports[0] ([::1]:4420)"},
      {WithPorts(R"({"address": "0.0.0.0"}, {"address": "10.1.2.3"})"),
       "t.json: $.ports[1]: listens on the same address and port as "
       "$.ports[0] (0.0.0.0:4420)"},
      {WithPorts(R"({"subsystems": ["nqn.2024-01.io.example:c"]})"),
       "t.json: $.ports[0].subsystems[0]: names no configured subsystem "
       "(did you mean 'nqn.2024-01.io.example:a'?)"},
      {WithPorts(R"({"subsystems": ["nqn.2024-01.io.other:zzz"]})"),
       "t.json: $.ports[0].subsystems[0]: names no configured subsystem"},
      {WithPorts(R"({"subsystems": ["nqn.2014-08.org.nvmexpress.discovery"]})"),
       "t.json: $.ports[0].subsystems[0]: the discovery subsystem is served "
       "on every port; do not list it"},
      {WithPorts(R"({"subsystems": ["nqn.2024-01.io.example:a",
                                    "nqn.2024-01.io.example:a"]})"),
       "t.json: $.ports[0].subsystems[1]: duplicate of "
       "$.ports[0].subsystems[0]"},
      {WithPorts(R"({"params": {"in_capsule_data_size": 100}})"),
       "t.json: $.ports[0].params.in_capsule_data_size: must be a multiple "
       "of 16, got 100"},
      {WithPorts(R"({"params": {"in_capsule_data_size": "2M"}})"),
       "t.json: $.ports[0].params.in_capsule_data_size: must be between 0 "
       "and 1M, got 2M"},
      {WithPorts(R"({"params": {"max_h2c_data": 2048}})"),
       "t.json: $.ports[0].params.max_h2c_data: must be between 4K and 16M, "
       "got 2K"},
      {WithPorts(R"({"params": {"max_h2c_data": 4098}})"),
       "t.json: $.ports[0].params.max_h2c_data: must be a multiple of 4, got "
       "4098"},
      {WithPorts(R"({"params": {"c2h_data_pdu_size": 512}})"),
       "t.json: $.ports[0].params.c2h_data_pdu_size: must be between 4K and "
       "16M, got 512"},
      {WithPorts(R"({"params": {"header_digest": 1}})"),
       "t.json: $.ports[0].params.header_digest: must be true or false, got "
       "1"},
      {WithPorts(R"({"params": {"max_queue_size": 1}})"),
       "t.json: $.ports[0].params.max_queue_size: must be between 2 and "
       "1024, got 1"},
      {WithPorts(R"({"params": {"max_io_queues": 65535}})"),
       "t.json: $.ports[0].params.max_io_queues: must be between 1 and "
       "65534, got 65535"},
      {WithPorts(R"({"params": []})"),
       "t.json: $.ports[0].params: must be an object, got an array"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ErrorOf(c.json), c.message) << c.json;
  }
}

TEST(ConfigErrorTest, UnknownFieldsAreRefusedWithASuggestion) {
  EXPECT_EQ(ErrorOf(WithPorts(R"({"adress": "127.0.0.1"})")),
            "t.json: $.ports[0].adress: unknown field (did you mean "
            "'address'?)");
  EXPECT_EQ(ErrorOf(WithNamespace(R"({"backend": "ram", "size": 512,
                                      "blockSize": 512})")),
            "t.json: $.subsystems[0].namespaces[0].blockSize: unknown field "
            "(did you mean 'block_size'?)");
  EXPECT_EQ(ErrorOf(R"({"subsystems": [], "colour": "blue"})"),
            "t.json: $.colour: unknown field");
  EXPECT_EQ(ErrorOf(R"({"subsystems": [], "a b": 1})"),
            "t.json: $['a b']: unknown field");
  // Reported before a missing required field, which a typo often explains.
  EXPECT_EQ(ErrorOf(WithSubsystem(R"({"nqm": "nqn.2024-01.io.example:a"})")),
            "t.json: $.subsystems[0].nqm: unknown field (did you mean "
            "'nqn'?)");
}

TEST(ConfigErrorTest, SyntaxErrorsGiveLineAndColumn) {
  // The stray '2' sits on line 3, column 7.
  std::string message = ErrorOf("{\n  \"a\": 1,\n  \"b\" 2\n}");
  EXPECT_EQ(message.rfind("t.json: line 3, column 7: syntax error: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("expected ':'"), std::string::npos) << message;

  message = ErrorOf("{\"subsystems\": [}");
  EXPECT_EQ(message.rfind("t.json: line 1, column 17: syntax error: ", 0), 0u)
      << message;
  message = ErrorOf("");
  EXPECT_EQ(message.rfind("t.json: line 1, column 1: syntax error: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("unexpected end of input"), std::string::npos);
  // No comments, no trailing commas: strict JSON.
  message = ErrorOf("{\"subsystems\": [],\n}");
  EXPECT_EQ(message.rfind("t.json: line 2, column 1: syntax error: ", 0), 0u)
      << message;
  message = ErrorOf("// x\n{}");
  EXPECT_EQ(message.rfind("t.json: line 1, column 1: syntax error: ", 0), 0u)
      << message;
  // A number too large for a double has no position, but is refused.
  EXPECT_EQ(ErrorOf(R"({"threads": 1e500, "subsystems": []})"),
            "t.json: number overflow parsing '1e500'");
}

TEST(ConfigErrorTest, DuplicateKeysAreRefused) {
  EXPECT_EQ(ErrorOf(R"({"subsystems": [], "subsystems": []})"),
            "t.json: $: duplicate key 'subsystems'");
  EXPECT_EQ(ErrorOf(WithNamespace(R"({"backend": "ram", "size": 512},
                                     {"backend": "ram", "size": "1G",
                                      "size": "1M"})")),
            "t.json: $.subsystems[0].namespaces[1]: duplicate key 'size'");
  // The same key in sibling objects is fine.
  EXPECT_EQ(ErrorOf(WithNamespace(R"({"backend": "ram", "size": 512},
                                     {"backend": "ram", "size": 512})")),
            "OK");
}

}  // namespace
}  // namespace nvmeof::controller
