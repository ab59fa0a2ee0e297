// The host side of the TCP transport against a raw-socket controller that
// writes PDUs by hand.

#include "tcp/tcp_wire_test_util.h"

namespace nvmeof::tcp {
namespace {

using wire_test::RawPeer;
using wire_test::kWait;

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

// A controller may move less than the buffer: SPDK answers an
// Authentication Receive of AL 4096 with just its message, in one
// C2HData with LAST_PDU (and SUCCESS). The data is done, the command
// completes, and nothing may follow the last PDU.
TEST_F(TcpHostWireTest, ShortLastC2HDataCompletesTheTransfer) {
  RawPeer p = StartConnect();
  p.SendPdu(MakeICResp(0, false, false, 8192));
  ASSERT_TRUE(loop_->RunUntil([&] { return connected_; }, kWait));
  ASSERT_NE(qp_, nullptr);
  const PduFormat fmt{false, false, 0};
  std::vector<uint8_t> buf(4096, 0), data(100, 0x5a);
  Sqe sqe{};
  sqe.opcode = 0x7F;
  sqe.cid = 7;
  CapsulePtr cmd = qp_->AllocateCommand(sqe);
  Status data_status = InternalError("not yet");
  bool data_done = false;
  cmd->AppendData(MemDesc(buf.data(), buf.size()), false, [&](Status s) {
    data_status = std::move(s);
    data_done = true;
  });
  ASSERT_TRUE(qp_->Transmit(*cmd).ok());
  C2HDataHeader h = MakeC2HData(7, 0, 100, C2HEnd::kLastWithSuccess, fmt);
  p.SendPdu(h);
  p.Send(data.data(), data.size());
  ASSERT_TRUE(loop_->RunUntil([&] { return data_done; }, kWait));
  EXPECT_TRUE(data_status.ok()) << data_status.ToString();
  EXPECT_TRUE(std::equal(data.begin(), data.end(), buf.begin()));
  EXPECT_EQ(buf[100], 0);
  EXPECT_TRUE(errors_.empty());

  // A second command: a C2HData after its LAST_PDU breaks the sequence.
  sqe.cid = 8;
  CapsulePtr cmd2 = qp_->AllocateCommand(sqe);
  bool done2 = false;
  cmd2->AppendData(MemDesc(buf.data(), buf.size()), false,
                   [&](Status) { done2 = true; });
  ASSERT_TRUE(qp_->Transmit(*cmd2).ok());
  h = MakeC2HData(8, 0, 100, C2HEnd::kLast, fmt);
  p.SendPdu(h);
  p.Send(data.data(), data.size());
  h = MakeC2HData(8, 100, 100, C2HEnd::kLast, fmt);
  p.SendPdu(h);
  p.Send(data.data(), data.size());
  ASSERT_TRUE(loop_->RunUntil([&] { return !errors_.empty(); }, kWait));
  EXPECT_EQ(errors_[0].code(), StatusCode::kProtocolError)
      << errors_[0].ToString();
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
