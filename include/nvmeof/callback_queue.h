// CallbackQueue<Arg>: completion callbacks waiting to run later on a loop.
//
// Whoever completes an operation posts its callback and result here; the
// queue runs them in FIFO order as an EventLoop task, so that no callback
// ever runs inside the call that started its operation (DESIGN.md, "The
// transport API"). One pass runs what was queued when it started; callbacks
// posted by those callbacks run in a later pass of the same turn.
//
// Nodes come from a Pool: in steady state posting allocates nothing.
// A callback may destroy the queue's owner (and so the queue): the pass
// then stops, and the callbacks not yet run are destroyed without running.
//
// `in_flight`, when given, counts the owner's operations: each callback
// decrements it just before it runs (a backend queue's in_flight()).

#ifndef NVMEOF_CALLBACK_QUEUE_H_
#define NVMEOF_CALLBACK_QUEUE_H_

#include <cstddef>
#include <utility>

#include "nvmeof/intrusive_fifo.h"
#include "nvmeof/pool.h"
#include "nvmeof/callback.h"
#include "nvmeof/event_loop.h"

namespace nvmeof {

template <typename Arg>
class CallbackQueue final : public EventLoop::Task {
 public:
  using Fn = Callback<void(Arg)>;

  // REQUIRES: `loop` (and `in_flight`, if given) outlive *this.
  explicit CallbackQueue(EventLoop* loop, size_t* in_flight = nullptr)
      : loop_(loop), in_flight_(in_flight) {}
  // Pending callbacks are destroyed without running.
  ~CallbackQueue() {
    if (alive_ != nullptr) *alive_ = false;
    loop_->Unschedule(this);
    Drop(queued_);
    Drop(running_);
  }
  CallbackQueue(const CallbackQueue&) = delete;
  CallbackQueue& operator=(const CallbackQueue&) = delete;

  // Runs `fn(arg)` later on the loop, after what was posted before.
  void Post(Fn fn, Arg arg) {
    Node* n = pool_.Get();
    n->fn = std::move(fn);
    n->arg = std::move(arg);
    queued_.Push(n);
    loop_->Schedule(this);
  }
  bool empty() const { return queued_.empty() && running_.empty(); }

  void Run() override {
    running_.Splice(queued_);
    bool alive = true;
    alive_ = &alive;
    while (!running_.empty()) {
      Node* n = running_.Pop();
      Fn fn = n->fn.Take();
      Arg arg = std::move(n->arg);
      pool_.Put(n);  // first: the callback may post again
      if (in_flight_ != nullptr) --*in_flight_;
      if (fn) fn(std::move(arg));
      if (!alive) return;  // the callback destroyed the owner
    }
    alive_ = nullptr;
  }

 private:
  struct Node {
    Fn fn;
    Arg arg{};
    Node* next = nullptr;
  };
  void Drop(IntrusiveFifo<Node>& list) {
    while (!list.empty()) {
      Node* n = list.Pop();
      n->fn.Reset();
      if (in_flight_ != nullptr) --*in_flight_;
      pool_.Put(n);
    }
  }

  EventLoop* const loop_;
  size_t* const in_flight_;
  Pool<Node> pool_{0, 8};
  IntrusiveFifo<Node> queued_;
  IntrusiveFifo<Node> running_;  // this pass's, taken from queued_
  bool* alive_ = nullptr;        // set during Run(); cleared by the dtor
};

}  // namespace nvmeof

#endif  // NVMEOF_CALLBACK_QUEUE_H_
