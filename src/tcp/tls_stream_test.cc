// TLS on NVMe/TCP queue pairs, beyond the transport suite (which runs
// unchanged over TLS in tcp_suite_test.cc): who is refused and why, what
// each end reports, and a TLS client that is not ours (OpenSSL used
// directly, as `openssl s_client -psk` would) getting an ICResp through TLS.

#include "tcp/tls_stream.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "io/socket.h"
#include "nvmeof/tcp.h"
#include "nvmeof/transport.h"

namespace nvmeof {
namespace {

constexpr auto kWait = std::chrono::seconds(10);
const std::string kIdentity =
    "NVMe0R01 nqn.2014-08.org.example:host nqn.2014-08.org.example:subsys";

TlsPsk Psk(uint8_t seed) {
  TlsPsk psk;
  for (size_t i = 0; i < 32; ++i)
    psk.key.push_back(static_cast<uint8_t>(seed + i));
  return psk;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
    transport_ = TransportRegistry::Global().Find(TransportType::kTcp);
    ASSERT_NE(transport_, nullptr);
  }
  void TearDown() override {
    int closed = 0, want = 0;
    for (auto* qp : {&host_, &ctrl_}) {
      if (*qp) {
        ++want;
        (*qp)->Close([&] { ++closed; });
      }
    }
    EXPECT_TRUE(loop_->RunUntil([&] { return closed == want; }, kWait));
    host_.reset();
    ctrl_.reset();
    listener_.reset();
  }

  void Listen(TlsMode mode) {
    auto server = std::make_shared<TlsServerParams>();
    server->mode = mode;
    server->find_psk = [](std::string_view id) -> Result<TlsPsk> {
      if (id != kIdentity) return NotFoundError("no PSK for that identity");
      return Psk(1);
    };
    ControllerQueuePairParams cparams;
    cparams.tls = server;
    auto l = transport_->Listen(*loop_, {TransportType::kTcp, "127.0.0.1", "0"},
                                cparams, [this](std::unique_ptr<QueuePair> qp) {
                                  ctrl_ = std::move(qp);
                                  accepted_identity_ = ctrl_->tls_identity();
                                  ctrl_->SetCallbacks(QueuePairCallbacks{
                                      [](Status) {}, [](CapsulePtr) {}});
                                });
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    listener_ = std::move(l).value();
  }

  // Connects a host (with TLS when `tls`); the connect's outcome.
  Status Connect(std::shared_ptr<const TlsClientParams> tls) {
    HostQueuePairParams hparams;
    hparams.tls = std::move(tls);
    hparams.connect_timeout = std::chrono::milliseconds(5000);
    bool done = false;
    Status status;
    transport_->Connect(*loop_, listener_->address(), hparams,
                        QueuePairCallbacks{[](Status) {}, [](CapsulePtr) {}},
                        [&](Result<std::unique_ptr<QueuePair>> r) {
                          done = true;
                          if (r.ok()) {
                            host_ = std::move(r).value();
                          } else {
                            status = r.status();
                          }
                        });
    EXPECT_TRUE(loop_->RunUntil([&] { return done; }, kWait));
    return status;
  }

  std::shared_ptr<TlsClientParams> Client(std::string identity, uint8_t seed) {
    auto c = std::make_shared<TlsClientParams>();
    c->identity = std::move(identity);
    c->psk = Psk(seed);
    return c;
  }

