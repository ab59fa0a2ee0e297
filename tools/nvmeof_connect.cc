// The nvmeof tool's connection flags and how a verb connects, with the
// DH-HMAC-CHAP secrets (-S/-C, /etc/nvme/hostkey).

#include <unistd.h>

#include <openssl/crypto.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "auth/dhchap.h"
#include "auth/dhchap_internal.h"
#include "auth/key_file.h"
#include "auth/tls_psk.h"
#include "nvmeof/proto/nqn.h"
#include "tools/nvmeof_cli.h"

namespace nvmeof::tools {

namespace {

// nvme-cli's names; long forms only (their short forms clash here).
void AddReconnect(CLI::App* v, Args& a) {
  v->add_option("--ctrl-loss-tmo", a.ctrl_loss_tmo_s,
                "seconds to keep reconnecting a lost association (0: fail "
                "at once; -1: forever)")
      ->capture_default_str();
  v->add_option("--reconnect-delay", a.reconnect_delay_s,
                "seconds between reconnect attempts")
      ->capture_default_str();
}

// nvme-cli's names and letters.
void AddSecrets(CLI::App* v, Args& a, bool short_forms) {
  v->add_option(short_forms ? "-S,--dhchap-secret" : "--dhchap-secret",
                a.dhchap_secret,
                "DH-HMAC-CHAP host secret, DHHC-1:XX:...: (default: "
                "/etc/nvme/hostkey when it exists); used when the "
                "controller requires authentication");
  v->add_option(short_forms ? "-C,--dhchap-ctrl-secret" : "--dhchap-ctrl-secret",
                a.dhchap_ctrl_secret,
                "DH-HMAC-CHAP controller secret, DHHC-1:XX:...: "
                "(bidirectional: the controller authenticates too)");
  v->add_flag("--tls", a.tls,
              "TLS 1.3 with a PSK (needs --tls-key: there is no kernel keyring "
              "to take it from)");
  v->add_option("--tls-key,--tls_key", a.tls_key,
                "TLS PSK, NVMeTLSkey-1:XX:...: or a file holding one (implies "
                "--tls)");
  v->add_option("--tls-identity", a.tls_identity,
                "TLS PSK identity version: 0 (NVMe0R0h), 1 (NVMe1R0h, with "
                "the digest)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  v->add_flag("--tls-compat", a.tls_compat,
              "derive the TLS PSK as libnvme before 1.16 did");
}

// nvme-cli's default host secret.
constexpr const char* kHostKeyFile = "/etc/nvme/hostkey";

Status ParseHostId(const std::string& text, std::array<uint8_t, 16>& out) {
  std::string hex;
  for (char ch : text) {
    if (ch != '-') hex.push_back(ch);
  }
  auto nibble = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  if (hex.size() != 32) return InvalidArgumentError("--hostid must be a UUID");
  for (int i = 0; i < 16; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgumentError("--hostid must be a UUID");
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return Status::Ok();
}

}  // namespace

void AddConnection(CLI::App* v, Args& a, bool nqn_short, bool json,
                   bool secret_short) {
  v->add_option("-t,--transport", a.transport, "transport type (tcp)")
      ->capture_default_str();
  v->add_option("-a,--traddr", a.traddr,
                "target address (numeric IPv4 or IPv6)")
      ->capture_default_str();
  v->add_option("-s,--trsvcid", a.trsvcid, "target port")
      ->capture_default_str();
  v->add_option(nqn_short ? "-n,--nqn" : "--nqn", a.nqn, "subsystem NQN");
  v->add_option("-q,--hostnqn", a.hostnqn,
                "host NQN (default: /etc/nvme/hostnqn or derived)");
  v->add_option("-I,--hostid", a.hostid,
                "host ID, a UUID (default: /etc/nvme/hostid or derived)");
  v->add_flag("-g,--hdr-digest", a.hdr_digest, "ask for header digests");
  v->add_flag("-G,--data-digest", a.data_digest, "ask for data digests");
  v->add_option("-i,--nr-io-queues", a.nr_io_queues, "I/O queues to connect")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  v->add_option("-Q,--queue-size", a.queue_size, "I/O queue entries")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  v->add_option("-k,--keep-alive-tmo", a.kato_s, "keep-alive timeout, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  AddReconnect(v, a);
  AddSecrets(v, a, secret_short);
  if (json) {
    v->add_option("-o,--output-format", a.output, "normal or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"normal", "json"}));
  }
}

void AddIo(CLI::App* v, Args& a, bool data, bool count) {
  v->add_option("-n,--namespace-id", a.nsid, "namespace ID")
      ->capture_default_str();
  v->add_option("-s,--start-block", a.slba, "first LBA")->capture_default_str();
  if (count) {
    v->add_option("-c,--block-count", a.block_count,
                  "number of blocks, zero-based as in nvme-cli (0: one block)");
  }
  if (data) v->add_option("-d,--data", a.data_file, "data file")->required();
}

void AddIoConnection(CLI::App* v, Args& a) {
  AddReconnect(v, a);
  v->add_option("-t,--transport", a.transport, "transport type (tcp)")
      ->capture_default_str();
  v->add_option("-a,--traddr", a.traddr, "target address")
      ->capture_default_str();
  v->add_option("--trsvcid", a.trsvcid, "target port")->capture_default_str();
  v->add_option("--nqn", a.nqn, "subsystem NQN")->required();
  v->add_option("-q,--hostnqn", a.hostnqn, "host NQN");
  v->add_option("-I,--hostid", a.hostid, "host ID, a UUID");
  v->add_flag("-g,--hdr-digest", a.hdr_digest, "ask for header digests");
  v->add_flag("-G,--data-digest", a.data_digest, "ask for data digests");
  v->add_option("-i,--nr-io-queues", a.nr_io_queues, "I/O queues")
      ->capture_default_str();
  v->add_option("-Q,--queue-size", a.queue_size, "I/O queue entries")
      ->capture_default_str();
  v->add_option("-k,--keep-alive-tmo", a.kato_s, "keep-alive timeout, seconds")
      ->capture_default_str();
  AddSecrets(v, a, true);
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "nvmeof: %s\n", what.c_str());
  return 1;
}

Result<IdentifyNamespace> ActiveNamespace(host::Association& assoc,
                                          uint32_t nsid) {
  const std::string inactive = "namespace " + std::to_string(nsid) +
                               " is not active on this controller";
  Result<std::vector<uint8_t>> buf = assoc.Identify(0x00, nsid);
  if (!buf.ok()) {
    // The controller's own status: Invalid Namespace or Format beyond NN.
    if (buf.status().code() == StatusCode::kFailedPrecondition) {
      return NotFoundError(inactive + " (" + std::string(buf.status().message()) +
                           ")");
    }
    return buf.status();
  }
  IdentifyNamespace id;
  std::memcpy(&id, buf->data(), sizeof(id));
  if (id.nsze == 0) return NotFoundError(inactive);
  return id;
}

int Fail(const Status& why) { return Fail(std::string(why.message())); }

// "127.0.0.1:4420", "[::1]:4420".
std::string Endpoint(const Args& a) {
  return a.traddr.find(':') != std::string::npos
             ? "[" + a.traddr + "]:" + a.trsvcid
             : a.traddr + ":" + a.trsvcid;
}

Result<std::unique_ptr<host::Association>> Open(EventLoop& loop,
                                                const Args& a, bool discovery) {
  NVMEOF_ASSIGN_OR_RETURN(TransportType t, ParseTransportType(a.transport));
  host::ConnectOptions o;
  o.address = {t, a.traddr, a.trsvcid};
  o.subnqn = a.nqn.empty() && discovery ? std::string(kDiscoveryNqn) : a.nqn;
  if (o.subnqn.empty()) return InvalidArgumentError("--nqn is required");
  o.hostnqn = a.hostnqn;
  if (!a.hostid.empty()) NVMEOF_RETURN_IF_ERROR(ParseHostId(a.hostid, o.hostid));
  o.header_digest = a.hdr_digest;
  o.data_digest = a.data_digest;
  o.nr_io_queues = discovery ? 0 : static_cast<uint16_t>(a.nr_io_queues);
  o.queue_size = static_cast<uint16_t>(a.queue_size);
  o.kato_ms = discovery ? 0 : static_cast<uint32_t>(a.kato_s) * 1000;
  o.ctrl_loss_tmo = std::chrono::seconds(a.ctrl_loss_tmo_s);
  o.reconnect_delay = std::chrono::seconds(a.reconnect_delay_s);
  // The secrets, checked here so that an error names the flag (never the
  // text); without -S, nvme-cli's /etc/nvme/hostkey when it can be read.
  o.dhchap_secret = a.dhchap_secret;
  o.dhchap_ctrl_secret = a.dhchap_ctrl_secret;
  if (o.dhchap_secret.empty() && ::access(kHostKeyFile, R_OK) == 0) {
    Result<auth::DhchapKey> k =
        auth::ReadKeyFile(kHostKeyFile, /*require_private=*/false);
    if (!k.ok()) return k.status();
    o.dhchap_secret = k->Format();
  } else if (!o.dhchap_secret.empty()) {
    Result<auth::DhchapKey> k = auth::DhchapKey::Parse(o.dhchap_secret);
    if (!k.ok()) return k.status().WithContext("--dhchap-secret");
  }
  if (!o.dhchap_ctrl_secret.empty()) {
    Result<auth::DhchapKey> k = auth::DhchapKey::Parse(o.dhchap_ctrl_secret);
    if (!k.ok()) return k.status().WithContext("--dhchap-ctrl-secret");
    if (o.dhchap_secret.empty()) {
      return InvalidArgumentError(
          "--dhchap-ctrl-secret needs --dhchap-secret (or /etc/nvme/hostkey)");
    }
  }
  if (!a.tls_key.empty()) {
    o.tls_key = a.tls_key;
    if (!a.tls_key.starts_with("NVMeTLSkey-1:")) {
      // A file (nvme-cli's --tls-key takes the key itself; a path is ours).
      Result<auth::SecretBytes> text =
          auth::ReadKeyFileText(a.tls_key, /*require_private=*/false);
      if (!text.ok()) return text.status().WithContext("--tls-key");
      o.tls_key.assign(reinterpret_cast<const char*>(text->data()),
                       text->size());
    }
    Result<auth::TlsKey> k = auth::TlsKey::Parse(o.tls_key);
    if (!k.ok()) return k.status().WithContext("--tls-key");
    o.tls_identity_version = a.tls_identity;
    o.tls_compat = a.tls_compat;
  } else if (a.tls) {
    return InvalidArgumentError(
        "--tls needs --tls-key (the PSK, NVMeTLSkey-1:XX:...:, or a file)");
  }
  Result<std::unique_ptr<host::Association>> assoc =
      host::Association::Connect(loop, o);
  if (!assoc.ok()) {
    return assoc.status().WithContext(Endpoint(a) + " " + o.subnqn);
  }
  return assoc;
}

Result<Session> OpenSession(const Args& a, bool discovery) {
  Session s;
  NVMEOF_ASSIGN_OR_RETURN(s.loop, EventLoop::Create());
  NVMEOF_ASSIGN_OR_RETURN(s.assoc, Open(*s.loop, a, discovery));
  return s;
}

// ---- gen-dhchap-key, check-dhchap-key (nvme-cli's flags, checks and
// output; no secret in an error message) ----

namespace {

void GenKeyFlags(CLI::App* v, Args& a) {
  v->add_option("-s,--secret", a.key_secret,
                "secret in hexadecimal characters to place in the key "
                "(default: random)");
  v->add_option("-l,--key-length", a.key_length,
                "length of the secret: 32, 48 or 64 bytes (default: the "
                "hash's, 32 with no hash)");
  v->add_option("-m,--hmac", a.key_hmac,
                "hash for the key transform: 0 none, 1 SHA-256, 2 SHA-384, "
                "3 SHA-512")
      ->capture_default_str();
  v->add_option("-n,--nqn", a.key_nqn,
                "host NQN the key is transformed with (default: "
                "/etc/nvme/hostnqn or derived)");
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int GenKey(Args& a) {
  if (a.key_hmac > 3) {
    return Fail("Invalid HMAC identifier " + std::to_string(a.key_hmac));
  }
  if (a.key_hmac > 0) {
    static constexpr const char* kNames[] = {"", "SHA(256)", "SHA(384)",
                                             "SHA(512)"};
    const unsigned want = 16 + 16 * a.key_hmac;  // 32, 48, 64
    if (a.key_length == 0) {
      a.key_length = want;
    } else if (a.key_length != want) {
      return Fail("Invalid key length " + std::to_string(a.key_length) +
                  " for " + kNames[a.key_hmac]);
    }
  } else if (a.key_length == 0) {
    a.key_length = 32;
  }
  if (a.key_length != 32 && a.key_length != 48 && a.key_length != 64) {
    return Fail("Invalid key length " + std::to_string(a.key_length));
  }
  auth::SecretBytes raw;
  if (!a.key_secret.empty()) {
    const std::string& hex = a.key_secret;
    if (hex.size() % 2 != 0) return Fail("Invalid secret (not hexadecimal)");
    raw = auth::SecretBytes(hex.size() / 2);
    for (size_t i = 0; i < raw.size(); ++i) {
      const int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return Fail("Invalid secret (not hexadecimal)");
      raw.data()[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    if (raw.size() != a.key_length) {
      return Fail("Invalid key length (" + std::to_string(raw.size()) +
                  " bytes)");
    }
  }
  const std::string nqn =
      a.key_nqn.empty() ? host::DefaultHostNqn() : a.key_nqn;
  Result<auth::DhchapKey> key = auth::GenerateForNqn(
      static_cast<uint8_t>(a.key_hmac), a.key_length, nqn, raw.span());
  if (!key.ok()) return Fail(key.status());
  std::printf("%s\n", key->Format().c_str());
  return 0;
}

void CheckKeyFlags(CLI::App* v, Args& a) {
  v->add_option("-k,--key", a.key_text,
                "DH-HMAC-CHAP key (DHHC-1:XX:...:) to check (default: "
                "read from standard input)");
}

// nvme-cli's checks, in its order: the header, the length the hash
// implies, the trailing ':', the base64, the secret's length, the CRC.
int CheckKey(Args& a) {
  std::string key = a.key_text;
  if (key.empty()) {
    char line[512];
    if (std::fgets(line, sizeof(line), stdin) != nullptr) key = line;
    OPENSSL_cleanse(line, sizeof(line));
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
      key.pop_back();
    if (key.empty()) return Fail("No key data");
  }
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{key};
  constexpr std::string_view kPrefix = "DHHC-1:";
  if (key.size() < kPrefix.size() + 4 || !key.starts_with(kPrefix) ||
      HexDigit(key[7]) < 0 || HexDigit(key[8]) < 0 || key[9] != ':') {
    return Fail("Invalid key header");
  }
  const int hmac = HexDigit(key[7]) * 16 + HexDigit(key[8]);
  static constexpr size_t kLength[] = {0, 59, 83, 103};
  static constexpr const char* kNames[] = {"", "SHA(256)", "SHA(384)",
                                           "SHA(512)"};
  if (hmac > 3) return Fail("Invalid HMAC identifier " + std::to_string(hmac));
  if (hmac > 0 && key.size() != kLength[hmac]) {
    return Fail(std::string("Invalid key length for ") + kNames[hmac]);
  }
  if (key.back() != ':') {
    return Fail("Invalid key format (missing trailing ':')");
  }
  std::optional<auth::SecretBytes> decoded = auth::internal::Base64Decode(
      std::string_view(key).substr(10, key.size() - 11));
  if (!decoded) return Fail("Base64 decoding failed, error -22");
  if (decoded->size() < 32) {
    return Fail("Base64 decoding failed (size " +
                std::to_string(decoded->size()) + ")");
  }
  const size_t len = decoded->size() - 4;
  if (len != 32 && len != 48 && len != 64) {
    return Fail("Invalid key length " + std::to_string(len));
  }
  const uint32_t crc = auth::internal::Crc32(decoded->span().first(len));
  const uint32_t stored = auth::internal::GetLe32(decoded->span(), len);
  if (crc != stored) {
    char msg[64];
    std::snprintf(msg, sizeof(msg), "CRC mismatch (key %08x, crc %08x)",
                  stored, crc);
    return Fail(msg);
  }
  std::printf("Key is valid (HMAC %d, length %zu, CRC %08x)\n", hmac, len,
              crc);
  return 0;
}

}  // namespace

std::vector<Verb> KeyVerbs() {
  return {
      {"gen-dhchap-key",
       "generate a DH-HMAC-CHAP secret (DHHC-1) for in-band authentication",
       GenKeyFlags, GenKey},
      {"check-dhchap-key", "check a DH-HMAC-CHAP secret (DHHC-1)",
       CheckKeyFlags, CheckKey},
  };
}

}  // namespace nvmeof::tools
