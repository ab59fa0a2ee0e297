#include "controller/backend_registry.h"

#include "nvmeof/backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace nvmeof::controller {
namespace {

using std::chrono::seconds;

constexpr NvmeStatus kLbaOutOfRange = GenericStatus(sc::kLbaOutOfRange, true);
constexpr NvmeStatus kInvalidField = GenericStatus(sc::kInvalidField, true);
constexpr NvmeStatus kWriteProtected =
    GenericStatus(sc::kNamespaceWriteProtected, true);

TEST(BackendStatusTest, ErrnoMapsLikeNvmet) {
  EXPECT_EQ(ErrnoToNvmeStatus(0), kNvmeSuccess);
  EXPECT_EQ(ErrnoToNvmeStatus(ENOSPC),
            GenericStatus(sc::kCapacityExceeded, true));
  EXPECT_EQ(ErrnoToNvmeStatus(EDQUOT),
            GenericStatus(sc::kCapacityExceeded, true));
  EXPECT_EQ(ErrnoToNvmeStatus(EREMOTEIO), kLbaOutOfRange);
  EXPECT_EQ(ErrnoToNvmeStatus(EOPNOTSUPP),
            GenericStatus(sc::kInvalidOpcode, true));
  EXPECT_EQ(ErrnoToNvmeStatus(ENODATA), MediaStatus(sc::kAccessDenied));
  EXPECT_EQ(ErrnoToNvmeStatus(EIO), GenericStatus(sc::kInternalError, true));
  EXPECT_EQ(ErrnoToNvmeStatus(EINVAL), GenericStatus(sc::kInternalError, true));
}

TEST(BackendStatusTest, CheckRange) {
  EXPECT_EQ(CheckRange(0, 4096, 4096, 512), kNvmeSuccess);
  EXPECT_EQ(CheckRange(4096, 0, 4096, 512), kNvmeSuccess);
  EXPECT_EQ(CheckRange(3584, 1024, 4096, 512), kLbaOutOfRange);
  EXPECT_EQ(CheckRange(4608, 0, 4096, 512), kLbaOutOfRange);
  EXPECT_EQ(CheckRange(512, UINT64_MAX - 511, 4096, 512), kLbaOutOfRange);
  EXPECT_EQ(CheckRange(100, 512, 4096, 512), kInvalidField);
  EXPECT_EQ(CheckRange(0, 513, 4096, 512), kInvalidField);
  EXPECT_EQ(CheckRange(512, 512, 8192, 4096), kInvalidField);
}

class MemoryBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status().ToString();
    loop_ = std::move(loop).value();
  }

  void Open(const char* type, uint64_t size, bool read_only = false,
            bool sparse = false) {
    BackendConfig c;
    c.type = type;
    c.params["size"] = size;
    if (sparse) c.params["sparse"] = true;
    c.options.read_only = read_only;
    auto b = OpenBackend(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(b).value();
    auto q = backend_->OpenQueue(*loop_);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queue_ = std::move(q).value();
  }

  // Starts one operation through `start`, checks that its callback does not
  // run inside the call, then runs the loop until it has.
  template <typename Start>
  NvmeStatus Await(Start start) {
    std::optional<NvmeStatus> got;
    start([&got](NvmeStatus s) { got = s; });
    EXPECT_FALSE(got.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(loop_->RunUntil([&] { return got.has_value(); }, seconds(10)));
    return got.value_or(GenericStatus(sc::kAbortRequested));
  }
  NvmeStatus Read(uint64_t offset, const MemDesc& dst) {
    return Await(
        [&](BackendCallback cb) { queue_->Read(offset, dst, std::move(cb)); });
  }
  NvmeStatus Write(uint64_t offset, const MemDesc& src) {
    return Await([&](BackendCallback cb) {
      queue_->Write(offset, src, false, std::move(cb));
    });
  }

  // The namespace's memory, as the queue maps it for zero-copy transfers
  // (null when it maps none).
  uint8_t* Memory() const {
    MemDesc m = queue_->Map(0, backend_->size_bytes(), false);
    return m.empty() ? nullptr : static_cast<uint8_t*>(m.segments()[0].iov_base);
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<BackendQueue> queue_;
};

TEST_F(MemoryBackendTest, OpenRefusesBadSizes) {
  BackendConfig c;
  c.type = "ram";
  auto r = OpenBackend(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ram backend"), std::string_view::npos)
      << r.status().ToString();
  c.params["size"] = 1000;
  r = OpenBackend(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a multiple of the block size 512"),
            std::string_view::npos)
      << r.status().ToString();
  c.type = "null";
  c.params["size"] = 4096;
  c.options.block_size = 1024;
  r = OpenBackend(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1024"), std::string_view::npos);
  c.params["size"] = 4096 * 3;
  c.options.block_size = 4096;
  r = OpenBackend(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->num_blocks(), 3u);
  EXPECT_FALSE((*r)->capabilities().memory_mapped);
}

TEST_F(MemoryBackendTest, RamStartsZeroedAndRoundTripsScatterGather) {
  Open("ram", 1 << 20);
  EXPECT_EQ(backend_->size_bytes(), 1u << 20);
  EXPECT_EQ(backend_->num_blocks(), 2048u);
  ASSERT_NE(Memory(), nullptr);

  std::vector<uint8_t> in(3 * 512), out(3 * 512, 0xEE);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<uint8_t>(i * 7 + 1);
  ASSERT_EQ(Read(8192, MemDesc(out.data(), out.size())), kNvmeSuccess);
  EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0));

  // Written from three uneven pieces, read back into two.
  iovec w[3] = {
      {in.data(), 100}, {in.data() + 100, 1000}, {in.data() + 1100, 436}};
  ASSERT_EQ(Write(8192, MemDesc(w, 3)), kNvmeSuccess);
  EXPECT_EQ(std::memcmp(Memory() + 8192, in.data(), in.size()), 0);
  iovec r[2] = {{out.data(), 700}, {out.data() + 700, 836}};
  ASSERT_EQ(Read(8192, MemDesc(r, 2)), kNvmeSuccess);
  EXPECT_EQ(out, in);
  EXPECT_EQ(queue_->in_flight(), 0u);
}

// The process's resident memory, in bytes.
uint64_t Rss() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0, resident = 0;
  EXPECT_EQ(std::fscanf(f, "%llu %llu", &pages, &resident), 2);
  std::fclose(f);
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(MemoryBackendTest, RamLargeNamespaceIsCheapAndUsableAtTheEnd) {
  Open("ram", uint64_t{1} << 30, false, /*sparse=*/true);
  uint8_t block[512];
  std::memset(block, 0x5A, sizeof(block));
  uint64_t last = backend_->size_bytes() - 512;
  ASSERT_EQ(Write(last, MemDesc(block, sizeof(block))), kNvmeSuccess);
  EXPECT_EQ(Memory()[last + 511], 0x5A);
}

TEST_F(MemoryBackendTest, RamCommitsItsMemoryWhenItOpens) {
  // A RAM disk performs from the first I/O: its pages are there already.
  const uint64_t before = Rss();
  Open("ram", 64 << 20);
  EXPECT_GE(Rss() - before, uint64_t{60} << 20);
}

TEST_F(MemoryBackendTest, SparseRamAllocatesSmallPagesAsItIsWritten) {
  const uint64_t before = Rss();
  Open("ram", uint64_t{1} << 30, false, /*sparse=*/true);
  EXPECT_LT(Rss() - before, uint64_t{8} << 20);
  // 100 scattered 4 KiB writes: 400 KiB of pages, not 100 huge pages.
  std::vector<uint8_t> block(4096, 0x77);
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_EQ(Write(i * (uint64_t{9} << 20), MemDesc(block.data(), 4096)),
              kNvmeSuccess);
  }
  EXPECT_LT(Rss() - before, uint64_t{16} << 20);
}

TEST_F(MemoryBackendTest, RamThatDoesNotFitIsRefusedWithTheNumbers) {
  // Twice the memory available now, in whole GiB.
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr &&
         std::sscanf(line, "MemAvailable: %lu kB", &kib) != 1) {
  }
  std::fclose(f);
  ASSERT_GT(kib, 0u);
  const uint64_t gib = kib / (1 << 20) * 2 + 2;
  BackendConfig c;
  c.type = "ram";
  c.params["size"] = gib << 30;
  auto r = OpenBackend(c);
  ASSERT_FALSE(r.ok());
  const std::string m(r.status().message());
  EXPECT_NE(m.find(std::to_string(gib) + ".0 GiB does not fit in the"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("available"), std::string::npos) << m;
  EXPECT_NE(m.find("sparse"), std::string::npos) << m;
  // Sparse, it opens (and costs nothing until written).
  c.params["sparse"] = true;
  EXPECT_TRUE(OpenBackend(c).ok());
}

TEST_F(MemoryBackendTest, RamWriteZeroesAndDeallocateReadZeros) {
  constexpr uint64_t kSize = 8 << 20;
  Open("ram", kSize, false, /*sparse=*/true);  // the madvise path
  // The mapping starts on a huge-page boundary.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(Memory()) % (2 << 20), 0u);
  std::memset(Memory(), 0xFF, kSize);
  // A range over a whole 2 MiB chunk (madvise path with unaligned edges),
  // a 1 MiB one and a small one (cleared in place).
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->Deallocate((4 << 20) - 512, (2 << 20) + 1024,
                                 std::move(cb));
            }),
            kNvmeSuccess);
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->Deallocate(512, (1 << 20) + 1024, std::move(cb));
            }),
            kNvmeSuccess);
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->WriteZeroes(3 << 20, 1536, std::move(cb));
            }),
            kNvmeSuccess);
  const uint8_t* m = Memory();
  EXPECT_EQ(m[511], 0xFF);
  for (uint64_t i = 512; i < 512 + (1 << 20) + 1024; ++i) {
    ASSERT_EQ(m[i], 0) << "at " << i;
  }
  EXPECT_EQ(m[512 + (1 << 20) + 1024], 0xFF);
  EXPECT_EQ(m[(3 << 20) - 1], 0xFF);
  for (uint64_t i = 3 << 20; i < (3 << 20) + 1536; ++i) ASSERT_EQ(m[i], 0);
  EXPECT_EQ(m[(3 << 20) + 1536], 0xFF);
  EXPECT_EQ(m[(4 << 20) - 513], 0xFF);
  for (uint64_t i = (4 << 20) - 512; i < (6 << 20) + 512; ++i) {
    ASSERT_EQ(m[i], 0) << "at " << i;
  }
  EXPECT_EQ(m[(6 << 20) + 512], 0xFF);
  EXPECT_EQ(Await([&](BackendCallback cb) { queue_->Flush(std::move(cb)); }),
            kNvmeSuccess);
}

