// nvmeof-target: serves NVMe-oF subsystems over NVMe/TCP.
//
//   nvmeof-target --ram 1G                 one RAM namespace on 127.0.0.1:4420
//   nvmeof-target --config target.json     everything from a file
//   nvmeof-target --rpc-socket             nothing yet: SPDK's rpc.py (or any
//                                          JSON-RPC client) builds it live
//
// Flags without --config are turned into the same JSON config and go
// through the same checks, so a bad flag gets the same clear error as a bad
// file. SIGINT/SIGTERM stop it cleanly (exit 0); a second signal exits at
// once; SIGHUP reads --config again and applies the difference. Everything else
// is nvmeof::Target (nvmeof/target.h).

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "nvmeof/control_plane.h"
#include "nvmeof/cpu.h"
#include "nvmeof/log.h"
#include "nvmeof/metrics.h"
#include "nvmeof/target.h"
#include "nvmeof/target_config.h"
#include "nvmeof/tcp.h"
#include "tools/token_file.h"

namespace {

constexpr char kDefaultNqn[] = "nqn.2024-11.io.nvmeof:ram0";

struct Flags {
  std::string ram;
  std::vector<std::string> listen;
  std::string nqn = kDefaultNqn;
  std::vector<std::string> hosts;
  int threads = 0;
  std::string config_path;
  std::string log_level = "info";
  // Given on the command line (they override a --config file's at start).
  bool threads_set = false;
  bool log_level_set = false;
  bool print_config = false;
  std::string cpus;
  bool poll = false;
  int poll_idle_us = 0;
  std::string rpc_socket;
  std::string rpc_listen;
  std::string rpc_token_file;
  bool rpc_any_address = false;
  std::string metrics_listen;
};

constexpr char kDefaultRpcSocket[] = "/var/tmp/nvmeof.sock";

bool WantsRpc(const Flags& f) {
  return !f.rpc_socket.empty() || !f.rpc_listen.empty();
}

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("--ram", f.ram,
                 "serve one RAM namespace of this size (e.g. 1G, 512M) without "
                 "a config file");
  app.add_option("--listen", f.listen,
                 "ADDR:PORT to listen on, IPv4 or [IPv6] (repeatable; default "
                 "127.0.0.1:4420)");
  app.add_option("--nqn", f.nqn, "the NQN of the --ram subsystem")
      ->capture_default_str();
  app.add_option(
      "--allow-host", f.hosts,
      "a host NQN allowed to connect (repeatable; default: any host)");
  app.add_option("--threads", f.threads,
                 "I/O threads (default: the number of cores; over a "
                 "--config file's)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--config", f.config_path,
                 "a JSON config file (see examples/target.json); excludes "
                 "--ram and the others");
  app.add_option("--log-level", f.log_level,
                 "error, warn, info or debug (over a --config file's)")
      ->capture_default_str();
  app.add_option("--cpus", f.cpus,
                 "pin the I/O threads to these CPUs, in turn (as 0,2 or 0-3)");
  app.add_flag("--poll", f.poll,
               "busy-poll: threads never sleep (lowest latency, a core each)");
  app.add_option("--poll-idle", f.poll_idle_us,
                 "adaptive polling: a thread that found work keeps polling "
                 "this many microseconds before it sleeps (e.g. 50; 0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_flag("--print-config", f.print_config,
               "print the effective config as JSON and exit");
  app.add_option("--rpc-socket", f.rpc_socket,
                 "serve the JSON-RPC control plane (SPDK's method names: "
                 "rpc.py -s PATH) on this Unix socket, mode 0600; without a "
                 "value: " +
                     std::string(kDefaultRpcSocket))
      ->expected(0, 1)
      ->default_str(kDefaultRpcSocket);
  app.add_option("--rpc-listen", f.rpc_listen,
                 "also serve it on TCP ADDR:PORT (a loopback address unless "
                 "--rpc-allow-remote); every request must carry the token of "
                 "--rpc-token-file");
  app.add_option("--rpc-token-file", f.rpc_token_file,
                 "a file holding the token that --rpc-listen requires (its "
                 "first line)");
  app.add_flag("--rpc-allow-remote", f.rpc_any_address,
               "let --rpc-listen bind a non-loopback address");
  app.add_option("--metrics-listen", f.metrics_listen,
                 "serve Prometheus metrics on http://ADDR:PORT/metrics (e.g. "
                 "127.0.0.1:9464; [ADDR] for IPv6; off by default)");
}

