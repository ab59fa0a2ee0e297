#include "nvmeof/event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "io/socket.h"

namespace nvmeof {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status().ToString();
  return std::move(loop).value();
}

TEST(EventLoopTest, TimersFireInDeadlineOrder) {
  auto loop = NewLoop();
  std::vector<int> order;
  loop->AddTimer(milliseconds(30), [&] { order.push_back(3); });
  loop->AddTimer(milliseconds(10), [&] { order.push_back(1); });
  loop->AddTimer(milliseconds(20), [&] { order.push_back(2); });
  // Same deadline: the order they were added in.
  loop->AddTimer(milliseconds(0), [&] { order.push_back(0); });
  loop->AddTimer(milliseconds(0), [&] { order.push_back(10); });
  ASSERT_TRUE(loop->RunUntil([&] { return order.size() == 5; },
                             std::chrono::seconds(5)));
  EXPECT_EQ(order, (std::vector<int>{0, 10, 1, 2, 3}));
}

TEST(EventLoopTest, CancelledTimerDoesNotFire) {
  auto loop = NewLoop();
  bool fired = false, later = false;
  EventLoop::TimerId id =
      loop->AddTimer(milliseconds(1), [&] { fired = true; });
  loop->AddTimer(milliseconds(5), [&] { later = true; });
  EXPECT_TRUE(loop->CancelTimer(id));
  EXPECT_FALSE(loop->CancelTimer(id));
  ASSERT_TRUE(loop->RunUntil([&] { return later; }, std::chrono::seconds(5)));
  EXPECT_FALSE(fired);
}

TEST(EventLoopTest, PostedWorkRunsOnLoopThreadInOrder) {
  auto loop = NewLoop();
  std::vector<int> seen;
  std::atomic<bool> wrong_thread{false};
  std::thread::id loop_thread;
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    loop->Run();
  });
  constexpr int kPosts = 1000;
  std::thread poster([&] {
    for (int i = 0; i < kPosts; ++i) {
      loop->Post([&, i] {
        if (!loop->IsInLoopThread()) wrong_thread = true;
        seen.push_back(i);
        if (i == kPosts - 1) loop->Stop();
      });
    }
  });
  poster.join();
  runner.join();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kPosts));
  for (int i = 0; i < kPosts; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_FALSE(wrong_thread);
}

TEST(EventLoopTest, StopIsCleanWithWorkPending) {
  auto holder = std::make_shared<int>(42);
  int ran = 0;
  {
    auto loop = NewLoop();
    loop->Post([&] { loop->Stop(); });
    // Posted after Stop() is requested by the first item, in the same turn:
    // it runs in that turn; the ones posted from inside it wait.
    loop->Post([&, h = holder] {
      ++ran;
      loop->Post([h] { FAIL() << "must not run after the loop is gone"; });
    });
    loop->AddTimer(std::chrono::hours(1), [h = holder] {});
    loop->Run();  // returns: Stop() was called
    EXPECT_EQ(ran, 1);
    EXPECT_GT(holder.use_count(), 1);  // held by pending work and the timer
  }
  // The loop is destroyed with work still queued: nothing ran, all freed.
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(holder.use_count(), 1);
}

TEST(EventLoopTest, StopFromAnotherThreadWakesTheLoop) {
  auto loop = NewLoop();
  std::thread runner([&] { loop->Run(); });
  // Run() waits in epoll with nothing to do; Stop() must wake it.
  loop->Stop();
  runner.join();
  SUCCEED();
}

// set_poll_idle: a turn sleeps until something happens, unless work came
// within the idle period; then it polls (returns at once). Told apart by a
// timer: a sleeping turn waits for it and fires it, a polling one does not.
TEST(EventLoopTest, PollIdleKeepsPollingOnlyAfterWork) {
  auto loop = NewLoop();
  loop->set_poll_idle(std::chrono::hours(1));
  // No work yet: the turn sleeps until the timer is due.
  bool fired = false;
  loop->AddTimer(milliseconds(20), [&] { fired = true; });
  ASSERT_TRUE(loop->RunOnce(std::chrono::hours(1)));
  EXPECT_TRUE(fired);
  // A timer is not work; an event is (here the eventfd, from Post).
  bool ran = false;
  loop->Post([&] { ran = true; });
  ASSERT_TRUE(loop->RunOnce(std::chrono::hours(1)));
  ASSERT_TRUE(ran);
  // Within the idle period the turns poll: they return with the timer
  // still pending.
  bool late = false;
  EventLoop::TimerId id =
      loop->AddTimer(std::chrono::seconds(5), [&] { late = true; });
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(loop->RunOnce(std::chrono::seconds(10)));
  }
  EXPECT_FALSE(late);
  EXPECT_TRUE(loop->CancelTimer(id));
}