  std::unique_ptr<EventLoop> loop_;
  Transport* transport_ = nullptr;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<QueuePair> host_;
  std::unique_ptr<QueuePair> ctrl_;
  std::string accepted_identity_;  // the controller's, when it was handed over
};

TEST_F(TlsTest, BothEndsReportTheIdentity) {
  Listen(TlsMode::kRequired);
  ASSERT_TRUE(Connect(Client(kIdentity, 1)).ok());
  ASSERT_TRUE(loop_->RunUntil([&] { return ctrl_ != nullptr; }, kWait));
  EXPECT_EQ(ctrl_->tls_identity(), kIdentity);
  EXPECT_EQ(host_->tls_identity(), kIdentity);
}

TEST_F(TlsTest, PlainHostOnAllowedListenerHasNoIdentity) {
  Listen(TlsMode::kAllowed);
  ASSERT_TRUE(Connect(nullptr).ok());
  ASSERT_TRUE(loop_->RunUntil([&] { return ctrl_ != nullptr; }, kWait));
  EXPECT_EQ(ctrl_->tls_identity(), "");
}

TEST_F(TlsTest, PlainHostRefusedWhereTlsIsRequired) {
  Listen(TlsMode::kRequired);
  EXPECT_FALSE(Connect(nullptr).ok());
  EXPECT_EQ(ctrl_, nullptr);
}

TEST_F(TlsTest, WrongKeyFailsTheHandshake) {
  Listen(TlsMode::kRequired);
  EXPECT_FALSE(Connect(Client(kIdentity, 2)).ok());
  EXPECT_EQ(ctrl_, nullptr);
}

TEST_F(TlsTest, UnknownIdentityFailsTheHandshake) {
  Listen(TlsMode::kAllowed);
  EXPECT_FALSE(Connect(Client("NVMe0R01 nqn.x:other nqn.x:subsys", 1)).ok());
  EXPECT_EQ(ctrl_, nullptr);
}

// A TLS client written against OpenSSL alone, on a blocking socket on its
// own thread: the listener speaks standard TLS 1.3 with an external PSK.
TEST_F(TlsTest, ForeignTlsClientGetsAnIcResp) {
  Listen(TlsMode::kRequired);
  const TransportAddress a = listener_->address();
  std::vector<uint8_t> icresp;
  std::string failure;
  std::atomic<bool> finished{false};
  std::thread client([&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(std::stoi(a.trsvcid)));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
      failure = "connect failed";
      close(fd);
      return;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_psk_use_session_callback(
        ssl, [](SSL* s, const EVP_MD*, const unsigned char** id, size_t* len,
                SSL_SESSION** sess) {
          static constexpr unsigned char k128[] = {0x13, 0x01};
          static const TlsPsk psk = Psk(1);
          *sess = SSL_SESSION_new();
          SSL_SESSION_set1_master_key(*sess, psk.key.data(), psk.key.size());
          SSL_SESSION_set_cipher(*sess, SSL_CIPHER_find(s, k128));
          SSL_SESSION_set_protocol_version(*sess, TLS1_3_VERSION);
          *id = reinterpret_cast<const unsigned char*>(kIdentity.data());
          *len = kIdentity.size();
          return 1;
        });
    if (SSL_connect(ssl) != 1) {
      failure = "handshake failed";
    } else {
      uint8_t icreq[128] = {};
      icreq[0] = 0x00;  // ICReq
      icreq[2] = 128;   // HLEN
      icreq[4] = 128;   // PLEN
      // PFV 0, HPDA 0, no digests, MAXR2T 0.
      SSL_write(ssl, icreq, sizeof(icreq));
      uint8_t buf[128];
      size_t got = 0;
      while (got < sizeof(buf)) {
        int n = SSL_read(ssl, buf + got, static_cast<int>(sizeof(buf) - got));
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      icresp.assign(buf, buf + got);
      if (SSL_version(ssl) != TLS1_3_VERSION) failure = "not TLS 1.3";
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    finished = true;
    close(fd);  // wakes the loop, which then sees `finished`
  });
  const bool done = loop_->RunUntil([&] { return finished.load(); }, kWait);
  client.join();  // a client that failed has returned: shutdown(2) not needed
  ASSERT_TRUE(done);
  ASSERT_NE(ctrl_, nullptr);
  EXPECT_EQ(failure, "");
  ASSERT_EQ(icresp.size(), 128u);
  EXPECT_EQ(icresp[0], 0x01) << "ICResp PDU type";
  EXPECT_EQ(icresp[2], 128) << "HLEN";
  EXPECT_EQ(accepted_identity_, kIdentity);
}

// The TLS byte stream itself, over a socket pair whose bytes this test
// carries from one end to the other in chunks of every size from 1 byte
// (each record split at every offset) to all at once (records merged),
// reading as the event loop does: only while the socket is readable or the
// stream says it holds input (HasBufferedInput). Every plaintext byte must
// arrive, in order, and writes of every shape must go out.
class TlsRelay {
 public:
  TlsRelay() {
    int a[2], b[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    client_wire_ = Fd(a[1]);
    server_wire_ = Fd(b[1]);
    auto cp = std::make_shared<TlsClientParams>();
    cp->identity = kIdentity;
    cp->psk = Psk(1);
    auto sp = std::make_shared<TlsServerParams>();
    sp->mode = TlsMode::kRequired;
    sp->find_psk = [](std::string_view) -> Result<TlsPsk> { return Psk(1); };
    client_ = tcp::MakeClientStream(Fd(a[0]), cp);
    server_ = tcp::MakeServerStream(Fd(b[0]), sp);
  }

  // Moves up to `chunk` bytes each way between the two wires; the bytes
  // moved.
  size_t Carry(size_t chunk) {
    return Move(client_wire_.get(), server_wire_.get(), chunk) +
           Move(server_wire_.get(), client_wire_.get(), chunk);
  }

  // Reads from `s` as a loop would, in reads of at most `piece` bytes.
  static void Drain(tcp::ByteStream& s, std::vector<uint8_t>& got,
                    size_t piece) {
    for (int guard = 0; guard < 1000000; ++guard) {
      pollfd p{s.fd(), POLLIN, 0};
      if (!s.HasBufferedInput() && poll(&p, 1, 0) != 1) return;
      uint8_t buf[20000];
      iovec iov[2] = {{buf, piece / 2}, {buf + piece / 2, piece - piece / 2}};
      const ssize_t n = s.Read(iov, 2);
      if (n <= 0) {
        if (n < 0 && errno == EAGAIN && !s.HasBufferedInput()) return;
        if (n < 0 && errno == EAGAIN) continue;
        return;  // the end, or an error: the caller's check finds it
      }
      got.insert(got.end(), buf, buf + n);
    }
  }

  // Sends what the stream takes of `data` from `*off`, then flushes
  // what it holds.
  static void Push(tcp::ByteStream& s, const std::vector<uint8_t>& data,
                   size_t* off, size_t piece) {
    std::vector<iovec> iov;
    for (size_t o = *off; o < data.size() && iov.size() < 8; o += piece) {
      iov.push_back({const_cast<uint8_t*>(data.data()) + o,
                     std::min(piece, data.size() - o)});
    }
    const ssize_t n = s.Write(iov.data(), iov.size());
    if (n > 0) *off += static_cast<size_t>(n);
    while (s.HasPendingOutput() && s.Write(nullptr, 0) >= 0) {
    }
  }

  tcp::ByteStream& client() { return *client_; }
  tcp::ByteStream& server() { return *server_; }

 private:
  static size_t Move(int from, int to, size_t chunk) {
    uint8_t buf[65536];
    size_t moved = 0;
    for (;;) {
      const ssize_t n = recv(from, buf, std::min(chunk, sizeof(buf)), MSG_PEEK);
      if (n <= 0) return moved;
      const ssize_t w = send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
      if (w <= 0) return moved;
      EXPECT_EQ(recv(from, buf, static_cast<size_t>(w), 0), w);
      moved += static_cast<size_t>(w);
      if (chunk < sizeof(buf)) return moved;  // one chunk per call
    }
  }

  Fd client_wire_, server_wire_;
  std::unique_ptr<tcp::ByteStream> client_, server_;
};

TEST(TlsStreamTest, RecordsSplitAndMergedAtEveryOffset) {
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{100},
                       size_t{16389}, size_t{65536}}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    TlsRelay r;
    std::vector<uint8_t> up(chunk == 1 ? 40000 : 300000), down(70000);
    for (size_t i = 0; i < up.size(); ++i)
      up[i] = static_cast<uint8_t>(i * 31 + 3);
    for (size_t i = 0; i < down.size(); ++i)
      down[i] = static_cast<uint8_t>(i * 17 + 5);
    std::vector<uint8_t> got_up, got_down;
    size_t up_off = 0, down_off = 0;
    for (int turn = 0; turn < 2000000; ++turn) {
      // Mixed shapes: small pieces from the client, large from the server
      // once it is open (it cannot write before the handshake is done).
      TlsRelay::Push(r.client(), up, &up_off, 24 + turn % 4096);
      if (!r.server().tls_identity().empty()) {
        TlsRelay::Push(r.server(), down, &down_off, 8192 + turn % 9000);
      }
      const size_t moved = r.Carry(chunk);
      TlsRelay::Drain(r.server(), got_up, 1 + turn % 17000);
      TlsRelay::Drain(r.client(), got_down, 4096);
      if (got_up.size() == up.size() && got_down.size() == down.size()) break;
      if (moved == 0 && up_off == up.size() && down_off == down.size() &&
          !r.client().HasPendingOutput() && !r.server().HasPendingOutput() &&
          r.Carry(chunk) == 0) {
        break;  // nothing moves any more
      }
    }
    EXPECT_EQ(r.server().tls_identity(), kIdentity);
    ASSERT_EQ(got_up.size(), up.size());
    EXPECT_TRUE(got_up == up);
    ASSERT_EQ(got_down.size(), down.size());
    EXPECT_TRUE(got_down == down);
  }
}

}  // namespace
}  // namespace nvmeof
