#include "nvmeof/status.h"

#include <cerrno>
#include <cstring>

namespace nvmeof {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kCancelled:
      return "CANCELLED";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kProtocolError:
      return "PROTOCOL_ERROR";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
    case StatusCode::kIoError:
      return "IO_ERROR";
    case StatusCode::kAborted:
      return "ABORTED";
  }
  return "UNKNOWN";
}

Status::Status(StatusCode code, std::string_view message) {
  assert(code != StatusCode::kOk);
  if (code == StatusCode::kOk) return;
  state_ = std::make_unique<State>(State{code, std::string(message)});
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  }
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code()));
  if (!state_->message.empty()) {
    s += ": ";
    s += state_->message;
  }
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  std::string m(context);
  m += ": ";
  m += state_->message;
  return Status(state_->code, m);
}

Status CancelledError(std::string_view m) {
  return {StatusCode::kCancelled, m};
}
Status InvalidArgumentError(std::string_view m) {
  return {StatusCode::kInvalidArgument, m};
}
Status NotFoundError(std::string_view m) { return {StatusCode::kNotFound, m}; }
Status AlreadyExistsError(std::string_view m) {
  return {StatusCode::kAlreadyExists, m};
}
Status ResourceExhaustedError(std::string_view m) {
  return {StatusCode::kResourceExhausted, m};
}
Status FailedPreconditionError(std::string_view m) {
  return {StatusCode::kFailedPrecondition, m};
}
Status OutOfRangeError(std::string_view m) {
  return {StatusCode::kOutOfRange, m};
}
Status UnimplementedError(std::string_view m) {
  return {StatusCode::kUnimplemented, m};
}
Status InternalError(std::string_view m) { return {StatusCode::kInternal, m}; }
Status UnavailableError(std::string_view m) {
  return {StatusCode::kUnavailable, m};
}
Status DeadlineExceededError(std::string_view m) {
  return {StatusCode::kDeadlineExceeded, m};
}
Status ProtocolError(std::string_view m) {
  return {StatusCode::kProtocolError, m};
}
Status DataLossError(std::string_view m) { return {StatusCode::kDataLoss, m}; }
Status AbortedError(std::string_view m) { return {StatusCode::kAborted, m}; }

Status ErrnoError(int err, std::string_view context) {
  StatusCode code = StatusCode::kIoError;
  switch (err) {
    case EINVAL:
    case EBADF:
    case ENOTSOCK:
    case EAFNOSUPPORT:
      code = StatusCode::kInvalidArgument;
      break;
    case ENOENT:
      code = StatusCode::kNotFound;
      break;
    case EEXIST:
    case EADDRINUSE:
      code = StatusCode::kAlreadyExists;
      break;
    case ENOMEM:
    case ENOBUFS:
    case EMFILE:
    case ENFILE:
    case ENOSPC:
      code = StatusCode::kResourceExhausted;
      break;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENOTCONN:
    case EADDRNOTAVAIL:
      code = StatusCode::kUnavailable;
      break;
    case ETIMEDOUT:
      code = StatusCode::kDeadlineExceeded;
      break;
    case ECANCELED:
      code = StatusCode::kCancelled;
      break;
    case EPERM:
    case EACCES:
      code = StatusCode::kFailedPrecondition;
      break;
    case ERANGE:
    case EOVERFLOW:
      code = StatusCode::kOutOfRange;
      break;
    default:
      break;
  }
  std::string m(context);
  if (!m.empty()) m += ": ";
  char buf[128];
  m += strerror_r(err, buf, sizeof(buf));
  return Status(code, m);
}

}  // namespace nvmeof
