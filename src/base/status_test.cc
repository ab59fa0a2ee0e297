#include "nvmeof/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

#include "nvmeof/callback.h"

namespace nvmeof {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = UnavailableError("connection refused");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "connection refused");
  EXPECT_EQ(s.ToString(), "UNAVAILABLE: connection refused");
  Status copy = s;
  EXPECT_EQ(copy, s);
  EXPECT_EQ(s.WithContext("connect 127.0.0.1:4420").message(),
            "connect 127.0.0.1:4420: connection refused");
}

TEST(StatusTest, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoError(ECONNREFUSED, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoError(EINVAL, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoError(ETIMEDOUT, "x").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ErrnoError(EIO, "read").code(), StatusCode::kIoError);
  EXPECT_NE(ErrnoError(EIO, "read").message().find("read: "),
            std::string::npos);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  NVMEOF_ASSIGN_OR_RETURN(int h, Half(x));
  NVMEOF_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, ValueOrStatus) {
  Result<int> r = Quarter(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2);
  Result<int> e = Quarter(6);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(CallbackTest, InvokesAndMoves) {
  int calls = 0;
  Callback<void(int)> cb = [&calls](int n) { calls += n; };
  Callback<void(int)> moved = std::move(cb);
  EXPECT_FALSE(static_cast<bool>(cb));  // NOLINT(bugprone-use-after-move)
  ASSERT_TRUE(static_cast<bool>(moved));
  moved(3);
  moved(4);
  EXPECT_EQ(calls, 7);
}

TEST(CallbackTest, DestroysCapture) {
  auto counter = std::make_shared<int>(0);
  {
    Callback<void()> cb = [c = counter] { ++*c; };
    EXPECT_EQ(counter.use_count(), 2);
    Callback<void()> taken = cb.Take();
    EXPECT_FALSE(static_cast<bool>(cb));
    taken();
  }
  EXPECT_EQ(*counter, 1);
  EXPECT_EQ(counter.use_count(), 1);
}

}  // namespace
}  // namespace nvmeof
