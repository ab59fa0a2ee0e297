// A minimal leveled logger for the control path (connections,
// associations, failures), never per I/O. One fprintf to stderr per line,
// so lines from several threads do not interleave.

#ifndef NVMEOF_LOG_H_
#define NVMEOF_LOG_H_

#include <atomic>

namespace nvmeof {

enum class LogSeverity : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// The most verbose severity written; default kInfo. Thread-safe.
void SetLogSeverity(LogSeverity severity);
bool LogEnabled(LogSeverity severity);
// printf-style.
void LogMessage(LogSeverity severity, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace nvmeof

#define NVMEOF_LOG(severity, ...)                                         \
  do {                                                                    \
    if (::nvmeof::LogEnabled(::nvmeof::LogSeverity::severity)) {          \
      ::nvmeof::LogMessage(::nvmeof::LogSeverity::severity, __VA_ARGS__); \
    }                                                                     \
  } while (0)

#endif  // NVMEOF_LOG_H_
