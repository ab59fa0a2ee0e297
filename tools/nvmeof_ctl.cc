// nvmeof-ctl: the command-line client of nvmeof-target's control plane
// (docs/RPC.md), for operators who do not want Python: one verb per
// operation, human output or -o json, and `call METHOD [JSON]` for any
// method. It speaks the same JSON-RPC as SPDK's rpc.py, on the same socket.
//
//   nvmeof-ctl bdev ram Malloc0 64
//   nvmeof-ctl subsystem create nqn.2016-06.io.spdk:cnode1 --allow-any-host
//   nvmeof-ctl ns add nqn.2016-06.io.spdk:cnode1 Malloc0
//   nvmeof-ctl listener add nqn.2016-06.io.spdk:cnode1 127.0.0.1 4420
//   nvmeof-ctl subsystem list
//
// Exit status: 0 on success, 1 when the target answers an error (its
// message on stderr), 2 for a bad command line or no connection.

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netdb.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/token_file.h"

namespace {

using Json = nlohmann::ordered_json;

constexpr char kDefaultSocket[] = "/var/tmp/nvmeof.sock";

struct Options {
  std::string socket = kDefaultSocket;
  std::string tcp;         // ADDR:PORT instead of the socket
  std::string token_file;  // with --tcp
  std::string output = "text";
};

// A failure, printed as "nvmeof-ctl: MESSAGE" with this exit status.
struct Failure {
  int status;
  std::string message;
};

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

int ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    throw Failure{2, "socket path too long: " + path};
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Failure{2, Errno("socket")};
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string why = Errno("cannot connect to " + path);
    close(fd);
    throw Failure{2, why + " (is nvmeof-target running with --rpc-socket?)"};
  }
  return fd;
}

int ConnectTcp(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    throw Failure{2, "--tcp " + host_port + ": expected ADDR:PORT"};
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), host_port.c_str() + colon + 1, &hints, &res) != 0) {
    throw Failure{2, "--tcp " + host_port + ": not a numeric address and port"};
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int rc = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    std::string why = Errno("cannot connect to " + host_port);
    if (fd >= 0) close(fd);
    throw Failure{2, why};
  }
  return fd;
}

// One request on a new connection; the result, or a Failure with the
// target's message.
Json Call(const Options& o, const std::string& method, const Json& params) {
  const int fd = o.tcp.empty() ? ConnectUnix(o.socket) : ConnectTcp(o.tcp);
  Json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}};
  if (!params.empty()) req["params"] = params;
  if (!o.tcp.empty()) {
    std::string error;
    req["token"] = nvmeof::tools::ReadTokenFile(o.token_file, &error);
    if (!error.empty()) {
      close(fd);
      throw Failure{2, error};
    }
  }
  const std::string text = req.dump();
  size_t sent = 0;
  while (sent < text.size()) {
    ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = Errno("send");
      close(fd);
      throw Failure{2, why};
    }
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);  // the target answers, then closes
  std::string in;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  Json resp = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (resp.is_discarded() || !resp.is_object()) {
    throw Failure{2, "no valid response to " + method +
                         (in.empty() ? " (the connection closed)" : "")};
  }
  if (resp.contains("error")) {
    const Json& e = resp["error"];
    throw Failure{1, e.value("message", std::string("error")) + " (" +
                         method + ", code " +
                         std::to_string(e.value("code", 0)) + ")"};
  }
  return resp.value("result", Json());
}

// ---- human output ----

