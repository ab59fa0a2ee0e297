// The transport API suite, unchanged, over NVMe/TCP on 127.0.0.1: without
// digests, with header digests, and with header and data digests.
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

INSTANTIATE_TEST_SUITE_P(Tcp, TransportSuite,
                         ::testing::Values(TcpParam("tcp", false, false),
                                           TcpParam("tcp_hdgst", true, false),
                                           TcpParam("tcp_hdgst_ddgst", true,
                                                    true)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace nvmeof
