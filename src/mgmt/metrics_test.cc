// The metrics endpoint scraped over HTTP after a host's I/O: the counters,
// the latency histogram, the errors by status, the controllers and queue
// pairs and the threads' busy time are what the I/O did.

#include "nvmeof/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "controller/target_impl.h"
#include "nvmeof/host.h"
#include "nvmeof/target.h"
#include "nvmeof/tcp.h"

namespace nvmeof {
namespace {

constexpr char kNqn[] = "nqn.2024-01.io.nvmeof.test:metrics";
constexpr char kHost[] = "nqn.2024-01.io.nvmeof.test:metrics-host";

// GET /metrics from 127.0.0.1:port: the body.
std::string Scrape(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string in;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) in.append(buf, n);
  close(fd);
  const size_t body = in.find("\r\n\r\n");
  EXPECT_NE(body, std::string::npos) << in;
  EXPECT_EQ(in.rfind("HTTP/1.", 0), 0u) << in;
  return body == std::string::npos ? "" : in.substr(body + 4);
}

// The value of the sample `name` whose labels include every one of
// `labels` ("k=\"v\""); NaN when there is none.
double Value(const std::string& text, const std::string& name,
             std::initializer_list<std::string> labels) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    bool all = true;
    for (const std::string& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return std::nan("");
}

TEST(MetricsTest, AScrapeShowsWhatTheIoDid) {
  RegisterTcpTransport();
  Result<TargetConfig> config = ParseConfig(
      std::string(R"({"subsystems": [{"nqn": ")") + kNqn +
          R"(", "namespaces": [{"backend": "ram", "size": "1M"}]}],
             "ports": []})",
      "t.json");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto target = Target::Create(*config);
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE((*target)->impl()
                  .AddPort(1, TransportType::kTcp, "127.0.0.1", "0", {}, {})
                  .ok());
  ASSERT_TRUE((*target)->Start({.threads = 2}).ok());
  auto metrics = MetricsEndpoint::Start(**target, "127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  ASSERT_NE((*metrics)->port(), 0);

  auto loop = std::move(EventLoop::Create()).value();
  host::ConnectOptions o;
  o.address = {TransportType::kTcp, "127.0.0.1",
               (*target)->listen_addresses()[0].trsvcid};
  o.subnqn = kNqn;
  o.hostnqn = kHost;
  o.nr_io_queues = 2;
  auto a = host::Association::Connect(*loop, o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::vector<uint8_t> buf(4096, 1);
  Sqe sqe{};
  sqe.nsid = 1;
  sqe.cdw12 = 7;  // 8 blocks
  sqe.opcode = 0x01;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*a)->IoSync(1, sqe, MemDesc(buf.data(), buf.size()), true).ok());
  }
  sqe.opcode = 0x02;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE((*a)->IoSync(2, sqe, MemDesc(buf.data(), buf.size()), false).ok());
  }
  sqe.cdw10 = 2048;  // past the end of 1 MiB
  host::Completion bad = (*a)->IoSync(1, sqe, MemDesc(buf.data(), buf.size()), false);
  EXPECT_EQ(bad.nvme().sc, 0x80);

  const std::string text = Scrape((*metrics)->port());
  const std::string sub = std::string("subsystem=\"") + kNqn + "\"";
  EXPECT_EQ(Value(text, "nvmeof_namespace_commands_total",
                  {sub, "nsid=\"1\"", "direction=\"write\""}), 3) << text;
  // The read past the end failed its range check: not a read, but an
  // I/O command with an error and a latency.
  EXPECT_EQ(Value(text, "nvmeof_namespace_commands_total",
                  {sub, "direction=\"read\""}), 2);
  EXPECT_EQ(Value(text, "nvmeof_namespace_bytes_total",
                  {sub, "direction=\"write\""}), 3 * 4096);
  EXPECT_EQ(Value(text, "nvmeof_namespace_bytes_total",
                  {sub, "direction=\"read\""}), 2 * 4096);
  EXPECT_EQ(Value(text, "nvmeof_namespace_io_commands_total", {sub}), 6);
  // The first command of each queue is timed, then one in 16: the two I/O
  // queues had one each.
  EXPECT_EQ(Value(text, "nvmeof_namespace_latency_seconds_count", {sub}), 2);
  EXPECT_EQ(Value(text, "nvmeof_namespace_latency_seconds_bucket",
                  {sub, "le=\"+Inf\""}), 2);
  EXPECT_GT(Value(text, "nvmeof_namespace_latency_seconds_sum", {sub}), 0);
  EXPECT_EQ(Value(text, "nvmeof_namespace_in_flight", {sub}), 0);
  EXPECT_EQ(Value(text, "nvmeof_namespace_errors_total",
                  {sub, "status=\"0/80 LBA Out of Range"}), 1) << text;
  EXPECT_EQ(Value(text, "nvmeof_namespace_size_bytes", {sub}), 1 << 20);
  EXPECT_EQ(Value(text, "nvmeof_subsystem_namespaces", {sub}), 1);
  const std::string host = std::string("host=\"") + kHost + "\"";
  EXPECT_EQ(Value(text, "nvmeof_controllers", {sub, host}), 1);
  EXPECT_EQ(Value(text, "nvmeof_queue_pairs", {sub, host, "kind=\"io\""}), 2);
  EXPECT_EQ(Value(text, "nvmeof_queue_pairs", {sub, host, "kind=\"admin\""}), 1);
  EXPECT_EQ(Value(text, "nvmeof_host_commands",
                  {sub, host, "direction=\"write\""}), 3);
  EXPECT_EQ(Value(text, "nvmeof_host_commands",
                  {sub, host, "direction=\"read\""}), 2);
  EXPECT_EQ(Value(text, "nvmeof_host_bytes",
                  {sub, host, "direction=\"write\""}), 3 * 4096);
  EXPECT_EQ(Value(text, "nvmeof_host_errors", {sub, host}), 1);
  EXPECT_EQ(Value(text, "nvmeof_host_errors",
                  {sub, host, "status=\"0/80 LBA Out of Range"}), 1);
  EXPECT_EQ(Value(text, "nvmeof_host_latency_seconds_count", {sub, host}), 2);
  EXPECT_EQ(Value(text, "nvmeof_host_latency_seconds_bucket",
                  {sub, host, "le=\"+Inf\""}), 2);
  EXPECT_GT(Value(text, "nvmeof_host_latency_seconds_sum", {sub, host}), 0);
  EXPECT_EQ(Value(text, "nvmeof_host_in_flight", {sub, host}), 0);
  EXPECT_GT(Value(text, "nvmeof_thread_busy_seconds_total", {"thread=\"0\""}) +
                Value(text, "nvmeof_thread_busy_seconds_total", {"thread=\"1\""}),
            0);
  EXPECT_EQ(Value(text, "nvmeof_thread_queue_pairs", {"thread=\"0\"", "kind=\"io\""}) +
                Value(text, "nvmeof_thread_queue_pairs", {"thread=\"1\"", "kind=\"io\""}),
            2);
  EXPECT_NE(text.find("# TYPE nvmeof_namespace_latency_seconds histogram"),
            std::string::npos);
  a->reset();
  metrics->reset();
  (*target)->Stop();
}

}  // namespace
}  // namespace nvmeof
