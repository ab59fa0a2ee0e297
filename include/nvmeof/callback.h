// Callback<R(Args...)>: a move-only function object that never allocates.
//
// The data path hands a completion callback to the transport for every I/O;
// std::function would allocate for any capture larger than two pointers.
// Callback stores its target inline, in kCallbackCapacity bytes, and refuses
// at compile time a target that does not fit. Capture a pointer to your
// request object rather than the request itself.

#ifndef NVMEOF_CALLBACK_H_
#define NVMEOF_CALLBACK_H_

#include <cassert>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace nvmeof {

inline constexpr size_t kCallbackCapacity = 48;

template <typename Signature>
class Callback;

template <typename R, typename... Args>
class Callback<R(Args...)> {
 public:
  Callback() noexcept = default;
  Callback(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  template <typename F,
            typename = std::enable_if_t<
                !std::is_same_v<std::decay_t<F>, Callback> &&
                std::is_invocable_r_v<R, std::decay_t<F>&, Args...>>>
  Callback(F&& f) {  // NOLINT(google-explicit-constructor)
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= kCallbackCapacity,
                  "callback capture too large: capture a pointer instead");
    static_assert(alignof(Fn) <= alignof(std::max_align_t),
                  "callback capture over-aligned");
    static_assert(std::is_nothrow_move_constructible_v<Fn>,
                  "callback target must be nothrow-movable");
    new (&storage_) Fn(std::forward<F>(f));
    ops_ = &kOpsFor<Fn>;
  }

  Callback(Callback&& other) noexcept { MoveFrom(other); }
  Callback& operator=(Callback&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  ~Callback() { Reset(); }

  explicit operator bool() const { return ops_ != nullptr; }

  // REQUIRES: *this holds a target.
  R operator()(Args... args) {
    assert(ops_ != nullptr);
    return ops_->invoke(&storage_, std::forward<Args>(args)...);
  }

  // Destroys the target, if any.
  void Reset() {
    if (ops_ != nullptr) {
      ops_->destroy(&storage_);
      ops_ = nullptr;
    }
  }

  // Moves the target out and leaves *this empty; calling the result is then
  // safe even if the target destroys the object that held *this.
  Callback Take() { return std::move(*this); }

 private:
  struct Ops {
    R (*invoke)(void*, Args&&...);
    void (*move)(void* dst, void* src);  // move-construct then destroy src
    void (*destroy)(void*);
  };

  template <typename Fn>
  static constexpr Ops kOpsFor = {
      [](void* p, Args&&... args) -> R {
        return (*static_cast<Fn*>(p))(std::forward<Args>(args)...);
      },
      [](void* dst, void* src) {
        new (dst) Fn(std::move(*static_cast<Fn*>(src)));
        static_cast<Fn*>(src)->~Fn();
      },
      [](void* p) { static_cast<Fn*>(p)->~Fn(); },
  };

  void MoveFrom(Callback& other) noexcept {
    if (other.ops_ != nullptr) {
      other.ops_->move(&storage_, &other.storage_);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }

  alignas(std::max_align_t) unsigned char storage_[kCallbackCapacity];
  const Ops* ops_ = nullptr;
};

}  // namespace nvmeof

#endif  // NVMEOF_CALLBACK_H_
