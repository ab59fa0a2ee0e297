#include "tcp/byte_stream.h"

#include <sys/socket.h>

#include "base/annotations.h"

namespace nvmeof::tcp {

ssize_t SocketStream::Read(const iovec* iov, size_t count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  return recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
}

ssize_t SocketStream::Write(const iovec* iov, size_t count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  NVMEOF_IGNORE_READS_BEGIN();  // the kernel's copy (annotations.h)
  const ssize_t n = sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  NVMEOF_IGNORE_READS_END();
  return n;
}

void SocketStream::ShutdownWrite() { shutdown(fd_.get(), SHUT_WR); }

}  // namespace nvmeof::tcp
