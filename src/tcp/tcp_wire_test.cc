// The TCP transport against a raw-socket peer that writes PDUs by hand:
// malformed input of every kind gets a TermReq with the expected FES and
// FEI and a closed connection, while the listener keeps serving; a data
// digest error fails one command only. Also the host side against a raw
// controller.

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

namespace nvmeof::tcp {
namespace {

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

TEST_F(TcpWireTest, BadPduType) {
  RawPeer p = ConnectedPeer();
  CommonHeader ch{static_cast<PduType>(0x0A), 0, 24, 0, 24};
  uint8_t pdu[24] = {};
  std::memcpy(pdu, &ch, sizeof(ch));
  p.Send(pdu, sizeof(pdu));
  ExpectTermReq(p, Fes::kInvalidHeaderField, 0);
  ASSERT_FALSE(errors_.empty());
  EXPECT_EQ(errors_[0].code(), StatusCode::kProtocolError);
}

TEST_F(TcpWireTest, BadHlen) {
  RawPeer p = ConnectedPeer();
  CapsuleCmdHeader h = MakeCapsuleCmd(Sqe{}, fmt_, 0);
  h.ch.hlen = 70;
  p.SendPdu(h);
  ExpectTermReq(p, Fes::kInvalidHeaderField, 2);
}

TEST_F(TcpWireTest, PdoMisaligned) {
  RawPeer p = ConnectedPeer();
  CapsuleCmdHeader h = MakeCapsuleCmd(Sqe{}, fmt_, 16);
  h.ch.pdo = 74;  // CPDA 0: data must start on a 4-byte boundary
  h.ch.plen = 74 + 16;
  p.SendPdu(h);
  ExpectTermReq(p, Fes::kInvalidHeaderField, 3);
}

TEST_F(TcpWireTest, PlenBelowHlen) {
  RawPeer p = ConnectedPeer();
  CapsuleCmdHeader h = MakeCapsuleCmd(Sqe{}, fmt_, 0);
  h.ch.plen = 60;
  p.SendPdu(h);
  ExpectTermReq(p, Fes::kInvalidHeaderField, 4);
}

TEST_F(TcpWireTest, HeaderDigestWrong) {
  RawPeer p = ConnectedPeer(/*hdgst=*/true);
  CapsuleCmdHeader h = MakeCapsuleCmd(Sqe{}, fmt_, 0);
  p.SendPdu(h);
  uint32_t bad = HeaderDigest(&h, sizeof(h)) ^ 1;
  p.Send(&bad, 4);
  ExpectTermReq(p, Fes::kHeaderDigestError, 0);
}

TEST_F(TcpWireTest, H2CDataWithUnknownTtag) {
  RawPeer p = ConnectedPeer();
  R2THeader r2t = WriteAwaitingR2T(p, 5, 4096);
  std::vector<uint8_t> data(4096, 0xAB);
  H2CDataHeader h =
      MakeH2CData(5, static_cast<uint16_t>(r2t.ttag + 1), 0, 4096, true, fmt_);
  p.SendPdu(h);
  p.Send(data.data(), data.size());
  ExpectTermReq(p, Fes::kInvalidHeaderField, 10);
}

TEST_F(TcpWireTest, H2CDataOutsideTheR2T) {
  RawPeer p = ConnectedPeer();
  R2THeader r2t = WriteAwaitingR2T(p, 6, 4096);
  std::vector<uint8_t> data(4096, 0xAB);
  H2CDataHeader h = MakeH2CData(6, r2t.ttag, 4096, 4096, true, fmt_);
  p.SendPdu(h);
  p.Send(data.data(), data.size());
  ExpectTermReq(p, Fes::kDataTransferOutOfRange, 0);
}

TEST_F(TcpWireTest, H2CDataOverMaxH2CData) {
  RawPeer p = ConnectedPeer();
  R2THeader r2t = WriteAwaitingR2T(p, 7, 16384);
  std::vector<uint8_t> data(12288, 0xAB);  // MAXH2CDATA is 8192
  H2CDataHeader h = MakeH2CData(7, r2t.ttag, 0, 12288, false, fmt_);
  p.SendPdu(h);
  p.Send(data.data(), data.size());
  ExpectTermReq(p, Fes::kDataTransferLimitExceeded, 0);
}

TEST_F(TcpWireTest, ICReqWithPfv1) {
  auto peer = RawPeer::Connect(listener_->address());
  ASSERT_TRUE(peer.ok());
  ICReqPdu req = MakeICReq(0, false, false, 0);
  req.pfv = 1;
  peer->SendPdu(req);
  ExpectTermReq(*peer, Fes::kUnsupportedParameter, 8);
}

TEST_F(TcpWireTest, CapsuleCmdBeforeICReq) {
  auto peer = RawPeer::Connect(listener_->address());
  ASSERT_TRUE(peer.ok());
  peer->SendPdu(MakeCapsuleCmd(Sqe{}, PduFormat{}, 0));
  ExpectTermReq(*peer, Fes::kPduSequenceError, 0);
}

TEST_F(TcpWireTest, DataDigestErrorFailsOneCommandOnly) {
  RawPeer p = ConnectedPeer(true, true);
  // In-capsule data with a wrong digest: that command gets 0x22.
  std::vector<uint8_t> data(512, 0x5A);
  Sqe sqe{};
  sqe.opcode = 0x01;
  sqe.cid = 1;
  sqe.flags = kSqeFlagsPsdtSgl;
  sqe.sgl1.type = kSglIcdType;
  sqe.sgl1.length = 512;
  CapsuleCmdHeader h = MakeCapsuleCmd(sqe, fmt_, 512);
  SendWithDigest(p, &h, sizeof(h));
  p.Send(data.data(), data.size());
  uint32_t bad = ComputeCrc32c(data.data(), data.size()) ^ 0xFF;
  p.Send(&bad, 4);
  const size_t rsp_len = sizeof(CapsuleRespHeader) + 4;
  WaitBytes(p, rsp_len);
  CapsuleRespHeader r;
  std::memcpy(&r, p.rx().data(), sizeof(r));
  ASSERT_EQ(r.ch.type, PduType::kCapsuleResp);
  EXPECT_EQ(r.rccqe.cid, 1);
  EXPECT_EQ(NvmeStatus::FromCqeStatus(r.rccqe.status).sc,
            sc::kTransientTransportError);
  p.rx().erase(p.rx().begin(), p.rx().begin() + rsp_len);

  // H2CData with a wrong digest: also just that command.
  R2THeader r2t = WriteAwaitingR2T(p, 2, 1024);
  std::vector<uint8_t> wdata(1024, 0x11);
  H2CDataHeader hd = MakeH2CData(2, r2t.ttag, 0, 1024, true, fmt_);
  SendWithDigest(p, &hd, sizeof(hd));
  p.Send(wdata.data(), wdata.size());
  bad = ComputeCrc32c(wdata.data(), wdata.size()) ^ 0xFF;
  p.Send(&bad, 4);
  WaitBytes(p, rsp_len);
  std::memcpy(&r, p.rx().data(), sizeof(r));
  EXPECT_EQ(r.rccqe.cid, 2);
  EXPECT_EQ(NvmeStatus::FromCqeStatus(r.rccqe.status).sc,
            sc::kTransientTransportError);
  ASSERT_EQ(piece_statuses_.size(), 1u);
  EXPECT_EQ(piece_statuses_[0].code(), StatusCode::kDataLoss);
  p.rx().erase(p.rx().begin(), p.rx().begin() + rsp_len);

  // The connection is still up: a good write goes through.
  r2t = WriteAwaitingR2T(p, 3, 1024);
  hd = MakeH2CData(3, r2t.ttag, 0, 1024, true, fmt_);
  SendWithDigest(p, &hd, sizeof(hd));
  p.Send(wdata.data(), wdata.size());
  uint32_t good = ComputeCrc32c(wdata.data(), wdata.size());
  p.Send(&good, 4);
  WaitBytes(p, rsp_len);
  std::memcpy(&r, p.rx().data(), sizeof(r));
  EXPECT_EQ(r.rccqe.cid, 3);
  EXPECT_TRUE(NvmeStatus::FromCqeStatus(r.rccqe.status).ok());
  EXPECT_EQ(sink_, wdata);
  EXPECT_FALSE(p.eof());
  EXPECT_TRUE(errors_.empty());
}

// In-capsule data that arrives with its header is handed over from the
// receive buffer while the command is delivered; an upper layer that takes
// it later must still get it, though the buffer has moved on.
TEST_F(TcpWireTest, InCapsuleDataTakenDuringOrAfterDelivery) {
  for (IcdMode mode : {IcdMode::kDuringDelivery, IcdMode::kLater}) {
    for (bool ddgst : {false, true}) {
      SCOPED_TRACE(testing::Message() << "later " << (mode == IcdMode::kLater)
                                      << " ddgst " << ddgst);
      icd_mode_ = mode;
      icd_sinks_.clear();
      piece_statuses_.clear();
      RawPeer p = ConnectedPeer(false, ddgst);
      // Eight writes in one send: most arrive whole in one recv.
      std::vector<uint8_t> wire;
      std::map<uint16_t, std::vector<uint8_t>> sent;
      for (uint16_t cid = 1; cid <= 8; ++cid) {
        std::vector<uint8_t> data(cid % 2 ? 4096 : 512);
        for (size_t i = 0; i < data.size(); ++i)
          data[i] = static_cast<uint8_t>(cid * 31 + i * 7);
        Sqe sqe{};
        sqe.opcode = 0x01;
        sqe.cid = cid;
        sqe.flags = kSqeFlagsPsdtSgl;
        sqe.sgl1.type = kSglIcdType;
        sqe.sgl1.length = static_cast<uint32_t>(data.size());
        CapsuleCmdHeader h =
            MakeCapsuleCmd(sqe, fmt_, static_cast<uint32_t>(data.size()));
        const auto* hb = reinterpret_cast<const uint8_t*>(&h);
        wire.insert(wire.end(), hb, hb + sizeof(h));
        wire.insert(wire.end(), data.begin(), data.end());
        if (ddgst) {
          uint32_t d = ComputeCrc32c(data.data(), data.size());
          const auto* db = reinterpret_cast<const uint8_t*>(&d);
          wire.insert(wire.end(), db, db + 4);
        }
        sent[cid] = std::move(data);
      }
      p.Send(wire.data(), wire.size());
      WaitBytes(p, 8 * sizeof(CapsuleRespHeader));
      for (int i = 0; i < 8; ++i) {
        CapsuleRespHeader r;
        std::memcpy(&r, p.rx().data() + i * sizeof(r), sizeof(r));
        EXPECT_TRUE(NvmeStatus::FromCqeStatus(r.rccqe.status).ok());
      }
      ASSERT_EQ(piece_statuses_.size(), 8u);
      for (const Status& s : piece_statuses_) EXPECT_TRUE(s.ok());
      EXPECT_EQ(icd_sinks_, sent);
    }
  }
  icd_mode_ = IcdMode::kIgnore;
}

TEST_F(TcpWireTest, PeerThatLeavesBeforeICReqIsDropped) {
  // A peer that connects and closes without a word is dropped, and the
  // listener goes on.
  {
    auto peer = RawPeer::Connect(listener_->address());
    ASSERT_TRUE(peer.ok());
  }
  ExpectStillServing();
  EXPECT_TRUE(qps_.size() == 1u);  // only the serving check's connection
}

// Found by tcp_controller_fuzz: a peer that leaves in the middle of a
// command's in-capsule data must not leak the capsule the header took.
TEST_F(TcpWireTest, PeerLeavingMidInCapsuleDataLeaksNothing) {
  {
    RawPeer p = ConnectedPeer();
    Sqe sqe{};
    sqe.opcode = 0x01;
    sqe.cid = 2;
    sqe.flags = kSqeFlagsPsdtSgl;
    sqe.sgl1.type = kSglIcdType;
    sqe.sgl1.length = 1024;
    p.SendPdu(MakeCapsuleCmd(sqe, fmt_, 1024));
    std::vector<uint8_t> part(100, 7);
    p.Send(part.data(), part.size());
  }  // closed with 924 bytes of data missing
  ASSERT_TRUE(loop_->RunUntil([&] { return !errors_.empty(); }, kWait));
  EXPECT_EQ(errors_[0].code(), StatusCode::kUnavailable)
      << errors_[0].ToString();
  // TearDown closes the queue pair and checks the pool is whole.
}

TEST_F(TcpWireTest, SilentPeerIsDroppedAfterTheICTimeout) {
  auto peer = RawPeer::Connect(listener_->address());
  ASSERT_TRUE(peer.ok());
  // Says nothing: the controller closes the connection (no TermReq: there
  // is no PDU to complain about) and serves the next one.
  ASSERT_TRUE(loop_->RunUntil(
      [&] {
        peer->Poll();
        return peer->eof();
      },
      kWait));
  EXPECT_TRUE(peer->rx().empty());
  EXPECT_TRUE(qps_.empty());
  ExpectStillServing();
}

// Reads split into C2HData PDUs of at most max_c2h_data, in order,
// LAST_PDU only on the last, then a response (SQ flow control on).
TEST_F(TcpWireTest, ReadIsSplitIntoC2HDataPdus) {
  for (bool digests : {false, true}) {
    RawPeer p = ConnectedPeer(digests, digests);
    Sqe sqe{};
    sqe.opcode = 0x02;
    sqe.cid = 9;
    sqe.flags = kSqeFlagsPsdtSgl;
    sqe.sgl1.type = kSglTransportType;
    sqe.sgl1.length = 20000;
    CapsuleCmdHeader h = MakeCapsuleCmd(sqe, fmt_, 0);
    SendWithDigest(p, &h, sizeof(h));
    const uint32_t dg = digests ? 4 : 0;
    const size_t total =
        3 * (24 + dg + dg) + 20000 + sizeof(CapsuleRespHeader) + dg;
    WaitBytes(p, total);
    size_t at = 0;
    uint32_t expect_off = 0;
    for (uint32_t len : {8192u, 8192u, 3616u}) {
      C2HDataHeader c;
      std::memcpy(&c, p.rx().data() + at, sizeof(c));
      EXPECT_EQ(c.ch.type, PduType::kC2HData);
      EXPECT_EQ(c.cccid, 9);
      EXPECT_EQ(c.datao, expect_off);
      EXPECT_EQ(c.datal, len);
      EXPECT_EQ((c.ch.flags & kPduFlagLastPdu) != 0, len == 3616u);
      EXPECT_EQ(c.ch.flags & kPduFlagSuccess, 0);
      EXPECT_EQ((c.ch.flags & kPduFlagHdgst) != 0, digests);
      EXPECT_EQ((c.ch.flags & kPduFlagDdgst) != 0, digests);
      if (digests) {
        uint32_t hd, dd;
        std::memcpy(&hd, p.rx().data() + at + 24, 4);
        EXPECT_EQ(hd, HeaderDigest(p.rx().data() + at, 24));
        std::memcpy(&dd, p.rx().data() + at + 28 + len, 4);
        EXPECT_EQ(dd, ComputeCrc32c(p.rx().data() + at + 28, len));
      }
      const uint8_t* payload = p.rx().data() + at + 24 + dg;
      EXPECT_TRUE(
          std::equal(payload, payload + len, source_.begin() + expect_off));
      at += c.ch.plen;
      expect_off += len;
    }
    CapsuleRespHeader r;
    std::memcpy(&r, p.rx().data() + at, sizeof(r));
    EXPECT_EQ(r.ch.type, PduType::kCapsuleResp);
    EXPECT_EQ(r.rccqe.cid, 9);
    EXPECT_EQ(at + r.ch.plen, total);
  }
}

// A host that allows several R2Ts (MAXR2T 3) is served all the same: one
// R2T per command at a time is within its limit.
TEST_F(TcpWireTest, HostWithMaxR2TAboveZero) {
  auto peer = RawPeer::Connect(listener_->address());
  ASSERT_TRUE(peer.ok());
  RawPeer& p = *peer;
  p.SendPdu(MakeICReq(0, false, false, 3));
  WaitBytes(p, sizeof(ICRespPdu));
  p.rx().clear();
  fmt_ = PduFormat{};
  R2THeader r2t = WriteAwaitingR2T(p, 4, 20000);
  std::vector<uint8_t> data(20000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  for (uint32_t off = 0; off < 20000; off += 8192) {
    uint32_t n = std::min<uint32_t>(8192, 20000 - off);
    p.SendPdu(MakeH2CData(4, r2t.ttag, off, n, off + n == 20000, fmt_));
    p.Send(data.data() + off, n);
  }
  WaitBytes(p, sizeof(CapsuleRespHeader));
  CapsuleRespHeader r;
  std::memcpy(&r, p.rx().data(), sizeof(r));
  EXPECT_EQ(r.rccqe.cid, 4);
  EXPECT_TRUE(NvmeStatus::FromCqeStatus(r.rccqe.status).ok());
  EXPECT_EQ(sink_, data);
}

// ---- the host side against a raw controller ----

class TcpHostWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    loop_ = std::move(EventLoop::Create()).value();
    auto addr = SocketAddress::Parse("127.0.0.1", 0);
    listen_fd_ = std::move(ListenTcp(*addr)).value();
    port_ = std::to_string(LocalAddress(listen_fd_.get())->Port());
  }