class CountingTask : public EventLoop::Task {
 public:
  explicit CountingTask(EventLoop* loop, int reschedule = 0)
      : loop_(loop), reschedule_(reschedule) {}
  void Run() override {
    ++runs;
    if (reschedule_-- > 0) loop_->Schedule(this);
  }
  int runs = 0;

 private:
  EventLoop* loop_;
  int reschedule_;
};

TEST(EventLoopTest, TasksRunOnceAndDrainInOneTurn) {
  auto loop = NewLoop();
  CountingTask a(loop.get()), b(loop.get(), 3), c(loop.get());
  loop->Schedule(&a);
  loop->Schedule(&a);  // already queued: once
  loop->Schedule(&b);
  loop->Schedule(&c);
  loop->Unschedule(&c);
  EXPECT_FALSE(c.queued());
  EXPECT_EQ(a.runs, 0);  // never inside Schedule()
  ASSERT_TRUE(loop->RunOnce(milliseconds(0)));
  EXPECT_EQ(a.runs, 1);
  EXPECT_EQ(b.runs, 4);  // rescheduled itself three times, same turn
  EXPECT_EQ(c.runs, 0);
}

TEST(EventLoopTest, DeferRunsLaterNotInline) {
  auto loop = NewLoop();
  bool ran = false;
  loop->Defer([&] { ran = true; });
  EXPECT_FALSE(ran);
  loop->RunOnce(milliseconds(0));
  EXPECT_TRUE(ran);
}

class PipeReader : public EventLoop::FdHandler {
 public:
  void OnFdEvents(uint32_t events) override {
    ++calls;
    last_events = events;
    if (on_event) on_event();
  }
  int calls = 0;
  uint32_t last_events = 0;
  std::function<void()> on_event;
};

TEST(EventLoopTest, FdReadinessAndRemovalInsideDispatch) {
  auto loop = NewLoop();
  int p1[2], p2[2];
  ASSERT_EQ(pipe(p1), 0);
  ASSERT_EQ(pipe(p2), 0);
  Fd r1(p1[0]), w1(p1[1]), r2(p2[0]), w2(p2[1]);
  PipeReader a, b;
  ASSERT_TRUE(loop->AddFd(r1.get(), EPOLLIN, &a).ok());
  ASSERT_TRUE(loop->AddFd(r2.get(), EPOLLIN, &b).ok());
  // Whichever handler runs first removes the other: the other must not be
  // called, although epoll already returned its event in this batch.
  a.on_event = [&] { loop->RemoveFd(r2.get(), &b); };
  b.on_event = [&] { loop->RemoveFd(r1.get(), &a); };
  ASSERT_EQ(write(w1.get(), "x", 1), 1);
  ASSERT_EQ(write(w2.get(), "y", 1), 1);
  loop->RunOnce(milliseconds(100));
  EXPECT_EQ(a.calls + b.calls, 1);
  EXPECT_TRUE((a.calls ? a.last_events : b.last_events) & EPOLLIN);
}

