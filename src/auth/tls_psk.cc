// The NVMe/TCP TLS PSK interchange format (CRC-32, base64), HKDF and its
// two label forms, the identities and the TLS PSK (SECURITY.md 2.2-2.3).

#include "auth/tls_psk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "auth/dhchap_internal.h"

namespace nvmeof::auth {

size_t TlsHashLength(TlsHash h) {
  switch (h) {
    case TlsHash::kSha256:
      return 32;
    case TlsHash::kSha384:
      return 48;
  }
  return 0;
}

namespace {

constexpr std::string_view kPrefix = "NVMeTLSkey-1:";

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::optional<TlsHash> HashFromId(int id) {
  if (id == 1 || id == 2) return static_cast<TlsHash>(id);
  return std::nullopt;
}

HashId ToHashId(TlsHash h) { return static_cast<HashId>(h); }

const char* DigestName(TlsHash h) {
  return h == TlsHash::kSha384 ? "SHA384" : "SHA256";
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)); }

// ---- HKDF (RFC 5869) over EVP_KDF "HKDF" ----

// OSSL_PARAM wants a mutable pointer for what it only reads.
void* Mut(const void* p) { return const_cast<void*>(p); }

// One HKDF step: EXTRACT_ONLY (out = HashLen bytes) or EXPAND_ONLY.
Result<SecretBytes> HkdfStep(TlsHash h, int mode, std::span<const uint8_t> key,
                             std::span<const uint8_t> salt,
                             std::span<const uint8_t> info, size_t out_len) {
  // Fetched once; OpenSSL's method objects are thread-safe to share.
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return InternalError("EVP_KDF HKDF unavailable");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return InternalError("EVP_KDF_CTX_new failed");
  static const uint8_t kNone = 0;
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(
      OSSL_KDF_PARAM_DIGEST, const_cast<char*>(DigestName(h)), 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, Mut(key.empty() ? &kNone : key.data()), key.size());
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, Mut(salt.data()), salt.size());
  } else {
    // The whole info at once (SECURITY.md 2.3: add1_hkdf_info once).
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, Mut(info.empty() ? &kNone : info.data()),
        info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(out_len);
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);  // clears the key
  if (!ok) return InternalError("HKDF failed");
  return out;
}

// PRK = HKDF-Extract(salt = HashLen zeros, ikm).
Result<SecretBytes> Extract(TlsHash h, std::span<const uint8_t> ikm) {
  const std::vector<uint8_t> zeros(TlsHashLength(h), 0);
  return HkdfStep(h, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, zeros, {},
                  TlsHashLength(h));
}

// HKDF-Expand-Label(prk, label, context, length): the RFC 8446 7.1
// HkdfLabel, or libnvme < 1.16's (le16 length, no length bytes).
Result<SecretBytes> ExpandLabel(TlsHash h, const SecretBytes& prk,
                                std::string_view label,
                                std::string_view context, size_t length,
                                bool compat) {
  static constexpr std::string_view kTls13 = "tls13 ";
  std::vector<uint8_t> info;
  info.reserve(4 + kTls13.size() + label.size() + context.size());
  if (compat) {
    info.push_back(static_cast<uint8_t>(length));
    info.push_back(static_cast<uint8_t>(length >> 8));
  } else {
    if (kTls13.size() + label.size() > 255 || context.size() > 255) {
      return InvalidArgumentError(
          "TLS PSK: HKDF label or context longer than 255 bytes (NQNs too "
          "long)");
    }
    info.push_back(static_cast<uint8_t>(length >> 8));
    info.push_back(static_cast<uint8_t>(length));
    info.push_back(static_cast<uint8_t>(kTls13.size() + label.size()));
  }
  info.insert(info.end(), kTls13.begin(), kTls13.end());
  info.insert(info.end(), label.begin(), label.end());
  if (!compat) info.push_back(static_cast<uint8_t>(context.size()));
  info.insert(info.end(), context.begin(), context.end());
  Result<SecretBytes> out =
      HkdfStep(h, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk.span(), {}, info, length);
  // The context is an NQN or an identity, nothing secret; wiped anyway.
  OPENSSL_cleanse(info.data(), info.size());
  return out;
}

