// nvmeof::MetricsEndpoint (metrics.h): a prometheus-cpp Collectable that
// reads the target's own counters at each scrape.

#include "nvmeof/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <exception>
#include <limits>
#include <map>
#include <tuple>

#include "controller/target_impl.h"
#include "nvmeof/proto/status_codes.h"

namespace nvmeof {
namespace {

using controller::IoCounters;
using controller::TargetImpl;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One family being filled.
// A histogram of IoCounters' latency buckets (bucket k: under 2^k us; the
// last one holds the rest).
void LatencyHistogram(ClientMetric& h, const uint64_t* buckets,
                      uint64_t sum_ns) {
  uint64_t cumulative = 0;
  for (size_t k = 0; k < IoCounters::kLatencyBuckets; ++k) {
    cumulative += buckets[k];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = k + 1 == IoCounters::kLatencyBuckets
                        ? std::numeric_limits<double>::infinity()
                        : static_cast<double>(uint64_t{1} << k) * 1e-6;
    h.histogram.bucket.push_back(b);
  }
  h.histogram.sample_count = cumulative;
  h.histogram.sample_sum = static_cast<double>(sum_ns) * 1e-9;
}

struct Family {
  MetricFamily f;
  Family(const char* name, const char* help, MetricType type) {
    f.name = name;
    f.help = help;
    f.type = type;
  }
  ClientMetric& Add(std::vector<ClientMetric::Label> labels) {
    f.metric.emplace_back();
    f.metric.back().label = std::move(labels);
    return f.metric.back();
  }
  void Counter(std::vector<ClientMetric::Label> labels, double v) {
    Add(std::move(labels)).counter.value = v;
  }
  void Gauge(std::vector<ClientMetric::Label> labels, double v) {
    Add(std::move(labels)).gauge.value = v;
  }
};

std::string StatusLabel(uint16_t code) {
  NvmeStatus st;
  st.sct = static_cast<StatusCodeType>(code >> 8);
  st.sc = static_cast<uint8_t>(code & 0xFF);
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%x/%02x", code >> 8, code & 0xFF);
  return std::string(hex) + " " + NvmeStatusToString(st);
}

class TargetCollectable : public prometheus::Collectable {
 public:
  explicit TargetCollectable(TargetImpl& t) : t_(t) {}