// A callback may run the loop itself (a blocking wrapper does): the nested
// turn has its own batch, posted work keeps its order, and a handler that
// a nested turn removes is not called by the outer one.
TEST(EventLoopTest, NestedTurnsAreSafe) {
  auto loop = NewLoop();
  int p1[2], p2[2];
  ASSERT_EQ(pipe(p1), 0);
  ASSERT_EQ(pipe(p2), 0);
  Fd r1(p1[0]), w1(p1[1]), r2(p2[0]), w2(p2[1]);
  PipeReader a, b;
  ASSERT_TRUE(loop->AddFd(r1.get(), EPOLLIN, &a).ok());
  ASSERT_TRUE(loop->AddFd(r2.get(), EPOLLIN, &b).ok());
  std::vector<int> order;
  bool nested_done = false;
  auto nest = [&](PipeReader& self, int self_fd, PipeReader& other,
                  int other_fd) {
    self.on_event = [&, self_fd, other_fd] {
      char c;
      ASSERT_EQ(read(self_fd, &c, 1), 1);
      // Remove the other handler (its event is in the outer batch), then
      // run the loop from inside this handler until a timer fires.
      loop->RemoveFd(other_fd, &other);
      loop->Post([&] { order.push_back(1); });
      loop->AddTimer(milliseconds(1), [&] { nested_done = true; });
      loop->RunUntil([&] { return nested_done; }, std::chrono::seconds(5));
      loop->Post([&] { order.push_back(2); });
    };
  };
  nest(a, r1.get(), b, r2.get());
  nest(b, r2.get(), a, r1.get());
  ASSERT_EQ(write(w1.get(), "x", 1), 1);
  ASSERT_EQ(write(w2.get(), "y", 1), 1);
  loop->RunOnce(milliseconds(100));
  loop->RunOnce(milliseconds(0));
  // One handler ran (and removed the other, whose event was in the outer
  // batch), the posted work ran in order.
  EXPECT_EQ(a.calls + b.calls, 1);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

class Acceptor : public EventLoop::FdHandler {
 public:
  explicit Acceptor(int fd) : fd_(fd) {}
  void OnFdEvents(uint32_t) override {
    auto c = AcceptTcp(fd_);
    ASSERT_TRUE(c.ok());
    if (c->valid()) accepted = std::move(c).value();
  }
  Fd accepted;

 private:
  int fd_;
};

class Connector : public EventLoop::FdHandler {
 public:
  void OnFdEvents(uint32_t) override {
    result = FinishConnect(fd);
    done = true;
  }
  int fd = -1;
  bool done = false;
  Status result;
};

TEST(SocketTest, NonBlockingConnectAndAcceptOnLoopback) {
  auto loop = NewLoop();
  auto addr = SocketAddress::Parse("127.0.0.1", 0);
  ASSERT_TRUE(addr.ok());
  auto listener = ListenTcp(*addr);
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  auto bound = LocalAddress(listener->get());
  ASSERT_TRUE(bound.ok());
  EXPECT_NE(bound->Port(), 0);

  Acceptor acceptor(listener->get());
  ASSERT_TRUE(loop->AddFd(listener->get(), EPOLLIN, &acceptor).ok());
  auto conn = StartConnectTcp(*bound);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  Connector connector;
  connector.fd = conn->get();
  ASSERT_TRUE(loop->AddFd(conn->get(), EPOLLOUT, &connector).ok());
  ASSERT_TRUE(loop->RunUntil(
      [&] { return connector.done && acceptor.accepted.valid(); },
      std::chrono::seconds(5)));
  EXPECT_TRUE(connector.result.ok()) << connector.result.ToString();
  loop->RemoveFd(conn->get(), &connector);
  loop->RemoveFd(listener->get(), &acceptor);
}

TEST(SocketTest, ConnectRefusedIsReported) {
  auto loop = NewLoop();
  // Bind a port, then close it: nothing listens there.
  auto addr = SocketAddress::Parse("127.0.0.1", 0);
  auto l = ListenTcp(*addr);
  ASSERT_TRUE(l.ok());
  auto bound = LocalAddress(l->get());
  l->reset();
  auto conn = StartConnectTcp(*bound);
  Status st;
  if (conn.ok()) {
    Connector connector;
    connector.fd = conn->get();
    ASSERT_TRUE(loop->AddFd(conn->get(), EPOLLOUT, &connector).ok());
    ASSERT_TRUE(loop->RunUntil([&] { return connector.done; },
                               std::chrono::seconds(5)));
    loop->RemoveFd(conn->get(), &connector);
    st = connector.result;
  } else {
    st = conn.status();
  }
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST(SocketTest, AddressParsingAndPrinting) {
  auto v4 = SocketAddress::ParseHostPort("127.0.0.1:4420");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "127.0.0.1:4420");
  auto v6 = SocketAddress::ParseHostPort("[::1]:8009");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->Host(), "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:8009");
  EXPECT_FALSE(SocketAddress::ParseHostPort("::1:8009").ok());
  EXPECT_FALSE(SocketAddress::ParseHostPort("127.0.0.1:0").ok());
  EXPECT_FALSE(SocketAddress::ParseHostPort("127.0.0.1:65536").ok());
  EXPECT_FALSE(SocketAddress::ParseHostPort("localhost:4420").ok());
  EXPECT_FALSE(SocketAddress::ParseHostPort("127.0.0.1").ok());
}

}  // namespace
}  // namespace nvmeof