bool ValidNqnForIdentity(std::string_view nqn) {
  return !nqn.empty() && std::none_of(nqn.begin(), nqn.end(), [](char c) {
    return c == ' ' || c == '\0';
  });
}

std::string HashField(TlsHash h) { return h == TlsHash::kSha384 ? "02" : "01"; }

// The TLS PSK for a (v0 or v1) identity: `context` is the identity (v0)
// or "0h <digest>" (v1).
Result<SecretBytes> TlsPskFrom(TlsHash h, const SecretBytes& retained,
                               std::string_view context, bool compat) {
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes prk, Extract(h, retained.span()));
  return ExpandLabel(h, prk, "nvme-tls-psk", context, TlsHashLength(h), compat);
}

Status CheckKey(const TlsKey& key) {
  const size_t n = key.configured.size();
  if (n != 32 && n != 48) {
    return InvalidArgumentError("TLS key: the PSK must be 32 or 48 bytes");
  }
  if (key.transform > 2) {
    return InvalidArgumentError("TLS key: hash id must be 00, 01 or 02");
  }
  if (key.transform != 0 &&
      n != TlsHashLength(static_cast<TlsHash>(key.transform))) {
    return InvalidArgumentError(
        "TLS key: the PSK length does not match the hash id (01: 32 bytes, "
        "02: 48 bytes)");
  }
  return Status::Ok();
}

}  // namespace

// ---- the interchange format ----

Result<TlsKey> TlsKey::Parse(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  if (!text.starts_with(kPrefix)) {
    return InvalidArgumentError(
        "TLS key: not in the PSK interchange format (NVMeTLSkey-1:)");
  }
  text.remove_prefix(kPrefix.size());
  if (text.size() < 3 || text[2] != ':' ||
      !std::isdigit(static_cast<unsigned char>(text[0])) ||
      !std::isdigit(static_cast<unsigned char>(text[1]))) {
    return InvalidArgumentError(
        "TLS key: the hash id is not two digits and a ':'");
  }
  const int transform = (text[0] - '0') * 10 + (text[1] - '0');
  if (transform > 2) {
    return InvalidArgumentError("TLS key: hash id must be 00, 01 or 02");
  }
  text.remove_prefix(3);
  if (text.empty() || text.back() != ':') {
    return InvalidArgumentError("TLS key: missing the trailing ':'");
  }
  text.remove_suffix(1);
  std::optional<SecretBytes> raw = internal::Base64Decode(text);
  if (!raw) return InvalidArgumentError("TLS key: bad base64");
  if (raw->size() != 36 && raw->size() != 52) {
    return InvalidArgumentError("TLS key: the PSK must be 32 or 48 bytes");
  }
  const size_t len = raw->size() - 4;
  std::span<const uint8_t> bytes = raw->span();
  if (internal::Crc32(bytes.first(len)) != internal::GetLe32(bytes, len)) {
    return InvalidArgumentError("TLS key: CRC mismatch");
  }
  TlsKey key;
  key.transform = static_cast<uint8_t>(transform);
  key.configured = SecretBytes(bytes.first(len));
  NVMEOF_RETURN_IF_ERROR(CheckKey(key));
  return key;
}

std::string TlsKey::Format() const {
  SecretBytes raw(configured.size() + 4);
  std::copy(configured.span().begin(), configured.span().end(), raw.data());
  internal::PutLe32(std::span<uint8_t>(raw.data(), raw.size()),
                    configured.size(), internal::Crc32(configured.span()));
  std::string out(kPrefix);
  out.push_back(static_cast<char>('0' + transform / 10));
  out.push_back(static_cast<char>('0' + transform % 10));
  out.push_back(':');
  out += internal::Base64Encode(raw.span());
  out.push_back(':');
  return out;
}

