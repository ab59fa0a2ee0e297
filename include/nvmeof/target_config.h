// The target's configuration: what `nvmeof-target` (or a program that
// embeds nvmeof::Target, target.h) serves, read from one JSON file (DESIGN.md, "Configuration"; examples/README.md has the schema).
//
// ParseConfig turns the file's text into a TargetConfig, or refuses it with
// a Status whose message names the file, the JSON path of the offending field
// and the reason:
//   target.json: $.subsystems[0].namespaces[1].block_size: must be 512 or
//   4096, got 1024
//   target.json: line 12, column 5: syntax error: ...
// A TargetConfig that comes back is complete and consistent: every default
// applied, every derived value (serial numbers, UUIDs, NGUIDs) filled in,
// every cross-reference checked. The daemon builds its subsystems and ports
// from it and nothing else, so a bad file never starts anything.
//
// The structs are plain values; a backend's own settings, which only its
// plug-in reads (backend_registry.h), are kept as the JSON object it
// checked.

#ifndef NVMEOF_TARGET_CONFIG_H_
#define NVMEOF_TARGET_CONFIG_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvmeof/backend.h"
#include "nvmeof/status.h"
#include "nvmeof/transport.h"
#include "nvmeof/tls.h"

namespace nvmeof {

// Where a namespace's blocks live: a backend type (a plug-in of the
// BackendRegistry: "ram", "null", "file", "block", ...), the settings its
// plug-in read (every default filled in, as the config file writes them),
// and what every backend takes.
struct BackendConfig {
  std::string type = "ram";
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  BackendOptions options;  // block_size (512 or 4096), read_only

  bool operator==(const BackendConfig& o) const {
    return type == o.type && params == o.params &&
           options.block_size == o.options.block_size &&
           options.read_only == o.options.read_only;
  }
};

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };

enum class AddressFamily : uint8_t { kIpv4, kIpv6 };

// A backend with a name ("bdevs" in the file, SPDK's bdevs): made once,
// served by at most one namespace, which names it (NamespaceConfig::
// bdev_name). The control plane creates and deletes them at run time.
struct BdevConfig {
  std::string name;  // 1..255 printable ASCII characters, unique
  BackendConfig backend;
  // Reported by bdev_get_bdevs; derived from the name unless given.
  std::array<uint8_t, 16> uuid{};

  bool operator==(const BdevConfig&) const = default;
};

struct NamespaceConfig {
  uint32_t nsid = 1;  // 1..max_namespaces, unique within its subsystem
  // Either a named backend of TargetConfig::bdevs (not served by another
  // namespace) or, when empty, the backend described inline here.
  std::string bdev_name;
  BackendConfig backend;
  // Namespace identifiers (Identify Namespace NGUID and EUI64, the UUID in
  // the Namespace Identification Descriptor list). uuid and nguid are always
  // set: from the file, or derived from (subsystem NQN, nsid) so that they
  // stay the same across restarts. eui64 is all zeroes unless the file gives
  // one (zero means "not reported", Base spec 5.1.13.2.3).
  std::array<uint8_t, 16> uuid{};
  std::array<uint8_t, 16> nguid{};
  std::array<uint8_t, 8> eui64{};

  bool operator==(const NamespaceConfig&) const = default;
};

// An allowed host of a subsystem. With a DH-HMAC-CHAP key (a name in
// TargetConfig::keys), every queue of the host authenticates; with a
// controller key too, the host may ask the target to prove itself
// (bidirectional).
struct HostConfig {
  std::string nqn;               // valid, distinct within the subsystem
  std::string dhchap_key;        // empty: no authentication
  std::string dhchap_ctrlr_key;  // empty: one-way only; needs dhchap_key
  // A TLS PSK (NVMeTLSkey-1) of the keyring: the host connects only over
  // TLS, with this key (SPDK's nvmf_subsystem_add_host --psk).
  std::string psk;

  bool operator==(const HostConfig&) const = default;
};

// A key of the keyring: a file holding one DH-HMAC-CHAP secret
// (DHHC-1:XX:...:) or one TLS PSK (NVMeTLSkey-1:XX:...:) that only its owner
// may read (mode 0600 or 0400).
struct KeyConfig {
  std::string name;  // 1..255 printable ASCII, no space or '/', unique
  std::string path;  // absolute
  // A TLS PSK derived as libnvme before 1.16 did (hosts with nvme-cli
  // 2.4-2.15 that inserted it): SECURITY.md 2.3.
  bool compat = false;

  bool operator==(const KeyConfig&) const = default;
};

struct SubsystemConfig {
  std::string nqn;  // valid (ValidateNqn), not the discovery NQN, unique
  // Identify Controller SN: 1..20 printable ASCII bytes; derived from the
  // NQN (20 hex digits of a hash) unless given.
  std::string serial;
  // Identify Controller MN: 1..40 printable ASCII bytes.
  std::string model = "nvmeof";
  // Every host may connect; when false only `hosts` may. Never true with a
  // non-empty `hosts`. False with no hosts: nobody may connect.
  bool allow_any_host = true;
  std::vector<HostConfig> hosts;            // in file order
  std::vector<NamespaceConfig> namespaces;  // in file order; nsids distinct
  // Identify Controller NN: the NSIDs hosts may see (1..0xFFFFFFFE).
  uint32_t max_namespaces = 1024;
  // The controller IDs this subsystem hands out (1..0xFFEF), so that
  // gateways serving one subsystem never give two controllers one ID.
  uint16_t min_cntlid = 1;
  uint16_t max_cntlid = 0xFFEF;

