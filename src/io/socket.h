// Non-blocking TCP socket helpers for the event loop: an owning fd, address
// parsing and printing, listen, accept and a connect that never blocks.

#ifndef NVMEOF_IO_SOCKET_H_
#define NVMEOF_IO_SOCKET_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "nvmeof/status.h"

namespace nvmeof {

// An owning file descriptor. Move-only; closes on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// An IPv4 or IPv6 socket address.
class SocketAddress {
 public:
  SocketAddress() = default;
  // `host` is a numeric IPv4 or IPv6 address ("127.0.0.1", "::1",
  // "[::1]"); names are not resolved (a daemon must not block on DNS).
  static Result<SocketAddress> Parse(std::string_view host, uint16_t port);
  // "ADDR:PORT" or "[ADDR]:PORT".
  static Result<SocketAddress> ParseHostPort(std::string_view host_port,
                                             bool allow_port_zero = false);
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage_.ss_family; }
  const sockaddr* sockaddr_ptr() const {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  socklen_t length() const { return length_; }
  // The numeric host, without brackets: "127.0.0.1", "::1".
  std::string Host() const;
  uint16_t Port() const;
  // "127.0.0.1:4420", "[::1]:4420".
  std::string ToString() const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

// A listening socket (non-blocking, close-on-exec, SO_REUSEADDR; IPv6
// sockets are IPv6-only so that 0.0.0.0 and :: can both be bound).
Result<Fd> ListenTcp(const SocketAddress& address, int backlog = 512);

// Accepts one connection (non-blocking, close-on-exec, TCP_NODELAY).
// Returns an invalid Fd when none is pending; on failure `*err` (if given)
// holds the errno (EMFILE, ENFILE: out of descriptors).
Result<Fd> AcceptTcp(int listen_fd, int* err = nullptr);

// Starts a connection without blocking; wait for EPOLLOUT, then call
// FinishConnect. TCP_NODELAY is set.
Result<Fd> StartConnectTcp(const SocketAddress& address);
// The outcome of a connect started by StartConnectTcp (SO_ERROR).
Status FinishConnect(int fd);

Result<SocketAddress> LocalAddress(int fd);
Result<SocketAddress> PeerAddress(int fd);

// Sets the kernel's socket buffer sizes (0 leaves one as it is).
Status SetBufferSizes(int fd, int send_bytes, int recv_bytes);

}  // namespace nvmeof

#endif  // NVMEOF_IO_SOCKET_H_