std::string Str(const Json& j, const char* key) {
  if (!j.contains(key)) return "-";
  const Json& v = j[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string Listener(const Json& a) {
  const std::string addr = Str(a, "traddr");
  const bool v6 = addr.find(':') != std::string::npos;
  return (v6 ? "[" + addr + "]" : addr) + ":" + Str(a, "trsvcid");
}

void PrintSubsystems(const Json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& s : list) {
    if (s.value("subtype", "") == "Discovery") continue;
    std::string listeners, hosts;
    for (const Json& a : s.value("listen_addresses", Json::array())) {
      listeners += (listeners.empty() ? "" : ",") + Listener(a);
    }
    for (const Json& h : s.value("hosts", Json::array())) {
      hosts += (hosts.empty() ? "" : ",") + Str(h, "nqn");
    }
    if (s.value("allow_any_host", false)) hosts = "any";
    std::string nss;
    for (const Json& n : s.value("namespaces", Json::array())) {
      nss += (nss.empty() ? "" : ",") + Str(n, "nsid") + "=" + Str(n, "bdev_name");
    }
    rows.push_back({Str(s, "nqn"), Str(s, "serial_number"), nss.empty() ? "-" : nss,
                    hosts.empty() ? "none" : hosts,
                    listeners.empty() ? "-" : listeners});
  }
  PrintTable({"NQN", "SERIAL", "NAMESPACES", "HOSTS", "LISTENERS"}, rows);
}

void PrintBdevs(const Json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& b : list) {
    const uint64_t blocks = b.value("num_blocks", uint64_t{0});
    const uint64_t bs = b.value("block_size", uint64_t{0});
    rows.push_back({Str(b, "name"), Str(b, "product_name"),
                    std::to_string(blocks * bs >> 20) + " MiB", std::to_string(bs),
                    b.value("claimed", false) ? "yes" : "no"});
  }
  PrintTable({"NAME", "KIND", "SIZE", "BLOCK", "IN USE"}, rows);
}

void PrintListeners(const Json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& l : list) {
    const Json a = l.value("address", l);
    rows.push_back({Str(a, "trtype"), Str(a, "adrfam"), Listener(a)});
  }
  PrintTable({"TRANSPORT", "FAMILY", "ADDRESS"}, rows);
}

void PrintReferrals(const Json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& r : list) {
    rows.push_back({Listener(r.value("address", Json::object())), Str(r, "subnqn")});
  }
  PrintTable({"ADDRESS", "SUBNQN"}, rows);
}

void PrintControllers(const Json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& c : list) {
    rows.push_back({Str(c, "cntlid"), Str(c, "hostnqn"),
                    Listener(c.value("listen_address", Json::object()))});
  }
  PrintTable({"CNTLID", "HOST", "LISTENER"}, rows);
}

void PrintQpairs(const Json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& q : list) {
    rows.push_back({Str(q, "cntlid"), Str(q, "qid"), Str(q, "thread"),
                    Str(q, "state")});
  }
  PrintTable({"CNTLID", "QID", "THREAD", "STATE"}, rows);
}

void PrintLines(const Json& list) {
  for (const Json& x : list) std::printf("%s\n", x.is_string() ? x.get<std::string>().c_str() : x.dump().c_str());
}

// ---- the verbs ----

// What a verb does: its method, its parameters (from the command line,
// read once it is parsed) and how a person sees its result.
struct Verb {
  std::string method;
  std::function<Json()> params;
  std::function<void(const Json&)> print;  // null: print nothing (or a scalar)
};

Json Address(const std::string& addr, const std::string& port) {
  return {{"trtype", "TCP"},
          {"adrfam", addr.find(':') != std::string::npos ? "IPv6" : "IPv4"},
          {"traddr", addr},
          {"trsvcid", port}};
}

