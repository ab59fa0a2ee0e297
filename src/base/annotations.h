// Annotations for ThreadSanitizer; nothing in other builds.
//
// NVMEOF_HAPPENS_BEFORE(p) / NVMEOF_HAPPENS_AFTER(p) tell TSan of an order
// it cannot see: one the host makes through the network. A RAM
// namespace's bytes are written by one I/O thread (a write landing) and
// read by another (a read going out through sendmsg); NVMe leaves the
// order of I/O to the same blocks to the host, which makes it by waiting
// for a completion, and that reaches it over a socket.

#ifndef NVMEOF_BASE_ANNOTATIONS_H_
#define NVMEOF_BASE_ANNOTATIONS_H_

#if defined(__SANITIZE_THREAD__)
#define NVMEOF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NVMEOF_TSAN 1
#endif
#endif

#ifdef NVMEOF_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define NVMEOF_HAPPENS_BEFORE(p) \
  __tsan_release(const_cast<void*>(static_cast<const void*>(p)))
#define NVMEOF_HAPPENS_AFTER(p) \
  __tsan_acquire(const_cast<void*>(static_cast<const void*>(p)))
#else
#define NVMEOF_TSAN 0
#define NVMEOF_HAPPENS_BEFORE(p) ((void)(p))
#define NVMEOF_HAPPENS_AFTER(p) ((void)(p))
#endif

#endif  // NVMEOF_BASE_ANNOTATIONS_H_
