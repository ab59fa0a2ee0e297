// The I/O command family alone, over the fakes of command_test_util.h.

#include "controller/io_cmd.h"

#include <gtest/gtest.h>

#include "controller/command_test_util.h"

namespace nvmeof::controller {
namespace {

using test_util::CommandFixture;
using test_util::Outcome;

class IoCmdTest : public CommandFixture {
 protected:
  void SetUp() override {
    CommandFixture::SetUp();
    BindReady(1);
  }
  static Sqe Rw(NvmOpcode op, uint32_t nsid, uint64_t slba, uint16_t nlb0) {
    Sqe sqe{};
    sqe.opcode = static_cast<uint8_t>(op);
    sqe.nsid = nsid;
    sqe.cdw10 = static_cast<uint32_t>(slba);
    sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
    sqe.cdw12 = nlb0;
    return sqe;
  }
};

TEST_F(IoCmdTest, WriteThenReadBackWithCounters) {
  std::vector<uint8_t> data(1024);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  Outcome o = Run(ExecuteIo, Rw(NvmOpcode::kWrite, 1, 10, 1), 1024, data);
  ASSERT_EQ(o.status, kNvmeSuccess);
  o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 1, 10, 1), 1024);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(o.data, data);
  uint64_t reads = 0, writes = 0;
  subsystem_->FindNamespace(1)->ForEachCounters([&](const IoCounters& c) {
    reads += c.read_commands;
    writes += c.write_commands;
  });
  EXPECT_EQ(reads, 1u);
  EXPECT_EQ(writes, 1u);
}

TEST_F(IoCmdTest, ReadsAreServedFromTheNamespacesMemory) {
  // Zero copy: what is sent is the RAM namespace itself (checked through
  // a compare that reads the same memory).
  std::vector<uint8_t> data(512, 0x5A);
  ASSERT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kWrite, 1, 0, 0), 512, data).status,
            kNvmeSuccess);
  EXPECT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kCompare, 1, 0, 0), 512, data).status,
            kNvmeSuccess);
  data[100] = 0;
  EXPECT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kCompare, 1, 0, 0), 512, data).status,
            MediaStatus(sc::kCompareFailure, true));
}

// A backend that reads into the request's buffer (not a memory-mapped
// one): the request, whose buffer the next command of its slot reuses,
// stays taken until the transport has sent that data; freeing it once the
// response was queued let a following write overwrite a read's data before
// it went out.
std::shared_ptr<Namespace> NullNamespace(uint32_t nsid) {
  BackendConfig bc;
  bc.type = "null";
  bc.params["size"] = 1 << 20;
  bc.options.block_size = 512;
  auto backend = OpenBackend(bc);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  return Namespace::Create(nsid, std::move(backend).value());
}

TEST_F(IoCmdTest, AReadHoldsItsBufferUntilTheDataIsSent) {
  subsystem_->AddNamespace(NullNamespace(5));
  qp_->hold_sends = true;
  Start(ExecuteIo, Rw(NvmOpcode::kRead, 5, 0, 1), 1024);
  loop_->RunUntil([&] { return qp_->held_sends() == 1; },
                  std::chrono::seconds(5));
  ASSERT_EQ(qp_->held_sends(), 1u);
  // Answered (the response queues behind the data), not yet freed.
  EXPECT_EQ(queue_->completed, kNvmeSuccess);
  EXPECT_FALSE(freed());
  EXPECT_EQ(request_.state(), RequestState::kSending);
  qp_->FlushSends();
  EXPECT_TRUE(loop_->RunUntil([&] { return freed(); }, std::chrono::seconds(5)));
  EXPECT_EQ(queue_->released, 0);  // it had its response
  EXPECT_EQ(qp_->sent, std::vector<uint8_t>(1024, 0));
}

TEST_F(IoCmdTest, AReadCompletedByTheTransportHoldsItsBufferToo) {
  // SQ flow control disabled: the data completes the command (SUCCESS).
  subsystem_->AddNamespace(NullNamespace(5));
  queue_->Bind(queue_->ctrl_, 1, 32, /*sq_flow_control_disabled=*/true);
  qp_->hold_sends = true;
  Start(ExecuteIo, Rw(NvmOpcode::kRead, 5, 0, 0), 512);
  loop_->RunUntil([&] { return qp_->held_sends() == 1; },
                  std::chrono::seconds(5));
  ASSERT_EQ(qp_->held_sends(), 1u);
  EXPECT_TRUE(qp_->sent_with_success);
  EXPECT_FALSE(freed());
  EXPECT_FALSE(queue_->completed.has_value());
  qp_->FlushSends();
  EXPECT_TRUE(loop_->RunUntil([&] { return freed(); }, std::chrono::seconds(5)));
  EXPECT_EQ(queue_->released, 1);  // no response of its own
}