struct Args {
  std::string nqn, bdev, host, addr, port, path, uuid, nguid, serial, model,
      subnqn, file, method, json = "{}";
  uint32_t nsid = 0, max_namespaces = 0;
  uint64_t size_mib = 0;
  uint32_t block_size = 512;
  int min_cntlid = 0, max_cntlid = 0;
  bool allow_any_host = false, read_only = false;
  std::string on_off;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nvmeof-ctl: manage a running nvmeof-target through its JSON-RPC control "
      "plane (SPDK's methods, docs/RPC.md)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("nvmeof-ctl ") + NVMEOF_VERSION);
  Options o;
  Args a;
  app.add_option("-s,--socket", o.socket, "the daemon's Unix socket")->capture_default_str();
  app.add_option("--tcp", o.tcp, "ADDR:PORT of the daemon's TCP control plane (--rpc-listen)");
  app.add_option("--token-file", o.token_file, "the token for --tcp (its first line)");
  app.add_option("-o,--output", o.output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  std::vector<std::pair<CLI::App*, Verb>> verbs;
  auto verb = [&](CLI::App* parent, const char* name, const char* help, Verb v) {
    CLI::App* cmd = parent->add_subcommand(name, help);
    verbs.push_back({cmd, std::move(v)});
    return cmd;
  };
  auto group = [&](const char* name, const char* help) {
    CLI::App* g = app.add_subcommand(name, help);
    g->require_subcommand(1);
    return g;
  };
  auto nqn = [&](CLI::App* c) { c->add_option("nqn", a.nqn, "subsystem NQN")->required(); };

  verb(&app, "version", "the daemon's version (spdk_get_version)",
       {"spdk_get_version", [] { return Json::object(); },
        [](const Json& r) { std::printf("%s\n", Str(r, "version").c_str()); }});
  verb(&app, "methods", "every method it serves (rpc_get_methods)",
       {"rpc_get_methods", [] { return Json::object(); }, PrintLines});

  CLI::App* sub = group("subsystem", "NVM subsystems");
  verb(sub, "list", "every subsystem, its namespaces, hosts and listeners",
       {"nvmf_get_subsystems", [] { return Json::object(); }, PrintSubsystems});
  CLI::App* c = verb(sub, "create", "a new subsystem (nvmf_create_subsystem)",
                     {"nvmf_create_subsystem",
                      [&] {
                        Json p = {{"nqn", a.nqn}, {"allow_any_host", a.allow_any_host}};
                        if (!a.serial.empty()) p["serial_number"] = a.serial;
                        if (!a.model.empty()) p["model_number"] = a.model;
                        if (a.max_namespaces) p["max_namespaces"] = a.max_namespaces;
                        if (a.min_cntlid) p["min_cntlid"] = a.min_cntlid;
                        if (a.max_cntlid) p["max_cntlid"] = a.max_cntlid;
                        return p;
                      },
                      nullptr});
  nqn(c);
  c->add_option("-s,--serial", a.serial, "serial number (default: from the NQN)");
  c->add_option("-d,--model", a.model, "model number");
  c->add_flag("-a,--allow-any-host", a.allow_any_host, "any host may connect");
  c->add_option("-m,--max-namespaces", a.max_namespaces, "Identify Controller NN");
  c->add_option("--min-cntlid", a.min_cntlid, "lowest controller ID")->check(CLI::Range(1, 0xFFEF));
  c->add_option("--max-cntlid", a.max_cntlid, "highest controller ID")->check(CLI::Range(1, 0xFFEF));
  nqn(verb(sub, "delete", "ends its associations and deletes it",
           {"nvmf_delete_subsystem", [&] { return Json{{"nqn", a.nqn}}; }, nullptr}));

  CLI::App* ns = group("ns", "namespaces");
  c = verb(ns, "add", "a bdev as a namespace; prints its NSID (nvmf_subsystem_add_ns)",
           {"nvmf_subsystem_add_ns",
            [&] {
              Json n = {{"bdev_name", a.bdev}};
              if (a.nsid) n["nsid"] = a.nsid;
              if (!a.uuid.empty()) n["uuid"] = a.uuid;
              if (!a.nguid.empty()) n["nguid"] = a.nguid;
              return Json{{"nqn", a.nqn}, {"namespace", n}};
            },
            nullptr});
  nqn(c);
  c->add_option("bdev", a.bdev, "bdev name")->required();
  c->add_option("-n,--nsid", a.nsid, "NSID (default: the lowest free one)");
  c->add_option("-u,--uuid", a.uuid, "UUID");
  c->add_option("-g,--nguid", a.nguid, "NGUID (32 hex digits)");
  c = verb(ns, "remove", "a namespace; its hosts are told (nvmf_subsystem_remove_ns)",
           {"nvmf_subsystem_remove_ns", [&] { return Json{{"nqn", a.nqn}, {"nsid", a.nsid}}; },
            nullptr});
  nqn(c);
  c->add_option("nsid", a.nsid, "NSID")->required();

  CLI::App* host = group("host", "the hosts a subsystem allows");
  for (const char* name : {"add", "remove"}) {
    const bool add = std::string(name) == "add";
    c = verb(host, name,
             add ? "allow a host NQN (nvmf_subsystem_add_host)"
                 : "disallow it; its associations end (nvmf_subsystem_remove_host)",
             {add ? "nvmf_subsystem_add_host" : "nvmf_subsystem_remove_host",
              [&] { return Json{{"nqn", a.nqn}, {"host", a.host}}; }, nullptr});
    nqn(c);
    c->add_option("host", a.host, "host NQN")->required();
  }
  c = verb(host, "allow-any", "let any host connect, or only the listed ones",
           {"nvmf_subsystem_allow_any_host",
            [&] { return Json{{"nqn", a.nqn}, {"allow_any_host", a.on_off == "on"}}; },
            nullptr});
  nqn(c);
  c->add_option("on|off", a.on_off, "on or off")->required()->check(CLI::IsMember({"on", "off"}));

  CLI::App* lis = group("listener", "where a subsystem listens (NVMe/TCP)");
  for (const char* name : {"add", "remove"}) {
    const bool add = std::string(name) == "add";
    c = verb(lis, name,
             add ? "listen on ADDR PORT (nvmf_subsystem_add_listener)"
                 : "stop; its associations end (nvmf_subsystem_remove_listener)",
             {add ? "nvmf_subsystem_add_listener" : "nvmf_subsystem_remove_listener",
              [&] { return Json{{"nqn", a.nqn}, {"listen_address", Address(a.addr, a.port)}}; },
              nullptr});
    nqn(c);
    c->add_option("addr", a.addr, "numeric IPv4 or IPv6 address")->required();
    c->add_option("port", a.port, "TCP port")->required();
  }
  nqn(verb(lis, "list", "a subsystem's listeners",
           {"nvmf_subsystem_get_listeners", [&] { return Json{{"nqn", a.nqn}}; },
            PrintListeners}));

  CLI::App* ref = group("referral", "referrals in the discovery log");
  for (const char* name : {"add", "remove"}) {
    const bool add = std::string(name) == "add";
    c = verb(ref, name, add ? "refer hosts to another discovery service or subsystem"
                            : "remove a referral",
             {add ? "nvmf_discovery_add_referral" : "nvmf_discovery_remove_referral",
              [&] {
                Json p = {{"address", Address(a.addr, a.port)}};
                if (!a.subnqn.empty()) p["subnqn"] = a.subnqn;
                return p;
              },
              nullptr});
    c->add_option("addr", a.addr, "numeric address")->required();
    c->add_option("port", a.port, "TCP port")->required();
    c->add_option("--subnqn", a.subnqn, "a subsystem NQN (default: discovery)");
  }
  verb(ref, "list", "every referral",
       {"nvmf_discovery_get_referrals", [] { return Json::object(); }, PrintReferrals});

  CLI::App* bdev = group("bdev", "named backends (SPDK's bdevs)");
  verb(bdev, "list", "every bdev", {"bdev_get_bdevs", [] { return Json::object(); }, PrintBdevs});
  for (const char* kind : {"ram", "null"}) {
    const bool ram = std::string(kind) == "ram";
    c = verb(bdev, kind,
             ram ? "a RAM bdev of SIZE MiB (bdev_malloc_create)"
                 : "a null bdev of SIZE MiB: reads zeroes, drops writes (bdev_null_create)",
             {ram ? "bdev_malloc_create" : "bdev_null_create",
              [&] {
                return Json{{"name", a.bdev},
                            {"num_blocks", (a.size_mib << 20) / a.block_size},
                            {"block_size", a.block_size}};
              },
              nullptr});
    c->add_option("name", a.bdev, "bdev name")->required();
    c->add_option("size", a.size_mib, "size in MiB")->required()->check(CLI::PositiveNumber);
    c->add_option("-b,--block-size", a.block_size, "512 or 4096")
        ->check(CLI::IsMember({512, 4096}))
        ->capture_default_str();
  }
  c = verb(bdev, "file", "a file or block device (bdev_aio_create)",
           {"bdev_aio_create",
            [&] {
              return Json{{"name", a.bdev}, {"filename", a.path},
                          {"block_size", a.block_size}, {"readonly", a.read_only}};
            },
            nullptr});
  c->add_option("name", a.bdev, "bdev name")->required();
  c->add_option("path", a.path, "file or block device")->required();
  c->add_option("-b,--block-size", a.block_size, "512 or 4096")
      ->check(CLI::IsMember({512, 4096}))
      ->capture_default_str();
  c->add_flag("-r,--read-only", a.read_only, "serve it read-only");
  c = verb(bdev, "resize", "grow a bdev to SIZE MiB; its hosts are told (bdev_resize)",
           {"bdev_resize", [&] { return Json{{"name", a.bdev}, {"new_size", a.size_mib}}; },
            nullptr});
  c->add_option("name", a.bdev, "bdev name")->required();
  c->add_option("size", a.size_mib, "new size in MiB")->required()->check(CLI::PositiveNumber);
  c = verb(bdev, "delete", "a bdev, and the namespace it serves (bdev_*_delete)",
           {"", [&] { return Json{{"name", a.bdev}}; }, nullptr});
  c->add_option("name", a.bdev, "bdev name")->required();

  nqn(verb(&app, "controllers", "a subsystem's controllers",
           {"nvmf_subsystem_get_controllers", [&] { return Json{{"nqn", a.nqn}}; },
            PrintControllers}));
  nqn(verb(&app, "qpairs", "a subsystem's queue pairs",
           {"nvmf_subsystem_get_qpairs", [&] { return Json{{"nqn", a.nqn}}; }, PrintQpairs}));
  verb(&app, "stats", "per-thread statistics (nvmf_get_stats; JSON)",
       {"nvmf_get_stats", [] { return Json::object(); }, nullptr});
  verb(&app, "iostat", "per-bdev I/O counters (bdev_get_iostat; JSON)",
       {"bdev_get_iostat", [] { return Json::object(); }, nullptr});
  c = verb(&app, "save-config",
           "the running state as a config file that --config loads (nvmeof_save_config)",
           {"nvmeof_save_config",
            [&] { return a.file.empty() ? Json::object() : Json{{"file", a.file}}; },
            nullptr});
  c->add_option("file", a.file, "written by the daemon (default: printed here)");
  c = verb(&app, "call", "any method, with its parameters as a JSON object",
           {"", [&] { return Json::parse(a.json); }, nullptr});
  c->add_option("method", a.method, "method name")->required();
  c->add_option("params", a.json, "a JSON object")->check([](const std::string& t) {
    Json j = Json::parse(t, nullptr, false);
    return !j.is_discarded() && j.is_object() ? std::string() : "not a JSON object: " + t;
  });

  CLI11_PARSE(app, argc, argv);
  if (!o.tcp.empty() && o.token_file.empty()) {
    std::fprintf(stderr, "nvmeof-ctl: --tcp needs --token-file\n");
    return 2;
  }
  try {
    for (auto& [cmd, v] : verbs) {
      if (!cmd->parsed()) continue;
      std::string method = v.method;
      if (method.empty() && cmd->get_name() == "call") method = a.method;
      if (method.empty()) {  // bdev delete: the method of its kind
        Json list = Call(o, "bdev_get_bdevs", {{"name", a.bdev}});
        const std::string kind = list.empty() ? "" : Str(list[0], "product_name");
        method = kind == "Malloc disk" ? "bdev_malloc_delete"
                 : kind == "Null disk" ? "bdev_null_delete"
                                       : "bdev_aio_delete";
      }
      Json result = Call(o, method, v.params());
      if (o.output == "json") {
        std::printf("%s\n", result.dump(2).c_str());
      } else if (v.print) {
        v.print(result);
      } else if (!result.is_boolean()) {
        std::printf("%s\n", result.is_string() ? result.get<std::string>().c_str()
                                               : result.dump(2).c_str());
      }
      return 0;
    }
    return 2;
  } catch (const Failure& f) {
    std::fprintf(stderr, "nvmeof-ctl: %s\n", f.message.c_str());
    return f.status;
  }
}
