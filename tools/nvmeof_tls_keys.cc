// The nvmeof tool's TLS PSK verbs, gen-tls-key and check-tls-key, with
// nvme-cli's flags, checks and output (its keys plugin): the interchange
// key (NVMeTLSkey-1:XX:...:) and the identity a host offers for it
// (auth/tls_psk.h). nvme-cli's Linux keyring flags (--insert, --keyring,
// --keytype, --keyfile) are accepted on the command line only to be
// refused: this tool has no kernel keyring to insert into or look in.
// No key text ever reaches an error message.

#include <openssl/crypto.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tls_psk.h"
#include "tools/nvmeof_cli.h"

namespace nvmeof::tools {

namespace {

// The verbs' own flag values (not in Args: no other verb uses them).
struct TlsKeyFlags {
  std::string hostnqn;
  std::string subsysnqn;
  std::string secret;   // gen-tls-key, hex
  std::string keydata;  // check-tls-key
  unsigned hmac = 1;
  unsigned identity = 0;
  bool compat = false;
  // The Linux keyring's, refused when given.
  bool insert = false;
  std::string keyring;
  std::string keytype;
  std::string keyfile;
};
TlsKeyFlags flags;

// Wipes a string that held key material, then empties it.
void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AddCommonFlags(CLI::App* v, TlsKeyFlags& f, const char* nqn_what) {
  v->add_option("-n,--hostnqn", f.hostnqn,
                std::string("host NQN ") + nqn_what +
                    " (default: /etc/nvme/hostnqn or derived)");
  v->add_option("-c,--subsysnqn", f.subsysnqn,
                std::string("subsystem NQN ") + nqn_what);
  v->add_option("-I,--identity", f.identity,
                "TLS identity version: 0 (NVMe/TCP 1.0c, NVMe0R0h <hostnqn> "
                "<subnqn>) or 1 (NVMe/TCP 2.0, with a digest)")
      ->capture_default_str();
  v->add_flag("-C,--compat", f.compat,
              "derive with libnvme < 1.16's non-RFC 8446 labels (hosts with "
              "libnvme 1.4 to 1.15)");
  v->add_option("-k,--keyring", f.keyring,
                "Linux keyring (not supported: refused)");
  v->add_option("-t,--keytype", f.keytype,
                "Linux key type (not supported: refused)");
}

// nvme-cli's keyring flags: nothing here can honour them.
int RefuseKeyring(const TlsKeyFlags& f) {
  if (f.insert) {
    return Fail(
        "--insert: inserting TLS keys into the Linux kernel keyring is not "
        "supported by nvmeof (nvme-cli does it); configure the interchange "
        "key where it is used instead");
  }
  if (!f.keyring.empty() || !f.keytype.empty() || !f.keyfile.empty()) {
    return Fail(
        "--keyring, --keytype and --keyfile are for the Linux kernel keyring, "
        "which nvmeof does not use");
  }
  return 0;
}

std::string HostNqn(const TlsKeyFlags& f) {
  return f.hostnqn.empty() ? host::DefaultHostNqn() : f.hostnqn;
}

// ---- gen-tls-key ----

void GenTlsKeyFlags(CLI::App* v, Args& /*unused*/) {
  v->add_option("-s,--secret", flags.secret,
                "secret in hexadecimal characters to place in the key "
                "(default: random)");
  v->add_option("-m,--hmac", flags.hmac,
                "hash of the retained key: 1 SHA-256 (32-byte key), 2 SHA-384 "
                "(48-byte key)")
      ->capture_default_str();
  AddCommonFlags(v, flags, "for the retained key");
  v->add_flag("-i,--insert", flags.insert,
              "insert the key into the Linux keyring (not supported: "
              "refused)");
  v->add_option("-f,--keyfile", flags.keyfile,
                "key file to update (not supported: refused)");
}

int GenTlsKey(Args& /*unused*/) {
  TlsKeyFlags& f = flags;
  struct WipeSecret {
    std::string& s;
    ~WipeSecret() { Wipe(s); }
  } wipe{f.secret};
  if (f.hmac < 1 || f.hmac > 2) {
    return Fail("Invalid HMAC identifier " + std::to_string(f.hmac));
  }
  if (f.identity > 1) {
    return Fail("Invalid TLS identity version " + std::to_string(f.identity));
  }
  if (int refused = RefuseKeyring(f); refused != 0) return refused;
  const auto hash = static_cast<auth::TlsHash>(f.hmac);
  auth::TlsKey key;
  if (f.secret.empty()) {
    Result<auth::TlsKey> random =
        auth::GenerateTlsKey(hash, static_cast<uint8_t>(f.hmac));
    if (!random.ok()) return Fail(random.status());
    key = std::move(*random);
  } else {
    const std::string& hex = f.secret;
    if (hex.size() % 2 != 0) return Fail("Invalid secret (not hexadecimal)");
    auth::SecretBytes raw(hex.size() / 2);
    for (size_t i = 0; i < raw.size(); ++i) {
      const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return Fail("Invalid secret (not hexadecimal)");
      raw.data()[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    if (raw.size() != auth::TlsHashLength(hash)) {
      return Fail("Invalid key length (" + std::to_string(raw.size()) +
                  " bytes)");
    }
    key.transform = static_cast<uint8_t>(f.hmac);
    key.configured = std::move(raw);
  }
  std::string text = key.Format();
  std::printf("%s\n", text.c_str());
  Wipe(text);
  return 0;
}

// ---- check-tls-key ----

void CheckTlsKeyFlags(CLI::App* v, Args& /*unused*/) {
  v->add_option("-d,--keydata", flags.keydata,
                "TLS key (NVMeTLSkey-1:XX:...:) to check (default: read from "
                "standard input)");
  AddCommonFlags(v, flags,
                 "of the identity (given a subsystem NQN, the "
                 "identity is printed)");
  // Older nvme-cli's check-tls-key took these too.
  v->add_flag("-i,--insert", flags.insert,
              "insert the key into the Linux keyring (not supported: "
              "refused)");
  v->add_option("-f,--keyfile", flags.keyfile,
                "key file to update (not supported: refused)");
}

int CheckTlsKey(Args& /*unused*/) {
  TlsKeyFlags& f = flags;
  struct WipeKey {
    std::string& s;
    ~WipeKey() { Wipe(s); }
  } wipe{f.keydata};
  if (f.identity > 1) {
    return Fail("Invalid TLS identity version " + std::to_string(f.identity));
  }
  if (int refused = RefuseKeyring(f); refused != 0) return refused;
  if (f.keydata.empty()) {
    char line[512];
    if (std::fgets(line, sizeof(line), stdin) != nullptr) f.keydata = line;
    OPENSSL_cleanse(line, sizeof(line));
  }
  if (f.keydata.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Fail("No key data");
  }
  Result<auth::TlsKey> key = auth::TlsKey::Parse(f.keydata);
  if (!key.ok()) {
    return Fail("Key decoding failed, " + std::string(key.status().message()));
  }
  std::printf("Key is valid (HMAC %u, length %zu)\n",
              static_cast<unsigned>(key->transform), key->configured.size());
  if (f.subsysnqn.empty()) return 0;
  Result<auth::DerivedPsk> derived = auth::DeriveTlsPsk(
      *key, HostNqn(f), f.subsysnqn, static_cast<int>(f.identity), f.compat);
  if (!derived.ok()) {
    return Fail("Failed to generate identity, " +
                std::string(derived.status().message()));
  }
  std::printf("%s\n", derived->identity.c_str());
  return 0;
}

}  // namespace

std::vector<Verb> TlsKeyVerbs() {
  return {
      {"gen-tls-key",
       "generate a TLS PSK for NVMe/TCP in the PSK interchange format "
       "(NVMeTLSkey-1)",
       GenTlsKeyFlags, GenTlsKey},
      {"check-tls-key",
       "check a TLS PSK in the interchange format and, given a subsystem "
       "NQN, print the identity a host offers for it",
       CheckTlsKeyFlags, CheckTlsKey},
  };
}

}  // namespace nvmeof::tools
