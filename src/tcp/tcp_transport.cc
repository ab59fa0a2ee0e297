// The TCP Transport: Connect and Listen.

#include <fcntl.h>

#include <charconv>
#include <memory>

#include "io/socket.h"
#include "nvmeof/log.h"
#include "nvmeof/tcp.h"
#include "nvmeof/transport.h"
#include "tcp/tcp_controller.h"
#include "tcp/tcp_host.h"
#include "tcp/tls_stream.h"

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

// Accepts connections and hands each to a loop as a controller queue pair,
// within the connection limits. When the process runs out of descriptors
// (EMFILE, ENFILE) a pending connection cannot even be accepted, and a
// level-triggered listener would spin: one descriptor is kept in reserve
// for that, given up to accept the connection and close it at once, then
// taken back; it is logged, once until descriptors are free again.
class TcpListener final : public Listener, private EventLoop::FdHandler {
 public:
  TcpListener(EventLoop* loop, Fd fd,
              std::shared_ptr<const TcpControllerQueuePair::Setup> setup)
      : loop_(loop),
        fd_(std::move(fd)),
        setup_(std::move(setup)),
        reserve_(open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

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
      int err = 0;
      Result<Fd> c = AcceptTcp(fd_.get(), &err);
      if (!c.ok()) {
        if (err == EMFILE || err == ENFILE) {
          ShedOneConnection(err);
          continue;
        }
        return;
      }
      if (!c->valid()) return;
      if (out_of_fds_) {
        out_of_fds_ = false;
        NVMEOF_LOG(kWarn, "listener %s: file descriptors are available again",
                   Name().c_str());
      }
      if (!WithinLimits(c->get())) continue;  // closed with `c`
      Hand(std::move(c).value());
    }
  }

  // Out of descriptors: the reserved one makes room to accept the first
  // pending connection, which is closed at once.
  void ShedOneConnection(int err) {
    if (!out_of_fds_) {
      out_of_fds_ = true;
      NVMEOF_LOG(kError,
                 "listener %s: out of file descriptors (%s): new connections "
                 "are closed until some are free (raise the limit: ulimit -n, "
                 "LimitNOFILE=)",
                 Name().c_str(), err == EMFILE ? "EMFILE" : "ENFILE");
    }
    reserve_.reset();
    {
      Result<Fd> shed = AcceptTcp(fd_.get());  // accepted, closed here
    }
    reserve_ = Fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!reserve_.valid()) {
      // Not even one: stop listening a moment rather than spin.
      loop_->RemoveFd(fd_.get(), this);
      loop_->AddTimer(std::chrono::milliseconds(100), [this] {
        reserve_ = Fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
        Start().IgnoreError();
      });
    }
  }

  // Counts the connection against this listener's and the shared limits;
  // false (logged, at most once a second) when one is reached.
  bool WithinLimits(int fd) {
    ConnectionBudget* port = setup_->port_budget.get();
    ConnectionBudget* shared = setup_->params.shared_connections.get();
    if (port != nullptr && !port->TryAcquire()) {
      Refused(fd, "this port has its max_connections", port->limit());
      return false;
    }
    if (shared != nullptr && !shared->TryAcquire()) {
      if (port != nullptr) port->Release();
      Refused(fd, "the target has its max_connections", shared->limit());
      return false;
    }
    return true;
  }

  void Refused(int fd, const char* why, int limit) {
    uint64_t suppressed = 0;
    if (!refused_log_.Allow(&suppressed)) return;
    Result<SocketAddress> peer = PeerAddress(fd);
    NVMEOF_LOG(kWarn,
               "listener %s: connection from %s refused: %s (%d)%s",
               Name().c_str(),
               peer.ok() ? peer->ToString().c_str() : "(unknown)", why, limit,
               suppressed != 0
                   ? (" (" + std::to_string(suppressed) +
                      " more refused since the last message)")
                         .c_str()
                   : "");
  }

  void Hand(Fd c) {
    EventLoop* target =
        setup_->params.choose_loop ? setup_->params.choose_loop() : loop_;
    if (target == nullptr) target = loop_;
    if (target == loop_) {
      TcpControllerQueuePair::Start(
          loop_, MakeServerStream(std::move(c), setup_->params.tls), setup_);
      return;
    }
    int raw = c.release();
    target->Post([target, raw, setup = setup_] {
      TcpControllerQueuePair::Start(
          target, MakeServerStream(Fd(raw), setup->params.tls), setup);
    });
  }

  std::string Name() const {
    Result<SocketAddress> local = LocalAddress(fd_.get());
    return local.ok() ? local->ToString() : "(closed)";
  }

  EventLoop* const loop_;
  Fd fd_;
  std::shared_ptr<const TcpControllerQueuePair::Setup> setup_;
  Fd reserve_;
  bool out_of_fds_ = false;
  LogLimiter refused_log_{std::chrono::seconds(1)};
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
    if (params.max_connections > 0) {
      setup->port_budget =
          std::make_shared<ConnectionBudget>(params.max_connections);
    }
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