TlsHash TlsKey::hash() const {
  if (std::optional<TlsHash> h = HashFromId(transform)) return *h;
  return configured.size() == 48 ? TlsHash::kSha384 : TlsHash::kSha256;
}

Result<TlsKey> GenerateTlsKey(TlsHash hash, uint8_t transform) {
  if (transform != 0 && transform != static_cast<uint8_t>(hash)) {
    return InvalidArgumentError(
        "TLS key: the transform must be none or the key's own hash");
  }
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> random,
                          internal::RandomBytes(TlsHashLength(hash)));
  TlsKey key;
  key.transform = transform;
  key.configured = SecretBytes(random);
  OPENSSL_cleanse(random.data(), random.size());
  return key;
}

// ---- derivations ----

Result<SecretBytes> RetainedPsk(const TlsKey& key, std::string_view hostnqn,
                                bool compat) {
  NVMEOF_RETURN_IF_ERROR(CheckKey(key));
  if (key.transform == 0) return key.configured;
  const TlsHash h = static_cast<TlsHash>(key.transform);
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes prk, Extract(h, key.configured.span()));
  return ExpandLabel(h, prk, "HostNQN", hostnqn, key.configured.size(), compat);
}

Result<std::string> TlsIdentityDigest(TlsHash hash, const SecretBytes& retained,
                                      std::string_view hostnqn,
                                      std::string_view subnqn) {
  static constexpr std::string_view kSpace = " ";
  static constexpr std::string_view kSuffix = "NVMe-over-Fabrics";
  const std::span<const uint8_t> parts[] = {
      Bytes(hostnqn), Bytes(kSpace),  Bytes(subnqn),
      Bytes(kSpace),  Bytes(kSuffix),
  };
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes mac,
                          Hmac(ToHashId(hash), retained.span(), parts));
  return internal::Base64Encode(mac.span());
}

Result<DerivedPsk> DeriveTlsPsk(const TlsKey& key, std::string_view hostnqn,
                                std::string_view subnqn, int identity_version,
                                bool compat) {
  if (identity_version != 0 && identity_version != 1) {
    return InvalidArgumentError("TLS PSK: the identity version must be 0 or 1");
  }
  if (!ValidNqnForIdentity(hostnqn) || !ValidNqnForIdentity(subnqn)) {
    return InvalidArgumentError(
        "TLS PSK: the host and subsystem NQNs must be non-empty and have no "
        "space");
  }
  NVMEOF_RETURN_IF_ERROR(CheckKey(key));
  DerivedPsk out;
  out.hash = key.hash();
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes retained,
                          RetainedPsk(key, hostnqn, compat));
  const std::string hh = HashField(out.hash);
  out.identity = "NVMe" + std::to_string(identity_version) + "R" + hh + " " +
                 std::string(hostnqn) + " " + std::string(subnqn);
  std::string context = out.identity;
  if (identity_version == 1) {
    NVMEOF_ASSIGN_OR_RETURN(
        std::string digest,
        TlsIdentityDigest(out.hash, retained, hostnqn, subnqn));
    out.identity += " " + digest;
    context = hh + " " + digest;
  }
  NVMEOF_ASSIGN_OR_RETURN(out.psk,
                          TlsPskFrom(out.hash, retained, context, compat));
  return out;
}

// ---- the controller's side ----

