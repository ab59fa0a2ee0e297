// The NVMe/TCP transport (NVMe/TCP Transport Specification 1.0).
//
// RegisterTcpTransport() adds it to TransportRegistry::Global(); from then
// on TransportType::kTcp connects and listens with TransportAddress
// {kTcp, "127.0.0.1" or "::1" (numeric only), "4420"}. What it does on the
// wire: ICReq/ICResp with header and data digests where both sides agree
// (CPDA 0, MAXR2T 0 as Linux sends), in-capsule data, R2T/H2CData and
// C2HData (with the SUCCESS flag), TermReq on every fatal error. Its queue
// pairs follow transport.h.

#ifndef NVMEOF_TCP_H_
#define NVMEOF_TCP_H_

namespace nvmeof {

// Idempotent and thread-safe.
void RegisterTcpTransport();

}  // namespace nvmeof

#endif  // NVMEOF_TCP_H_
