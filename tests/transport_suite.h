// The transport API conformance suite: every transport must pass it
// unchanged. A transport's test file includes this header once and
// instantiates the suite with a TransportSuiteParam:
//
//   INSTANTIATE_TEST_SUITE_P(Loopback, TransportSuite,
//                            ::testing::Values(LoopbackSuiteParam()));
//
// The fixture connects one host queue pair to one controller queue pair
// and plays a small controller with a RAM buffer on the controller side;
// each test scripts what that controller does with the commands it gets.

#ifndef NVMEOF_TESTS_TRANSPORT_SUITE_H_
#define NVMEOF_TESTS_TRANSPORT_SUITE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "nvmeof/event_loop.h"
#include "nvmeof/transport.h"

namespace nvmeof {

struct TransportSuiteParam {
  std::string name;
  TransportType type;
  std::function<void()> register_transport;  // may be empty
  std::string traddr;
  std::string trsvcid;
  bool header_digest = false;
  bool data_digest = false;
  // TCP over TLS: the listener's and the host's (null: plain).
  std::shared_ptr<const TlsServerParams> server_tls;
  std::shared_ptr<const TlsClientParams> client_tls;
};

// Names the parameter in test listings (CTest prints it).
inline void PrintTo(const TransportSuiteParam& p, std::ostream* os) {
  *os << p.name;
}

class TransportSuite : public ::testing::TestWithParam<TransportSuiteParam> {
 protected:
  static constexpr std::chrono::seconds kWait{10};

