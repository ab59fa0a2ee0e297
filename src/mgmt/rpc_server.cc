#include "mgmt/rpc_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

#include "io/socket.h"
#include "mgmt/json_stream.h"
#include "nvmeof/log.h"

namespace nvmeof::mgmt {

namespace {

// Compares a token in time that depends on its length only, not on where
// the first wrong character is.
bool SameSecret(const std::string& given, const std::string& secret) {
  if (given.size() != secret.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ secret[i]);
  }
  return diff == 0;
}

Json ErrorObject(int code, std::string_view message) {
  return Json{{"code", code}, {"message", message}};
}

Json Response(const Json& id, const RpcReply& reply) {
  Json r = Json::object();
  r["jsonrpc"] = "2.0";
  r["id"] = id;
  if (reply.ok()) {
    r["result"] = reply.result;
  } else {
    r["error"] = ErrorObject(reply.code, reply.message);
  }
  return r;
}

Json ErrorResponse(const Json& id, int code, std::string_view message) {
  return Response(id, RpcReply::Error(code, std::string(message)));
}

// Compact, ASCII only (rpc.py decodes each 4 KiB chunk on its own: a
// multi-byte character across two chunks would be lost), then a newline.
std::string Serialize(const Json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/true,
                Json::error_handler_t::replace) +
         "\n";
}

bool IsLoopbackHost(const std::string& host) {
  return host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

// ---- a listening socket ----

class RpcServer::ListenSocket final : public EventLoop::FdHandler {
 public:
  ListenSocket(RpcServer* server, Fd fd, bool tcp)
      : server_(server), fd_(std::move(fd)), tcp_(tcp) {}
  int fd() const { return fd_.get(); }
  bool tcp() const { return tcp_; }
  void OnFdEvents(uint32_t events) override;

 private:
  RpcServer* const server_;
  Fd fd_;
  const bool tcp_;
};

// ---- one client connection ----

class RpcServer::Client final : public EventLoop::FdHandler {
 public:
  Client(RpcServer* server, Fd fd, bool tcp)
      : server_(server),
        fd_(std::move(fd)),
        tcp_(tcp),
        splitter_(kMaxRequestBytes) {}
  ~Client() {
    if (stall_timer_) server_->loop_->CancelTimer(stall_timer_);
    if (registered_) server_->loop_->RemoveFd(fd_.get(), this);
  }
  Status Register() {
    NVMEOF_RETURN_IF_ERROR(server_->loop_->AddFd(fd_.get(), EPOLLIN, this));
    registered_ = true;
    return Status();
  }
  void OnFdEvents(uint32_t events) override;

 private:
  void ReadSome();
  void Send(std::string bytes);
  void Flush();
  // After what is queued has gone out (or at once if nothing is).
  void CloseAfterFlush() {
    closing_ = true;
    if (out_.empty()) server_->OnClientClosed(this);
  }
  void ArmStallTimer();
  void UpdateInterest();

  RpcServer* const server_;
  Fd fd_;
  const bool tcp_;
  JsonSplitter splitter_;
  std::string out_;
  bool registered_ = false;
  bool closing_ = false;
  uint32_t interest_ = EPOLLIN;
  EventLoop::TimerId stall_timer_ = 0;
};

void RpcServer::ListenSocket::OnFdEvents(uint32_t /*events*/) {
  for (;;) {
    int fd = accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        NVMEOF_LOG(kWarn, "rpc: out of file descriptors, not accepting");
      }
      return;  // EAGAIN, or an error a later event may clear
    }
    Fd client(fd);
    if (server_->clients_.size() >= kMaxClients) {
      static constexpr char kBusy[] =
          "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
          "\"message\":\"too many clients\"}}\n";
      ssize_t n = write(client.get(), kBusy, sizeof(kBusy) - 1);
      (void)n;
      continue;  // closed
    }
    auto c = std::make_unique<Client>(server_, std::move(client), tcp_);
    if (!c->Register().ok()) continue;
    server_->clients_.push_back(std::move(c));
  }
}

void RpcServer::Client::OnFdEvents(uint32_t events) {
  if (events & EPOLLOUT) {
    Flush();
    if (closing_ && out_.empty()) {
      server_->OnClientClosed(this);
      return;
    }
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !closing_) ReadSome();
}

void RpcServer::Client::ReadSome() {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      // The client is gone (or half-closed: answer what it sent first).
      CloseAfterFlush();
      return;
    }
    splitter_.Feed(std::string_view(buf, static_cast<size_t>(n)));
    std::string text;
    for (;;) {
      JsonSplitter::Next next = splitter_.Take(&text);
      if (next == JsonSplitter::Next::kNeedMore) break;
      if (next == JsonSplitter::Next::kTooLarge) {
        Send(Serialize(ErrorResponse(
            nullptr, rpc_code::kInvalidRequest,
            "request larger than " +
                std::to_string(kMaxRequestBytes >> 20) + " MiB")));
        CloseAfterFlush();
        return;
      }
      if (next == JsonSplitter::Next::kNotJson) {
        Send(Serialize(ErrorResponse(nullptr, rpc_code::kParseError,
                                     "Parse error: a request is a JSON "
                                     "object or an array of them")));
        CloseAfterFlush();
        return;
      }
      if (!Json::accept(text)) {
        Send(Serialize(ErrorResponse(nullptr, rpc_code::kParseError,
                                     "Parse error: not valid JSON")));
        CloseAfterFlush();
        return;
      }
      std::string reply = server_->HandleText(text, tcp_);
      if (!reply.empty()) Send(std::move(reply));
      if (closing_) return;
    }
    if (n < static_cast<ssize_t>(sizeof(buf))) break;
  }
  ArmStallTimer();
}

