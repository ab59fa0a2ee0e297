// TLS 1.3 with pre-shared keys under NVMe/TCP (NVMe/TCP Transport
// Specification 1.0 3.6, TP 8011 / TP 8018): what a listener and a host
// queue pair are given to secure their connections. The transport does the
// TLS (tcp/tls_stream.h); the keys, identities and derivations are the upper
// layers' (auth/tls_psk.h): a listener is handed a lookup from the identity
// a host offers to the TLS PSK, a host the identity and PSK to offer.

#ifndef NVMEOF_TLS_H_
#define NVMEOF_TLS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "nvmeof/status.h"

namespace nvmeof {

// A listener's secure channel (SPDK's --secure-channel, nvmet's
// addr_treq): none (plain NVMe/TCP only), allowed (TLS or plain on one
// port, told apart by the first bytes), required (TLS only).
enum class TlsMode : uint8_t { kNone, kAllowed, kRequired };

// "none" / "allowed" / "required".
std::string_view TlsModeName(TlsMode mode);
Result<TlsMode> ParseTlsMode(std::string_view name);

// A TLS PSK as TLS uses it (the derived one, never the configured key) and
// the hash of the cipher suite it goes with: TLS_AES_128_GCM_SHA256 for a
// 32-byte SHA-256 PSK, TLS_AES_256_GCM_SHA384 for a 48-byte SHA-384 one.
// Wiped when destroyed.
struct TlsPsk {
  std::vector<uint8_t> key;
  bool sha384 = false;

  TlsPsk() = default;
  TlsPsk(const TlsPsk&) = default;
  TlsPsk& operator=(const TlsPsk&) = default;
  ~TlsPsk();
};

// A listener's TLS: its mode and how to find the PSK for an identity.
struct TlsServerParams {
  TlsMode mode = TlsMode::kNone;
  // The TLS PSK of the identity a host offers ("NVMe0R01 <hostnqn>
  // <subnqn>", ...); an error (logged with the peer's address and the
  // identity, then the handshake fails) when there is none. Called on the
  // connection's loop during the handshake; thread-safe.
  std::function<Result<TlsPsk>(std::string_view identity)> find_psk;
  // Also PSK-only key exchange (psk_ke), besides PSK with (EC)DHE.
  bool allow_psk_only = true;
};

// A host queue pair's TLS: the identity it offers and its PSK.
struct TlsClientParams {
  std::string identity;
  TlsPsk psk;
};

}  // namespace nvmeof

#endif  // NVMEOF_TLS_H_
