// The whole target (TargetImpl on 127.0.0.1) against a hostile raw-socket
// peer: every fatal PDU error after the ICReq handshake gets its C2HTermReq
// (FES, FEI, the offending header) before the connection closes, a peer
// that never sends Connect, or never enables its controller, is dropped,
// and the target keeps serving.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "controller/command_test_util.h"
#include "controller/target_impl.h"
#include "io/socket.h"
#include "nvmeof/log.h"
#include "nvmeof/proto/fabrics.h"
#include "nvmeof/proto/tcp_pdu.h"
#include "nvmeof/tcp.h"

namespace nvmeof::controller {
namespace {

using namespace nvmeof::tcp;  // NOLINT(google-build-using-namespace): PDUs

constexpr char kNqn[] = "nqn.2024-01.io.nvmeof.test:hostile";
constexpr char kHostNqn[] = "nqn.2024-01.io.nvmeof.test:host";
// Only a hang exceeds it.
constexpr int kGenerousMs = 10000;

// A blocking client that writes PDUs by hand and reads everything until the
// target closes.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    auto addr = SocketAddress::Parse("127.0.0.1", port);
    fd_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ok_ = connect(fd_.get(), addr->sockaddr_ptr(), addr->length()) == 0;
  }
  bool ok() const { return ok_; }
  void Send(const void* p, size_t n) {
    ASSERT_EQ(send(fd_.get(), p, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
  }
  template <typename T>
  void SendPdu(const T& pdu) {
    Send(&pdu, sizeof(pdu));
  }
  // Reads until `n` bytes are in or the target closes.
  void ReadAtLeast(size_t n) {
    while (rx_.size() < n && !eof_) ReadSome();
  }
  // Reads until the target closes (a FIN or a reset).
  void ReadToEnd() {
    while (!eof_) ReadSome();
  }
  std::vector<uint8_t>& rx() { return rx_; }
  bool eof() const { return eof_; }
  bool reset() const { return reset_; }

  // ICReq, then the ICResp (taken off rx).
  void Handshake() {
    SendPdu(MakeICReq(0, false, false, 0));
    ReadAtLeast(sizeof(ICRespPdu));
    ASSERT_GE(rx_.size(), sizeof(ICRespPdu)) << "no ICResp";
    EXPECT_EQ(rx_[0], static_cast<uint8_t>(PduType::kICResp));
    rx_.erase(rx_.begin(), rx_.begin() + sizeof(ICRespPdu));
  }

 private:
  void ReadSome() {
    pollfd p{fd_.get(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, kGenerousMs), 1) << "the target went silent";
    uint8_t buf[4096];
    ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      rx_.insert(rx_.end(), buf, buf + n);
      return;
    }
    eof_ = true;
    reset_ = n < 0;
  }

  Fd fd_;
  bool ok_ = false;
  std::vector<uint8_t> rx_;
  bool eof_ = false;
  bool reset_ = false;
};

class HostileTest : public ::testing::Test {
 protected:
  virtual void Configure(ListenParams& params) { (void)params; }
  void SetUp() override {
    RegisterTcpTransport();
    auto s = std::make_unique<Subsystem>(kNqn, SubsystemType::kNvm);
    s->AddNamespace(test_util::RamNamespace(1, 512, 1 << 20));
    ASSERT_TRUE(target_.AddSubsystem(std::move(s)).ok());
    ListenParams params;
    params.connect_timeout = std::chrono::milliseconds(300);
    params.enable_timeout = std::chrono::milliseconds(300);
    Configure(params);
    ASSERT_TRUE(target_
                    .AddPort(1, TransportType::kTcp, "127.0.0.1", "0", {},
                             params)
                    .ok());
    ASSERT_TRUE(target_.Start(1).ok());
    port_ = static_cast<uint16_t>(
        std::stoi(target_.listen_addresses()[0].trsvcid));
  }
  void TearDown() override { target_.Stop(); }