  // Starts a host connect and accepts it on the raw side.
  RawPeer StartConnect(HostQueuePairParams params = {}) {
    TransportRegistry::Global()
        .Find(TransportType::kTcp)
        ->Connect(
            *loop_, {TransportType::kTcp, "127.0.0.1", port_}, params,
            {[this](Status s) { errors_.push_back(s); }, [](CapsulePtr) {}},
            [this](Result<std::unique_ptr<QueuePair>> r) {
              connected_ = true;
              if (r.ok()) {
                qp_ = std::move(r).value();
              } else {
                connect_status_ = r.status();
              }
            });
    Fd accepted;
    EXPECT_TRUE(loop_->RunUntil(
        [&] {
          auto c = AcceptTcp(listen_fd_.get());
          if (c.ok() && c->valid()) accepted = std::move(c).value();
          return accepted.valid();
        },
        kWait));
    RawPeer p(std::move(accepted));
    EXPECT_TRUE(loop_->RunUntil(
        [&] {
          p.Poll();
          return p.rx().size() >= sizeof(ICReqPdu);
        },
        kWait));
    ICReqPdu req;
    std::memcpy(&req, p.rx().data(), sizeof(req));
    EXPECT_EQ(req.ch.type, PduType::kICReq);
    EXPECT_EQ(req.pfv, 0);
    EXPECT_EQ(req.hpda, 0);
    EXPECT_EQ(req.maxr2t, 0u);
    p.rx().clear();
    return p;
  }

