// Shared by the TCP fuzz targets: a loop, a simple upper layer that
// exercises every data path, and the byte pump.

#ifndef NVMEOF_FUZZ_FUZZ_COMMON_H_
#define NVMEOF_FUZZ_FUZZ_COMMON_H_

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "nvmeof/event_loop.h"
#include "nvmeof/transport.h"

namespace nvmeof::fuzz {

inline EventLoop& Loop() {
  static EventLoop* loop = EventLoop::Create()->release();
  return *loop;
}

// Writes `data` into `fd` while running the loop (the other end reads),
// then half-closes so that the reader sees the end.
inline void Pump(int fd, const uint8_t* data, size_t size) {
  size_t off = 0;
  Loop().RunUntil(
      [&] {
        while (off < size) {
          ssize_t n =
              send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
          if (n <= 0) return false;
          off += static_cast<size_t>(n);
        }
        return true;
      },
      std::chrono::seconds(5));
  shutdown(fd, SHUT_WR);
}

// Reads and drops what arrives on `fd` until the other end closes it.
inline bool DrainUntilClosed(int fd) {
  return Loop().RunUntil(
      [&] {
        uint8_t buf[65536];
        for (;;) {
          ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
          if (n > 0) continue;
          return n == 0 || (errno != EAGAIN && errno != EINTR);
        }
      },
      std::chrono::seconds(5));
}

}  // namespace nvmeof::fuzz

#endif  // NVMEOF_FUZZ_FUZZ_COMMON_H_