  // Sends `bad` after the handshake and checks the termination: a
  // C2HTermReq with `fes` and `fei` holding the offending header, then the
  // close, with nothing else.
  void ExpectTermReqFor(const std::vector<uint8_t>& bad, Fes fes,
                        uint32_t fei) {
    RawClient c(port_);
    ASSERT_TRUE(c.ok());
    c.Handshake();
    c.Send(bad.data(), bad.size());
    c.ReadToEnd();
    ASSERT_GE(c.rx().size(), sizeof(TermReqHeader))
        << "closed with no C2HTermReq";
    TermReqHeader t;
    std::memcpy(&t, c.rx().data(), sizeof(t));
    EXPECT_EQ(t.ch.type, PduType::kC2HTermReq);
    EXPECT_EQ(t.fes, static_cast<uint16_t>(fes))
        << FesName(static_cast<Fes>(t.fes));
    EXPECT_EQ(t.fei(), fei);
    EXPECT_EQ(c.rx().size(), t.ch.plen) << "nothing after the TermReq";
    const size_t copied = t.ch.plen - sizeof(TermReqHeader);
    ASSERT_GT(copied, 0u) << "the offending header is not included";
    EXPECT_EQ(std::memcmp(c.rx().data() + sizeof(TermReqHeader), bad.data(),
                          std::min(copied, bad.size())),
              0);
    EXPECT_FALSE(c.reset()) << "a reset can destroy the TermReq";
    ExpectStillServing();
  }

  void ExpectStillServing() {
    RawClient c(port_);
    ASSERT_TRUE(c.ok());
    c.Handshake();
  }

  template <typename T>
  static std::vector<uint8_t> Bytes(const T& pdu) {
    std::vector<uint8_t> b(sizeof(pdu));
    std::memcpy(b.data(), &pdu, sizeof(pdu));
    return b;
  }

  TargetImpl target_;
  uint16_t port_ = 0;
};

TEST_F(HostileTest, BadPduTypeAfterTheHandshake) {
  std::vector<uint8_t> pdu(24, 0);
  CommonHeader ch{static_cast<PduType>(0x0A), 0, 24, 0, 24};
  std::memcpy(pdu.data(), &ch, sizeof(ch));
  ExpectTermReqFor(pdu, Fes::kInvalidHeaderField, 0);
}

TEST_F(HostileTest, BadHlenAfterTheHandshake) {
  CapsuleCmdHeader h = MakeCapsuleCmd(Sqe{}, PduFormat{}, 0);
  h.ch.hlen = 10;
  ExpectTermReqFor(Bytes(h), Fes::kInvalidHeaderField, 2);
}

TEST_F(HostileTest, HugePlenAfterTheHandshake) {
  CapsuleCmdHeader h = MakeCapsuleCmd(Sqe{}, PduFormat{}, 0);
  h.ch.pdo = 72;
  h.ch.plen = 0xFFFFFFF0u;
  ExpectTermReqFor(Bytes(h), Fes::kDataTransferLimitExceeded, 0);
}

TEST_F(HostileTest, UnsolicitedH2CData) {
  const H2CDataHeader h = MakeH2CData(1, 0, 0, 512, true, PduFormat{});
  std::vector<uint8_t> pdu(sizeof(h) + 512, 0xEE);
  std::memcpy(pdu.data(), &h, sizeof(h));
  ExpectTermReqFor(pdu, Fes::kInvalidHeaderField, 10);
}

TEST_F(HostileTest, ASecondICReq) {
  ExpectTermReqFor(Bytes(MakeICReq(0, false, false, 0)),
                   Fes::kPduSequenceError, 0);
}

TEST_F(HostileTest, RandomBytesAfterTheHandshakeAlwaysGetATermReq) {
  std::mt19937 rng(12);
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    std::vector<uint8_t> junk(200);
    for (uint8_t& b : junk) b = static_cast<uint8_t>(rng());
    // Not an H2CTermReq (which is answered by closing) nor a type that a
    // correct peer sends with a valid header by chance.
    if (junk[0] == 0x02) junk[0] = 0x0B;
    RawClient c(port_);
    ASSERT_TRUE(c.ok());
    c.Handshake();
    c.Send(junk.data(), junk.size());
    c.ReadToEnd();
    ASSERT_GE(c.rx().size(), sizeof(TermReqHeader)) << "a bare FIN";
    EXPECT_EQ(c.rx()[0], static_cast<uint8_t>(PduType::kC2HTermReq));
  }
  ExpectStillServing();
}

TEST_F(HostileTest, AnH2CTermReqIsAnsweredByClosing) {
  RawClient c(port_);
  ASSERT_TRUE(c.ok());
  c.Handshake();
  c.SendPdu(MakeTermReq(false, Fes::kPduSequenceError, 0, {}));
  c.ReadToEnd();
  EXPECT_TRUE(c.rx().empty()) << "no TermReq answers a TermReq";
  ExpectStillServing();
}

TEST_F(HostileTest, NoConnectAfterTheHandshakeIsDropped) {
  RawClient c(port_);
  ASSERT_TRUE(c.ok());
  c.Handshake();
  c.ReadToEnd();  // the connect timeout (300 ms here) ends it
  EXPECT_TRUE(c.eof());
  ExpectStillServing();
}