TEST_F(MemoryBackendTest, BadRangesAreStatusesNotCrashes) {
  Open("ram", 64 * 512);
  uint8_t buf[1024];
  EXPECT_EQ(Read(64 * 512, MemDesc(buf, 512)), kLbaOutOfRange);
  EXPECT_EQ(Read(63 * 512, MemDesc(buf, 1024)), kLbaOutOfRange);
  EXPECT_EQ(Write(UINT64_MAX - 511, MemDesc(buf, 512)), kLbaOutOfRange);
  EXPECT_EQ(Read(100, MemDesc(buf, 512)), kInvalidField);
  EXPECT_EQ(Read(0, MemDesc(buf, 100)), kInvalidField);
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->WriteZeroes(0, 65 * 512, std::move(cb));
            }),
            kLbaOutOfRange);
}

TEST_F(MemoryBackendTest, ReadOnlyRefusesWrites) {
  Open("ram", 8 * 512, /*read_only=*/true);
  uint8_t buf[512] = {1};
  EXPECT_EQ(Write(0, MemDesc(buf, sizeof(buf))), kWriteProtected);
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->Deallocate(0, 512, std::move(cb));
            }),
            kWriteProtected);
  EXPECT_EQ(Memory()[0], 0);
  EXPECT_EQ(Read(0, MemDesc(buf, sizeof(buf))), kNvmeSuccess);
  EXPECT_EQ(buf[0], 0);
}

