// What the wire tests share: RawPeer, a socket that plays the other side
// and writes PDUs by hand, and TcpWireTest, the controller side under
// test with helpers to drive it (tcp_controller_wire_test.cc).

#ifndef NVMEOF_TCP_TCP_WIRE_TEST_UTIL_H_
#define NVMEOF_TCP_TCP_WIRE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "io/socket.h"
#include "nvmeof/proto/tcp_pdu.h"
#include "nvmeof/tcp.h"
#include "nvmeof/transport.h"

namespace nvmeof::tcp::wire_test {

constexpr auto kWait = std::chrono::seconds(10);

// A blocking-send, polling-receive socket that plays the other side.
class RawPeer {
 public:
  explicit RawPeer(Fd fd) : fd_(std::move(fd)) {}
  static Result<RawPeer> Connect(const TransportAddress& a) {
    NVMEOF_ASSIGN_OR_RETURN(
        SocketAddress addr,
        SocketAddress::Parse(a.traddr, std::stoi(a.trsvcid)));
    Fd fd(socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;  // small writes go out at once, as a real host's do
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd.get(), addr.sockaddr_ptr(), addr.length()) != 0) {
      return ErrnoError(errno, "connect");
    }
    return RawPeer(std::move(fd));
  }
  void Send(const void* p, size_t n) {
    ASSERT_EQ(send(fd_.get(), p, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
  }
  template <typename T>
  void SendPdu(const T& pdu) {
    Send(&pdu, sizeof(pdu));
  }
  // Reads what is there without blocking.
  void Poll() {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        rx_.insert(rx_.end(), buf, buf + n);
        continue;
      }
      // The end, or a reset: either way nothing more will come.
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) eof_ = true;
      return;
    }
  }
  std::vector<uint8_t>& rx() { return rx_; }
  bool eof() const { return eof_; }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
  std::vector<uint8_t> rx_;
  bool eof_ = false;
};

class TcpWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    loop_ = std::move(EventLoop::Create()).value();
    transport_ = TransportRegistry::Global().Find(TransportType::kTcp);
    ControllerQueuePairParams p;
    p.max_h2c_data = 8192;
    p.max_io_icd = 8192;
    p.ic_timeout = std::chrono::milliseconds(50);
    p.max_c2h_data = 8192;
    auto l = transport_->Listen(
        *loop_, {TransportType::kTcp, "127.0.0.1", "0"}, p,
        [this](std::unique_ptr<QueuePair> qp) {
          QueuePair* raw = qp.get();
          qps_.push_back(std::move(qp));
          raw->SetConnected(1, false);
          raw->SetCallbacks(
              {[this](Status s) { errors_.push_back(s); },
               [this, raw](CapsulePtr c) { OnCommand(raw, std::move(c)); }});
        });
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    listener_ = std::move(l).value();
  }

  void TearDown() override {
    held_.clear();
    int pending = 0;
    for (auto& qp : qps_) {
      ++pending;
      qp->Close([&] { --pending; });
    }
    EXPECT_TRUE(loop_->RunUntil([&] { return pending == 0; }, kWait));
    for (auto& qp : qps_) EXPECT_EQ(qp->capsules_in_use(), 0u);
    qps_.clear();
    listener_.reset();
  }

  // The controller: validate, pull write data (opcode 1) into a buffer,
  // answer with the Validate status.
  void OnCommand(QueuePair* qp, CapsulePtr c) {
    NvmeStatus v = c->Validate();
    statuses_.push_back(v);
    if (v.ok() && c->sqe().opcode == 0x02 && c->data_length() > 0) {
      source_.resize(c->data_length());
      for (size_t i = 0; i < source_.size(); ++i)
        source_[i] = static_cast<uint8_t>(i * 7);
      SendDataResult r = c->SendData(0, MemDesc(source_.data(), source_.size()),
                                     true, nullptr);
      if (r.outcome != SendDataOutcome::kCompleted) Respond(qp, *c, r.status);
      return;
    }
    if (v.ok() && c->sqe().opcode == 0x01 && c->has_in_capsule_data() &&
        icd_mode_ != IcdMode::kIgnore) {
      TakeIcd(qp, std::move(c));
      return;
    }
    if (!v.ok() || c->sqe().opcode != 0x01 || c->has_in_capsule_data()) {
      Respond(qp, *c, v);
      return;
    }
    Capsule* cmd = c.get();
    held_.push_back(std::move(c));
    sink_.resize(cmd->data_length());
    cmd->ReceiveData(
        0, MemDesc(sink_.data(), sink_.size()), [=, this](Status s) {
          piece_statuses_.push_back(s);
          Respond(qp, *cmd,
                  s.ok() ? kNvmeSuccess
                         : GenericStatus(sc::kTransientTransportError));
          for (auto it = held_.begin(); it != held_.end(); ++it) {
            if (it->get() == cmd) {
              held_.erase(it);
              break;
            }
          }
        });
  }
  // In-capsule data into icd_sinks_[cid]: during delivery, or on a later
  // turn (when the transport must have kept it).
  void TakeIcd(QueuePair* qp, CapsulePtr c) {
    Capsule* cmd = c.get();
    held_.push_back(std::move(c));
    auto fetch = [=, this] {
      std::vector<uint8_t>& sink = icd_sinks_[cmd->sqe().cid];
      sink.assign(cmd->data_length(), 0);
      cmd->ReceiveData(
          0, MemDesc(sink.data(), sink.size()), [=, this](Status s) {
            piece_statuses_.push_back(s);
            Respond(qp, *cmd, kNvmeSuccess);
            std::erase_if(
                held_, [cmd](const CapsulePtr& h) { return h.get() == cmd; });
          });
    };
    if (icd_mode_ == IcdMode::kDuringDelivery) {
      fetch();
    } else {
      loop_->Defer(fetch);
    }
  }

  void Respond(QueuePair* qp, const Capsule& cmd, NvmeStatus st) {
    Cqe cqe{};
    cqe.cid = cmd.sqe().cid;
    cqe.status = st.ToCqeStatus();
    CapsulePtr r = qp->AllocateResponse(cqe);
    Status s = qp->Transmit(*r);
    (void)s;
  }

  // A raw host that has done the IC exchange (digests as asked).
  RawPeer ConnectedPeer(bool hdgst = false, bool ddgst = false) {
    auto peer = RawPeer::Connect(listener_->address());
    EXPECT_TRUE(peer.ok());
    RawPeer p = std::move(peer).value();
    p.SendPdu(MakeICReq(0, hdgst, ddgst, 0));
    WaitBytes(p, sizeof(ICRespPdu));
    ICRespPdu resp;
    std::memcpy(&resp, p.rx().data(), sizeof(resp));
    EXPECT_EQ(resp.ch.type, PduType::kICResp);
    EXPECT_EQ(resp.dgst,
              (hdgst ? kDgstHdgstEnable : 0) | (ddgst ? kDgstDdgstEnable : 0));
    EXPECT_EQ(resp.cpda, 0);
    EXPECT_EQ(resp.maxh2cdata, 8192u);
    p.rx().erase(p.rx().begin(), p.rx().begin() + sizeof(resp));
    fmt_ = PduFormat{hdgst, ddgst, 0};
    return p;
  }

  void WaitBytes(RawPeer& p, size_t n) {
    ASSERT_TRUE(loop_->RunUntil(
        [&] {
          p.Poll();
          return p.rx().size() >= n || p.eof();
        },
        kWait));
    ASSERT_GE(p.rx().size(), n);
  }

  // Waits for a C2HTermReq at the start of what the peer has received and
  // for the connection to close; checks FES and FEI.
  void ExpectTermReq(RawPeer& p, Fes fes, uint32_t fei) {
    ASSERT_TRUE(loop_->RunUntil(
        [&] {
          p.Poll();
          return p.eof();
        },
        kWait))
        << "connection not closed";
    ASSERT_GE(p.rx().size(), sizeof(TermReqHeader)) << "no TermReq";
    TermReqHeader t;
    std::memcpy(&t, p.rx().data(), sizeof(t));
    EXPECT_EQ(t.ch.type, PduType::kC2HTermReq);
    EXPECT_EQ(t.fes, static_cast<uint16_t>(fes))
        << FesName(static_cast<Fes>(t.fes));
    EXPECT_EQ(t.fei(), fei);
    EXPECT_EQ(p.rx().size(), t.ch.plen)
        << "TermReq PLEN covers the header copy";
    EXPECT_GT(t.ch.plen, sizeof(TermReqHeader)) << "offending header included";
    ExpectStillServing();
  }

  // The listener still accepts and a new connection works end to end.
  void ExpectStillServing() {
    RawPeer p = ConnectedPeer();
    Sqe sqe{};
    sqe.opcode = 0x00;
    sqe.cid = 77;
    sqe.flags = kSqeFlagsPsdtSgl;
    sqe.sgl1.type = kSglTransportType;
    p.SendPdu(MakeCapsuleCmd(sqe, fmt_, 0));
    WaitBytes(p, sizeof(CapsuleRespHeader));
    CapsuleRespHeader r;
    std::memcpy(&r, p.rx().data(), sizeof(r));
    EXPECT_EQ(r.ch.type, PduType::kCapsuleResp);
    EXPECT_EQ(r.rccqe.cid, 77);
  }

  // A write of `len` bytes with the data to come by R2T; returns the R2T.
  R2THeader WriteAwaitingR2T(RawPeer& p, uint16_t cid, uint32_t len) {
    Sqe sqe{};
    sqe.opcode = 0x01;
    sqe.cid = cid;
    sqe.flags = kSqeFlagsPsdtSgl;
    sqe.sgl1.type = kSglTransportType;
    sqe.sgl1.length = len;
    CapsuleCmdHeader h = MakeCapsuleCmd(sqe, fmt_, 0);
    SendWithDigest(p, &h, sizeof(h));
    const size_t r2t_len = sizeof(R2THeader) + (fmt_.hdgst ? 4 : 0);
    WaitBytes(p, r2t_len);
    R2THeader r2t;
    std::memcpy(&r2t, p.rx().data(), sizeof(r2t));
    EXPECT_EQ(r2t.ch.type, PduType::kR2T);
    EXPECT_EQ(r2t.cccid, cid);
    EXPECT_EQ(r2t.r2to, 0u);
    EXPECT_EQ(r2t.r2tl, len);
    p.rx().erase(p.rx().begin(), p.rx().begin() + r2t_len);
    return r2t;
  }

  // Sends a header with its header digest when the format has one.
  void SendWithDigest(RawPeer& p, const void* hdr, size_t hlen) {
    p.Send(hdr, hlen);
    if (fmt_.hdgst) {
      uint32_t d = HeaderDigest(hdr, hlen);
      p.Send(&d, 4);
    }
  }

  std::unique_ptr<EventLoop> loop_;
  Transport* transport_ = nullptr;
  std::unique_ptr<Listener> listener_;
  std::vector<std::unique_ptr<QueuePair>> qps_;
  std::vector<CapsulePtr> held_;
  std::vector<Status> errors_;
  std::vector<NvmeStatus> statuses_;
  std::vector<Status> piece_statuses_;
  std::vector<uint8_t> sink_;
  std::vector<uint8_t> source_;  // what reads return
  enum class IcdMode { kIgnore, kDuringDelivery, kLater };
  IcdMode icd_mode_ = IcdMode::kIgnore;
  std::map<uint16_t, std::vector<uint8_t>> icd_sinks_;
  PduFormat fmt_;
};


}  // namespace nvmeof::tcp::wire_test

#endif  // NVMEOF_TCP_TCP_WIRE_TEST_UTIL_H_
