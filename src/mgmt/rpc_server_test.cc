// The JSON-RPC server on its own: framing on a real Unix socket (requests
// glued together, split across writes), the envelope rules SPDK's rpc.py
// and nvmf_tgt follow, batches, notifications, the TCP token, and bad
// clients (garbage, oversized requests, stalls) that must not harm it.

#include "mgmt/rpc_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "io/socket.h"
#include "mgmt/json_stream.h"

namespace nvmeof::mgmt {
namespace {

TEST(JsonSplitterTest, FindsEachTextByStructure) {
  JsonSplitter s(1 << 20);
  std::string text;
  s.Feed("  {\"a\": \"}{\\\"\", \"b\": [1, {\"c\": 2}]}{\"x\"");
  ASSERT_EQ(s.Take(&text), JsonSplitter::Next::kText);
  EXPECT_EQ(text, "{\"a\": \"}{\\\"\", \"b\": [1, {\"c\": 2}]}");
  EXPECT_EQ(s.Take(&text), JsonSplitter::Next::kNeedMore);
  EXPECT_TRUE(s.partial());
  s.Feed(": 1}\n[{}]");
  ASSERT_EQ(s.Take(&text), JsonSplitter::Next::kText);
  EXPECT_EQ(text, "{\"x\": 1}");
  ASSERT_EQ(s.Take(&text), JsonSplitter::Next::kText);
  EXPECT_EQ(text, "[{}]");
  EXPECT_EQ(s.Take(&text), JsonSplitter::Next::kNeedMore);
  EXPECT_FALSE(s.partial());
  s.Feed("42");
  EXPECT_EQ(s.Take(&text), JsonSplitter::Next::kNotJson);
  JsonSplitter small(8);
  small.Feed("{\"long enough\"");
  EXPECT_EQ(small.Take(&text), JsonSplitter::Next::kTooLarge);
}

class RpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "rpc-" +
            std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
            ".sock";
    server_.AddMethod("echo", [](const Json& p) { return RpcReply::Ok(p); });
    server_.AddMethod("fail", [](const Json&) {
      return RpcReply::Error(-19, "No such device: thing");
    });
  }
  void Start() {
    ASSERT_TRUE(server_.ListenUnix(path_).ok());
    ASSERT_TRUE(server_.Start().ok());
  }
  Fd Connect() {
    Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof(a.sun_path) - 1);
    EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0)
        << std::strerror(errno);
    return fd;
  }
  static void Write(const Fd& fd, const std::string& s) {
    ASSERT_EQ(write(fd.get(), s.data(), s.size()),
              static_cast<ssize_t>(s.size()));
  }
  // Reads `lines` newline-terminated answers (or until the peer closes).
  static std::string ReadLines(const Fd& fd, int lines) {
    std::string out;
    char buf[4096];
    while (std::count(out.begin(), out.end(), '\n') < lines) {
      pollfd p{fd.get(), POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) break;  // a hang: the test fails below
      ssize_t n = read(fd.get(), buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True once the peer closed the connection.
  static bool Closed(const Fd& fd) {
    char buf[256];
    for (;;) {
      pollfd p{fd.get(), POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) return false;
      ssize_t n = read(fd.get(), buf, sizeof(buf));
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  std::string path_;
  RpcServer server_;
};

TEST_F(RpcServerTest, AnswersGluedAndSplitRequestsInOrder) {
  Start();
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Fd fd = Connect();
  // What rpc.py sends: pretty-printed, no newline, back to back.
  Write(fd,
        "{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"echo\",\n  \"id\": 1,\n"
        "  \"params\": {\"a\": \"\\u00e9\"}\n}{\"jsonrpc\":\"2.0\","
        "\"method\":\"echo\",\"id\":2}");
  Write(fd, "{\"jsonrpc\":\"2.0\",\"method\":");
  Write(fd, "\"fail\",\"id\":\"x\"}");
  std::string out = ReadLines(fd, 3);
  EXPECT_EQ(out,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"\\u00e9\"}}\n"
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n"
            "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-19,"
            "\"message\":\"No such device: thing\"}}\n");
}

TEST_F(RpcServerTest, EnvelopeErrorsBatchesAndNotifications) {
  auto call = [&](const std::string& text) { return server_.HandleText(text); };
  EXPECT_EQ(call("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":3}"),
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32601,"
            "\"message\":\"Method not found: nope\"}}\n");
  // Invalid requests answer with id null, as SPDK does.
  for (const char* bad :
       {"{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1,\"extra\":1}",
        "[]"}) {
    std::string r = call(bad);
    EXPECT_NE(r.find("\"id\":null,\"error\":{\"code\":-32600"),
              std::string::npos)
        << bad << " -> " << r;
  }
  EXPECT_NE(call("{\"method\":\"echo\",\"id\":1,\"params\":[1]}")
                .find("\"code\":-32602"),
            std::string::npos);
  // params null is absent; a missing jsonrpc member is accepted.
  EXPECT_EQ(call("{\"method\":\"echo\",\"id\":1,\"params\":null}"),
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n");
  // A notification gets nothing back, unless it fails.
  EXPECT_EQ(call("{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}"), "");
  EXPECT_EQ(call("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}"), "");
  EXPECT_NE(call("{\"jsonrpc\":\"2.0\",\"method\":\"fail\"}").find("-19"),
            std::string::npos);
  // A batch: one array, in order, notifications left out.
  EXPECT_EQ(call("[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1},"
                 "{\"jsonrpc\":\"2.0\",\"method\":\"echo\"},"
                 "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":2}]"),
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},{\"jsonrpc\":"
            "\"2.0\",\"id\":2,\"error\":{\"code\":-32601,\"message\":"
            "\"Method not found: nope\"}}]\n");
}

TEST_F(RpcServerTest, BadClientsAreClosedAndOthersServed) {
  Start();
  // Not JSON: a parse error, then the connection is closed.
  Fd garbage = Connect();
  Write(garbage, "{\"method\": ,}");
  std::string out = ReadLines(garbage, 1);
  EXPECT_NE(out.find("\"code\":-32700"), std::string::npos) << out;
  EXPECT_TRUE(Closed(garbage));
  Fd scalar = Connect();
  Write(scalar, "42 ");
  EXPECT_NE(ReadLines(scalar, 1).find("-32700"), std::string::npos);
  EXPECT_TRUE(Closed(scalar));
  // Larger than the limit: refused, closed.
  Fd huge = Connect();
  std::string big = "{\"method\":\"echo\",\"id\":1,\"params\":{\"s\":\"" +
                    std::string(RpcServer::kMaxRequestBytes, 'x');
  // The server stops reading once it is over the limit: whatever part of
  // this went out, the answer is the same.
  for (size_t sent = 0; sent < big.size();) {
    ssize_t n = send(huge.get(), big.data() + sent, big.size() - sent,
                     MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  out = ReadLines(huge, 1);
  EXPECT_NE(out.find("request larger than"), std::string::npos) << out;
  // A client that sent half a request and stalls holds only its own
  // connection: another is served meanwhile.
  Fd stalled = Connect();
  Write(stalled, "{\"jsonrpc\":\"2.0\",\"method\":\"ec");
  Fd other = Connect();
  Write(other, "{\"method\":\"echo\",\"id\":9}");
  EXPECT_EQ(ReadLines(other, 1), "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\n");
  // Many clients at once.
  std::vector<Fd> many;
  for (int i = 0; i < 20; ++i) many.push_back(Connect());
  for (int i = 0; i < 20; ++i) {
    Write(many[i], "{\"method\":\"echo\",\"id\":" + std::to_string(i) + "}");
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_NE(ReadLines(many[i], 1).find("\"id\":" + std::to_string(i)),
              std::string::npos);
  }
}

TEST_F(RpcServerTest, ASecondServerOnALiveSocketIsRefused) {
  Start();
  RpcServer second;
  Status s = second.ListenUnix(path_);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("running process"), std::string::npos);
  server_.Stop();
  // Stopped: the file is gone; a stale one would be replaced.
  struct stat st {};
  EXPECT_NE(stat(path_.c_str(), &st), 0);
}

TEST_F(RpcServerTest, TcpNeedsTheTokenAndLoopback) {
  EXPECT_FALSE(server_.ListenTcp("127.0.0.1:0", "short", false).ok());
  Status nonlocal =
      server_.ListenTcp("0.0.0.0:0", "0123456789abcdef-token", false);
  EXPECT_FALSE(nonlocal.ok());
  EXPECT_NE(nonlocal.message().find("not a loopback address"),
            std::string::npos);
  ASSERT_TRUE(
      server_.ListenTcp("127.0.0.1:0", "0123456789abcdef-token", false).ok());
  ASSERT_TRUE(server_.Start().ok());
  Result<SocketAddress> addr =
      SocketAddress::Parse("127.0.0.1", server_.tcp_port());
  ASSERT_TRUE(addr.ok());
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(fd.get(), addr->sockaddr_ptr(), addr->length()), 0);
  Write(fd, "{\"method\":\"echo\",\"id\":1}");
  EXPECT_NE(ReadLines(fd, 1).find("token is missing or wrong"),
            std::string::npos);
  Write(fd, "{\"method\":\"echo\",\"id\":2,\"token\":\"wrong-token-000000\"}");
  EXPECT_NE(ReadLines(fd, 1).find("token is missing or wrong"),
            std::string::npos);
  Write(fd, "{\"method\":\"echo\",\"id\":3,\"token\":"
            "\"0123456789abcdef-token\"}");
  EXPECT_EQ(ReadLines(fd, 1), "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n");
}

}  // namespace
}  // namespace nvmeof::mgmt
