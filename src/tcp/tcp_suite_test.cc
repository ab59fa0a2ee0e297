// The transport API suite, unchanged, over NVMe/TCP on 127.0.0.1: without
// digests, with header digests, and with header and data digests; and the
// same over TLS 1.3 with a PSK (SHA-256 and SHA-384 suites), on a listener
// that requires TLS and on one that also allows plain TCP.
#include "nvmeof/tcp.h"
#include "transport_suite.h"

namespace nvmeof {
namespace {

TransportSuiteParam TcpParam(std::string name, bool hdgst, bool ddgst) {
  TransportSuiteParam p;
  p.name = std::move(name);
  p.type = TransportType::kTcp;
  p.register_transport = RegisterTcpTransport;
  p.traddr = "127.0.0.1";
  p.trsvcid = "0";  // any free port; the suite connects to what was bound
  p.header_digest = hdgst;
  p.data_digest = ddgst;
  return p;
}

// A fixed PSK for both ends (the derivations are auth/tls_psk.h's, tested
// there): the listener finds it by the identity the host offers.
TransportSuiteParam TlsParam(std::string name, bool hdgst, bool ddgst,
                             bool sha384, TlsMode mode) {
  TransportSuiteParam p = TcpParam(std::move(name), hdgst, ddgst);
  TlsPsk psk;
  psk.sha384 = sha384;
  for (size_t i = 0; i < (sha384 ? 48u : 32u); ++i) {
    psk.key.push_back(static_cast<uint8_t>(i * 7 + 1));
  }
  const std::string identity =
      std::string(sha384 ? "NVMe0R02" : "NVMe0R01") +
      " nqn.2014-08.org.example:host nqn.2014-08.org.example:subsys";
  auto server = std::make_shared<TlsServerParams>();
  server->mode = mode;
  server->find_psk = [psk,
                      identity](std::string_view offered) -> Result<TlsPsk> {
    if (offered != identity) return NotFoundError("no PSK for that identity");
    return psk;
  };
  auto client = std::make_shared<TlsClientParams>();
  client->identity = identity;
  client->psk = psk;
  p.server_tls = std::move(server);
  p.client_tls = std::move(client);
  return p;
}

// A plain host on a listener that allows TLS but does not require it.
TransportSuiteParam PlainOnAllowed() {
  TransportSuiteParam p = TlsParam("tls_allowed_plain_host", false, false,
                                   false, TlsMode::kAllowed);
  p.client_tls = nullptr;
  return p;
}

INSTANTIATE_TEST_SUITE_P(
    Tcp, TransportSuite,
    ::testing::Values(
        TcpParam("tcp", false, false), TcpParam("tcp_hdgst", true, false),
        TcpParam("tcp_hdgst_ddgst", true, true),
        TlsParam("tls", false, false, false, TlsMode::kRequired),
        TlsParam("tls_sha384_digests", true, true, true, TlsMode::kRequired),
        TlsParam("tls_allowed", false, false, false, TlsMode::kAllowed),
        PlainOnAllowed()),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace nvmeof