  void TearDown() override {
    if (qp_) {
      bool closed = false;
      qp_->Close([&] { closed = true; });
      EXPECT_TRUE(loop_->RunUntil([&] { return closed; }, kWait));
    }
    // A connection that failed its setup deletes itself on a later turn.
    loop_->RunOnce(std::chrono::milliseconds(0));
  }

  std::unique_ptr<EventLoop> loop_;
  Fd listen_fd_;
  std::string port_;
  std::unique_ptr<QueuePair> qp_;
  bool connected_ = false;
  Status connect_status_;
  std::vector<Status> errors_;
};

TEST_F(TcpHostWireTest, ICRespWithSmallMaxH2CDataFailsTheConnect) {
  RawPeer p = StartConnect();
  ICRespPdu resp = MakeICResp(0, false, false, 8192);
  resp.maxh2cdata = 4095;
  p.SendPdu(resp);
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  EXPECT_EQ(connect_status_.code(), StatusCode::kProtocolError)
      << connect_status_.ToString();
  EXPECT_EQ(qp_, nullptr);
  // The H2CTermReq goes out, then the connection closes.
  ASSERT_TRUE(loop_->RunUntil(
      [&] {
        p.Poll();
        return p.eof();
      },
      kWait));
  ASSERT_GE(p.rx().size(), sizeof(TermReqHeader));
  TermReqHeader t;
  std::memcpy(&t, p.rx().data(), sizeof(t));
  EXPECT_EQ(t.ch.type, PduType::kH2CTermReq);
  EXPECT_EQ(t.fei(), 12u);  // MAXH2CDATA
}

TEST_F(TcpHostWireTest, ICRespGrantingUnaskedDigestFailsTheConnect) {
  RawPeer p = StartConnect();  // asks for no digest
  p.SendPdu(MakeICResp(0, true, false, 8192));
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  EXPECT_FALSE(connect_status_.ok());
  ASSERT_TRUE(loop_->RunUntil(
      [&] {
        p.Poll();
        return p.eof();
      },
      kWait));
  ASSERT_GE(p.rx().size(), sizeof(TermReqHeader));
  TermReqHeader t;
  std::memcpy(&t, p.rx().data(), sizeof(t));
  EXPECT_EQ(t.ch.type, PduType::kH2CTermReq);
  EXPECT_EQ(t.fei(), 11u);
}

TEST_F(TcpHostWireTest, C2HDataForUnknownCidIsFatal) {
  RawPeer p = StartConnect();
  p.SendPdu(MakeICResp(0, false, false, 8192));
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  ASSERT_NE(qp_, nullptr);
  std::vector<uint8_t> data(512, 1);
  p.SendPdu(MakeC2HData(42, 0, 512, C2HEnd::kLast, PduFormat{}));
  p.Send(data.data(), data.size());
  ASSERT_TRUE(loop_->RunUntil(
      [&] {
        p.Poll();
        return p.eof();
      },
      kWait));
  TermReqHeader t;
  ASSERT_GE(p.rx().size(), sizeof(t));
  std::memcpy(&t, p.rx().data(), sizeof(t));
  EXPECT_EQ(t.ch.type, PduType::kH2CTermReq);
  EXPECT_EQ(t.fes, static_cast<uint16_t>(Fes::kInvalidHeaderField));
  EXPECT_EQ(t.fei(), 8u);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0].code(), StatusCode::kProtocolError);
}

