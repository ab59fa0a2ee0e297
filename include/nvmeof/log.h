// A minimal leveled logger for the control path (connections,
// associations, failures), never per I/O. One fprintf to stderr per line,
// so lines from several threads do not interleave.

#ifndef NVMEOF_LOG_H_
#define NVMEOF_LOG_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace nvmeof {

enum class LogSeverity : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// The most verbose severity written; default kInfo. Thread-safe.
void SetLogSeverity(LogSeverity severity);
bool LogEnabled(LogSeverity severity);
// printf-style.
void LogMessage(LogSeverity severity, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

// Where lines go instead of stderr (a test that checks what is logged, a
// program with its own log); empty: back to stderr. Called with each whole
// line (without the timestamp), from any thread.
using LogSink = std::function<void(LogSeverity, const std::string& line)>;
void SetLogSink(LogSink sink);

// For a message that can repeat fast (a refused connection, an I/O
// error): Allow() says whether to log now, at most `burst` times per
// `period`, and how many were held back since the last one logged.
// Thread-safe.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::milliseconds period, int burst = 1)
      : period_(period), burst_(burst) {}
  // True to log now; then `*suppressed` holds the count held back since.
  bool Allow(uint64_t* suppressed);

 private:
  const std::chrono::milliseconds period_;
  const int burst_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_;  // guarded by mu_
  int used_ = 0;                                  // guarded by mu_
  uint64_t held_ = 0;                             // guarded by mu_
};

}  // namespace nvmeof

#define NVMEOF_LOG(severity, ...)                                         \
  do {                                                                    \
    if (::nvmeof::LogEnabled(::nvmeof::LogSeverity::severity)) {          \
      ::nvmeof::LogMessage(::nvmeof::LogSeverity::severity, __VA_ARGS__); \
    }                                                                     \
  } while (0)

#endif  // NVMEOF_LOG_H_
