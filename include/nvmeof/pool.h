// Pool<T>: a free list of T objects that grows in chunks and never shrinks
// (it gives its memory back when it is destroyed). Get() allocates only when
// every object is in use, so a data path that has reached its peak
// concurrency allocates nothing. Chunks double (from `grow_by`), so that an
// idle owner costs little and a busy one has few chunks; `limit` caps the
// objects (Get() then returns null). Objects keep their state between uses:
// the caller resets what it needs (a request's buffer, say, is reused).
//
// T has a `T* next` member, which the pool uses while the object is free
// and the owner may use (an IntrusiveFifo, for instance) while it is not.
// Single-threaded: a pool belongs to one loop, like what it serves.

#ifndef NVMEOF_POOL_H_
#define NVMEOF_POOL_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "nvmeof/intrusive_fifo.h"

namespace nvmeof {

template <typename T, T* T::*Next = &T::next>
class Pool {
 public:
  // `initial` objects now; each time the pool runs dry, as many more as it
  // holds, at least `grow_by` (grow_by 0: never grow), never beyond
  // `limit` objects in all (0: no limit). Get() returns null when it may
  // not grow.
  explicit Pool(size_t initial = 0, size_t grow_by = 64, size_t limit = 0)
      : grow_by_(grow_by), limit_(limit) {
    if (initial > 0) Grow(initial);
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A free object, or null when the pool is exhausted and may not grow.
  T* Get() {
    if (free_.empty()) {
      size_t n = std::max(grow_by_, capacity_);
      if (limit_ != 0) n = std::min(n, limit_ - capacity_);
      if (grow_by_ == 0 || n == 0) return nullptr;
      Grow(n);
    }
    ++in_use_;
    return free_.Pop();
  }
  // Returns `object` to the pool. REQUIRES: it came from this pool's Get().
  void Put(T* object) {
    --in_use_;
    free_.PushFront(object);  // reused first: its memory is still warm
  }

  size_t in_use() const { return in_use_; }
  size_t capacity() const { return capacity_; }
  // Calls fn(T&) for every object, free or in use, in allocation order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (Chunk& c : chunks_) {
      for (size_t i = 0; i < c.size; ++i) fn(c.objects[i]);
    }
  }

 private:
  struct Chunk {
    std::unique_ptr<T[]> objects;
    size_t size;
  };
  void Grow(size_t n) {
    chunks_.push_back({std::make_unique<T[]>(n), n});
    T* objects = chunks_.back().objects.get();
    for (size_t i = n; i > 0; --i) free_.PushFront(&objects[i - 1]);
    capacity_ += n;
  }

  const size_t grow_by_;
  const size_t limit_;
  std::vector<Chunk> chunks_;
  IntrusiveFifo<T, Next> free_;
  size_t in_use_ = 0;
  size_t capacity_ = 0;
};

}  // namespace nvmeof

#endif  // NVMEOF_POOL_H_