void RpcServer::Client::ArmStallTimer() {
  if (stall_timer_) {
    server_->loop_->CancelTimer(stall_timer_);
    stall_timer_ = 0;
  }
  if (!splitter_.partial()) return;
  stall_timer_ = server_->loop_->AddTimer(kStallTimeout, [this] {
    stall_timer_ = 0;
    NVMEOF_LOG(kWarn, "rpc: a client sent part of a request and stalled "
                      "for %lld s: closing it",
               static_cast<long long>(kStallTimeout.count()));
    server_->OnClientClosed(this);
  });
}

void RpcServer::Client::Send(std::string bytes) {
  out_ += bytes;
  // A client that never reads its answers is not kept forever.
  if (out_.size() > 4 * kMaxRequestBytes) {
    server_->OnClientClosed(this);
    return;
  }
  Flush();
}

void RpcServer::Client::Flush() {
  while (!out_.empty()) {
    ssize_t n = send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) out_.clear();
      break;
    }
    out_.erase(0, static_cast<size_t>(n));
  }
  UpdateInterest();
}

void RpcServer::Client::UpdateInterest() {
  uint32_t want = out_.empty() ? EPOLLIN : (EPOLLIN | EPOLLOUT);
  if (want == interest_) return;
  interest_ = want;
  server_->loop_->ModifyFd(fd_.get(), want, this).IgnoreError();
}

// ---- the server ----

RpcServer::RpcServer() = default;

RpcServer::~RpcServer() { Stop(); }

void RpcServer::AddMethod(std::string name, RpcMethod method) {
  methods_[std::move(name)] = std::move(method);
}

std::vector<std::string> RpcServer::MethodNames() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : methods_) out.push_back(name);
  return out;
}

Status RpcServer::ListenUnix(const std::string& path) {
  if (!loop_) {
    NVMEOF_ASSIGN_OR_RETURN(loop_, EventLoop::Create());
  }
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgumentError("RPC socket path '" + path +
                                "' is empty or longer than " +
                                std::to_string(sizeof(addr.sun_path) - 1) +
                                " bytes");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A socket file left by a daemon that died is replaced; one that still
  // answers belongs to a running daemon.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return FailedPreconditionError(path + " exists and is not a socket");
    }
    Fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.valid() &&
        connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr),
                sizeof(addr)) == 0) {
      return FailedPreconditionError(
          path + " is the RPC socket of a running process (another "
                 "nvmeof-target?)");
    }
    unlink(path.c_str());
  }
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "socket");
  // 0600 from the start: no window in which others may connect.
  const mode_t old_mask = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr),
                sizeof(addr));
  const int bind_errno = errno;
  umask(old_mask);
  if (rc != 0) return ErrnoError(bind_errno, "bind " + path);
  if (listen(fd.get(), 64) != 0) return ErrnoError(errno, "listen " + path);
  auto l = std::make_unique<ListenSocket>(this, std::move(fd), false);
  NVMEOF_RETURN_IF_ERROR(loop_->AddFd(l->fd(), EPOLLIN, l.get()));
  listeners_.push_back(std::move(l));
  unix_path_ = path;
  return Status();
}

Status RpcServer::ListenTcp(const std::string& host_port,
                            const std::string& token, bool any_address) {
  if (!loop_) {
    NVMEOF_ASSIGN_OR_RETURN(loop_, EventLoop::Create());
  }
  if (token.size() < 16) {
    return InvalidArgumentError(
        "the RPC token must be at least 16 characters");
  }
  NVMEOF_ASSIGN_OR_RETURN(SocketAddress addr,
                          SocketAddress::ParseHostPort(host_port,
                                                       /*allow_port_zero=*/true));
  if (!any_address && !IsLoopbackHost(addr.Host())) {
    return InvalidArgumentError(
        "RPC over TCP on " + addr.ToString() +
        " is not a loopback address: refused without the explicit flag");
  }
  NVMEOF_ASSIGN_OR_RETURN(Fd fd, nvmeof::ListenTcp(addr, 64));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    tcp_port_ =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len)
            .Port();
  }
  auto l = std::make_unique<ListenSocket>(this, std::move(fd), true);
  NVMEOF_RETURN_IF_ERROR(loop_->AddFd(l->fd(), EPOLLIN, l.get()));
  listeners_.push_back(std::move(l));
  token_ = token;
  return Status();
}

