#include "nvmeof/log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace nvmeof {

namespace {
std::atomic<int> g_severity{static_cast<int>(LogSeverity::kInfo)};
std::mutex g_sink_mu;
LogSink g_sink;  // guarded by g_sink_mu
const char* Tag(LogSeverity s) {
  switch (s) {
    case LogSeverity::kError:
      return "E";
    case LogSeverity::kWarn:
      return "W";
    case LogSeverity::kInfo:
      return "I";
    case LogSeverity::kDebug:
      return "D";
  }
  return "?";
}
}  // namespace

void SetLogSeverity(LogSeverity severity) {
  g_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

bool LogEnabled(LogSeverity severity) {
  return static_cast<int>(severity) <=
         g_severity.load(std::memory_order_relaxed);
}

void LogMessage(LogSeverity severity, const char* format, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  {
    std::lock_guard<std::mutex> lock(g_sink_mu);
    if (g_sink) {
      g_sink(severity, msg);
      return;
    }
  }
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  localtime_r(&ts.tv_sec, &t);
  std::fprintf(stderr, "%s %02d:%02d:%02d.%03ld %s\n", Tag(severity), t.tm_hour,
               t.tm_min, t.tm_sec, ts.tv_nsec / 1000000, msg);
}

void SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(g_sink_mu);
  g_sink = std::move(sink);
}

bool LogLimiter::Allow(uint64_t* suppressed) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (now - window_ >= period_) {
    window_ = now;
    used_ = 0;
  }
  if (used_ >= burst_) {
    ++held_;
    return false;
  }
  ++used_;
  *suppressed = held_;
  held_ = 0;
  return true;
}

}  // namespace nvmeof
