// A Prometheus endpoint for a running Target: `nvmeof-target
// --metrics-listen ADDR:PORT` serves it (off by default), HTTP GET
// /metrics in the text exposition format, on threads of its own
// (prometheus-cpp's civetweb), never an I/O thread's.
//
// Nothing is counted for it on the data path: the counters are the ones
// the target keeps anyway, per namespace and per I/O thread (relaxed adds
// to the thread's own cache lines), summed when a scrape reads them.
// docs/METRICS.md lists every metric.

#ifndef NVMEOF_METRICS_H_
#define NVMEOF_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "nvmeof/status.h"
#include "nvmeof/target.h"

namespace nvmeof {

class MetricsEndpoint {
 public:
  // Listens on `listen` ("127.0.0.1:9464", "[::1]:9464"; port 0: any
  // free port). `target` must outlive it, and it must be destroyed before
  // Target::Stop() (a scrape reads the running I/O threads).
  static Result<std::unique_ptr<MetricsEndpoint>> Start(
      Target& target, const std::string& listen);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  uint16_t port() const;  // the port bound
  // What a scrape gets now.
  std::string Text() const;

 private:
  struct State;
  explicit MetricsEndpoint(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace nvmeof

#endif  // NVMEOF_METRICS_H_