TEST_F(TcpHostWireTest, SilentControllerFailsTheConnectAtTheTimeout) {
  HostQueuePairParams params;
  params.connect_timeout = std::chrono::milliseconds(50);
  RawPeer p = StartConnect(params);  // never answers the ICReq
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  EXPECT_EQ(connect_status_.code(), StatusCode::kDeadlineExceeded)
      << connect_status_.ToString();
}

// The host answers an R2T with H2CData split at the controller's
// MAXH2CDATA, DATAO in order, LAST_PDU on the last only.
TEST_F(TcpHostWireTest, H2CDataSplitAtMaxH2CData) {
  HostQueuePairParams params;
  params.max_icd = 0;
  RawPeer p = StartConnect(params);
  p.SendPdu(MakeICResp(0, false, false, 8192));
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  ASSERT_NE(qp_, nullptr);
  std::vector<uint8_t> data(20000, 0x3C);
  Sqe sqe{};
  sqe.opcode = 0x01;
  sqe.cid = 12;
  CapsulePtr cmd = qp_->AllocateCommand(sqe);
  bool data_done = false;
  cmd->AppendData(MemDesc(data.data(), data.size()), true,
                  [&](Status s) { data_done = s.ok(); });
  ASSERT_TRUE(qp_->Transmit(*cmd).ok());
  ASSERT_TRUE(loop_->RunUntil(
      [&] {
        p.Poll();
        return p.rx().size() >= 72;
      },
      kWait));
  CapsuleCmdHeader c;
  std::memcpy(&c, p.rx().data(), sizeof(c));
  EXPECT_EQ(c.ccsqe.sgl1.type, kSglTransportType);
  EXPECT_EQ(c.ccsqe.sgl1.length, 20000u);
  EXPECT_EQ(c.ccsqe.flags & kSqeFlagsPsdtMask, kSqeFlagsPsdtSgl);
  p.rx().clear();
  p.SendPdu(MakeR2T(12, 33, 0, 20000, PduFormat{}));
  const size_t total = 3 * 24 + 20000;
  ASSERT_TRUE(loop_->RunUntil(
      [&] {
        p.Poll();
        return p.rx().size() >= total;
      },
      kWait));
  size_t at = 0;
  uint32_t off = 0;
  for (uint32_t len : {8192u, 8192u, 3616u}) {
    H2CDataHeader h;
    std::memcpy(&h, p.rx().data() + at, sizeof(h));
    EXPECT_EQ(h.ch.type, PduType::kH2CData);
    EXPECT_EQ(h.cccid, 12);
    EXPECT_EQ(h.ttag, 33);
    EXPECT_EQ(h.datao, off);
    EXPECT_EQ(h.datal, len);
    EXPECT_EQ((h.ch.flags & kPduFlagLastPdu) != 0, len == 3616u);
    at += h.ch.plen;
    off += len;
  }
  EXPECT_EQ(at, total);
  p.SendPdu(MakeCapsuleResp(Cqe{0, 0, 0, 0, 12, 0}, PduFormat{}));
  ASSERT_TRUE(loop_->RunUntil([&] { return data_done; }, kWait));
}

