#include "io/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace nvmeof {

void Fd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

Result<SocketAddress> SocketAddress::Parse(std::string_view host,
                                           uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length_ = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length_ = sizeof(sockaddr_in6);
    return a;
  }
  return InvalidArgumentError("not a numeric IPv4 or IPv6 address: '" + h +
                              "'");
}

Result<SocketAddress> SocketAddress::ParseHostPort(std::string_view hp,
                                                   bool allow_port_zero) {
  size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == hp.size()) {
    return InvalidArgumentError("expected ADDR:PORT, got '" + std::string(hp) +
                                "'");
  }
  std::string_view host = hp.substr(0, colon);
  std::string_view port_text = hp.substr(colon + 1);
  if (host.find(':') != std::string_view::npos && host.front() != '[') {
    return InvalidArgumentError("an IPv6 address takes brackets: [ADDR]:PORT");
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      (port == 0 && !allow_port_zero) || port > 65535) {
    return InvalidArgumentError("bad port '" + std::string(port_text) + "'");
  }
  return Parse(host, static_cast<uint16_t>(port));
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (len > sizeof(a.storage_)) len = sizeof(a.storage_);
  std::memcpy(&a.storage_, sa, len);
  a.length_ = len;
  return a;
}

std::string SocketAddress::Host() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    inet_ntop(AF_INET,
              &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
              sizeof(buf));
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6,
              &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof(buf));
  }
  return buf;
}

uint16_t SocketAddress::Port() const {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::ToString() const {
  // Built with appends: GCC 12 warns falsely (-Wrestrict, its bug 105329)
  // on chains of operator+ over std::string.
  std::string s;
  if (family() == AF_INET6) s.push_back('[');
  s.append(Host());
  if (family() == AF_INET6) s.push_back(']');
  s.push_back(':');
  s.append(std::to_string(Port()));
  return s;
}

namespace {

Status SetNoDelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
    return ErrnoError(errno, "setsockopt(TCP_NODELAY)");
  }
  return Status();
}

}  // namespace

Result<Fd> ListenTcp(const SocketAddress& address, int backlog) {
  Fd fd(
      socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "socket");
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address.family() == AF_INET6) {
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd.get(), address.sockaddr_ptr(), address.length()) < 0) {
    return ErrnoError(errno, "bind " + address.ToString());
  }
  if (listen(fd.get(), backlog) < 0) {
    return ErrnoError(errno, "listen " + address.ToString());
  }
  return fd;
}

Result<Fd> AcceptTcp(int listen_fd, int* err) {
  int c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    const int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED) {
      return Fd();
    }
    if (err != nullptr) *err = e;
    return ErrnoError(e, "accept");
  }
  Fd fd(c);
  NVMEOF_RETURN_IF_ERROR(SetNoDelay(fd.get()));
  return fd;
}

Result<Fd> StartConnectTcp(const SocketAddress& address) {
  Fd fd(
      socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "socket");
  NVMEOF_RETURN_IF_ERROR(SetNoDelay(fd.get()));
  if (connect(fd.get(), address.sockaddr_ptr(), address.length()) < 0 &&
      errno != EINPROGRESS) {
    return ErrnoError(errno, "connect " + address.ToString());
  }
  return fd;
}

Status FinishConnect(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
    return ErrnoError(errno, "getsockopt(SO_ERROR)");
  }
  if (err != 0) return ErrnoError(err, "connect");
  return Status();
}

Result<SocketAddress> LocalAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return ErrnoError(errno, "getsockname");
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> PeerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return ErrnoError(errno, "getpeername");
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Status SetBufferSizes(int fd, int send_bytes, int recv_bytes) {
  if (send_bytes > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_bytes,
                                   sizeof(send_bytes)) < 0) {
    return ErrnoError(errno, "setsockopt(SO_SNDBUF)");
  }
  if (recv_bytes > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &recv_bytes,
                                   sizeof(recv_bytes)) < 0) {
    return ErrnoError(errno, "setsockopt(SO_RCVBUF)");
  }
  return Status();
}

}  // namespace nvmeof
