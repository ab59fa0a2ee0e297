// Status and Result<T>: how nvmeof reports a local or transport failure.
//
// This is the first of the three kinds of error (DESIGN.md, "Errors"):
//  - Status: a local failure (an errno, a bad argument) or a transport
//    failure (the peer closed, a protocol fault);
//  - an NVMe status in a CQE (see proto/status_codes.h): a command that
//    failed is a transport operation that succeeded, never a Status;
//  - an NVMe/TCP fatal error (FES/FEI): handled inside the TCP transport and
//    surfaced to the upper layer as a Status of code kProtocolError.
//
// A Status is free when OK (one null pointer); an error carries a code and a
// message on the heap, which is fine because errors are off the data path.

#ifndef NVMEOF_STATUS_H_
#define NVMEOF_STATUS_H_

#include <cassert>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nvmeof {

enum class StatusCode : int {
  kOk = 0,
  kCancelled,        // the operation was cancelled by a local close
  kInvalidArgument,  // the caller passed something wrong
  kNotFound,
  kAlreadyExists,
  kResourceExhausted,   // a pool or queue is full
  kFailedPrecondition,  // the object is not in a state that allows this
  kOutOfRange,
  kUnimplemented,
  kInternal,          // a bug: an invariant did not hold
  kUnavailable,       // the peer cannot be reached or went away
  kDeadlineExceeded,  // a timeout
  kProtocolError,     // the peer broke the wire protocol (or we were told so)
  kDataLoss,          // a data digest mismatch: the data is not trusted
  kIoError,           // an errno from the OS that has no better code
  kAborted,           // ended before it finished (e.g. a command's response
                      // arrived before all of its data moved)
};

// Returns a stable name for `code`, e.g. "kUnavailable" -> "UNAVAILABLE".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // OK.
  Status() noexcept = default;
  // REQUIRES: code != kOk.
  Status(StatusCode code, std::string_view message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status Ok() { return Status(); }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return ok() ? StatusCode::kOk : state_->code; }
  // Empty when OK.
  std::string_view message() const {
    return ok() ? std::string_view() : std::string_view(state_->message);
  }
  // "OK" or "UNAVAILABLE: connection refused".
  std::string ToString() const;

  // Returns a copy of this status whose message is "context: message".
  Status WithContext(std::string_view context) const;

  // Explicitly ignores a status (where dropping it is a conscious choice).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

// Shorthands, in the manner of Abseil.
Status CancelledError(std::string_view message);
Status InvalidArgumentError(std::string_view message);
Status NotFoundError(std::string_view message);
Status AlreadyExistsError(std::string_view message);
Status ResourceExhaustedError(std::string_view message);
Status FailedPreconditionError(std::string_view message);
Status OutOfRangeError(std::string_view message);
Status UnimplementedError(std::string_view message);
Status InternalError(std::string_view message);
Status UnavailableError(std::string_view message);
Status DeadlineExceededError(std::string_view message);
Status ProtocolError(std::string_view message);
Status DataLossError(std::string_view message);
Status AbortedError(std::string_view message);

// A Status from an errno value: "context: strerror(err)", with a code that
// fits the errno (ECONNREFUSED -> kUnavailable, EINVAL -> kInvalidArgument,
// ...; kIoError where nothing fits).
Status ErrnoError(int err, std::string_view context);

// A value or the Status that explains its absence. Never "OK without a value".
template <typename T>
class [[nodiscard]] Result {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): a value converts implicitly.
  Result(T value) : has_value_(true) { new (&value_) T(std::move(value)); }
  // REQUIRES: !status.ok().
  // NOLINTNEXTLINE(google-explicit-constructor): so does an error.
  Result(Status status) : status_(std::move(status)), has_value_(false) {
    assert(!status_.ok() && "Result built from an OK Status without a value");
    if (status_.ok()) status_ = InternalError("Result from OK status");
  }

  Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
      : status_(std::move(other.status_)), has_value_(other.has_value_) {
    if (has_value_) new (&value_) T(std::move(other.value_));
  }
  Result& operator=(Result&& other) noexcept(
      std::is_nothrow_move_constructible_v<T>) {
    if (this != &other) {
      Reset();
      status_ = std::move(other.status_);
      has_value_ = other.has_value_;
      if (has_value_) new (&value_) T(std::move(other.value_));
    }
    return *this;
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() { Reset(); }

  bool ok() const { return has_value_; }
  // OK when a value is held.
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    assert(has_value_);
    return value_;
  }
  const T& value() const& {
    assert(has_value_);
    return value_;
  }
  T&& value() && {
    assert(has_value_);
    return std::move(value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void Reset() {
    if (has_value_) value_.~T();
    has_value_ = false;
  }

  Status status_;
  bool has_value_;
  union {
    T value_;
  };
};

}  // namespace nvmeof

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define NVMEOF_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::nvmeof::Status nvmeof_status_ = (expr);        \
    if (!nvmeof_status_.ok()) return nvmeof_status_; \
  } while (0)

#define NVMEOF_CONCAT_INNER_(a, b) a##b
#define NVMEOF_CONCAT_(a, b) NVMEOF_CONCAT_INNER_(a, b)

// `NVMEOF_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result, or
// returns its Status from the enclosing function.
// `lhs` is a declaration and cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NVMEOF_ASSIGN_OR_RETURN(lhs, expr)                                     \
  NVMEOF_ASSIGN_OR_RETURN_IMPL_(NVMEOF_CONCAT_(nvmeof_result_, __LINE__), lhs, \
                                expr)
#define NVMEOF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // NVMEOF_STATUS_H_