// A data digest error on C2HData fails that command only: its data
// callback reports kDataLoss, the connection stays up, the next command
// completes.
TEST_F(TcpHostWireTest, C2HDataDigestErrorFailsOneCommand) {
  HostQueuePairParams params;
  params.header_digest = params.data_digest = true;
  RawPeer p = StartConnect(params);
  p.SendPdu(MakeICResp(0, true, true, 8192));
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  ASSERT_NE(qp_, nullptr);
  const PduFormat fmt{true, true, 0};
  std::vector<uint8_t> buf(512), data(512, 0x77);
  for (uint16_t cid : {1, 2}) {
    Sqe sqe{};
    sqe.opcode = 0x02;
    sqe.cid = cid;
    CapsulePtr cmd = qp_->AllocateCommand(sqe);
    Status data_status = InternalError("not yet");
    bool data_done = false;
    cmd->AppendData(MemDesc(buf.data(), buf.size()), false, [&](Status s) {
      data_status = std::move(s);
      data_done = true;
    });
    ASSERT_TRUE(qp_->Transmit(*cmd).ok());
    C2HDataHeader h = MakeC2HData(cid, 0, 512, C2HEnd::kLast, fmt);
    p.SendPdu(h);
    uint32_t hd = HeaderDigest(&h, sizeof(h));
    p.Send(&hd, 4);
    p.Send(data.data(), data.size());
    uint32_t dd =
        ComputeCrc32c(data.data(), data.size()) ^ (cid == 1 ? 1u : 0u);
    p.Send(&dd, 4);
    CapsuleRespHeader rsp = MakeCapsuleResp(Cqe{0, 0, 0, 0, cid, 0}, fmt);
    p.SendPdu(rsp);
    hd = HeaderDigest(&rsp, sizeof(rsp));
    p.Send(&hd, 4);
    ASSERT_TRUE(loop_->RunUntil([&] { return data_done; }, kWait));
    if (cid == 1) {
      EXPECT_EQ(data_status.code(), StatusCode::kDataLoss)
          << data_status.ToString();
    } else {
      EXPECT_TRUE(data_status.ok()) << data_status.ToString();
      EXPECT_EQ(buf, data);
    }
  }
  EXPECT_TRUE(errors_.empty());
  p.Poll();
  EXPECT_FALSE(p.eof());
}

TEST_F(TcpHostWireTest, ReceivedTermReqIsReported) {
  RawPeer p = StartConnect();
  p.SendPdu(MakeICResp(0, false, false, 8192));
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  TermReqPdu t = MakeTermReq(true, Fes::kPduSequenceError, 0, {});
  p.Send(&t, t.size());
  ASSERT_TRUE(loop_->RunUntil([&] { return !errors_.empty(); }, kWait));
  EXPECT_EQ(errors_[0].code(), StatusCode::kProtocolError);
  EXPECT_NE(errors_[0].message().find("FES 2"), std::string::npos)
      << errors_[0].ToString();
}

}  // namespace
}  // namespace nvmeof::tcp