// "ADDR:PORT" or "[ADDR]:PORT" as the config's address and port; the
// config checks the address.
nvmeof::Result<nlohmann::json> ListenPort(const std::string& listen, int id) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  const std::string port =
      colon == std::string::npos ? "" : listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || port.empty() ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5) {
    return nvmeof::InvalidArgumentError("--listen " + listen +
                                        ": expected ADDR:PORT or [ADDR]:PORT");
  }
  return nlohmann::json{
      {"id", id}, {"address", host}, {"port", std::stoi(port)}};
}

// The config that the flags describe.
nvmeof::Result<nvmeof::TargetConfig> ConfigFromFlags(const Flags& f) {
  nlohmann::json ns = {{"nsid", 1}, {"backend", "ram"}, {"size", f.ram}};
  nlohmann::json subsys = {{"nqn", f.nqn},
                           {"namespaces", nlohmann::json::array({ns})}};
  if (!f.hosts.empty()) subsys["hosts"] = f.hosts;
  nlohmann::json ports = nlohmann::json::array();
  std::vector<std::string> listen = f.listen;
  if (listen.empty()) listen.push_back("127.0.0.1:4420");
  for (size_t i = 0; i < listen.size(); ++i) {
    NVMEOF_ASSIGN_OR_RETURN(nlohmann::json p,
                            ListenPort(listen[i], static_cast<int>(i) + 1));
    ports.push_back(std::move(p));
  }
  nlohmann::json config = {{"subsystems", nlohmann::json::array({subsys})},
                           {"ports", ports},
                           {"threads", f.threads},
                           {"log_level", f.log_level}};
  return nvmeof::ParseConfig(config.dump(), "command line");
}

// A target with nothing to serve yet, for the control plane to fill: the
// --listen addresses serve discovery alone until listeners are added.
nvmeof::Result<nvmeof::TargetConfig> EmptyConfig(const Flags& f) {
  nlohmann::json ports = nlohmann::json::array();
  for (size_t i = 0; i < f.listen.size(); ++i) {
    NVMEOF_ASSIGN_OR_RETURN(nlohmann::json p,
                            ListenPort(f.listen[i], static_cast<int>(i) + 1));
    p["subsystems"] = nlohmann::json::array();
    ports.push_back(std::move(p));
  }
  nlohmann::json config = {
      {"ports", ports}, {"threads", f.threads}, {"log_level", f.log_level}};
  return nvmeof::ParseConfig(config.dump(), "command line");
}

// The config from --config, or from the other flags.
nvmeof::Result<nvmeof::TargetConfig> LoadFlagsConfig(const Flags& f) {
  if (!f.config_path.empty()) {
    if (!f.ram.empty() || !f.listen.empty() || !f.hosts.empty()) {
      return nvmeof::InvalidArgumentError(
          "--config excludes --ram, --listen and --allow-host");
    }
    nvmeof::Result<nvmeof::TargetConfig> config =
        nvmeof::LoadConfig(f.config_path);
    if (!config.ok()) return config;
    // --threads and --log-level win over the file's (a reload then reads
    // the file's log level again).
    if (f.threads_set) config->threads = static_cast<uint32_t>(f.threads);
    if (f.log_level_set) {
      NVMEOF_ASSIGN_OR_RETURN(
          nvmeof::TargetConfig level,
          nvmeof::ParseConfig(nlohmann::json{{"log_level", f.log_level},
                                             {"ports", nlohmann::json::array()}}
                                  .dump(),
                              "--log-level"));
      config->log_level = level.log_level;
    }
    return config;
  }
  if (f.ram.empty()) {
    if (WantsRpc(f)) return EmptyConfig(f);
    return nvmeof::InvalidArgumentError(
        "give --ram SIZE, --config FILE or --rpc-socket (see --help)");
  }
  return ConfigFromFlags(f);
}

nvmeof::Result<std::unique_ptr<nvmeof::ControlPlane>> StartControlPlane(
    const Flags& f, nvmeof::Target& target, const nvmeof::TargetConfig& base) {
  nvmeof::ControlPlaneOptions options;
  options.unix_path = f.rpc_socket;
  options.tcp_listen = f.rpc_listen;
  options.tcp_any_address = f.rpc_any_address;
  options.base = base;
  if (!f.rpc_listen.empty()) {
    if (f.rpc_token_file.empty()) {
      return nvmeof::InvalidArgumentError(
          "--rpc-listen needs --rpc-token-file (a TCP control plane is "
          "never open without a token)");
    }
    std::string error;
    options.tcp_token = nvmeof::tools::ReadTokenFile(f.rpc_token_file, &error);
    if (options.tcp_token.empty()) return nvmeof::InvalidArgumentError(error);
  }
  return nvmeof::ControlPlane::Start(target, options);
}

