// TLS 1.3 pre-shared keys for NVMe/TCP (NVMe/TCP Transport 1.0 3.6.1,
// TP 8018 for identity version 1): the configured PSK in its interchange
// format, the retained PSK, the PSK identity a host offers and the TLS PSK
// both ends derive for it.
//
// Facts and vectors: ../shared/SECURITY.md 2.2-2.4 (libnvme's test/psk.c
// gives the interchange and identity vectors). Crypto is OpenSSL 3
// (EVP_KDF "HKDF" in extract-only and expand-only modes, HMAC).
//
// The derivations, with HKDF-Expand-Label of RFC 8446 7.1 and
// PRK(x) = HKDF-Extract(salt = HashLen zeros, x):
//   retained = configured (transform 0) or
//              HKDF-Expand-Label(PRK(configured), "HostNQN", hostnqn, L)
//   v0 identity "NVMe0R0h <hostnqn> <subnqn>" (no NUL),
//      TLS PSK = HKDF-Expand-Label(PRK(retained), "nvme-tls-psk",
//                                  identity, HashLen)
//   v1 digest = base64(HMAC_h(retained, hostnqn " " subnqn " "
//                             "NVMe-over-Fabrics")),
//      identity "NVMe1R0h <hostnqn> <subnqn> <digest>",
//      TLS PSK = HKDF-Expand-Label(PRK(retained), "nvme-tls-psk",
//                                  "0h <digest>", HashLen)
// where h is the identity's hash (the transform's, else by key length).
// "compat" is libnvme < 1.16's non-RFC HkdfLabel (SECURITY.md 2.3):
// le16(L) || "tls13 " label || context, with no length bytes.
//
// Key material lives in SecretBytes and never reaches an error message.

#ifndef NVMEOF_AUTH_TLS_PSK_H_
#define NVMEOF_AUTH_TLS_PSK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dhchap.h"
#include "nvmeof/status.h"

namespace nvmeof::auth {

// The hash of a TLS PSK (and of its cipher suite, TLS_AES_128_GCM_SHA256
// or TLS_AES_256_GCM_SHA384); the values are the interchange format's and
// the identity's "0h".
enum class TlsHash : uint8_t { kSha256 = 1, kSha384 = 2 };

// 32, 48.
size_t TlsHashLength(TlsHash h);

// A configured PSK in the interchange format
// `NVMeTLSkey-1:XX:<base64(PSK || crc32 le)>:`.
struct TlsKey {
  // XX: 0 none, 1 SHA-256, 2 SHA-384 (the retained-PSK transform).
  uint8_t transform = 0;
  // 32 or 48 bytes; 32 with transform 1, 48 with transform 2 (as libnvme).
  SecretBytes configured;

  // Surrounding whitespace / a trailing newline accepted. Errors name what
  // is wrong (prefix, hash id, base64, length, CRC) and never contain the
  // key text.
  static Result<TlsKey> Parse(std::string_view text);
  std::string Format() const;
  // The identity / cipher hash: the transform's if it is not 0, else by
  // length (32 -> SHA-256, 48 -> SHA-384).
  TlsHash hash() const;
};

// The retained PSK: the configured one if transform == 0, else derived
// with the RFC 8446 HKDF-Expand-Label or, when `compat`, with
// libnvme < 1.16's labels.
Result<SecretBytes> RetainedPsk(const TlsKey& key, std::string_view hostnqn,
                                bool compat);

// A parsed identity "NVMe<v>R<hh> <hostnqn> <subnqn>[ <digest>]" (v 0 or
// 1; the digest for v1 only; 'G' instead of 'R' for a PSK generated from
// DH-HMAC-CHAP, reported in `generated`). One trailing NUL is tolerated
// (the spec lists one; Linux and SPDK send none).
struct TlsIdentity {
  int version = 0;
  TlsHash hash = TlsHash::kSha256;
  bool generated = false;
  std::string hostnqn, subnqn, digest;
};
Result<TlsIdentity> ParseTlsIdentity(std::string_view identity);

// The identity string (no NUL) a host offers for identity version 0 or 1,
// and the TLS PSK both ends derive for it (length = the hash's).
struct DerivedPsk {
  std::string identity;
  SecretBytes psk;
  TlsHash hash = TlsHash::kSha256;
};
Result<DerivedPsk> DeriveTlsPsk(const TlsKey& key, std::string_view hostnqn,
                                std::string_view subnqn, int identity_version,
                                bool compat);

// Controller side: the TLS PSK for an identity a host offered, given the
// configured key for that (hostnqn, subnqn). Refuses a generated ('G')
// identity, one whose hash is not the key's and, for v1, one whose digest
// is not the key's (constant-time compare). Errors say why, never the key.
Result<SecretBytes> TlsPskForIdentity(const TlsKey& key, const TlsIdentity& id,
                                      bool compat);

// A random configured PSK of the hash's length, for gen-tls-key;
// `transform` is 0 or the hash's own value.
Result<TlsKey> GenerateTlsKey(TlsHash hash, uint8_t transform);

// The v1 digest alone (base64 of the HMAC above), e.g. to log it.
Result<std::string> TlsIdentityDigest(TlsHash hash, const SecretBytes& retained,
                                      std::string_view hostnqn,
                                      std::string_view subnqn);

}  // namespace nvmeof::auth

#endif  // NVMEOF_AUTH_TLS_PSK_H_