TEST_F(HostileTest, AnAdminQueueNeverEnabledIsDropped) {
  RawClient c(port_);
  ASSERT_TRUE(c.ok());
  c.Handshake();
  ConnectCommand cmd;
  cmd.sqsize = 31;
  cmd.kato = 60000;  // its keep-alive would hold it for a minute
  Sqe sqe = BuildConnectSqe(cmd);
  sqe.flags = kSqeFlagsPsdtSgl;
  sqe.sgl1.type = kSglIcdType;
  sqe.sgl1.length = sizeof(ConnectData);
  const std::array<uint8_t, 16> hostid{1};
  auto data = BuildConnectData(hostid, kCntlidDynamic, kNqn, kHostNqn);
  ASSERT_TRUE(data.ok());
  const CapsuleCmdHeader h =
      MakeCapsuleCmd(sqe, PduFormat{}, sizeof(ConnectData));
  std::vector<uint8_t> pdu(sizeof(h) + sizeof(ConnectData));
  std::memcpy(pdu.data(), &h, sizeof(h));
  std::memcpy(pdu.data() + sizeof(h), &*data, sizeof(ConnectData));
  c.Send(pdu.data(), pdu.size());
  c.ReadAtLeast(sizeof(CapsuleRespHeader));
  ASSERT_GE(c.rx().size(), sizeof(CapsuleRespHeader));
  CapsuleRespHeader r;
  std::memcpy(&r, c.rx().data(), sizeof(r));
  ASSERT_TRUE(NvmeStatus::FromCqeStatus(r.rccqe.status).ok());
  // Then nothing: the enable timeout (300 ms here) ends the association.
  c.ReadToEnd();
  EXPECT_TRUE(c.eof());
  ExpectStillServing();
}

// Connection limits: one more than the port's is accepted and closed at
// once (no ICResp), and room comes back when one ends.
class ConnectionLimitTest : public HostileTest {
 protected:
  void Configure(ListenParams& params) override {
    params.transport.max_connections = 2;
  }
};

TEST_F(ConnectionLimitTest, OneMoreThanThePortsLimitIsClosed) {
  std::vector<std::string> logged;
  SetLogSink([&](LogSeverity, const std::string& line) {
    logged.push_back(line);
  });
  auto a = std::make_unique<RawClient>(port_);
  a->Handshake();
  RawClient b(port_);
  b.Handshake();
  RawClient c(port_);
  ASSERT_TRUE(c.ok());
  c.SendPdu(MakeICReq(0, false, false, 0));
  c.ReadToEnd();
  EXPECT_TRUE(c.rx().empty()) << "the third connection got an answer";
  SetLogSink(nullptr);
  bool said = false;
  for (const std::string& l : logged) {
    said = said || (l.find("refused: this port has its max_connections (2)") !=
                        std::string::npos &&
                    l.find("127.0.0.1:") != std::string::npos);
  }
  EXPECT_TRUE(said) << "no log line says why";
  // One ends: there is room again (awaited: the end is asynchronous).
  a.reset();
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    RawClient d(port_);
    d.SendPdu(MakeICReq(0, false, false, 0));
    d.ReadAtLeast(sizeof(ICRespPdu));
    served = d.rx().size() >= sizeof(ICRespPdu);
  }
  EXPECT_TRUE(served);
}

TEST(TargetConnectionLimitTest, TheTargetsLimitCoversEveryPort) {
  RegisterTcpTransport();
  TargetImpl target;
  auto s = std::make_unique<Subsystem>(kNqn, SubsystemType::kNvm);
  ASSERT_TRUE(target.AddSubsystem(std::move(s)).ok());
  ListenParams params;
  ASSERT_TRUE(
      target.AddPort(1, TransportType::kTcp, "127.0.0.1", "0", {}, params)
          .ok());
  ASSERT_TRUE(
      target.AddPort(2, TransportType::kTcp, "127.0.0.1", "0", {}, params)
          .ok());
  target.set_max_connections(1);
  ASSERT_TRUE(target.Start(1).ok());
  auto port = [&](int i) {
    return static_cast<uint16_t>(
        std::stoi(target.listen_addresses()[i].trsvcid));
  };
  RawClient a(port(0));
  a.Handshake();
  RawClient b(port(1));  // another port, the same budget
  b.SendPdu(MakeICReq(0, false, false, 0));
  b.ReadToEnd();
  EXPECT_TRUE(b.rx().empty());
  target.Stop();
}

}  // namespace
}  // namespace nvmeof::controller
