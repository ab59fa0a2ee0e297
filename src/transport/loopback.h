// The in-process loopback transport: a host queue pair wired to a
// controller queue pair with the semantics of NVMe/TCP, without sockets.
//
//  - Writes up to the host's max_icd travel in the capsule (copied when the
//    command is transmitted; the host's data callback then runs at once);
//    larger ones are pulled by the controller with ReceiveData, in pieces.
//  - Reads are pushed by the controller with SendData; with may_complete,
//    the last piece completes the command when the host disabled SQ flow
//    control (NVMe/TCP's SUCCESS flag): no response capsule follows.
//  - Closing one end shows the other a clean close (on_error with OK).
//
// Both ends of a connection run on the connecting host's loop: a program
// that embeds a host and a controller in one thread needs nothing else. The
// listener is found by name (TransportAddress::traddr) in a process-wide
// table.

#ifndef NVMEOF_TRANSPORT_LOOPBACK_H_
#define NVMEOF_TRANSPORT_LOOPBACK_H_

#include "nvmeof/transport.h"

namespace nvmeof {

class LoopbackTransport final : public Transport {
 public:
  TransportType type() const override { return TransportType::kLoopback; }
  void Connect(EventLoop& loop, const TransportAddress& address,
               const HostQueuePairParams& params, QueuePairCallbacks callbacks,
               ConnectCallback on_connected) override;
  Result<std::unique_ptr<Listener>> Listen(
      EventLoop& loop, const TransportAddress& address,
      const ControllerQueuePairParams& params,
      AcceptCallback on_accept) override;
};

}  // namespace nvmeof

#endif  // NVMEOF_TRANSPORT_LOOPBACK_H_