Status RpcServer::Start() {
  if (!loop_) return FailedPreconditionError("RPC server: nothing to listen on");
  running_ = true;
  thread_ = std::thread([this] { loop_->Run(); });
  return Status();
}

void RpcServer::Stop() {
  if (running_) {
    running_ = false;
    std::promise<void> done;
    loop_->Post([this, &done] {
      clients_.clear();
      for (auto& l : listeners_) loop_->RemoveFd(l->fd(), l.get());
      listeners_.clear();
      done.set_value();
    });
    done.get_future().wait();
    loop_->Stop();
    thread_.join();
  }
  if (!unix_path_.empty()) {
    unlink(unix_path_.c_str());
    unix_path_.clear();
  }
}

void RpcServer::OnClientClosed(Client* c) {
  // Not inside the client's own callback: later in this turn.
  loop_->Defer([this, c] {
    auto it = std::find_if(clients_.begin(), clients_.end(),
                           [c](const auto& p) { return p.get() == c; });
    if (it != clients_.end()) clients_.erase(it);
  });
}

std::string RpcServer::HandleText(const std::string& text, bool need_token) {
  Json request = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return Serialize(
        ErrorResponse(nullptr, rpc_code::kParseError, "Parse error"));
  }
  if (request.is_array()) {
    if (request.empty()) {
      return Serialize(ErrorResponse(nullptr, rpc_code::kInvalidRequest,
                                     "Invalid request: an empty batch"));
    }
    Json out = Json::array();
    for (const Json& one : request) {
      Json r = HandleOne(one, need_token);
      if (!r.is_null()) out.push_back(std::move(r));
    }
    return out.empty() ? std::string() : Serialize(out);
  }
  Json r = HandleOne(request, need_token);
  return r.is_null() ? std::string() : Serialize(r);
}

Json RpcServer::HandleOne(const Json& request, bool need_token) {
  if (!request.is_object()) {
    return ErrorResponse(nullptr, rpc_code::kInvalidRequest,
                         "Invalid request: not an object");
  }
  // The envelope, checked as SPDK does (id null when it is at fault).
  for (const auto& [key, value] : request.items()) {
    if (key != "jsonrpc" && key != "method" && key != "id" &&
        key != "params" && !(need_token && key == "token")) {
      return ErrorResponse(nullptr, rpc_code::kInvalidRequest,
                           "Invalid request: unknown member '" + key + "'");
    }
  }
  auto it = request.find("jsonrpc");
  if (it != request.end() && *it != "2.0") {
    return ErrorResponse(nullptr, rpc_code::kInvalidRequest,
                         "Invalid request: jsonrpc must be \"2.0\"");
  }
  Json id = nullptr;
  if (auto i = request.find("id"); i != request.end()) {
    if (i->is_object() || i->is_array() || i->is_boolean()) {
      return ErrorResponse(nullptr, rpc_code::kInvalidRequest,
                           "Invalid request: id must be a number or a string");
    }
    id = *i;
  }
  const bool notification = id.is_null();
  auto m = request.find("method");
  if (m == request.end() || !m->is_string()) {
    return ErrorResponse(nullptr, rpc_code::kInvalidRequest,
                         "Invalid request: method must be a string");
  }
  if (need_token) {
    auto t = request.find("token");
    if (t == request.end() || !t->is_string() ||
        !SameSecret(t->get_ref<const std::string&>(), token_)) {
      NVMEOF_LOG(kWarn, "rpc: a TCP request without the right token "
                        "(method %s): refused",
                 m->get_ref<const std::string&>().c_str());
      return ErrorResponse(id, rpc_code::kInvalidRequest,
                           "Invalid request: the token is missing or wrong");
    }
  }
  Json params = Json::object();
  if (auto p = request.find("params"); p != request.end() && !p->is_null()) {
    if (!p->is_object()) {
      return ErrorResponse(id, rpc_code::kInvalidParams,
                           "Invalid parameters: params must be an object");
    }
    params = *p;
  }
  Json reply = Dispatch(m->get<std::string>(), params);
  // A notification is answered only when it failed.
  if (notification && !reply.contains("error")) return nullptr;
  reply["id"] = id;
  return reply;
}

Json RpcServer::Dispatch(const std::string& method, const Json& params) {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    return ErrorResponse(nullptr, rpc_code::kMethodNotFound,
                         "Method not found: " + method);
  }
  RpcReply reply;
  std::lock_guard<std::mutex> exclusive(exclusive_);
  try {
    reply = it->second(params);
  } catch (const std::exception& e) {
    // A method never throws on bad input (it answers an error); this is
    // the last guard.
    reply = RpcReply::Error(rpc_code::kInternalError,
                            std::string("internal error: ") + e.what());
  }
  if (!reply.ok()) {
    NVMEOF_LOG(kInfo, "rpc: %s refused: %s", method.c_str(),
               reply.message.c_str());
  }
  return Response(nullptr, reply);
}

}  // namespace nvmeof::mgmt