void PrintHowToConnect(const nvmeof::TargetConfig& config,
                       const std::vector<nvmeof::TransportAddress>& bound) {
  for (size_t i = 0; i < config.ports.size() && i < bound.size(); ++i) {
    const auto& p = config.ports[i];
    std::vector<std::string> nqns = p.subsystems;
    if (nqns.empty()) {
      for (const auto& s : config.subsystems) nqns.push_back(s.nqn);
    }
    const bool tls = p.params.tls == nvmeof::TlsMode::kRequired;
    std::printf("listening on %s port %s (discovery too%s)\n",
                p.address.c_str(), bound[i].trsvcid.c_str(),
                tls                                         ? "; TLS required"
                : p.params.tls == nvmeof::TlsMode::kAllowed ? "; TLS allowed"
                                                            : "");
    for (const std::string& nqn : nqns) {
      std::printf("  nvme connect -t tcp -a %s -s %s -n %s%s\n",
                  p.address.c_str(), bound[i].trsvcid.c_str(), nqn.c_str(),
                  tls ? " --tls" : "");
      std::printf("  nvmeof id-ctrl --traddr %s --trsvcid %s --nqn %s%s\n",
                  p.address.c_str(), bound[i].trsvcid.c_str(), nqn.c_str(),
                  tls ? " --tls-key KEY" : "");
    }
  }
  std::fflush(stdout);
}

// Tells systemd (a Type=notify unit) how the daemon is: "READY=1",
// "RELOADING=1", "STOPPING=1". Nothing when $NOTIFY_SOCKET is unset (not
// under systemd). The protocol is one datagram on that Unix socket (a
// leading '@' names an abstract one), so no library is needed.
void NotifySystemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const socklen_t addr_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  if (sendto(fd, state, std::strlen(state), MSG_NOSIGNAL,
             reinterpret_cast<sockaddr*>(&addr), addr_len) < 0) {
    NVMEOF_LOG(kWarn, "cannot notify systemd (%s): %s", state,
               std::strerror(errno));
  }
  close(fd);
}

// SIGHUP: --config read again and the difference applied; a file that
// does not parse or check changes nothing.
void Reload(const std::string& path, nvmeof::Target& target,
            nvmeof::ControlPlane* control, nvmeof::TargetConfig& running) {
  if (path.empty()) {
    NVMEOF_LOG(kWarn,
               "SIGHUP: there is no --config file to read again; "
               "nothing changed");
    return;
  }
  NotifySystemd("RELOADING=1");
  nvmeof::Result<nvmeof::TargetConfig> config = nvmeof::LoadConfig(path);
  if (!config.ok()) {
    NVMEOF_LOG(kError, "reload: %s; nothing changed",
               std::string(config.status().message()).c_str());
    NotifySystemd("READY=1");
    return;
  }
  if (config->threads != running.threads) {
    NVMEOF_LOG(kWarn, "reload: threads %u -> %u takes a restart; kept at %u",
               running.threads, config->threads, running.threads);
    config->threads = running.threads;
  }
  if (config->max_connections != running.max_connections) {
    NVMEOF_LOG(kWarn, "reload: max_connections %u -> %u takes a restart; kept",
               running.max_connections, config->max_connections);
    config->max_connections = running.max_connections;
  }
  if (config->log_level != running.log_level) {
    nvmeof::SetLogSeverity(static_cast<nvmeof::LogSeverity>(config->log_level));
  }
  nvmeof::Result<std::vector<std::string>> done =
      control != nullptr ? control->Reconfigure(*config)
                         : target.Reconfigure(*config);
  running = *config;
  NotifySystemd("READY=1");
  if (!done.ok()) {
    NVMEOF_LOG(kError, "reload of %s failed part way: %s", path.c_str(),
               std::string(done.status().message()).c_str());
    return;
  }
  NVMEOF_LOG(kInfo, "reload of %s: %zu change(s)", path.c_str(), done->size());
  for (const std::string& line : *done) {
    NVMEOF_LOG(kInfo, "reload: %s", line.c_str());
  }
}

