// The controller side of the TCP transport against a raw-socket host that
// writes PDUs by hand: malformed input of every kind gets a TermReq with
// the expected FES and FEI and a closed connection, while the listener
// keeps serving; a data digest error fails one command only.

#include "tcp/tcp_wire_test_util.h"

namespace nvmeof::tcp {
namespace {

using wire_test::RawPeer;
using wire_test::TcpWireTest;
using wire_test::kWait;

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


}  // namespace
}  // namespace nvmeof::tcp