  void SetUp() override {
    const TransportSuiteParam& p = GetParam();
    if (p.register_transport) p.register_transport();
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
    transport_ = TransportRegistry::Global().Find(p.type);
    ASSERT_NE(transport_, nullptr);

    TransportAddress addr{p.type, p.traddr, p.trsvcid};
    if (p.type == TransportType::kLoopback) {
      addr.traddr +=
          "-" +
          std::string(
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    }
    ControllerQueuePairParams cparams;
    cparams.max_queue_size = 128;
    cparams.max_h2c_data = 8192;  // small, so that transfers split
    cparams.max_c2h_data = 8192;
    cparams.tls = p.server_tls;
    auto listener = transport_->Listen(
        *loop_, addr, cparams, [this](std::unique_ptr<QueuePair> qp) {
          ctrl_ = std::move(qp);
          ctrl_->SetCallbacks(QueuePairCallbacks{
              [this](Status s) { ctrl_errors_.push_back(s); },
              [this](CapsulePtr c) { OnCommand(std::move(c)); }});
        });
    ASSERT_TRUE(listener.ok()) << listener.status().ToString();
    listener_ = std::move(listener).value();

    HostQueuePairParams hparams;
    hparams.qid = 1;
    hparams.queue_size = 128;
    hparams.max_icd = 8192;
    hparams.header_digest = p.header_digest;
    hparams.data_digest = p.data_digest;
    hparams.tls = p.client_tls;
    bool done = false;
    Status connect_status;
    transport_->Connect(
        *loop_, listener_->address(), hparams,
        QueuePairCallbacks{[this](Status s) { host_errors_.push_back(s); },
                           [this](CapsulePtr c) { OnResponse(std::move(c)); }},
        [&](Result<std::unique_ptr<QueuePair>> r) {
          done = true;
          if (r.ok()) {
            host_ = std::move(r).value();
          } else {
            connect_status = r.status();
          }
        });
    ASSERT_TRUE(
        loop_->RunUntil([&] { return done && ctrl_ != nullptr; }, kWait));
    ASSERT_TRUE(connect_status.ok()) << connect_status.ToString();
    ASSERT_NE(host_, nullptr);
    ctrl_->SetConnected(1, false);
    ram_.resize(1 << 20);
    for (size_t i = 0; i < ram_.size(); ++i)
      ram_[i] = static_cast<uint8_t>(i * 13 + 7);
  }

  void TearDown() override {
    // Every test ends with both pools whole, after both ends closed.
    responses_.clear();
    held_.clear();
    int closed = 0;
    for (auto* qp : {&host_, &ctrl_}) {
      bool already = (qp == &host_) ? host_closed_ : ctrl_closed_;
      if (*qp && !already) {
        (*qp)->Close([&] { ++closed; });
      } else {
        ++closed;
      }
    }
    EXPECT_TRUE(loop_->RunUntil([&] { return closed == 2; }, kWait));
    commands_.clear();  // after the close: callbacks point into it
    if (host_) {
      EXPECT_EQ(host_->capsules_in_use(), 0u) << "host capsules leaked";
    }
    if (ctrl_) {
      EXPECT_EQ(ctrl_->capsules_in_use(), 0u) << "controller capsules leaked";
    }
    host_.reset();
    ctrl_.reset();
    listener_.reset();
    loop_.reset();
  }

  // ---- the scripted controller ----

  // What the controller does with each command; default: RamController.
  std::function<void(CapsulePtr)> on_command_;
  void OnCommand(CapsulePtr c) {
    ++commands_received_;
    if (on_command_) {
      on_command_(std::move(c));
    } else {
      RamController(std::move(c));
    }
  }

  // Write (0x01): receive the data into ram_ at cdw10 (a byte offset) in
  // one piece; read (0x02): send ram_ from cdw10; anything else: success.
  void RamController(CapsulePtr c) {
    NvmeStatus v = c->Validate();
    if (!v.ok()) {
      Respond(*c, v);
      return;
    }
    const uint32_t off = c->sqe().cdw10;
    const uint32_t len = c->data_length();
    Capsule* cmd = c.get();
    held_.push_back(std::move(c));
    if (cmd->sqe().opcode == 0x01) {
      cmd->ReceiveData(0, MemDesc(ram_.data() + off, len),
                       [this, cmd](Status s) {
                         EXPECT_TRUE(s.ok()) << s.ToString();
                         Respond(*cmd, kNvmeSuccess);
                         Drop(cmd);
                       });
    } else if (cmd->sqe().opcode == 0x02) {
      SendDataResult r =
          cmd->SendData(0, MemDesc(ram_.data() + off, len), true, nullptr);
      if (r.outcome != SendDataOutcome::kCompleted) {
        Respond(*cmd, r.outcome == SendDataOutcome::kFailed ? r.status
                                                            : kNvmeSuccess);
      }
      Drop(cmd);
    } else {
      Respond(*cmd, kNvmeSuccess);
      Drop(cmd);
    }
  }

  void Respond(const Capsule& cmd, NvmeStatus status, uint32_t dw0 = 0) {
    Cqe cqe{};
    cqe.cid = cmd.sqe().cid;
    cqe.dw0 = dw0;
    cqe.sqid = 1;
    cqe.status = status.ToCqeStatus();
    CapsulePtr rsp = ctrl_->AllocateResponse(cqe);
    ASSERT_NE(rsp, nullptr);
    ASSERT_TRUE(ctrl_->Transmit(*rsp).ok());
  }

  void Drop(Capsule* cmd) {
    auto it =
        std::find_if(held_.begin(), held_.end(),
                     [cmd](const CapsulePtr& p) { return p.get() == cmd; });
    if (it != held_.end()) held_.erase(it);
  }

  // ---- the host side ----

  struct HostCommand {
    CapsulePtr capsule;
    bool responded = false;
    bool data_done = false;
    Status data_status;
    Cqe cqe{};
  };

  void OnResponse(CapsulePtr c) {
    ++responses_received_;
    auto it = commands_.find(c->cqe().cid);
    ASSERT_NE(it, commands_.end())
        << "response for unknown cid " << c->cqe().cid;
    EXPECT_FALSE(it->second.responded)
        << "cid " << c->cqe().cid << " completed twice";
    it->second.responded = true;
    it->second.cqe = c->cqe();
    responses_.push_back(std::move(c));
  }

  HostCommand& Submit(uint16_t cid, uint8_t opcode, uint32_t cdw10,
                      uint8_t* buf, size_t len, bool to_controller) {
    Sqe sqe{};
    sqe.opcode = opcode;
    sqe.cid = cid;
    sqe.cdw10 = cdw10;
    HostCommand& hc = commands_[cid];
    hc.capsule = host_->AllocateCommand(sqe);
    EXPECT_NE(hc.capsule, nullptr);
    if (len > 0) {
      hc.capsule->AppendData(MemDesc(buf, len), to_controller, [&hc](Status s) {
        EXPECT_FALSE(hc.data_done) << "data callback twice";
        hc.data_done = true;
        hc.data_status = std::move(s);
      });
    } else {
      hc.data_done = true;
    }
    Status st = host_->Transmit(*hc.capsule);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return hc;
  }

  bool AllComplete() const {
    for (const auto& [cid, hc] : commands_) {
      if (!hc.responded || !hc.data_done) return false;
    }
    return true;
  }
  bool RunUntilComplete() {
    return loop_->RunUntil([this] { return AllComplete(); }, kWait);
  }

  std::unique_ptr<EventLoop> loop_;
  Transport* transport_ = nullptr;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<QueuePair> host_;
  std::unique_ptr<QueuePair> ctrl_;
  bool host_closed_ = false;
  bool ctrl_closed_ = false;
  std::vector<Status> host_errors_;
  std::vector<Status> ctrl_errors_;
  std::vector<CapsulePtr> held_;
  std::vector<CapsulePtr> responses_;
  std::map<uint16_t, HostCommand> commands_;
  std::vector<uint8_t> ram_;
  int commands_received_ = 0;
  int responses_received_ = 0;
};

inline std::vector<uint8_t> Pattern(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>(i * 31 + seed);
  return v;
}

TEST_P(TransportSuite, InCapsuleWrite) {
  auto data = Pattern(4096, 1);
  HostCommand& hc = Submit(1, 0x01, 512, data.data(), data.size(), true);
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_TRUE(hc.data_status.ok()) << hc.data_status.ToString();
  EXPECT_EQ(NvmeStatus::FromCqeStatus(hc.cqe.status), kNvmeSuccess);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), ram_.begin() + 512));
}

