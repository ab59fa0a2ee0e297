// nvmeof-target: serves NVMe-oF subsystems over NVMe/TCP.
//
//   nvmeof-target --ram 1G                 one RAM namespace on 127.0.0.1:4420
//   nvmeof-target --config target.json     everything from a file
//
// Flags without --config are turned into the same JSON config and go
// through the same checks, so a bad flag gets the same clear error as a bad
// file. SIGINT/SIGTERM stop it cleanly (exit 0); a second signal exits at
// once.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "io/socket.h"
#include "nvmeof/log.h"
#include "nvmeof/tcp.h"
#include "controller/build_target.h"
#include "controller/config.h"
#include "tools/cpu_list.h"

namespace {

constexpr char kDefaultNqn[] = "nqn.2024-11.io.nvmeof:ram0";

// The config that the flags describe.
nvmeof::Result<nvmeof::controller::TargetConfig> ConfigFromFlags(
    const std::string& ram, const std::vector<std::string>& listen,
    const std::string& nqn, const std::vector<std::string>& hosts, int threads,
    const std::string& log_level) {
  nlohmann::json ns = {{"nsid", 1}, {"backend", "ram"}, {"size", ram}};
  nlohmann::json subsys = {{"nqn", nqn},
                           {"namespaces", nlohmann::json::array({ns})}};
  if (!hosts.empty()) subsys["hosts"] = hosts;
  nlohmann::json ports = nlohmann::json::array();
  int id = 1;
  for (const std::string& l : listen) {
    auto addr = nvmeof::SocketAddress::ParseHostPort(l);
    if (!addr.ok()) return addr.status().WithContext("--listen " + l);
    ports.push_back(
        {{"id", id++}, {"address", addr->Host()}, {"port", addr->Port()}});
  }
  nlohmann::json config = {{"subsystems", nlohmann::json::array({subsys})},
                           {"ports", ports},
                           {"threads", threads},
                           {"log_level", log_level}};
  return nvmeof::controller::ParseConfig(config.dump(), "command line");
}

void PrintHowToConnect(const nvmeof::controller::TargetConfig& config,
                       const std::vector<nvmeof::TransportAddress>& bound) {
  for (size_t i = 0; i < config.ports.size() && i < bound.size(); ++i) {
    const auto& p = config.ports[i];
    std::vector<std::string> nqns = p.subsystems;
    if (nqns.empty()) {
      for (const auto& s : config.subsystems) nqns.push_back(s.nqn);
    }
    std::printf("listening on %s port %s (discovery too)\n", p.address.c_str(),
                bound[i].trsvcid.c_str());
    for (const std::string& nqn : nqns) {
      std::printf("  nvme connect -t tcp -a %s -s %s -n %s\n",
                  p.address.c_str(), bound[i].trsvcid.c_str(), nqn.c_str());
      std::printf("  nvmeof id-ctrl --traddr %s --trsvcid %s --nqn %s\n",
                  p.address.c_str(), bound[i].trsvcid.c_str(), nqn.c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"nvmeof-target: serve NVMe-oF subsystems over NVMe/TCP"};
  std::string ram;
  std::vector<std::string> listen;
  std::string nqn = kDefaultNqn;
  std::vector<std::string> hosts;
  int threads = 0;
  std::string config_path;
  std::string log_level = "info";
  bool print_config = false;
  std::string cpus_arg;
  bool poll = false;
  int poll_idle_us = 0;
  app.add_option("--ram", ram,
                 "serve one RAM namespace of this size (e.g. 1G, 512M) without "
                 "a config file");
  app.add_option("--listen", listen,
                 "ADDR:PORT to listen on, IPv4 or [IPv6] (repeatable; default "
                 "127.0.0.1:4420)");
  app.add_option("--nqn", nqn, "the NQN of the --ram subsystem")
      ->capture_default_str();
  app.add_option(
      "--allow-host", hosts,
      "a host NQN allowed to connect (repeatable; default: any host)");
  app.add_option("--threads", threads,
                 "I/O threads (default: the number of cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--config", config_path,
                 "a JSON config file (see examples/target.json); excludes "
                 "--ram and the others");
  app.add_option("--log-level", log_level, "error, warn, info or debug")
      ->capture_default_str();
  app.add_option("--cpus", cpus_arg,
                 "pin the I/O threads to these CPUs, in turn (as 0,2 or 0-3)");
  app.add_flag("--poll", poll,
               "busy-poll: threads never sleep (lowest latency, a core each)");
  app.add_option("--poll-idle", poll_idle_us,
                 "adaptive polling: a thread that found work keeps polling "
                 "this many microseconds before it sleeps (e.g. 50; 0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_flag("--print-config", print_config,
               "print the effective config as JSON and exit");
  CLI11_PARSE(app, argc, argv);
  std::vector<int> cpus;
  if (!cpus_arg.empty()) {
    auto list = nvmeof::tools::ParseCpuList(cpus_arg);
    if (!list.ok()) {
      std::fprintf(stderr, "nvmeof-target: %s\n",
                   list.status().ToString().c_str());
      return 2;
    }
    cpus = std::move(*list);
  }

  nvmeof::Result<nvmeof::controller::TargetConfig> config =
      nvmeof::InvalidArgumentError("no config");
  if (!config_path.empty()) {
    if (!ram.empty() || !listen.empty() || !hosts.empty()) {
      std::fprintf(stderr,
                   "nvmeof-target: --config excludes --ram, --listen and "
                   "--allow-host\n");
      return 2;
    }
    config = nvmeof::controller::LoadConfig(config_path);
  } else {
    if (ram.empty()) {
      std::fprintf(
          stderr,
          "nvmeof-target: give --ram SIZE or --config FILE (see --help)\n");
      return 2;
    }
    if (listen.empty()) listen.push_back("127.0.0.1:4420");
    config = ConfigFromFlags(ram, listen, nqn, hosts, threads, log_level);
  }
  if (!config.ok()) {
    std::fprintf(stderr, "nvmeof-target: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  nvmeof::SetLogSeverity(static_cast<nvmeof::LogSeverity>(config->log_level));
  if (print_config) {
    std::printf("%s\n", nvmeof::controller::ToJson(*config).c_str());
    return 0;
  }

  // Signals are taken by this thread only (sigwait below); the I/O threads
  // inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  nvmeof::RegisterTcpTransport();
  auto target = nvmeof::controller::BuildTarget(*config);
  if (!target.ok()) {
    std::fprintf(stderr, "nvmeof-target: %s\n",
                 target.status().ToString().c_str());
    return 1;
  }
  nvmeof::Status started =
      (*target)->Start(static_cast<int>(config->threads), cpus, poll,
                       std::chrono::microseconds(poll_idle_us));
  if (!started.ok()) {
    std::fprintf(stderr, "nvmeof-target: %s\n", started.ToString().c_str());
    return 1;
  }
  std::printf("nvmeof-target: %zu I/O thread(s)\n", (*target)->thread_count());
  PrintHowToConnect(*config, (*target)->listen_addresses());

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("nvmeof-target: signal %d, stopping (again to exit at once)\n",
              sig);
  std::fflush(stdout);
  static std::atomic<bool> stop_done{false};
  std::thread stopper([&] {
    (*target)->Stop();
    stop_done = true;
    kill(getpid(), SIGTERM);  // wake the main thread: the stop is done
  });
  stopper.detach();
  // Either the stopper's own SIGTERM (the stop finished) or the user's
  // second signal (exit now, without waiting).
  sigwait(&signals, &sig);
  if (!stop_done) {
    std::fprintf(stderr, "nvmeof-target: second signal, exiting at once\n");
    _exit(130);
  }
  std::printf("nvmeof-target: stopped\n");
  std::fflush(stdout);
  _exit(0);
} catch (const std::exception& e) {
  std::fprintf(stderr, "nvmeof-target: %s\n", e.what());
  return 1;
}
