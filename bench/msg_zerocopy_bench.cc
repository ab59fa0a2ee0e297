// Does MSG_ZEROCOPY pay for the target's sends? The sender's CPU time per
// byte over 127.0.0.1, with and without it: one TCP connection, the sender
// on CPU 0 sending chunks from random 4 KiB-aligned places in a 256 MiB
// buffer (as the target sends from a RAM namespace), a receiver thread on
// CPU 1 draining into one buffer. With MSG_ZEROCOPY the sender reaps the
// completion notifications as it goes (at most 256 sends outstanding);
// the "copied" counter is the share of sends the kernel reported as
// copied anyway (SO_EE_CODE_ZEROCOPY_COPIED).
//
//   build/bench/msg_zerocopy_bench --benchmark_min_time=2

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr size_t kBufBytes = size_t{256} << 20;

void Pin(int cpu) {
  if (cpu >= static_cast<int>(std::thread::hardware_concurrency())) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// A connected pair over 127.0.0.1: {sender, receiver}, or {-1, -1}.
std::pair<int, int> Connect() {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(l);
    return {-1, -1};
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(l);
    close(s);
    return {-1, -1};
  }
  int r = accept(l, nullptr, nullptr);
  close(l);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return {s, r};
}

// Reaps the notifications waiting on `fd`'s error queue; returns how many
// sends they cover, and adds those the kernel copied to `copied`.
uint64_t Reap(int fd, uint64_t& copied) {
  uint64_t done = 0;
  for (;;) {
    char control[128];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return done;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      if (ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY) continue;
      const uint64_t n = uint64_t{ee.ee_data} - ee.ee_info + 1;
      done += n;
      if (ee.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) copied += n;
    }
  }
}

void BM_Send(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  const bool zerocopy = state.range(1) != 0;
  auto [s, r] = Connect();
  if (s < 0) {
    state.SkipWithError("cannot connect over 127.0.0.1");
    return;
  }
  int one = 1;
  if (zerocopy &&
      setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) != 0) {
    state.SkipWithError("SO_ZEROCOPY not supported");
    close(s);
    close(r);
    return;
  }
  void* mem = mmap(nullptr, kBufBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  auto* buf = static_cast<uint8_t*>(mem);
  for (size_t i = 0; i < kBufBytes; i += 4096) buf[i] = static_cast<uint8_t>(i);

  std::thread receiver([r = r] {
    Pin(1);
    std::vector<uint8_t> sink(1 << 20);
    while (recv(r, sink.data(), sink.size(), 0) > 0) {
    }
  });
  Pin(0);
  std::mt19937_64 rng(1);
  const size_t places = (kBufBytes - chunk) / 4096;
  uint64_t sent = 0, reaped = 0, copied = 0;
  for (auto _ : state) {
    const uint8_t* p = buf + (rng() % places) * 4096;
    size_t left = chunk;
    while (left > 0) {
      ssize_t n = send(s, p, left, zerocopy ? MSG_ZEROCOPY : 0);
      if (n < 0 && errno == ENOBUFS && zerocopy) {  // optmem: reap first
        pollfd pfd{s, POLLERR, 0};
        poll(&pfd, 1, 100);
        reaped += Reap(s, copied);
        continue;
      }
      if (n <= 0) {
        state.SkipWithError("send failed");
        break;
      }
      ++sent;
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (zerocopy) {
      reaped += Reap(s, copied);
      while (sent - reaped > 256) {
        pollfd pfd{s, POLLERR, 0};
        poll(&pfd, 1, 100);
        reaped += Reap(s, copied);
      }
    }
  }
  shutdown(s, SHUT_WR);
  receiver.join();
  if (zerocopy) {
    // What is still outstanding completes now that the data was read.
    for (int i = 0; i < 100 && reaped < sent; ++i) {
      pollfd pfd{s, POLLERR, 0};
      poll(&pfd, 1, 10);
      reaped += Reap(s, copied);
    }
    state.counters["copied"] = sent ? double(copied) / double(sent) : 0;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(chunk));
  close(s);
  close(r);
  munmap(mem, kBufBytes);
}

BENCHMARK(BM_Send)
    ->ArgNames({"bytes", "zerocopy"})
    ->ArgsProduct({{4096, 16384, 131072}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