TEST_P(TransportSuite, WriteReceivedInThreePieces) {
  // 40000 bytes: larger than the in-capsule limit, so the controller pulls
  // it; three pieces of unequal size, all outstanding at once.
  auto data = Pattern(40000, 2);
  std::vector<std::pair<uint32_t, uint32_t>> pieces = {
      {0, 10000}, {10000, 17000}, {27000, 13000}};
  int pieces_done = 0;
  on_command_ = [&](CapsulePtr c) {
    ASSERT_EQ(c->Validate(), kNvmeSuccess);
    ASSERT_EQ(c->data_length(), 40000u);
    EXPECT_FALSE(c->has_in_capsule_data());
    Capsule* cmd = c.get();
    held_.push_back(std::move(c));
    for (auto [off, len] : pieces) {
      cmd->ReceiveData(off, MemDesc(ram_.data() + off, len),
                       [this, cmd, &pieces_done](Status s) {
                         EXPECT_TRUE(s.ok()) << s.ToString();
                         if (++pieces_done == 3) {
                           Respond(*cmd, kNvmeSuccess);
                           Drop(cmd);
                         }
                       });
    }
  };
  HostCommand& hc = Submit(7, 0x01, 0, data.data(), data.size(), true);
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_EQ(pieces_done, 3);
  EXPECT_TRUE(hc.data_status.ok()) << hc.data_status.ToString();
  EXPECT_TRUE(std::equal(data.begin(), data.end(), ram_.begin()));
}

TEST_P(TransportSuite, ReadWithResponse) {
  std::vector<uint8_t> buf(20000);
  HostCommand& hc = Submit(3, 0x02, 100, buf.data(), buf.size(), false);
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_TRUE(hc.data_status.ok()) << hc.data_status.ToString();
  EXPECT_EQ(responses_received_, 1);  // SQ flow control on: a real response
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), ram_.begin() + 100));
}

