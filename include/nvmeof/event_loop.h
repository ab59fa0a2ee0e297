// EventLoop: one per thread, run to completion (DESIGN.md, "Threads").
//
// Every queue pair, timer and socket belongs to one loop, and every callback
// of theirs runs on that loop's thread, so the data path needs no locks. Work
// for another thread is handed over with Post(), the one thread-safe entry
// point besides Stop().
//
// One turn of the loop:
//   1. wait in epoll until an fd is ready, a timer is due, work was posted,
//      or (without waiting) while tasks are queued;
//   2. dispatch the ready fds;
//   3. run the due timers, in deadline order;
//   4. run the posted work, in the order it was posted;
//   5. run the scheduled tasks until none is queued (a task may schedule
//      more; they run in the same turn, so a transport can gather what the
//      turn produced and send it with one syscall).
//
// Callbacks that complete an operation are delivered through step 4 or 5, so
// that they never run inside the call that started the operation.
//
// RunOnce (and RunUntil) may be called from inside a callback of the same
// loop: the nested turn has its own batch of events and posted work, and
// the outer turn goes on afterwards. Blocking wrappers (a synchronous
// command, a reconnect) rely on this; they hold up the loop's other work
// while they wait.

#ifndef NVMEOF_EVENT_LOOP_H_
#define NVMEOF_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "nvmeof/status.h"

namespace nvmeof {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;

  // A unit of deferred work that lives in its owner (a queue pair, a
  // request): scheduling one allocates nothing. Run() is called once per
  // Schedule(), on the loop thread; a task may reschedule itself.
  class Task {
   public:
    Task() = default;
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    virtual void Run() = 0;
    bool queued() const { return queued_; }

   protected:
    // REQUIRES: not queued (its owner cancels it first).
    ~Task() = default;

   private:
    friend class EventLoop;
    Task* next_ = nullptr;
    bool queued_ = false;
  };

  // Receives readiness of a watched fd, on the loop thread.
  class FdHandler {
   public:
    // `events` is the EPOLL* mask that epoll returned.
    virtual void OnFdEvents(uint32_t events) = 0;

   protected:
    ~FdHandler() = default;
  };

  static Result<std::unique_ptr<EventLoop>> Create();

  // REQUIRES: not running. Posted work that never ran is destroyed without
  // running; queued tasks are dropped (their owners outlive nothing here).
  ~EventLoop();

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs turns until Stop(). The calling thread becomes the loop's thread.
  void Run();
  // Runs one turn, waiting at most `max_wait` for something to happen.
  // Returns false once Stop() was called.
  bool RunOnce(Clock::duration max_wait);
  // Runs turns until `done()` is true (checked after each turn) or `timeout`
  // passes; returns done(). For tests and synchronous wrappers that await an
  // event instead of sleeping.
  bool RunUntil(const std::function<bool()>& done, Clock::duration timeout);

  // Busy polling: turns never sleep in epoll (lowest latency, one core
  // spinning). Set before Run().
  void set_busy_poll(bool on) { busy_poll_ = on; }
  // Adaptive polling: after a turn that found work, turns keep polling
  // (never sleep) until `idle` passes with nothing to do; then they sleep
  // in epoll again. Under load the thread stays awake, so that no event
  // waits for a wake-up; an idle loop still sleeps. Zero (the default):
  // off. Set before Run().
  void set_poll_idle(Clock::duration idle) { poll_idle_ = idle; }

  // Makes Run() return after the current turn. Thread-safe. Work still
  // posted stays queued and runs if the loop runs again.
  void Stop();

  // Runs `fn` on the loop thread, after what was posted before it.
  // Thread-safe; allocates, so it is for control work, not per I/O.
  void Post(std::function<void()> fn);

  // Loop thread only. Queues `task` to run in this turn (or the next, if
  // the loop is waiting). A task already queued is not queued twice.
  void Schedule(Task* task);
  // Loop thread only. Removes `task` if it is queued.
  void Unschedule(Task* task);
  // Loop thread only. Runs `fn` later on the loop; allocates (control path).
  void Defer(std::function<void()> fn);

  // Loop thread only. Calls `fn` once, `delay` from now. Timers with the
  // same deadline fire in the order they were added.
  TimerId AddTimer(Clock::duration delay, std::function<void()> fn);
  // Returns false if the timer already fired or was cancelled.
  bool CancelTimer(TimerId id);

  // Loop thread only. Watches `fd` for `events` (EPOLLIN, EPOLLOUT, ...;
  // level-triggered). The handler must outlive the registration.
  Status AddFd(int fd, uint32_t events, FdHandler* handler);
  Status ModifyFd(int fd, uint32_t events, FdHandler* handler);
  // Stops watching `fd`, registered with `handler`. Safe to call from inside
  // any handler: `handler` is not called again, even for events already
  // returned in this turn.
  void RemoveFd(int fd, FdHandler* handler);

  bool IsInLoopThread() const {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  // The time read at the start of the current turn.
  Clock::time_point Now() const { return now_; }
  // Time spent in turns that had work (events, timers, posted functions or
  // tasks), not waiting, since the loop was made; any thread. Its rate is
  // the thread's busy fraction.
  std::chrono::nanoseconds busy_time() const {
    return std::chrono::nanoseconds(busy_ns_.load(std::memory_order_relaxed));
  }

 private:
  EventLoop(int epoll_fd, int event_fd);

  void RunTimers();
  void RunPosted();
  void RunTasks();
  int WaitMs(Clock::duration max_wait) const;
  void BindThread();

  struct Timer {
    Clock::time_point deadline;
    TimerId id;
    bool operator>(const Timer& o) const {
      return deadline != o.deadline ? deadline > o.deadline : id > o.id;
    }
  };

  const int epoll_fd_;
  const int event_fd_;
  std::atomic<std::thread::id> owner_{};
  std::atomic<bool> stop_{false};
  Clock::time_point now_;
  std::atomic<uint64_t> busy_ns_{0};  // written by the loop's thread only
  bool busy_poll_ = false;
  Clock::duration poll_idle_{};
  // The last turn that found work (min: none yet).
  Clock::time_point last_work_ = Clock::time_point::min();

  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mu_
  bool wake_pending_ = false;                  // guarded by post_mu_

  Task* task_head_ = nullptr;
  Task* task_tail_ = nullptr;

  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>>
      timer_heap_;
  std::unordered_map<TimerId, std::function<void()>> timers_;
  TimerId next_timer_id_ = 1;

  // A batch epoll returned, being dispatched (one per RunOnce call on the
  // stack; nested turns link to the outer one). RemoveFd clears the entries
  // of a removed handler in every batch, so that none is called after its
  // removal.
  static constexpr int kMaxEvents = 256;
  struct Batch {
    epoll_event events[kMaxEvents];
    int count = 0;
    int index = 0;
    Batch* outer = nullptr;
  };
  // Marks batch entries of removed handlers: the address of an object no
  // fd is ever registered with.
  static FdHandler* RemovedHandler();
  Batch* batch_ = nullptr;
};

}  // namespace nvmeof

#endif  // NVMEOF_EVENT_LOOP_H_
