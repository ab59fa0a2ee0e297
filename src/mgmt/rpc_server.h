// RpcServer: JSON-RPC 2.0 over a Unix stream socket (and, for tests that
// run in a VM, over TCP with a token), the way SPDK's `rpc.py` talks to
// `nvmf_tgt`: requests back to back on one connection, each answered with
// one compact, ASCII-only JSON object and a newline; batches (arrays)
// answered with arrays; notifications (no id) answered only when they fail.
//
// It runs on a thread of its own (the control thread), never on an I/O
// thread: a method may block while the target applies a change. One
// request runs at a time; the next waits.
//
// Bad input never harms the daemon: a text that is not JSON gets a Parse
// error and the connection is closed (its framing is lost); a request over
// kMaxRequestBytes is refused the same way; a client that stalls mid-request
// is closed after kStallTimeout; at most kMaxClients are served at once.

#ifndef NVMEOF_MGMT_RPC_SERVER_H_
#define NVMEOF_MGMT_RPC_SERVER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvmeof/event_loop.h"
#include "nvmeof/status.h"

namespace nvmeof::mgmt {

using Json = nlohmann::ordered_json;

// JSON-RPC error codes: the protocol's, and the negated errno values SPDK
// answers for bdev-layer errors.
namespace rpc_code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
}  // namespace rpc_code

// What a method returns: a result, or an error with a code and a message a
// person can act on.
struct RpcReply {
  Json result;
  int code = 0;  // 0: success
  std::string message;

  static RpcReply Ok(Json result) {
    RpcReply r;
    r.result = std::move(result);
    return r;
  }
  static RpcReply Error(int code, std::string message) {
    RpcReply r;
    r.code = code;
    r.message = std::move(message);
    return r;
  }
  bool ok() const { return code == 0; }
};

// `params` is an object (empty when the request had none or null).
using RpcMethod = std::function<RpcReply(const Json& params)>;

class RpcServer {
 public:
  static constexpr size_t kMaxRequestBytes = 4 << 20;
  static constexpr size_t kMaxClients = 64;
  static constexpr std::chrono::seconds kStallTimeout{30};

  RpcServer();
  ~RpcServer();  // stops it
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Before Start(). Names are unique.
  void AddMethod(std::string name, RpcMethod method);
  // The method names, sorted.
  std::vector<std::string> MethodNames() const;

  // Listens on a Unix socket at `path` (mode 0600). A stale socket file
  // (nobody listening) is replaced; a live one is refused.
  Status ListenUnix(const std::string& path);
  // Listens on TCP `host_port` ("127.0.0.1:5260"); every request must
  // carry "token": `token` at its top level. Only a loopback address
  // unless `any_address`.
  Status ListenTcp(const std::string& host_port, const std::string& token,
                   bool any_address);
  // The TCP port actually bound (after ListenTcp with port 0).
  uint16_t tcp_port() const { return tcp_port_; }

  // Serves on a thread of its own until Stop().
  Status Start();
  void Stop();

  // One request text, as a connection would get it answered: the response
  // text (empty for a notification). For tests and the in-process client.
  std::string HandleText(const std::string& text, bool need_token = false);

  // Runs `fn` on the calling thread while no method runs (a config reload
  // beside the methods); returns what it returns.
  template <typename Fn>
  auto RunExclusive(Fn fn) {
    std::lock_guard<std::mutex> lock(exclusive_);
    return fn();
  }

 private:
  class Client;
  class ListenSocket;
  Json HandleOne(const Json& request, bool need_token);
  Json Dispatch(const std::string& method, const Json& params);
  void OnClientClosed(Client* c);

  std::map<std::string, RpcMethod> methods_;
  std::mutex exclusive_;  // held while a method runs
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
  std::vector<std::unique_ptr<ListenSocket>> listeners_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::string unix_path_;
  std::string token_;
  uint16_t tcp_port_ = 0;
  bool running_ = false;
};

}  // namespace nvmeof::mgmt

#endif  // NVMEOF_MGMT_RPC_SERVER_H_
