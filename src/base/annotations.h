// Annotations for ThreadSanitizer; nothing in other builds.
//
// NVMEOF_HAPPENS_BEFORE(p) / NVMEOF_HAPPENS_AFTER(p) tell TSan of an order
// it cannot see: one the host makes through the network. A RAM
// namespace's bytes are written by one I/O thread (a write landing) and
// read by another; NVMe leaves the order of I/O to the same blocks to the
// host, which makes it by waiting for a completion, and that reaches it
// over a socket.
//
// NVMEOF_IGNORE_READS_BEGIN() / _END() around a sendmsg: TSan counts the
// kernel's copy of the iovecs as a read by the calling thread at the time
// of the call. A RAM namespace's read goes out from the namespace's own
// memory at the end of the event loop's turn, after the point where the
// host's order could be annotated (the host may see the data, and send a
// write to those blocks on another queue, before sendmsg has returned), so
// no annotation can order that copy; it is the kernel's, not a load of this
// process's threads, and the order it needs is the host's.

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
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#define NVMEOF_IGNORE_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define NVMEOF_IGNORE_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#define NVMEOF_HAPPENS_BEFORE(p) \
  __tsan_release(const_cast<void*>(static_cast<const void*>(p)))
#define NVMEOF_HAPPENS_AFTER(p) \
  __tsan_acquire(const_cast<void*>(static_cast<const void*>(p)))
#else
#define NVMEOF_TSAN 0
#define NVMEOF_HAPPENS_BEFORE(p) ((void)(p))
#define NVMEOF_HAPPENS_AFTER(p) ((void)(p))
#define NVMEOF_IGNORE_READS_BEGIN() ((void)0)
#define NVMEOF_IGNORE_READS_END() ((void)0)
#endif

#endif  // NVMEOF_BASE_ANNOTATIONS_H_
