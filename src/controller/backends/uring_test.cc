#include "controller/backends/uring.h"

#include "controller/command_test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nvmeof::controller {
namespace {

using std::chrono::seconds;

constexpr NvmeStatus kLbaOutOfRange = GenericStatus(sc::kLbaOutOfRange, true);
constexpr NvmeStatus kInternalError = GenericStatus(sc::kInternalError, true);

uint8_t PatternByte(uint64_t offset, int seed) {
  return static_cast<uint8_t>(
      (offset * 131 + static_cast<uint64_t>(seed) * 17 + 3) >> 2);
}

class UringBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nvmeof-backend-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status().ToString();
    loop_ = std::move(loop).value();
  }
  void TearDown() override {
    queue_.reset();
    backend_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const char* name) const { return dir_ + "/" + name; }
  static std::string PathOf(const BackendConfig& c) {
    return c.params.value("path", "");
  }

  BackendConfig FileConfig(const char* name, uint64_t size) const {
    BackendConfig c;
    c.type = "file";
    c.params["path"] = Path(name);
    if (size != 0) c.params["size"] = size;
    return c;
  }

  void Open(const BackendConfig& c) {
    path_ = c.params.value("path", "");
    auto b = OpenBackend(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(b).value();
    auto q = backend_->OpenQueue(*loop_);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queue_ = std::move(q).value();
  }

  // The error message of a failed Open().
  std::string OpenError(const BackendConfig& c) {
    auto b = OpenBackend(c);
    EXPECT_FALSE(b.ok()) << "opened " << c.params.dump();
    return b.ok() ? std::string() : std::string(b.status().message());
  }

  template <typename Start>
  NvmeStatus Await(Start start) {
    std::optional<NvmeStatus> got;
    start([&got](NvmeStatus s) { got = s; });
    EXPECT_FALSE(got.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(loop_->RunUntil([&] { return got.has_value(); }, seconds(30)));
    return got.value_or(GenericStatus(sc::kAbortRequested));
  }
  NvmeStatus Read(uint64_t offset, const MemDesc& dst) {
    return Await(
        [&](BackendCallback cb) { queue_->Read(offset, dst, std::move(cb)); });
  }
  NvmeStatus Write(uint64_t offset, const MemDesc& src, bool fua = false) {
    return Await([&](BackendCallback cb) {
      queue_->Write(offset, src, fua, std::move(cb));
    });
  }

  // The file's bytes, read around the backend.
  std::vector<uint8_t> FileBytes(uint64_t offset, size_t length) const {
    std::vector<uint8_t> out(length);
    int fd = open(path_.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(pread(fd, out.data(), length, static_cast<off_t>(offset)),
              static_cast<ssize_t>(length));
    close(fd);
    return out;
  }

  std::string dir_;
  std::string path_;  // of the backend opened last
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<BackendQueue> queue_;
};

TEST_F(UringBackendTest, CreatesAndExtendsTheFile) {
  Open(FileConfig("ns1", 1 << 20));
  struct stat st;
  ASSERT_EQ(stat(Path("ns1").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_EQ(backend_->num_blocks(), 2048u);
  EXPECT_FALSE(backend_->capabilities().memory_mapped);
  EXPECT_TRUE(queue_->Map(0, 512, false).empty());
  queue_.reset();
  backend_.reset();
  // Size 0: the file's size. A larger size extends it.
  Open(FileConfig("ns1", 0));
  EXPECT_EQ(backend_->size_bytes(), 1u << 20);
  queue_.reset();
  backend_.reset();
  Open(FileConfig("ns1", 2 << 20));
  ASSERT_EQ(stat(Path("ns1").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 2 << 20);
}

TEST_F(UringBackendTest, ScatterGatherWriteThenReadBack) {
  Open(FileConfig("sg", 1 << 20));
  constexpr size_t kLen = 64 << 10;
  std::vector<uint8_t> in(kLen), out(kLen, 0xEE);
  for (size_t i = 0; i < kLen; ++i) in[i] = PatternByte(i, 1);
  iovec w[5] = {{in.data(), 1000},
                {in.data() + 1000, 24},
                {in.data() + 1024, 30000},
                {in.data() + 31024, 4096},
                {in.data() + 35120, kLen - 35120}};
  ASSERT_EQ(Write(4096, MemDesc(w, 5)), kNvmeSuccess);
  EXPECT_EQ(FileBytes(4096, kLen), in);
  iovec r[3] = {{out.data(), 512},
                {out.data() + 512, 40000},
                {out.data() + 40512, kLen - 40512}};
  ASSERT_EQ(Read(4096, MemDesc(r, 3)), kNvmeSuccess);
  EXPECT_EQ(out, in);
  EXPECT_EQ(queue_->in_flight(), 0u);
}

TEST_F(UringBackendTest, MoreSegmentsThanOneSqeTakesAreSplit) {
  Open(FileConfig("segs", 1 << 20));
  constexpr size_t kSegs = 3 * kUringMaxSegments + 5;
  std::vector<uint8_t> in(kSegs * 512), out(kSegs * 512, 0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = PatternByte(i, 2);
  std::vector<iovec> w(kSegs), r(kSegs / 2 + 1);
  for (size_t i = 0; i < kSegs; ++i) w[i] = {in.data() + i * 512, 512};
  // Reads into segments of 1024 bytes but the last.
  for (size_t i = 0; i < r.size(); ++i) {
    size_t len = std::min<size_t>(1024, out.size() - i * 1024);
    r[i] = {out.data() + i * 1024, len};
  }
  ASSERT_EQ(Write(0, MemDesc(w.data(), w.size())), kNvmeSuccess);
  EXPECT_EQ(FileBytes(0, in.size()), in);
  ASSERT_EQ(Read(0, MemDesc(r.data(), r.size())), kNvmeSuccess);
  EXPECT_EQ(out, in);
}

TEST_F(UringBackendTest, FuaWriteAndFlush) {
  Open(FileConfig("fua", 1 << 20));
  std::vector<uint8_t> in(8192);
  for (size_t i = 0; i < in.size(); ++i) in[i] = PatternByte(i, 3);
  ASSERT_EQ(Write(65536, MemDesc(in.data(), in.size()), /*fua=*/true),
            kNvmeSuccess);
  EXPECT_EQ(FileBytes(65536, in.size()), in);
  EXPECT_EQ(Await([&](BackendCallback cb) { queue_->Flush(std::move(cb)); }),
            kNvmeSuccess);
}

TEST_F(UringBackendTest, WriteZeroesAndDeallocateReadAsZeros) {
  Open(FileConfig("zero", 4 << 20));
  std::vector<uint8_t> ones(4 << 20, 0xFF);
  ASSERT_EQ(Write(0, MemDesc(ones.data(), ones.size())), kNvmeSuccess);

  ASSERT_EQ(Await([&](BackendCallback cb) {
              queue_->WriteZeroes(512, 3 * 512, std::move(cb));
            }),
            kNvmeSuccess);
  ASSERT_EQ(Await([&](BackendCallback cb) {
              queue_->Deallocate(1 << 20, (1 << 20) + 4096, std::move(cb));
            }),
            kNvmeSuccess);
  std::vector<uint8_t> out(4 << 20);
  ASSERT_EQ(Read(0, MemDesc(out.data(), out.size())), kNvmeSuccess);
  for (size_t i = 0; i < out.size(); ++i) {
    bool zero =
        (i >= 512 && i < 4 * 512) || (i >= (1 << 20) && i < (2 << 20) + 4096);
    ASSERT_EQ(out[i], zero ? 0 : 0xFF) << "at " << i;
  }
  EXPECT_EQ(backend_->size_bytes(), 4u << 20);  // KEEP_SIZE: never grows
}

// tmpfs can punch holes but not zero ranges: WriteZeroes must fall back to
// writing zeros (in several SQEs for a range this long).
TEST_F(UringBackendTest, WriteZeroesFallsBackWhereZeroRangeIsRefused) {
  char tmpl[] = "/dev/shm/nvmeof-backend-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) GTEST_SKIP() << "no /dev/shm";
  std::string shm_dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{shm_dir};
  constexpr uint64_t kSize = 8 << 20;
  BackendConfig c = FileConfig("unused", kSize);
  c.params["path"] = shm_dir + "/ns";
  Open(c);
  {
    int fd = open(PathOf(c).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    int r = fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096);
    int err = errno;
    close(fd);
    if (r == 0 || err != EOPNOTSUPP) {
      GTEST_SKIP() << shm_dir << " supports FALLOC_FL_ZERO_RANGE: no fallback";
    }
  }
  std::vector<uint8_t> ones(kSize, 0xFF);
  ASSERT_EQ(Write(0, MemDesc(ones.data(), ones.size())), kNvmeSuccess);
  constexpr uint64_t kZeroLen =
      (6 << 20) + 512;  // > kUringMaxSegments * 256 KiB
  ASSERT_EQ(Await([&](BackendCallback cb) {
              queue_->WriteZeroes(4096, kZeroLen, std::move(cb));
            }),
            kNvmeSuccess);
  // Once refused, the queue goes straight to writing zeros.
  ASSERT_EQ(Await([&](BackendCallback cb) {
              queue_->WriteZeroes(kSize - 512, 512, std::move(cb));
            }),
            kNvmeSuccess);
  std::vector<uint8_t> out = FileBytes(0, kSize);
  for (uint64_t i = 0; i < kSize; ++i) {
    bool zero = (i >= 4096 && i < 4096 + kZeroLen) || i >= kSize - 512;
    ASSERT_EQ(out[i], zero ? 0 : 0xFF) << "at " << i;
  }
}

TEST_F(UringBackendTest, ConcurrentOperationsBeyondTheRingWait) {
  constexpr int kOps = 2 * kUringQueueDepth + 100;
  Open(FileConfig("many", uint64_t{kOps} * 4096));
  std::vector<std::vector<uint8_t>> bufs(kOps, std::vector<uint8_t>(4096));
  int done = 0, failed = 0;
  for (int i = 0; i < kOps; ++i) {
    for (size_t j = 0; j < 4096; ++j) bufs[i][j] = PatternByte(j, i);
    queue_->Write(uint64_t{4096} * i, MemDesc(bufs[i].data(), 4096), i % 7 == 0,
                  [&done, &failed](NvmeStatus s) {
                    ++done;
                    if (!s.ok()) ++failed;
                  });
  }
  EXPECT_EQ(queue_->in_flight(), static_cast<size_t>(kOps));
  ASSERT_TRUE(loop_->RunUntil([&] { return done == kOps; }, seconds(60)));
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(queue_->in_flight(), 0u);

  std::vector<std::vector<uint8_t>> back(kOps,
                                         std::vector<uint8_t>(4096, 0xEE));
  done = 0;
  for (int i = kOps - 1; i >= 0; --i) {
    queue_->Read(uint64_t{4096} * i, MemDesc(back[i].data(), 4096),
                 [&done, &failed](NvmeStatus s) {
                   ++done;
                   if (!s.ok()) ++failed;
                 });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == kOps; }, seconds(60)));
  EXPECT_EQ(failed, 0);
  for (int i = 0; i < kOps; ++i) ASSERT_EQ(back[i], bufs[i]) << "block " << i;
}

TEST_F(UringBackendTest, DirectIoWithAlignedBuffers) {
  BackendConfig c = FileConfig("direct", 1 << 20);
  c.params["direct"] = true;
  c.options.block_size = 4096;
  auto b = OpenBackend(c);
  if (!b.ok()) {
    std::string msg(b.status().message());
    ASSERT_NE(msg.find("O_DIRECT"), std::string::npos) << msg;
    ASSERT_NE(msg.find(PathOf(c)), std::string::npos) << msg;
    GTEST_SKIP() << "the filesystem of " << dir_
                 << " refuses O_DIRECT: " << msg;
  }
  backend_ = std::move(b).value();
  auto q = backend_->OpenQueue(*loop_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  queue_ = std::move(q).value();

  constexpr size_t kLen = 64 << 10;
  void* pin = nullptr;
  void* pout = nullptr;
  ASSERT_EQ(posix_memalign(&pin, 4096, kLen), 0);
  ASSERT_EQ(posix_memalign(&pout, 4096, kLen), 0);
  std::unique_ptr<uint8_t, decltype(&free)> in(static_cast<uint8_t*>(pin),
                                               &free);
  std::unique_ptr<uint8_t, decltype(&free)> out(static_cast<uint8_t*>(pout),
                                                &free);
  for (size_t i = 0; i < kLen; ++i) in.get()[i] = PatternByte(i, 9);
  std::memset(out.get(), 0, kLen);
  iovec w[2] = {{in.get(), 16384}, {in.get() + 16384, kLen - 16384}};
  ASSERT_EQ(Write(8192, MemDesc(w, 2), /*fua=*/true), kNvmeSuccess);
  ASSERT_EQ(Read(8192, MemDesc(out.get(), kLen)), kNvmeSuccess);
  EXPECT_EQ(std::memcmp(in.get(), out.get(), kLen), 0);
  ASSERT_EQ(Await([&](BackendCallback cb) {
              queue_->WriteZeroes(8192, 4096, std::move(cb));
            }),
            kNvmeSuccess);
  ASSERT_EQ(Read(8192, MemDesc(out.get(), 4096)), kNvmeSuccess);
  EXPECT_EQ(out.get()[0], 0);
  EXPECT_EQ(out.get()[4095], 0);
}

TEST_F(UringBackendTest, OpenErrorsNameThePathAndTheReason) {
  BackendConfig missing = FileConfig("missing", 0);
  std::string msg = OpenError(missing);
  EXPECT_NE(msg.find(PathOf(missing)), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;

  BackendConfig dir = FileConfig("", 0);
  dir.params["path"] = dir_;
  msg = OpenError(dir);
  EXPECT_NE(msg.find(dir_), std::string::npos) << msg;
  EXPECT_NE(msg.find("directory"), std::string::npos) << msg;

  BackendConfig odd = FileConfig("odd", 1000);
  msg = OpenError(odd);
  EXPECT_NE(msg.find(PathOf(odd)), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a multiple of the block size 512"), std::string::npos)
      << msg;
  EXPECT_FALSE(std::filesystem::exists(PathOf(odd)));  // refused before creating

  // An existing file whose size is not a multiple of the block size.
  int fd = open(PathOf(odd).c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 1000), 0);
  close(fd);
  msg = OpenError(FileConfig("odd", 0));
  EXPECT_NE(msg.find(PathOf(odd)), std::string::npos) << msg;
  EXPECT_NE(msg.find("size 1000"), std::string::npos) << msg;

  // Kind block on a regular file.
  BackendConfig block = FileConfig("odd", 0);
  block.type = "block";
  msg = OpenError(block);
  EXPECT_NE(msg.find(PathOf(block)), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a block device"), std::string::npos) << msg;

  // A read-only backend never extends the file.
  BackendConfig ro = FileConfig("odd", 4096);
  ro.options.read_only = true;
  msg = OpenError(ro);
  EXPECT_NE(msg.find("smaller"), std::string::npos) << msg;

  BackendConfig bs = FileConfig("bs", 4096);
  bs.options.block_size = 520;
  msg = OpenError(bs);
  EXPECT_NE(msg.find("520"), std::string::npos) << msg;
}

TEST_F(UringBackendTest, PseudoFilesystemsAreRefusedAtOpen) {
  // /proc/version opens, "extends" and then fails every I/O: refused.
  BackendConfig c = FileConfig("unused", 1 << 20);
  c.params["path"] = "/proc/version";
  std::string msg = OpenError(c);
  EXPECT_NE(msg.find("/proc/version"), std::string::npos) << msg;
  EXPECT_NE(msg.find("procfs"), std::string::npos) << msg;
}

TEST_F(UringBackendTest, AFileLargerThanItsSizeIsServedInPartAndSaysSo) {
  Open(FileConfig("big", 1 << 20));
  queue_.reset();
  backend_.reset();
  test_util::LogCapture log;
  Open(FileConfig("big", 64 << 10));
  EXPECT_EQ(backend_->size_bytes(), 64u << 10);
  EXPECT_TRUE(log.Has({"big", "1048576 bytes", "only its first 65536"}))
      << log.All();
}

TEST_F(UringBackendTest, BadRangesAndShrunkFileAreErrorStatuses) {
  Open(FileConfig("range", 64 * 512));
  std::vector<uint8_t> buf(1024, 0xAA);
  EXPECT_EQ(Read(64 * 512, MemDesc(buf.data(), 512)), kLbaOutOfRange);
  EXPECT_EQ(Read(63 * 512, MemDesc(buf.data(), 1024)), kLbaOutOfRange);
  EXPECT_EQ(Write(UINT64_MAX - 511, MemDesc(buf.data(), 512)), kLbaOutOfRange);
  EXPECT_EQ(Read(7, MemDesc(buf.data(), 512)),
            GenericStatus(sc::kInvalidField, true));
  EXPECT_EQ(Await([&](BackendCallback cb) {
              queue_->Deallocate(60 * 512, 8 * 512, std::move(cb));
            }),
            kLbaOutOfRange);
  EXPECT_EQ(queue_->in_flight(), 0u);

  // The file shrinks behind the backend's back: reading past its new end
  // reaches EOF, which must be an error, not zeros or a hang.
  ASSERT_EQ(truncate(path_.c_str(), 32 * 512), 0);
  EXPECT_EQ(Read(40 * 512, MemDesc(buf.data(), 512)), kInternalError);
  EXPECT_EQ(Read(31 * 512, MemDesc(buf.data(), 1024)), kInternalError);
}

TEST_F(UringBackendTest, ReadOnlyRefusesWrites) {
  Open(FileConfig("ro", 8192));
  queue_.reset();
  backend_.reset();
  BackendConfig c = FileConfig("ro", 0);
  c.options.read_only = true;
  Open(c);
  uint8_t buf[512] = {};
  EXPECT_EQ(Write(0, MemDesc(buf, sizeof(buf))),
            GenericStatus(sc::kNamespaceWriteProtected, true));
  EXPECT_EQ(Read(0, MemDesc(buf, sizeof(buf))), kNvmeSuccess);
}

TEST_F(UringBackendTest, DestroyingQueueWithOperationsInFlightIsSafe) {
  Open(FileConfig("teardown", 1 << 20));
  auto token = std::make_shared<int>(0);
  bool called = false;
  std::vector<uint8_t> buf(1 << 20, 0x11);
  for (int i = 0; i < 300; ++i) {
    queue_->Write(0, MemDesc(buf.data(), buf.size()), false,
                  [token, &called](NvmeStatus) { called = true; });
  }
  // Submit part of them, then tear down with some in the kernel and some
  // waiting for a slot.
  loop_->RunOnce(std::chrono::milliseconds(0));
  queue_.reset();
  EXPECT_EQ(token.use_count(), 1);
  loop_->RunOnce(std::chrono::milliseconds(0));
  EXPECT_FALSE(called);
}

// Against the contract, but it must not touch freed memory: the first
// callback destroys the queue; the rest are dropped uncalled.
TEST_F(UringBackendTest, CallbackThatDestroysTheQueueStopsDispatch) {
  Open(FileConfig("selfdestroy", 1 << 20));
  std::vector<uint8_t> buf(64 * 512);
  int calls = 0;
  for (int i = 0; i < 64; ++i) {
    queue_->Read(uint64_t{512} * i, MemDesc(buf.data() + 512 * i, 512),
                 [this, &calls](NvmeStatus) {
                   ++calls;
                   queue_.reset();
                 });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return calls > 0; }, seconds(10)));
  loop_->RunOnce(std::chrono::milliseconds(10));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(queue_, nullptr);
}

}  // namespace
}  // namespace nvmeof::controller