Result<TlsIdentity> ParseTlsIdentity(std::string_view identity) {
  if (!identity.empty() && identity.back() == '\0') identity.remove_suffix(1);
  // "NVMe" v type hh ' '
  if (identity.size() < 9 || !identity.starts_with("NVMe") ||
      identity[8] != ' ') {
    return InvalidArgumentError(
        "TLS identity: not of the form NVMe<v><R|G><hh> <hostnqn> <subnqn>");
  }
  TlsIdentity id;
  const char v = identity[4], type = identity[5];
  if (v != '0' && v != '1') {
    return InvalidArgumentError("TLS identity: version must be 0 or 1");
  }
  id.version = v - '0';
  if (type != 'R' && type != 'G') {
    return InvalidArgumentError(
        "TLS identity: PSK type must be R (retained) or G (generated)");
  }
  id.generated = type == 'G';
  std::optional<TlsHash> h;
  if (identity[6] == '0') h = HashFromId(identity[7] - '0');
  if (!h) return InvalidArgumentError("TLS identity: hash must be 01 or 02");
  id.hash = *h;
  // The rest: space-separated fields, none empty.
  std::vector<std::string_view> fields;
  std::string_view rest = identity.substr(9);
  while (true) {
    const size_t sp = rest.find(' ');
    fields.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  const size_t want = id.version == 0 ? 2 : 3;
  if (fields.size() != want ||
      std::any_of(fields.begin(), fields.end(),
                  [](std::string_view f) { return f.empty(); })) {
    return InvalidArgumentError(
        id.version == 0
            ? "TLS identity: version 0 is NVMe0R0h <hostnqn> <subnqn>"
            : "TLS identity: version 1 is NVMe1R0h <hostnqn> <subnqn> "
              "<digest>");
  }
  if (std::any_of(identity.begin(), identity.end(),
                  [](char c) { return c == '\0'; })) {
    return InvalidArgumentError("TLS identity: embedded NUL");
  }
  id.hostnqn = std::string(fields[0]);
  id.subnqn = std::string(fields[1]);
  if (id.version == 1) {
    std::optional<SecretBytes> mac = internal::Base64Decode(fields[2]);
    // Padded base64 of a HashLen HMAC: 44 or 64 characters.
    if (!mac || mac->size() != TlsHashLength(id.hash) ||
        fields[2].size() != (TlsHashLength(id.hash) + 2) / 3 * 4) {
      return InvalidArgumentError(
          "TLS identity: the digest is not the base64 of a hash-long HMAC");
    }
    id.digest = std::string(fields[2]);
  }
  return id;
}

Result<SecretBytes> TlsPskForIdentity(const TlsKey& key, const TlsIdentity& id,
                                      bool compat) {
  if (id.generated) {
    return InvalidArgumentError(
        "TLS identity: a generated (G) PSK, not derived from a configured "
        "key");
  }
  if (id.version != 0 && id.version != 1) {
    return InvalidArgumentError("TLS identity: version must be 0 or 1");
  }
  NVMEOF_RETURN_IF_ERROR(CheckKey(key));
  if (id.hash != key.hash()) {
    return InvalidArgumentError(
        "TLS identity: its hash (" + HashField(id.hash) +
        ") is not the configured key's (" + HashField(key.hash()) + ")");
  }
  if (!ValidNqnForIdentity(id.hostnqn) || !ValidNqnForIdentity(id.subnqn)) {
    return InvalidArgumentError("TLS identity: bad host or subsystem NQN");
  }
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes retained,
                          RetainedPsk(key, id.hostnqn, compat));
  const std::string hh = HashField(id.hash);
  if (id.version == 0) {
    const std::string identity =
        "NVMe0R" + hh + " " + id.hostnqn + " " + id.subnqn;
    return TlsPskFrom(id.hash, retained, identity, compat);
  }
  NVMEOF_ASSIGN_OR_RETURN(
      std::string digest,
      TlsIdentityDigest(id.hash, retained, id.hostnqn, id.subnqn));
  if (digest.size() != id.digest.size() ||
      CRYPTO_memcmp(digest.data(), id.digest.data(), digest.size()) != 0) {
    OPENSSL_cleanse(digest.data(), digest.size());
    return InvalidArgumentError(
        "TLS identity: the digest does not match the configured key");
  }
  return TlsPskFrom(id.hash, retained, hh + " " + digest, compat);
}

}  // namespace nvmeof::auth
