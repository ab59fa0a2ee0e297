// The TCP Transport: Connect and Listen.

#include <charconv>
#include <memory>

#include "io/socket.h"
#include "nvmeof/tcp.h"
#include "nvmeof/transport.h"
#include "tcp/tcp_controller.h"
#include "tcp/tcp_host.h"

namespace nvmeof {
namespace tcp {
namespace {

Result<SocketAddress> ResolveAddress(const TransportAddress& a) {
  uint16_t port = 0;
  const std::string& s = a.trsvcid;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return InvalidArgumentError("bad TCP service id (port) '" + s + "'");
  }
  return SocketAddress::Parse(a.traddr, port);
}

class TcpListener final : public Listener, private EventLoop::FdHandler {
 public:
  TcpListener(EventLoop* loop, Fd fd,
              std::shared_ptr<const TcpControllerQueuePair::Setup> setup)
      : loop_(loop), fd_(std::move(fd)), setup_(std::move(setup)) {}

  Status Start() { return loop_->AddFd(fd_.get(), EPOLLIN, this); }

  ~TcpListener() override { loop_->RemoveFd(fd_.get(), this); }

  TransportAddress address() const override {
    TransportAddress a;
    a.trtype = TransportType::kTcp;
    Result<SocketAddress> local = LocalAddress(fd_.get());
    if (local.ok()) {
      a.traddr = local->Host();
      a.trsvcid = std::to_string(local->Port());
    }
    return a;
  }

 private:
  void OnFdEvents(uint32_t) override {
    // Accept what is pending, a bounded number per turn.
    for (int i = 0; i < 64; ++i) {
      Result<Fd> c = AcceptTcp(fd_.get());
      if (!c.ok() || !c->valid()) return;
      EventLoop* target =
          setup_->params.choose_loop ? setup_->params.choose_loop() : loop_;
      if (target == nullptr) target = loop_;
      if (target == loop_) {
        TcpControllerQueuePair::Start(
            loop_, std::make_unique<SocketStream>(std::move(c).value()),
            setup_);
      } else {
        int raw = c->release();
        target->Post([target, raw, setup = setup_] {
          TcpControllerQueuePair::Start(
              target, std::make_unique<SocketStream>(Fd(raw)), setup);
        });
      }
    }
  }

  EventLoop* const loop_;
  Fd fd_;
  std::shared_ptr<const TcpControllerQueuePair::Setup> setup_;
};

class TcpTransport final : public Transport {
 public:
  TransportType type() const override { return TransportType::kTcp; }

  void Connect(EventLoop& loop, const TransportAddress& address,
               const HostQueuePairParams& params, QueuePairCallbacks callbacks,
               ConnectCallback on_connected) override {
    Result<SocketAddress> addr = ResolveAddress(address);
    if (!addr.ok()) {
      loop.Defer([cb = std::move(on_connected), s = addr.status()] { cb(s); });
      return;
    }
    TcpHostQueuePair::Setup setup;
    setup.params = params;
    setup.callbacks = std::move(callbacks);
    setup.on_connected = std::move(on_connected);
    TcpHostQueuePair::Start(&loop, *addr, std::move(setup));
  }

  Result<std::unique_ptr<Listener>> Listen(
      EventLoop& loop, const TransportAddress& address,
      const ControllerQueuePairParams& params,
      AcceptCallback on_accept) override {
    if (params.max_h2c_data < kMinMaxH2CData || params.max_h2c_data % 4 != 0) {
      return InvalidArgumentError(
          "MAXH2CDATA must be >= 4096 and a multiple of 4");
    }
    NVMEOF_ASSIGN_OR_RETURN(SocketAddress addr, ResolveAddress(address));
    NVMEOF_ASSIGN_OR_RETURN(Fd fd, ListenTcp(addr));
    auto setup = std::make_shared<TcpControllerQueuePair::Setup>();
    setup->params = params;
    setup->on_accept = std::move(on_accept);
    auto listener = std::make_unique<TcpListener>(&loop, std::move(fd), setup);
    NVMEOF_RETURN_IF_ERROR(listener->Start());
    return std::unique_ptr<Listener>(std::move(listener));
  }
};

}  // namespace
}  // namespace tcp

void RegisterTcpTransport() {
  static std::once_flag once;
  std::call_once(once, [] {
    TransportRegistry::Global().Register(std::make_unique<tcp::TcpTransport>());
  });
}

}  // namespace nvmeof