  std::vector<MetricFamily> Collect() const override {
    Family commands("nvmeof_namespace_commands_total",
                    "Read and write commands, by namespace",
                    MetricType::Counter);
    Family bytes("nvmeof_namespace_bytes_total",
                 "Bytes read and written, by namespace", MetricType::Counter);
    Family io("nvmeof_namespace_io_commands_total",
              "Every I/O command (flush, write zeroes, dataset management, "
              "compare... included), by namespace",
              MetricType::Counter);
    Family in_flight("nvmeof_namespace_in_flight",
                     "I/O commands started and not yet ended, by namespace",
                     MetricType::Gauge);
    Family errors("nvmeof_namespace_errors_total",
                  "Failed I/O commands, by namespace and NVMe status "
                  "(SCT/SC and its name)",
                  MetricType::Counter);
    Family latency("nvmeof_namespace_latency_seconds",
                   "I/O command latency on the target, from the capsule's "
                   "arrival to its end, by namespace: one command in 16 of "
                   "each queue",
                   MetricType::Histogram);
    Family ns_size("nvmeof_namespace_size_bytes", "Namespace size",
                   MetricType::Gauge);
    Family subsystem_ns("nvmeof_subsystem_namespaces",
                        "Active namespaces, by subsystem", MetricType::Gauge);
    for (const auto& s : t_.subsystems()) {
      subsystem_ns.Gauge({{"subsystem", s->nqn()}},
                         static_cast<double>(s->namespaces()->by_nsid.size()));
      for (const auto& [nsid, ns] : s->namespaces()->by_nsid) {
        uint64_t rc = 0, wc = 0, rb = 0, wb = 0, all = 0, done = 0, sum_ns = 0;
        uint64_t buckets[IoCounters::kLatencyBuckets] = {};
        std::map<uint16_t, uint64_t> by_status;
        uint64_t other = 0;
        ns->ForEachCounters([&](const IoCounters& c) {
          constexpr auto r = std::memory_order_relaxed;
          rc += c.read_commands.load(r);
          wc += c.write_commands.load(r);
          rb += c.bytes_read.load(r);
          wb += c.bytes_written.load(r);
          all += c.commands.load(r);
          done += c.completed.load(r);
          sum_ns += c.latency_sum_ns.load(r);
          for (size_t k = 0; k < IoCounters::kLatencyBuckets; ++k) {
            buckets[k] += c.latency[k].load(r);
          }
          for (size_t i = 0; i < IoCounters::kErrorKinds; ++i) {
            const uint16_t code = c.error_code[i].load(r);
            if (code != 0) by_status[code] += c.error_count[i].load(r);
          }
          other += c.other_errors.load(r);
        });
        const std::vector<ClientMetric::Label> id = {
            {"subsystem", s->nqn()}, {"nsid", std::to_string(nsid)}};
        auto with = [&](const char* k, std::string v) {
          std::vector<ClientMetric::Label> l = id;
          l.push_back({k, std::move(v)});
          return l;
        };
        commands.Counter(with("direction", "read"), static_cast<double>(rc));
        commands.Counter(with("direction", "write"), static_cast<double>(wc));
        bytes.Counter(with("direction", "read"), static_cast<double>(rb));
        bytes.Counter(with("direction", "write"), static_cast<double>(wb));
        io.Counter(id, static_cast<double>(all));
        ns_size.Gauge(id, static_cast<double>(ns->num_blocks() * ns->block_size));
        for (const auto& [code, n] : by_status) {
          errors.Counter(with("status", StatusLabel(code)), static_cast<double>(n));
        }
        if (other != 0) errors.Counter(with("status", "other"), static_cast<double>(other));
        LatencyHistogram(latency.Add(id), buckets, sum_ns);
        in_flight.Gauge(id, all >= done ? static_cast<double>(all - done) : 0);
      }
    }

    Family controllers("nvmeof_controllers",
                       "Controllers (associations), by subsystem and host",
                       MetricType::Gauge);
    std::map<std::pair<std::string, std::string>, uint64_t> ctrls;
    for (const auto& c : t_.Controllers()) ++ctrls[{c.subnqn, c.hostnqn}];
    for (const auto& [key, n] : ctrls) {
      controllers.Gauge({{"subsystem", key.first}, {"host", key.second}},
                        static_cast<double>(n));
    }
    Family qpairs("nvmeof_queue_pairs",
                  "Queue pairs (connections), by subsystem, host and kind",
                  MetricType::Gauge);
    std::map<std::tuple<std::string, std::string, bool>, uint64_t> qps;
    struct HostIo {
      uint64_t rc = 0, wc = 0, rb = 0, wb = 0, errors = 0, in_flight = 0;
      uint64_t latency[IoCounters::kLatencyBuckets] = {};
      uint64_t latency_sum_ns = 0;
      std::map<uint16_t, uint64_t> by_status;
      uint64_t other_errors = 0;
    };
    std::map<std::pair<std::string, std::string>, HostIo> host_io;
    for (const auto& q : t_.QueuePairs()) {
      ++qps[{q.subnqn, q.hostnqn, q.qid == 0}];
      HostIo& h = host_io[{q.subnqn, q.hostnqn}];
      h.rc += q.read_commands;
      h.wc += q.write_commands;
      h.rb += q.bytes_read;
      h.wb += q.bytes_written;
      h.errors += q.errors;
      if (q.qid == 0) continue;  // the I/O queues' commands only
      h.in_flight += q.in_flight;
      for (size_t k = 0; k < IoCounters::kLatencyBuckets; ++k) {
        h.latency[k] += q.io.latency[k];
      }
      h.latency_sum_ns += q.io.latency_sum_ns;
      for (size_t i = 0; i < IoCounters::kErrorKinds; ++i) {
        if (q.io.error_code[i] != 0) {
          h.by_status[q.io.error_code[i]] += q.io.error_count[i];
        }
      }
      h.other_errors += q.io.other_errors;
    }
    // Gauges: sums over the connections there are now, which fall when
    // one ends (a counter must not).
    Family host_commands("nvmeof_host_commands",
                         "Read and write commands over the host's connections "
                         "now, by subsystem and host",
                         MetricType::Gauge);
    Family host_bytes("nvmeof_host_bytes",
                      "Bytes read and written over the host's connections now",
                      MetricType::Gauge);
    Family host_errors("nvmeof_host_errors",
                       "Failed I/O commands over the host's connections now, "
                       "by NVMe status (SCT/SC and its name)",
                       MetricType::Gauge);
    Family host_in_flight("nvmeof_host_in_flight",
                          "I/O commands of the host received and not yet "
                          "ended",
                          MetricType::Gauge);
    Family host_latency("nvmeof_host_latency_seconds",
                        "I/O command latency on the target over the host's "
                        "connections now (one command in 16 of each queue; "
                        "it falls when a connection ends)",
                        MetricType::Histogram);
    for (const auto& entry : host_io) {
      // Not a structured binding: clang 14 cannot capture one in a lambda.
      const auto& key = entry.first;
      const HostIo& h = entry.second;
      auto l = [&](const char* dir) {
        return std::vector<ClientMetric::Label>{
            {"subsystem", key.first}, {"host", key.second}, {"direction", dir}};
      };
      host_commands.Gauge(l("read"), static_cast<double>(h.rc));
      host_commands.Gauge(l("write"), static_cast<double>(h.wc));
      host_bytes.Gauge(l("read"), static_cast<double>(h.rb));
      host_bytes.Gauge(l("write"), static_cast<double>(h.wb));
      const std::vector<ClientMetric::Label> id = {{"subsystem", key.first},
                                                    {"host", key.second}};
      for (const auto& status : h.by_status) {
        std::vector<ClientMetric::Label> sl = id;
        sl.push_back({"status", StatusLabel(status.first)});
        host_errors.Gauge(sl, static_cast<double>(status.second));
      }
      if (h.other_errors != 0) {
        std::vector<ClientMetric::Label> sl = id;
        sl.push_back({"status", "other"});
        host_errors.Gauge(sl, static_cast<double>(h.other_errors));
      }
      host_in_flight.Gauge(id, static_cast<double>(h.in_flight));
      LatencyHistogram(host_latency.Add(id), h.latency, h.latency_sum_ns);
    }
    for (const auto& [key, n] : qps) {
      qpairs.Gauge({{"subsystem", std::get<0>(key)},
                    {"host", std::get<1>(key)},
                    {"kind", std::get<2>(key) ? "admin" : "io"}},
                   static_cast<double>(n));
    }

    Family busy("nvmeof_thread_busy_seconds_total",
                "Time each I/O thread spent working rather than waiting "
                "(its rate is the thread's busy fraction)",
                MetricType::Counter);
    Family thread_qps("nvmeof_thread_queue_pairs",
                      "Queue pairs each I/O thread serves, by kind",
                      MetricType::Gauge);
    for (const auto& st : t_.ThreadStatistics()) {
      const std::string thread = std::to_string(st.index);
      busy.Counter({{"thread", thread}}, static_cast<double>(st.busy.count()) * 1e-9);
      thread_qps.Gauge({{"thread", thread}, {"kind", "admin"}}, st.admin_now);
      thread_qps.Gauge({{"thread", thread}, {"kind", "io"}}, st.io_now);
      thread_qps.Gauge({{"thread", thread}, {"kind", "unassociated"}}, st.unbound_now);
    }

    std::vector<MetricFamily> out;
    for (Family* f : {&commands, &bytes, &io, &in_flight, &errors, &latency,
                      &ns_size, &subsystem_ns, &controllers, &qpairs,
                      &host_commands, &host_bytes, &host_errors,
                      &host_in_flight, &host_latency, &busy,
                      &thread_qps}) {
      out.push_back(std::move(f->f));
    }
    return out;
  }

 private:
  TargetImpl& t_;
};

}  // namespace

struct MetricsEndpoint::State {
  std::shared_ptr<TargetCollectable> collectable;
  std::unique_ptr<prometheus::Exposer> exposer;
};

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

MetricsEndpoint::~MetricsEndpoint() = default;

uint16_t MetricsEndpoint::port() const {
  std::vector<int> ports = state_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

std::string MetricsEndpoint::Text() const {
  return prometheus::TextSerializer().Serialize(state_->collectable->Collect());
}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    Target& target, const std::string& listen) {
  auto state = std::make_unique<State>();
  state->collectable = std::make_shared<TargetCollectable>(target.impl());
  try {
    // civetweb's form: "ADDR:PORT", an IPv6 address in brackets.
    state->exposer = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return InvalidArgumentError("--metrics-listen " + listen +
                                ": cannot listen (" + e.what() + ")");
  }
  state->exposer->RegisterCollectable(state->collectable);
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(state)));
}

}  // namespace nvmeof
