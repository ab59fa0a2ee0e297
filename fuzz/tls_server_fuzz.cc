// Fuzzes the controller's TLS stream: the input is what a host sends on a
// listener (its first byte picks "required" or "allowed"), from the first
// byte on: ClientHellos with any extensions and PSK identities, records of
// any length and type, plain ICReqs where TLS is required. The listener's
// PSK lookup parses the identity as the target's does. Invariants: no
// crash, no sanitizer report, and the stream ends (EOF or an error), never
// spins.

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include "auth/tls_psk.h"
#include "nvmeof/log.h"
#include "tcp/tls_stream.h"

namespace {

std::shared_ptr<const nvmeof::TlsServerParams> Params(bool required) {
  auto p = std::make_shared<nvmeof::TlsServerParams>();
  p->mode = required ? nvmeof::TlsMode::kRequired : nvmeof::TlsMode::kAllowed;
  p->find_psk =
      [](std::string_view identity) -> nvmeof::Result<nvmeof::TlsPsk> {
    NVMEOF_ASSIGN_OR_RETURN(nvmeof::auth::TlsIdentity id,
                            nvmeof::auth::ParseTlsIdentity(identity));
    nvmeof::TlsPsk psk;
    psk.key.assign(id.hash == nvmeof::auth::TlsHash::kSha384 ? 48 : 32, 0x42);
    psk.sha384 = id.hash == nvmeof::auth::TlsHash::kSha384;
    return psk;
  };
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    nvmeof::SetLogSink([](nvmeof::LogSeverity, const std::string&) {});
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 0;
  auto stream =
      nvmeof::tcp::MakeServerStream(nvmeof::Fd(sv[0]), Params(data[0] & 1));
  ++data;
  --size;
  size_t off = 0;
  uint8_t buf[4096];
  for (int turn = 0; turn < 10000; ++turn) {
    if (off < size) {
      const ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
      if (n > 0) off += static_cast<size_t>(n);
      if (off == size) shutdown(sv[1], SHUT_WR);
    }
    if (size == 0 && turn == 0) shutdown(sv[1], SHUT_WR);
    // What the stream sends (alerts, its handshake) is read and dropped.
    while (recv(sv[1], buf, sizeof(buf), 0) > 0) {
    }
    iovec iov{buf, sizeof(buf)};
    const ssize_t n = stream->Read(&iov, 1);
    if (n == 0) break;
    if (n < 0 && errno != EAGAIN) break;
    if (stream->HasPendingOutput()) stream->Write(nullptr, 0);
  }
  close(sv[1]);
  return 0;
}
