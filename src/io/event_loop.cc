#include "nvmeof/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nvmeof {

EventLoop::FdHandler* EventLoop::RemovedHandler() {
  struct Removed final : FdHandler {
    void OnFdEvents(uint32_t) override {}
  };
  static Removed removed;
  return &removed;
}

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return ErrnoError(errno, "epoll_create1");
  int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev < 0) {
    int err = errno;
    close(ep);
    return ErrnoError(err, "eventfd");
  }
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.ptr = nullptr;  // the wake-up fd: no handler
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0) {
    int err = errno;
    close(ev);
    close(ep);
    return ErrnoError(err, "epoll_ctl(eventfd)");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(ep, ev));
}

EventLoop::EventLoop(int epoll_fd, int event_fd)
    : epoll_fd_(epoll_fd), event_fd_(event_fd), now_(Clock::now()) {}

EventLoop::~EventLoop() {
  close(event_fd_);
  close(epoll_fd_);
}

void EventLoop::BindThread() {
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
}

void EventLoop::Run() {
  while (RunOnce(std::chrono::hours(1))) {
  }
  stop_.store(false, std::memory_order_relaxed);
}

bool EventLoop::RunUntil(const std::function<bool()>& done,
                         Clock::duration timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!done()) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    if (!RunOnce(deadline - now)) {
      stop_.store(false, std::memory_order_relaxed);
      return done();
    }
  }
  return true;
}

void EventLoop::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  uint64_t one = 1;
  ssize_t n = write(event_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN means the counter is already non-zero: awake anyway
}

int EventLoop::WaitMs(Clock::duration max_wait) const {
  if (task_head_ != nullptr || busy_poll_) return 0;
  // now_ is when the last turn's epoll returned: no clock read here.
  if (poll_idle_ > Clock::duration::zero() && now_ < last_work_ + poll_idle_) {
    return 0;
  }
  Clock::duration wait = max_wait;
  if (!timer_heap_.empty()) {
    Clock::duration until = timer_heap_.top().deadline - Clock::now();
    if (until < wait) wait = until;
  }
  if (wait <= Clock::duration::zero()) return 0;
  // Round up, so that a timer is never woken for a millisecond early.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ms > 3600000 ? 3600000 : static_cast<int>(ms);
}

bool EventLoop::RunOnce(Clock::duration max_wait) {
  BindThread();
  if (stop_.load(std::memory_order_relaxed)) return false;

  Batch batch;
  batch.outer = batch_;
  batch_ = &batch;
  int n = epoll_wait(epoll_fd_, batch.events, kMaxEvents, WaitMs(max_wait));
  now_ = Clock::now();
  batch.count = n < 0 ? 0 : n;  // EINTR: a signal; just run the rest
  if (n > 0) last_work_ = now_;
  for (batch.index = 0; batch.index < batch.count; ++batch.index) {
    epoll_event& e = batch.events[batch.index];
    if (e.data.ptr == nullptr) {  // the eventfd: Post() or Stop()
      uint64_t v;
      ssize_t r = read(event_fd_, &v, sizeof(v));
      (void)r;
      continue;
    }
    if (e.data.ptr == RemovedHandler()) continue;
    static_cast<FdHandler*>(e.data.ptr)->OnFdEvents(e.events);
  }
  batch_ = batch.outer;

  // (A posted function wakes the eventfd: n > 0.)
  const bool worked =
      n > 0 || task_head_ != nullptr ||
      (!timer_heap_.empty() && timer_heap_.top().deadline <= now_);
  RunTimers();
  RunPosted();
  RunTasks();
  if (worked) {
    // One clock read per turn with work: the turn's cost, not the wait's.
    busy_ns_.store(busy_ns_.load(std::memory_order_relaxed) +
                       static_cast<uint64_t>(
                           std::chrono::duration_cast<std::chrono::nanoseconds>(
                               Clock::now() - now_)
                               .count()),
                   std::memory_order_relaxed);
  }
  return !stop_.load(std::memory_order_relaxed);
}

void EventLoop::RunTimers() {
  while (!timer_heap_.empty() && timer_heap_.top().deadline <= now_) {
    TimerId id = timer_heap_.top().id;
    timer_heap_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    std::function<void()> fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> running;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    if (posted_.empty()) return;
    running.swap(posted_);
    wake_pending_ = false;
  }
  for (auto& fn : running) fn();
}

void EventLoop::RunTasks() {
  while (task_head_ != nullptr) {
    Task* t = task_head_;
    task_head_ = t->next_;
    if (task_head_ == nullptr) task_tail_ = nullptr;
    t->next_ = nullptr;
    t->queued_ = false;
    t->Run();
  }
}

void EventLoop::Post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    posted_.push_back(std::move(fn));
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    ssize_t n = write(event_fd_, &one, sizeof(one));
    (void)n;
  }
}

void EventLoop::Schedule(Task* task) {
  if (task->queued_) return;
  task->queued_ = true;
  task->next_ = nullptr;
  if (task_tail_ == nullptr) {
    task_head_ = task_tail_ = task;
  } else {
    task_tail_->next_ = task;
    task_tail_ = task;
  }
}

void EventLoop::Unschedule(Task* task) {
  if (!task->queued_) return;
  Task* prev = nullptr;
  for (Task* t = task_head_; t != nullptr; prev = t, t = t->next_) {
    if (t != task) continue;
    if (prev == nullptr) {
      task_head_ = t->next_;
    } else {
      prev->next_ = t->next_;
    }
    if (task_tail_ == t) task_tail_ = prev;
    break;
  }
  task->next_ = nullptr;
  task->queued_ = false;
}

namespace {
// A Task that owns a std::function and deletes itself after running.
class FunctionTask final : public EventLoop::Task {
 public:
  explicit FunctionTask(std::function<void()> fn) : fn_(std::move(fn)) {}
  void Run() override {
    std::function<void()> fn = std::move(fn_);
    delete this;
    fn();
  }

 private:
  std::function<void()> fn_;
};
}  // namespace

void EventLoop::Defer(std::function<void()> fn) {
  Schedule(new FunctionTask(std::move(fn)));
}

EventLoop::TimerId EventLoop::AddTimer(Clock::duration delay,
                                       std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  timer_heap_.push(Timer{Clock::now() + delay, id});
  timers_.emplace(id, std::move(fn));
  return id;
}

bool EventLoop::CancelTimer(TimerId id) { return timers_.erase(id) > 0; }

Status EventLoop::AddFd(int fd, uint32_t events, FdHandler* handler) {
  epoll_event e{};
  e.events = events;
  e.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e) < 0) {
    return ErrnoError(errno, "epoll_ctl(ADD)");
  }
  return Status();
}

Status EventLoop::ModifyFd(int fd, uint32_t events, FdHandler* handler) {
  epoll_event e{};
  e.events = events;
  e.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &e) < 0) {
    return ErrnoError(errno, "epoll_ctl(MOD)");
  }
  return Status();
}

void EventLoop::RemoveFd(int fd, FdHandler* handler) {
  epoll_event e{};
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &e);
  // Entries of this handler later in the batch being dispatched must not
  // reach it: it may be gone by then.
  for (Batch* b = batch_; b != nullptr; b = b->outer) {
    for (int i = b->index + 1; i < b->count; ++i) {
      if (b->events[i].data.ptr == handler)
        b->events[i].data.ptr = RemovedHandler();
    }
  }
}

}  // namespace nvmeof
