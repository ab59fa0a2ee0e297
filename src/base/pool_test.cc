#include "nvmeof/pool.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "nvmeof/intrusive_fifo.h"

namespace nvmeof {
namespace {

struct Node {
  int value = 0;
  Node* next = nullptr;
};

TEST(IntrusiveFifoTest, FirstInFirstOut) {
  Node a{1}, b{2}, c{3};
  IntrusiveFifo<Node> q;
  EXPECT_TRUE(q.empty());
  q.Push(&a);
  q.Push(&b);
  q.PushFront(&c);
  EXPECT_EQ(q.front(), &c);
  EXPECT_EQ(q.back(), &b);
  EXPECT_EQ(q.Pop()->value, 3);
  EXPECT_EQ(q.Pop()->value, 1);
  EXPECT_EQ(q.Pop()->value, 2);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.back(), nullptr);
}

TEST(IntrusiveFifoTest, SpliceAndMoveKeepOrder) {
  Node n[4] = {{0}, {1}, {2}, {3}};
  IntrusiveFifo<Node> a, b;
  a.Push(&n[0]);
  a.Push(&n[1]);
  b.Push(&n[2]);
  b.Push(&n[3]);
  a.Splice(b);
  EXPECT_TRUE(b.empty());
  IntrusiveFifo<Node> moved = std::move(a);
  EXPECT_TRUE(a.empty());
  int expect = 0;
  for (Node* p = moved.front(); p != nullptr;
       p = IntrusiveFifo<Node>::NextOf(p)) {
    EXPECT_EQ(p->value, expect++);
  }
  EXPECT_EQ(expect, 4);
  // Splicing into an empty list, and an empty list into another.
  b.Splice(moved);
  b.Splice(moved);
  EXPECT_EQ(b.front(), &n[0]);
  EXPECT_EQ(b.back(), &n[3]);
}

TEST(PoolTest, GrowsInChunksAndReusesObjects) {
  Pool<Node> pool(2, 3);
  EXPECT_EQ(pool.capacity(), 2u);
  std::set<Node*> seen;
  Node* got[5];
  for (Node*& p : got) {
    p = pool.Get();
    ASSERT_NE(p, nullptr);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 5u);  // distinct objects
  EXPECT_EQ(pool.capacity(), 5u);  // 2, then one chunk of 3
  EXPECT_EQ(pool.in_use(), 5u);
  got[3]->value = 42;
  pool.Put(got[3]);
  Node* again = pool.Get();
  EXPECT_EQ(again, got[3]);  // the object just freed comes back first
  EXPECT_EQ(again->value, 42);  // with its state
  EXPECT_EQ(pool.capacity(), 5u);  // no growth
  size_t all = 0;
  pool.ForEach([&](Node&) { ++all; });
  EXPECT_EQ(all, 5u);
}

TEST(PoolTest, ChunksDoubleUpToTheLimit) {
  Pool<Node> pool(0, 4, 20);
  EXPECT_EQ(pool.capacity(), 0u);  // nothing until the first Get
  std::vector<Node*> got;
  for (int i = 0; i < 20; ++i) {
    got.push_back(pool.Get());
    ASSERT_NE(got.back(), nullptr) << i;
  }
  EXPECT_EQ(pool.capacity(), 20u);  // 4, 4, 8, then 4 (the limit)
  EXPECT_EQ(pool.Get(), nullptr);
  pool.Put(got.back());
  EXPECT_EQ(pool.Get(), got.back());
}

TEST(PoolTest, AFixedPoolRunsDry) {
  Pool<Node> pool(1, 0);
  Node* a = pool.Get();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(pool.Get(), nullptr);
  pool.Put(a);
  EXPECT_EQ(pool.Get(), a);
}

}  // namespace
}  // namespace nvmeof
