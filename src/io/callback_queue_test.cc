#include "nvmeof/callback_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace nvmeof {
namespace {

TEST(CallbackQueueTest, RunsLaterInOrderAndCountsInFlight) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  size_t in_flight = 3;
  CallbackQueue<int> q(loop->get(), &in_flight);
  std::vector<int> ran;
  for (int i = 0; i < 3; ++i) q.Post([&](int v) { ran.push_back(v); }, i);
  EXPECT_TRUE(ran.empty());  // never inside Post
  EXPECT_FALSE(q.empty());
  (*loop)->RunOnce(std::chrono::milliseconds(0));
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(in_flight, 0u);
  EXPECT_TRUE(q.empty());
}

TEST(CallbackQueueTest, ACallbackPostedByACallbackRunsInALaterPass) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  CallbackQueue<int> q(loop->get());
  std::vector<int> ran;
  q.Post(
      [&](int v) {
        ran.push_back(v);
        q.Post([&](int w) { ran.push_back(w); }, 2);
        ran.push_back(-1);  // the new one has not run inside Post
      },
      1);
  (*loop)->RunOnce(std::chrono::milliseconds(0));
  EXPECT_EQ(ran, (std::vector<int>{1, -1, 2}));  // same turn, later pass
}

TEST(CallbackQueueTest, ACallbackMayDestroyTheQueue) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  size_t in_flight = 2;
  auto q = std::make_unique<CallbackQueue<int>>(loop->get(), &in_flight);
  int ran = 0;
  q->Post(
      [&](int) {
        ++ran;
        q.reset();  // the owner goes away inside its callback
      },
      0);
  q->Post([&](int) { ++ran; }, 1);
  (*loop)->RunOnce(std::chrono::milliseconds(0));
  EXPECT_EQ(ran, 1);        // the second never runs
  EXPECT_EQ(in_flight, 0u);  // but is counted as done
}

TEST(CallbackQueueTest, DestroyingDropsPendingCallbacks) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  auto owned = std::make_shared<int>(7);
  {
    CallbackQueue<int> q(loop->get());
    q.Post([owned](int) {}, 0);
    EXPECT_EQ(owned.use_count(), 2);
  }
  EXPECT_EQ(owned.use_count(), 1);  // destroyed without running
  (*loop)->RunOnce(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace nvmeof