TEST_P(TransportSuite, ReadCompletedBySuccessFlagWithoutResponse) {
  ctrl_->SetConnected(1, /*sq_flow_control_disabled=*/true);
  std::vector<uint8_t> buf(20000);
  HostCommand& hc = Submit(4, 0x02, 0, buf.data(), buf.size(), false);
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_TRUE(hc.data_status.ok());
  // The host transport made the completion itself: success, right CID.
  EXPECT_EQ(hc.cqe.cid, 4);
  EXPECT_EQ(NvmeStatus::FromCqeStatus(hc.cqe.status), kNvmeSuccess);
  EXPECT_EQ(responses_received_, 1);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), ram_.begin()));
}

TEST_P(TransportSuite, ManyOutstandingCompletedOutOfOrder) {
  constexpr int kCommands = 128;
  std::vector<CapsulePtr> pending;
  on_command_ = [&](CapsulePtr c) { pending.push_back(std::move(c)); };
  std::vector<std::vector<uint8_t>> bufs(kCommands, std::vector<uint8_t>(512));
  for (int i = 0; i < kCommands; ++i) {
    Submit(static_cast<uint16_t>(i), 0x02, static_cast<uint32_t>(i * 512),
           bufs[i].data(), bufs[i].size(), false);
  }
  ASSERT_TRUE(
      loop_->RunUntil([&] { return pending.size() == kCommands; }, kWait));
  // Complete them in a shuffled order, each with a distinct dw0.
  std::mt19937 rng(42);
  std::shuffle(pending.begin(), pending.end(), rng);
  for (auto& c : pending) {
    const uint32_t off = c->sqe().cdw10;
    SendDataResult r =
        c->SendData(0, MemDesc(ram_.data() + off, 512), false, nullptr);
    ASSERT_EQ(r.outcome, SendDataOutcome::kQueued);
    Respond(*c, kNvmeSuccess, c->sqe().cid + 1000u);
  }
  pending.clear();
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_EQ(responses_received_, kCommands);
  for (int i = 0; i < kCommands; ++i) {
    const HostCommand& hc = commands_[static_cast<uint16_t>(i)];
    EXPECT_EQ(hc.cqe.dw0, i + 1000u);
    EXPECT_TRUE(hc.data_status.ok());
    EXPECT_TRUE(
        std::equal(bufs[i].begin(), bufs[i].end(), ram_.begin() + i * 512));
  }
}

TEST_P(TransportSuite, CallbacksNeverRunInsideTheStartingCall) {
  bool in_call = false;
  bool violated = false;
  on_command_ = [&](CapsulePtr c) {
    Capsule* cmd = c.get();
    held_.push_back(std::move(c));
    in_call = true;
    cmd->ReceiveData(0, MemDesc(ram_.data(), cmd->data_length()),
                     [&, cmd](Status) {
                       if (in_call) violated = true;
                       Respond(*cmd, kNvmeSuccess);
                       Drop(cmd);
                     });
    in_call = false;
  };
  auto small = Pattern(100, 3);    // in-capsule
  auto large = Pattern(30000, 4);  // pulled
  Sqe sqe{};
  sqe.opcode = 0x01;
  for (auto* data : {&small, &large}) {
    sqe.cid = static_cast<uint16_t>(data->size());
    HostCommand& hc = commands_[sqe.cid];
    hc.capsule = host_->AllocateCommand(sqe);
    hc.capsule->AppendData(MemDesc(data->data(), data->size()), true,
                           [&](Status) {
                             if (in_call) violated = true;
                             hc.data_done = true;
                           });
    in_call = true;
    ASSERT_TRUE(host_->Transmit(*hc.capsule).ok());
    in_call = false;
  }
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_FALSE(violated);
}

TEST_P(TransportSuite, PeerCloseReachesErrorCallback) {
  int closed = 0;
  host_->Close([&] { ++closed; });
  host_closed_ = true;
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return closed == 1 && !ctrl_errors_.empty(); }, kWait));
  ASSERT_EQ(ctrl_errors_.size(), 1u);
  EXPECT_TRUE(ctrl_errors_[0].ok())
      << "a clean close is not an error: " << ctrl_errors_[0].ToString();
  Cqe cqe{};
  CapsulePtr rsp = ctrl_->AllocateResponse(cqe);
  EXPECT_FALSE(ctrl_->Transmit(*rsp).ok());
  EXPECT_TRUE(host_errors_.empty());
}