// Waits for SIGINT or SIGTERM, then stops the target; a second signal
// exits at once; SIGHUP reloads the config. Does not return.
[[noreturn]] void ServeUntilSignal(
    nvmeof::Target& target, std::unique_ptr<nvmeof::ControlPlane> control,
    std::unique_ptr<nvmeof::MetricsEndpoint> metrics, const sigset_t& signals,
    const std::string& config_path, nvmeof::TargetConfig running) {
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    Reload(config_path, target, control.get(), running);
  }
  NotifySystemd("STOPPING=1");
  std::printf("nvmeof-target: signal %d, stopping (again to exit at once)\n",
              sig);
  std::fflush(stdout);
  static std::atomic<bool> stop_done{false};
  std::thread stopper([&target, &control, &metrics] {
    control.reset();  // no change mid-stop
    metrics.reset();  // no scrape of threads that are stopping
    target.Stop();
    stop_done = true;
    kill(getpid(), SIGTERM);  // wake the main thread: the stop is done
  });
  stopper.detach();
  // Either the stopper's own SIGTERM (the stop finished) or the user's
  // second signal (exit now, without waiting); no reload while stopping.
  do {
    sigwait(&signals, &sig);
  } while (sig == SIGHUP);
  if (!stop_done) {
    std::fprintf(stderr, "nvmeof-target: second signal, exiting at once\n");
    _exit(130);
  }
  std::printf("nvmeof-target: stopped\n");
  std::fflush(stdout);
  _exit(0);
}

// Prints the status's message (not its code's internal name).
int Fail(int code, const nvmeof::Status& s) {
  std::fprintf(stderr, "nvmeof-target: %s\n", std::string(s.message()).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"nvmeof-target: serve NVMe-oF subsystems over NVMe/TCP"};
  app.set_version_flag("--version",
                       std::string("nvmeof-target ") + NVMEOF_VERSION);
  Flags flags;
  AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  flags.threads_set = app.count("--threads") > 0;
  flags.log_level_set = app.count("--log-level") > 0;

  nvmeof::TargetRunOptions run;
  run.busy_poll = flags.poll;
  run.poll_idle = std::chrono::microseconds(flags.poll_idle_us);
  if (!flags.cpus.empty()) {
    auto cpus = nvmeof::ParseAvailableCpus(flags.cpus);
    if (!cpus.ok()) return Fail(2, cpus.status());
    run.cpus = std::move(*cpus);
  }
  nvmeof::Result<nvmeof::TargetConfig> config = LoadFlagsConfig(flags);
  if (!config.ok()) return Fail(2, config.status());
  nvmeof::SetLogSeverity(static_cast<nvmeof::LogSeverity>(config->log_level));
  if (flags.print_config) {
    std::printf("%s\n", nvmeof::ToJson(*config).c_str());
    return 0;
  }
  run.threads = static_cast<int>(config->threads);

  // Signals are taken by this thread only (sigwait); the I/O threads
  // inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Every connection takes a descriptor: use all the hard limit allows
  // (ulimit -Hn; systemd's LimitNOFILE=).
  if (rlimit nofile; getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
                     nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  nvmeof::RegisterTcpTransport();
  auto target = nvmeof::Target::Create(*config);
  if (!target.ok()) return Fail(1, target.status());
  if (nvmeof::Status s = (*target)->Start(run); !s.ok()) return Fail(1, s);
  std::unique_ptr<nvmeof::ControlPlane> control;
  if (WantsRpc(flags)) {
    auto cp = StartControlPlane(flags, **target, *config);
    if (!cp.ok()) {
      (*target)->Stop();
      return Fail(1, cp.status());
    }
    control = std::move(cp).value();
  }
  std::unique_ptr<nvmeof::MetricsEndpoint> metrics;
  if (!flags.metrics_listen.empty()) {
    auto m = nvmeof::MetricsEndpoint::Start(**target, flags.metrics_listen);
    if (!m.ok()) {
      (*target)->Stop();
      return Fail(1, m.status());
    }
    metrics = std::move(m).value();
  }
  std::printf("nvmeof-target: %zu I/O thread(s)\n", (*target)->thread_count());
  if (metrics != nullptr) {
    const std::string host =
        flags.metrics_listen.substr(0, flags.metrics_listen.rfind(':'));
    std::printf("metrics on http://%s:%u/metrics\n", host.c_str(),
                static_cast<unsigned>(metrics->port()));
  }
  if (control != nullptr && !flags.rpc_socket.empty()) {
    std::printf("control plane on %s (rpc.py -s %s ...)\n",
                flags.rpc_socket.c_str(), flags.rpc_socket.c_str());
  }
  if (control != nullptr && !flags.rpc_listen.empty()) {
    const std::string host =
        flags.rpc_listen.substr(0, flags.rpc_listen.rfind(':'));
    std::printf("control plane on TCP %s:%u, with a token\n", host.c_str(),
                static_cast<unsigned>(control->tcp_port()));
  }
  PrintHowToConnect(*config, (*target)->listen_addresses());
  NotifySystemd("READY=1");
  ServeUntilSignal(**target, std::move(control), std::move(metrics), signals,
                   flags.config_path, *config);
} catch (const std::exception& e) {
  std::fprintf(stderr, "nvmeof-target: %s\n", e.what());
  return 1;
}