TEST_F(IoCmdTest, RangeAndLengthErrorsGiveTheirLocation) {
  const uint64_t blocks = (1 << 20) / 512;
  Outcome o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 1, blocks, 0), 512);
  EXPECT_EQ(o.status, GenericStatus(sc::kLbaOutOfRange, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw10).value);
  o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 1, blocks - 1, 1), 1024);
  EXPECT_EQ(o.status, GenericStatus(sc::kLbaOutOfRange, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeCdw12).value);
  o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 1, 0, 1), 512);  // SGL too short
  EXPECT_EQ(o.status, GenericStatus(sc::kDataSglLengthInvalid, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeSgl1).value);
  o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 2, 0, 0), 512);  // no namespace 2
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidNamespaceOrFormat, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeNsid).value);
  Sqe bogus = Rw(NvmOpcode::kRead, 1, 0, 0);
  bogus.opcode = 0x7C;
  o = Run(ExecuteIo, bogus);
  EXPECT_EQ(o.status, GenericStatus(sc::kInvalidOpcode, true));
  EXPECT_EQ(o.error_location, ErrorLocation::At(kSqeOpcode).value);
}

TEST_F(IoCmdTest, ReadOnlyNamespaceRefusesWrites) {
  std::vector<uint8_t> data(4096, 1);
  EXPECT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kWrite, 3, 0, 0), 4096, data).status,
            GenericStatus(sc::kNamespaceWriteProtected, true));
  EXPECT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kWriteZeroes, 3, 0, 0)).status,
            GenericStatus(sc::kNamespaceWriteProtected, true));
  EXPECT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kRead, 3, 0, 0), 4096).status,
            kNvmeSuccess);
}

// A backend whose reads fail as a broken disk's do.
class FailingBackend final : public Backend {
 public:
  FailingBackend() : Backend(BackendOptions{}, 1 << 20) {}
  BackendCapabilities capabilities() const override { return {}; }
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;
};
class FailingQueue final : public BackendQueue {
 public:
  explicit FailingQueue(EventLoop& loop) : done_(&loop, &in_flight_) {}
  void Read(uint64_t, const MemDesc&, BackendCallback cb) override {
    ++in_flight_;
    done_.Post(std::move(cb), ErrnoToNvmeStatus(EIO));
  }
  void Write(uint64_t, const MemDesc&, bool, BackendCallback cb) override {
    Read(0, {}, std::move(cb));
  }
  void Flush(BackendCallback cb) override { Read(0, {}, std::move(cb)); }
  void WriteZeroes(uint64_t, uint64_t, BackendCallback cb) override {
    Read(0, {}, std::move(cb));
  }
  void Deallocate(uint64_t, uint64_t, BackendCallback cb) override {
    Read(0, {}, std::move(cb));
  }

 private:
  BackendCompletions done_;
};
Result<std::unique_ptr<BackendQueue>> FailingBackend::OpenQueue(
    EventLoop& loop) {
  return std::unique_ptr<BackendQueue>(new FailingQueue(loop));
}

TEST_F(IoCmdTest, BackendErrorsAreLoggedAndReported) {
  subsystem_->AddNamespace(
      Namespace::Create(7, std::make_unique<FailingBackend>()));
  test_util::LogCapture log;
  Outcome o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 7, 16, 0), 512);
  EXPECT_EQ(o.status, GenericStatus(sc::kInternalError, true));
  EXPECT_TRUE(log.Has({"namespace 7 of", test_util::kTestNqn,
                       "192.0.2.9:40000", "LBA 16", "failed in its backend",
                       "Internal Error"}))
      << log.All();
}

TEST_F(IoCmdTest, WriteZeroesDeallocateFlushAndVerify) {
  std::vector<uint8_t> ones(2048, 0xFF);
  ASSERT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kWrite, 1, 0, 3), 2048, ones).status,
            kNvmeSuccess);
  ASSERT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kWriteZeroes, 1, 0, 0)).status,
            kNvmeSuccess);
  // Deallocate block 1 (one range: NR 0, AD).
  std::vector<uint8_t> range(16, 0);
  range[4] = 1;  // NLB
  range[8] = 1;  // SLBA
  Sqe dsm{};
  dsm.opcode = static_cast<uint8_t>(NvmOpcode::kDatasetManagement);
  dsm.nsid = 1;
  dsm.cdw11 = 1u << 2;
  ASSERT_EQ(Run(ExecuteIo, dsm, 16, range).status, kNvmeSuccess);
  Outcome o = Run(ExecuteIo, Rw(NvmOpcode::kRead, 1, 0, 3), 2048);
  ASSERT_EQ(o.status, kNvmeSuccess);
  EXPECT_EQ(std::vector<uint8_t>(o.data.begin(), o.data.begin() + 1024),
            std::vector<uint8_t>(1024, 0));
  EXPECT_EQ(std::vector<uint8_t>(o.data.begin() + 1024, o.data.end()),
            std::vector<uint8_t>(1024, 0xFF));
  // A range beyond the namespace.
  range[8] = 0xFF;
  range[9] = 0xFF;
  EXPECT_EQ(Run(ExecuteIo, dsm, 16, range).status,
            GenericStatus(sc::kLbaOutOfRange, true));
  // Too short a buffer for NR + 1 ranges.
  dsm.cdw10 = 1;
  EXPECT_EQ(Run(ExecuteIo, dsm, 16, range).status,
            GenericStatus(sc::kDataSglLengthInvalid, true));
  Sqe flush{};
  flush.opcode = static_cast<uint8_t>(NvmOpcode::kFlush);
  flush.nsid = 0xFFFFFFFF;
  EXPECT_EQ(Run(ExecuteIo, flush).status, kNvmeSuccess);
  EXPECT_EQ(Run(ExecuteIo, Rw(NvmOpcode::kVerify, 1, 0, 100)).status,
            kNvmeSuccess);
}

}  // namespace
}  // namespace nvmeof::controller