TEST_F(MemoryBackendTest, NullReadsZerosAndDiscardsWrites) {
  Open("null", 1 << 20);
  EXPECT_EQ(Memory(), nullptr);
  std::vector<uint8_t> buf(4096, 0xAB);
  ASSERT_EQ(Write(4096, MemDesc(buf.data(), buf.size())), kNvmeSuccess);
  iovec r[2] = {{buf.data(), 1000}, {buf.data() + 1000, 3096}};
  ASSERT_EQ(Read(4096, MemDesc(r, 2)), kNvmeSuccess);
  EXPECT_EQ(buf, std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(Read(1 << 20, MemDesc(buf.data(), 512)), kLbaOutOfRange);
  EXPECT_EQ(Write(1, MemDesc(buf.data(), 512)), kInvalidField);
  EXPECT_EQ(Await([&](BackendCallback cb) { queue_->Flush(std::move(cb)); }),
            kNvmeSuccess);
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->Deallocate(0, 1 << 20, std::move(cb));
            }),
            kNvmeSuccess);
}

TEST_F(MemoryBackendTest, CompletionsRunLaterInOrderAndCount) {
  Open("ram", 1 << 20);
  std::vector<int> order;
  std::vector<std::vector<uint8_t>> bufs(200, std::vector<uint8_t>(512));
  for (int i = 0; i < 200; ++i) {
    std::memset(bufs[i].data(), i, 512);
    queue_->Write(static_cast<uint64_t>(i) * 512, MemDesc(bufs[i].data(), 512),
                  i % 2 == 0, [&order, i](NvmeStatus s) {
                    EXPECT_TRUE(s.ok());
                    order.push_back(i);
                  });
  }
  EXPECT_EQ(queue_->in_flight(), 200u);
  EXPECT_TRUE(order.empty());
  ASSERT_TRUE(
      loop_->RunUntil([&] { return order.size() == 200; }, seconds(10)));
  EXPECT_EQ(queue_->in_flight(), 0u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(order[i], i);
    EXPECT_EQ(Memory()[i * 512 + 17], static_cast<uint8_t>(i));
  }
}

TEST_F(MemoryBackendTest, CallbackCanStartTheNextOperation) {
  Open("null", 1 << 20);
  struct Chain {
    BackendQueue* q;
    int left = 1000;
    int done = 0;
    void Next() {
      q->Flush([this](NvmeStatus s) {
        EXPECT_TRUE(s.ok());
        ++done;
        if (--left > 0) Next();
      });
    }
  } chain{queue_.get()};
  chain.Next();
  ASSERT_TRUE(loop_->RunUntil([&] { return chain.done == 1000; }, seconds(10)));
  EXPECT_EQ(queue_->in_flight(), 0u);
}

TEST_F(MemoryBackendTest, DestroyingQueueDropsPendingCallbacks) {
  Open("ram", 1 << 20);
  auto token = std::make_shared<int>(0);
  bool called = false;
  queue_->Flush([token, &called](NvmeStatus) { called = true; });
  EXPECT_EQ(token.use_count(), 2);
  queue_.reset();
  EXPECT_EQ(token.use_count(), 1);  // the callback was destroyed
  loop_->RunOnce(std::chrono::milliseconds(0));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace nvmeof::controller
