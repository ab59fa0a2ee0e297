// TlsStream: NVMe/TCP over TLS 1.3 with a PSK, in userspace (OpenSSL 3),
// as a ByteStream (byte_stream.h), so that the PDU code above it does not
// change. NVMe/TCP Transport Specification 1.0 3.6; the facts, traps and
// OpenSSL calls are in ../shared/SECURITY.md 2.
//
// TLS 1.3 only; TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384 (the
// one whose hash is the PSK's); psk_dhe_ke over X25519, P-256, P-384 and
// ffdhe3072 (and psk_ke unless the listener disables it); no session
// tickets (a Linux host's kernel TLS fails the connection on one), no early
// data. The handshake runs inside Read and Write on the connection's loop
// (its state decides which readiness Interest asks for); the identity the
// host offered is found through TlsServerParams::find_psk.
//
// The data path: Write gathers the caller's iovecs into full 16 KiB
// records and sends everything a call encrypted in one send; Read decrypts
// record by record straight into the caller's iovecs, with read-ahead so
// that one recv brings many records.
//
// A server stream in mode "allowed" looks at the first byte a host sends:
// 0x16 (a TLS handshake record) starts TLS, anything else (an ICReq starts
// with 0x00) is plain NVMe/TCP on the same port. In mode "required" a
// plain ICReq is refused, and logged.

#ifndef NVMEOF_TCP_TLS_STREAM_H_
#define NVMEOF_TCP_TLS_STREAM_H_

#include <memory>

#include "nvmeof/tls.h"
#include "tcp/byte_stream.h"

namespace nvmeof::tcp {

// The stream for an accepted connection: plain when `tls` is null or its
// mode is kNone.
std::unique_ptr<ByteStream> MakeServerStream(
    Fd fd, std::shared_ptr<const TlsServerParams> tls);

// The stream for a connecting host: plain when `tls` is null. The TLS
// handshake starts with the first Write (the ICReq).
std::unique_ptr<ByteStream> MakeClientStream(
    Fd fd, std::shared_ptr<const TlsClientParams> tls);

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_TLS_STREAM_H_