TEST_P(TransportSuite, CloseCancelsPendingTransfers) {
  on_command_ = [&](CapsulePtr c) { held_.push_back(std::move(c)); };
  std::vector<uint8_t> buf(30000);
  HostCommand& hc = Submit(9, 0x02, 0, buf.data(), buf.size(), false);
  ASSERT_TRUE(loop_->RunUntil([&] { return held_.size() == 1; }, kWait));
  int closed = 0;
  bool cancelled_before_done = false;
  host_->Close([&] {
    ++closed;
    cancelled_before_done = hc.data_done;
  });
  host_closed_ = true;
  ASSERT_TRUE(loop_->RunUntil([&] { return closed == 1; }, kWait));
  EXPECT_TRUE(cancelled_before_done);
  EXPECT_EQ(hc.data_status.code(), StatusCode::kCancelled);
  hc.capsule.reset();
}

TEST_P(TransportSuite, ResponseBeforeDataAbortsTheTransfer) {
  // The controller fails a write without pulling its data.
  on_command_ = [&](CapsulePtr c) {
    Respond(*c, GenericStatus(sc::kInvalidField, true));
  };
  auto data = Pattern(30000, 5);
  HostCommand& hc = Submit(11, 0x01, 0, data.data(), data.size(), true);
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_EQ(NvmeStatus::FromCqeStatus(hc.cqe.status).sc, sc::kInvalidField);
  EXPECT_FALSE(hc.data_status.ok());
}

TEST_P(TransportSuite, ReceiveDataOutOfRangeFails) {
  Status piece;
  bool got = false;
  on_command_ = [&](CapsulePtr c) {
    Capsule* cmd = c.get();
    held_.push_back(std::move(c));
    cmd->ReceiveData(100, MemDesc(ram_.data(), cmd->data_length()),
                     [&, cmd](Status s) {
                       piece = s;
                       got = true;
                       Respond(*cmd, GenericStatus(sc::kDataTransferError));
                       Drop(cmd);
                     });
  };
  auto data = Pattern(1000, 6);
  Submit(12, 0x01, 0, data.data(), data.size(), true);
  ASSERT_TRUE(RunUntilComplete());
  ASSERT_TRUE(got);
  EXPECT_EQ(piece.code(), StatusCode::kOutOfRange);
}

TEST_P(TransportSuite, ValidateAcceptsWhatTheHostSent) {
  NvmeStatus seen = GenericStatus(sc::kInternalError);
  on_command_ = [&](CapsulePtr c) {
    seen = c->Validate();
    Respond(*c, kNvmeSuccess);
  };
  Submit(13, 0x00, 0, nullptr, 0, false);  // no data
  ASSERT_TRUE(RunUntilComplete());
  EXPECT_EQ(seen, kNvmeSuccess);
}

TEST_P(TransportSuite, PoolIsWholeAfterTraffic) {
  for (int round = 0; round < 3; ++round) {
    std::vector<std::vector<uint8_t>> bufs(64, std::vector<uint8_t>(4096));
    for (int i = 0; i < 64; ++i) {
      Submit(static_cast<uint16_t>(round * 64 + i), (i % 2) ? 0x02 : 0x01,
             static_cast<uint32_t>(i * 4096), bufs[i].data(), bufs[i].size(),
             i % 2 == 0);
    }
    ASSERT_TRUE(RunUntilComplete());
    commands_.clear();
    responses_.clear();
    EXPECT_EQ(host_->capsules_in_use(), 0u);
    EXPECT_EQ(ctrl_->capsules_in_use(), 0u);
  }
}

}  // namespace nvmeof

#endif  // NVMEOF_TESTS_TRANSPORT_SUITE_H_
