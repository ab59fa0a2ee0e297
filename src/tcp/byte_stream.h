// ByteStream: the bytes under an NVMe/TCP connection.
//
// The connection core (tcp_connection.h) reads and writes PDUs through this
// small interface and nothing else, so that what carries them can change
// without touching PDU code: a plain TCP socket (SocketStream, here), a TLS
// stream in userspace, or a socket with kernel TLS (TCP_ULP "tls"), which
// is again a plain socket to this interface.
//
// Semantics are those of readv/sendmsg on a non-blocking socket: a call
// never blocks; -1 with errno EAGAIN means "not now, wait for fd()".
// One thread: the connection's loop.

#ifndef NVMEOF_TCP_BYTE_STREAM_H_
#define NVMEOF_TCP_BYTE_STREAM_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "io/socket.h"

namespace nvmeof::tcp {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // The descriptor the loop watches for readiness (EPOLLIN / EPOLLOUT).
  virtual int fd() const = 0;
  // Reads into `iov` (scatter): the bytes read, 0 at the peer's orderly
  // end, or -1 with errno (EAGAIN: nothing now).
  virtual ssize_t Read(const iovec* iov, size_t count) = 0;
  // Writes from `iov` (gather): the bytes taken, or -1 with errno (EAGAIN:
  // nothing now; EPIPE, ECONNRESET: the connection is gone).
  virtual ssize_t Write(const iovec* iov, size_t count) = 0;
  // Whether Read would return bytes now although fd() is not readable (a
  // TLS stream holding records it has already decrypted): the reader then
  // reads again before it waits.
  virtual bool HasBufferedInput() const { return false; }
  // Whether bytes the stream took (a TLS record, a handshake message) are
  // still waiting to go out: the writer then calls Write (with no iovecs, to
  // flush) when fd() is writable, although it has nothing more to send.
  virtual bool HasPendingOutput() const { return false; }
  // The readiness to wait for, given what the connection `want`s (EPOLLIN,
  // EPOLLOUT): a TLS handshake waits for input (and for room to send its
  // own messages), not for the room the connection's PDUs need.
  virtual uint32_t Interest(uint32_t want) const { return want; }
  // The TLS PSK identity the peer authenticated with ("NVMe0R01 <hostnqn>
  // <subnqn>"); empty for plain TCP.
  virtual std::string tls_identity() const { return {}; }
  // Half-closes: nothing more is written (TCP FIN). Reading goes on.
  virtual void ShutdownWrite() = 0;
  // Releases the descriptor (closes the connection).
  virtual void Close() = 0;

  virtual Result<SocketAddress> LocalAddress() const = 0;
  virtual Result<SocketAddress> PeerAddress() const = 0;
};

// A connected non-blocking TCP socket: recvmsg / sendmsg, nothing added.
class SocketStream final : public ByteStream {
 public:
  explicit SocketStream(Fd fd) : fd_(std::move(fd)) {}

  int fd() const override { return fd_.get(); }
  ssize_t Read(const iovec* iov, size_t count) override;
  ssize_t Write(const iovec* iov, size_t count) override;
  void ShutdownWrite() override;
  void Close() override { fd_.reset(); }
  Result<SocketAddress> LocalAddress() const override {
    return nvmeof::LocalAddress(fd_.get());
  }
  Result<SocketAddress> PeerAddress() const override {
    return nvmeof::PeerAddress(fd_.get());
  }

 private:
  Fd fd_;
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_BYTE_STREAM_H_