  bool operator==(const SubsystemConfig&) const = default;
};

// The limits of the queue pairs accepted on a port (NVMe/TCP, see
// ControllerQueuePairParams).
struct PortParams {
  // In-capsule data accepted on I/O queues: 0..1 MiB, a multiple of 16
  // (IOCCSZ = (in_capsule_data_size + 64) / 16).
  uint32_t in_capsule_data_size = 8192;
  uint32_t max_h2c_data = 128 * 1024;       // MAXH2CDATA: 4 KiB..16 MiB, % 4
  uint32_t c2h_data_pdu_size = 128 * 1024;  // largest C2HData: 4 KiB..16 MiB
  bool header_digest = true;                // HDGST allowed if the host asks
  bool data_digest = true;                  // DDGST allowed if the host asks
  uint16_t max_queue_size = 128;            // 2..1024 entries
  uint16_t max_io_queues = 64;              // per controller, 1..65534
  // Connections this port keeps at once (1..1000000); one more is closed at
  // once, and logged.
  uint32_t max_connections = 4096;
  // TLS 1.3 with a PSK (NVMe/TCP 3.6): "none", "allowed" (TLS and plain on
  // this port), "required" (SPDK's --secure-channel). A host listed with a
  // "psk" connects only over TLS, with that key.
  TlsMode tls = TlsMode::kNone;
  // TLS key exchange: PSK with (EC)DHE always; PSK-only (psk_ke, no
  // forward secrecy) too unless this is false (NVMe/TCP 3.6.1.3: a
  // controller shall allow disabling it).
  bool tls_psk_ke = true;

  bool operator==(const PortParams&) const = default;
};

struct PortConfig {
  uint16_t id = 1;  // PORTID in the discovery log: 1..65535, unique
  TransportType transport = TransportType::kTcp;  // only kTcp for now
  AddressFamily family = AddressFamily::kIpv4;    // matches `address`
  // Numeric, normalized ("::1", never "[::1]" or "0:0::1"); the wildcard
  // "0.0.0.0" or "::" listens on every address of its family.
  std::string address = "127.0.0.1";
  uint16_t port = 4420;  // TRSVCID
  // The NQNs of the subsystems exposed here (all of them unless the file
  // lists some; an empty list: the discovery service alone, which every
  // port serves besides).
  std::vector<std::string> subsystems;
  PortParams params;

  bool operator==(const PortConfig&) const = default;
};

// A referral in the discovery log: another discovery service (or one
// subsystem) at an NVMe/TCP address.
struct ReferralConfig {
  AddressFamily family = AddressFamily::kIpv4;  // matches `address`
  std::string address;  // numeric, normalized
  uint16_t port = 8009;
  std::string subnqn;  // empty: the discovery subsystem
  bool secure_channel = false;

  bool operator==(const ReferralConfig&) const = default;
};

struct TargetConfig {
  std::vector<BdevConfig> bdevs;  // in file order
  // May be empty: a target started to be filled by the control plane.
  std::vector<SubsystemConfig> subsystems;
  // Default: one TCP port on 127.0.0.1:4420 exposing every subsystem; an
  // empty list: none (the control plane adds listeners). No two ports
  // listen on the same address and port.
  std::vector<PortConfig> ports;
  std::vector<ReferralConfig> referrals;  // distinct
  std::vector<KeyConfig> keys;            // the keyring, in file order
  // What DH-HMAC-CHAP may negotiate, in order of preference ("sha256",
  // "sha384", "sha512"; "null", "ffdhe2048" ... "ffdhe8192"); empty: all,
  // the host's first choice first.
  std::vector<std::string> dhchap_digests;
  std::vector<std::string> dhchap_dhgroups;
  uint32_t threads = 0;  // I/O threads; 0: the number of cores
  LogLevel log_level = LogLevel::kInfo;
  // Connections the whole target keeps at once, over all its ports
  // (1..10000000).
  uint32_t max_connections = 16384;

  bool operator==(const TargetConfig&) const = default;
};

// Parses and checks a configuration. Pure: no I/O, no exception escapes;
// safe to call from any thread. `file_name` only prefixes the error
// messages. Fails with kInvalidArgument at the first problem found:
//  - "FILE: line L, column C: syntax error: ..." for text that is not JSON
//    (strict: no comments, no trailing commas), L and C counted from 1, C in
//    bytes, at the point where the parser gave up;
//  - "FILE: $.PATH: REASON" for a field that is wrong, missing, unknown or
//    given twice in one object, or that contradicts another field.
// Within an object, unknown keys are reported first, then fields in schema
// order; subsystems are checked before ports (which name them).
[[nodiscard]] Result<TargetConfig> ParseConfig(std::string_view json_text,
                                               std::string_view file_name);

// Reads the file at `path` and parses it (ParseConfig, with `path` as the
// file name). A file that cannot be read fails with the errno's Status
// ("PATH: No such file or directory", kNotFound; ...).
[[nodiscard]] Result<TargetConfig> LoadConfig(const std::string& path);

// The configuration as pretty-printed JSON (2-space indent, ending in a
// newline), every default and derived value written out. For a config that
// ParseConfig returned, ParseConfig(ToJson(config)) gives it back equal.
std::string ToJson(const TargetConfig& config);

// The names the file uses: "error", "warn", "info", "debug"; "ipv4", "ipv6".
std::string_view LogLevelName(LogLevel level);
std::string_view AddressFamilyName(AddressFamily family);

}  // namespace nvmeof

#endif  // NVMEOF_TARGET_CONFIG_H_
