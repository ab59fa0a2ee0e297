#include "controller/backends/uring.h"

#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

#include "controller/backends/common.h"
#include "controller/config_values.h"
#include "io/socket.h"
#include "nvmeof/log.h"

namespace nvmeof::controller {
namespace {

// Source of WriteZeroes when the filesystem cannot zero a range itself.
// Never written; aligned for O_DIRECT.
constexpr size_t kZeroBufferSize = 256 << 10;
alignas(4096) uint8_t g_zeros[kZeroBufferSize];

// One operation. Lives in the queue's node pool from the call that starts
// it until just before its callback runs.
struct UringOp {
  enum class Kind : uint8_t {
    kRead,
    kWrite,
    kZeroWrite,  // writes zeros from g_zeros (WriteZeroes fallback)
    kFlush,
    kPunchHole,  // Deallocate
    kZeroRange,  // WriteZeroes, or Deallocate where PUNCH_HOLE is refused
  };
  Kind kind = Kind::kRead;
  bool fua = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t done_bytes = 0;  // read/write progress
  MemDesc mem;              // borrowed from the caller
  BackendCallback done;
  iovec iov[kUringMaxSegments];
  UringOp* next = nullptr;
};

class UringBackend final : public Backend {
 public:
  UringBackend(const BackendOptions& options, std::string path, uint64_t size,
               Fd fd)
      : Backend(options, size), path_(std::move(path)), fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  BackendCapabilities capabilities() const override {
    BackendCapabilities c;
    c.volatile_write_cache = true;
    return c;
  }
  Status Sync() override {
    if (fdatasync(fd_.get()) != 0)
      return ErrnoError(errno, "fdatasync " + path_);
    return Status();
  }
  Result<std::unique_ptr<BackendQueue>> OpenQueue(EventLoop& loop) override;

  // A regular file is extended (ftruncate, sparse); a block device grows
  // to what the device now has at most (it was resized underneath).
  // To a size the device has, or the file (extended first unless it is
  // served read-only: then only to a size it grew to by itself).
  Status Grow(uint64_t new_size) override {
    struct stat st {};
    if (fstat(fd_.get(), &st) != 0) return ErrnoError(errno, "fstat " + path_);
    if (S_ISBLK(st.st_mode)) {
      uint64_t device = 0;
      if (ioctl(fd_.get(), BLKGETSIZE64, &device) != 0) {
        return ErrnoError(errno, "BLKGETSIZE64 " + path_);
      }
      if (new_size > device) {
        return OutOfRangeError(path_ + " is a block device of " +
                               std::to_string(device) + " bytes: it cannot "
                               "serve " + std::to_string(new_size));
      }
    } else if (static_cast<uint64_t>(st.st_size) < new_size) {
      if (read_only()) {
        return FailedPreconditionError(
            path_ + " is served read-only: it is not extended (it has " +
            std::to_string(st.st_size) + " bytes)");
      }
      if (ftruncate(fd_.get(), static_cast<off_t>(new_size)) != 0) {
        return ErrnoError(errno, "ftruncate " + path_);
      }
    }
    set_size(new_size);
    return Status();
  }

 private:
  const std::string path_;
  Fd fd_;
};

class UringQueue final : public QueueBase, private EventLoop::FdHandler {
 public:
  static Result<std::unique_ptr<BackendQueue>> Create(const UringBackend* b,
                                                      EventLoop& loop);
  ~UringQueue() override;

  void Read(uint64_t offset, const MemDesc& dst,
            BackendCallback done) override {
    UringOp* op = NewOp(UringOp::Kind::kRead, offset, dst.length(), done);
    op->mem = dst;
    Start(op, Check(offset, dst.length()));
  }
  void Write(uint64_t offset, const MemDesc& src, bool fua,
             BackendCallback done) override {
    UringOp* op = NewOp(UringOp::Kind::kWrite, offset, src.length(), done);
    op->mem = src;
    op->fua = fua;
    Start(op, CheckWrite(offset, src.length()));
  }
  void Flush(BackendCallback done) override {
    Start(NewOp(UringOp::Kind::kFlush, 0, 0, done), kNvmeSuccess);
  }
  void WriteZeroes(uint64_t offset, uint64_t length,
                   BackendCallback done) override {
    UringOp::Kind kind = zero_range_refused_ ? UringOp::Kind::kZeroWrite
                                             : UringOp::Kind::kZeroRange;
    Start(NewOp(kind, offset, length, done), CheckWrite(offset, length));
  }
  void Deallocate(uint64_t offset, uint64_t length,
                  BackendCallback done) override {
    UringOp::Kind kind = UringOp::Kind::kPunchHole;
    if (punch_hole_refused_) {
      kind = zero_range_refused_ ? UringOp::Kind::kZeroWrite
                                 : UringOp::Kind::kZeroRange;
    }
    Start(NewOp(kind, offset, length, done), CheckWrite(offset, length));
  }

 private:
  class SubmitTask final : public EventLoop::Task {
   public:
    explicit SubmitTask(UringQueue* q) : q_(q) {}
    void Run() override { q_->Submit(); }

   private:
    UringQueue* q_;
  };

  UringQueue(const UringBackend* b, EventLoop& loop, Fd event_fd)
      : QueueBase(*b, loop),
        backend_(b),
        loop_(loop),
        event_fd_(std::move(event_fd)),
        pool_(0, 16),
        submit_task_(this) {}

  UringOp* NewOp(UringOp::Kind kind, uint64_t offset, uint64_t length,
                 BackendCallback& done) {
    UringOp* op = pool_.Get();
    op->kind = kind;
    op->fua = false;
    op->offset = offset;
    op->length = length;
    op->done_bytes = 0;
    op->done = std::move(done);
    ++in_flight_;
    return op;
  }
  void Release(UringOp* op) {
    op->mem = MemDesc();
    pool_.Put(op);
  }

  // Starts `op`, or completes it later with `status` if that is an error.
  void Start(UringOp* op, NvmeStatus status);
  // Gives `op` a slot and prepares its SQE, or queues it if none is free
  // (or older operations are waiting).
  void Enqueue(UringOp* op);
  void StartWaiting();
  void Prepare(UringOp* op);
  // Fills op->iov for the next step of a read or write; returns the count.
  unsigned FillIov(UringOp* op);
  void Submit();
  void OnFdEvents(uint32_t events) override;
  void OnCqe(UringOp* op, int res);
  void Complete(UringOp* op, NvmeStatus status);

  const UringBackend* const backend_;
  EventLoop& loop_;
  Fd event_fd_;
  io_uring ring_{};
  bool ring_ready_ = false;
  Pool<UringOp> pool_;
  IntrusiveFifo<UringOp> waiting_;  // started, no slot yet
  unsigned in_kernel_ = 0;     // slots in use: SQEs prepared or submitted
  SubmitTask submit_task_;
  EventLoop::TimerId retry_timer_ = 0;
  bool punch_hole_refused_ = false;  // EOPNOTSUPP seen: skip next time
  bool zero_range_refused_ = false;
  bool* alive_ = nullptr;  // set while OnFdEvents() dispatches
};

Result<std::unique_ptr<BackendQueue>> UringQueue::Create(const UringBackend* b,
                                                         EventLoop& loop) {
  Fd efd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!efd.valid()) return ErrnoError(errno, "eventfd");
  std::unique_ptr<UringQueue> q(new UringQueue(b, loop, std::move(efd)));
  const std::string& path = b->path();
  int r = io_uring_queue_init(kUringQueueDepth, &q->ring_, 0);
  if (r < 0) return ErrnoError(-r, path + ": io_uring_queue_init");
  q->ring_ready_ = true;
  r = io_uring_register_eventfd(&q->ring_, q->event_fd_.get());
  if (r < 0) return ErrnoError(-r, path + ": io_uring_register_eventfd");
  NVMEOF_RETURN_IF_ERROR(loop.AddFd(q->event_fd_.get(), EPOLLIN, q.get()));
  return std::unique_ptr<BackendQueue>(std::move(q));
}

UringQueue::~UringQueue() {
  if (alive_ != nullptr) *alive_ = false;
  loop_.Unschedule(&submit_task_);
  if (retry_timer_ != 0) loop_.CancelTimer(retry_timer_);
  if (ring_ready_) {
    loop_.RemoveFd(event_fd_.get(), this);
    // The kernel may still read or write the callers' buffers for what it
    // has consumed: wait for those. SQEs it never consumed are dropped.
    unsigned outstanding = in_kernel_ - io_uring_sq_ready(&ring_);
    while (outstanding > 0) {
      io_uring_cqe* cqe = nullptr;
      int r = io_uring_wait_cqe(&ring_, &cqe);
      if (r == -EINTR) continue;
      if (r < 0) break;
      io_uring_cqe_seen(&ring_, cqe);
      --outstanding;
    }
    io_uring_queue_exit(&ring_);
  }
  // Operations not finished: their nodes (and callbacks) go with pool_.
}

void UringQueue::Start(UringOp* op, NvmeStatus status) {
  if (!status.ok() || (op->length == 0 && op->kind != UringOp::Kind::kFlush)) {
    // Nothing for the kernel: complete at the end of the turn.
    BackendCallback done = op->done.Take();
    Release(op);
    --in_flight_;  // Finish counts it again
    Finish(std::move(done), status);
    return;
  }
  Enqueue(op);
}

void UringQueue::Enqueue(UringOp* op) {
  if (in_kernel_ < kUringQueueDepth && waiting_.empty()) {
    ++in_kernel_;
    Prepare(op);
  } else {
    waiting_.Push(op);
  }
}

void UringQueue::StartWaiting() {
  while (in_kernel_ < kUringQueueDepth && !waiting_.empty()) {
    ++in_kernel_;
    Prepare(waiting_.Pop());
  }
}

unsigned UringQueue::FillIov(UringOp* op) {
  uint64_t skip = op->done_bytes;
  uint64_t left = op->length - op->done_bytes;
  unsigned n = 0;
  if (op->kind == UringOp::Kind::kZeroWrite) {
    while (left > 0 && n < kUringMaxSegments) {
      size_t take =
          static_cast<size_t>(std::min<uint64_t>(left, kZeroBufferSize));
      op->iov[n++] = {g_zeros, take};
      left -= take;
    }
    return n;
  }
  const iovec* seg = op->mem.segments();
  size_t count = op->mem.segment_count();
  for (size_t i = 0; i < count && left > 0 && n < kUringMaxSegments; ++i) {
    if (skip >= seg[i].iov_len) {
      skip -= seg[i].iov_len;
      continue;
    }
    size_t take = seg[i].iov_len - static_cast<size_t>(skip);
    if (take > left) take = static_cast<size_t>(left);
    op->iov[n++] = {static_cast<char*>(seg[i].iov_base) + skip, take};
    left -= take;
    skip = 0;
  }
  return n;
}

void UringQueue::Prepare(UringOp* op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    // Cannot happen: unconsumed SQEs <= in_kernel_ <= the SQ size. Keep
    // the operation rather than lose it.
    --in_kernel_;
    waiting_.Push(op);
    loop_.Schedule(&submit_task_);
    return;
  }
  const int fd = backend_->fd();
  const uint64_t pos = op->offset + op->done_bytes;
  switch (op->kind) {
    case UringOp::Kind::kRead:
      io_uring_prep_readv(sqe, fd, op->iov, FillIov(op), pos);
      break;
    case UringOp::Kind::kWrite:
      io_uring_prep_writev2(sqe, fd, op->iov, FillIov(op), pos,
                            op->fua ? RWF_DSYNC : 0);
      break;
    case UringOp::Kind::kZeroWrite:
      io_uring_prep_writev(sqe, fd, op->iov, FillIov(op), pos);
      break;
    case UringOp::Kind::kFlush:
      io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      break;
    case UringOp::Kind::kPunchHole:
      io_uring_prep_fallocate(
          sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
          static_cast<off_t>(op->offset), static_cast<off_t>(op->length));
      break;
    case UringOp::Kind::kZeroRange:
      io_uring_prep_fallocate(
          sqe, fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
          static_cast<off_t>(op->offset), static_cast<off_t>(op->length));
      break;
  }
  io_uring_sqe_set_data(sqe, op);
  loop_.Schedule(&submit_task_);
}

void UringQueue::Submit() {
  if (io_uring_sq_ready(&ring_) == 0) return;
  // Returns how many SQEs the kernel consumed, or -EAGAIN/-EBUSY (short of
  // resources, or completions must be reaped first) or -EINTR.
  (void)io_uring_submit(&ring_);
  const unsigned left = io_uring_sq_ready(&ring_);
  if (left == 0) return;
  // Some SQEs stayed in the ring: try again after the next completion
  // (OnFdEvents reschedules this task), or shortly if none is coming.
  if (in_kernel_ > left || retry_timer_ != 0) return;
  retry_timer_ = loop_.AddTimer(std::chrono::milliseconds(1), [this] {
    retry_timer_ = 0;
    loop_.Schedule(&submit_task_);
  });
}

void UringQueue::OnFdEvents(uint32_t /*events*/) {
  uint64_t count;
  if (read(event_fd_.get(), &count, sizeof(count)) < 0) {
    // EAGAIN: a previous turn reaped everything already.
  }
  bool alive = true;
  alive_ = &alive;
  constexpr unsigned kBatch = 32;
  io_uring_cqe* cqes[kBatch];
  struct Reaped {
    UringOp* op;
    int res;
  } reaped[kBatch];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kBatch);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) {
      reaped[i] = {static_cast<UringOp*>(io_uring_cqe_get_data(cqes[i])),
                   cqes[i]->res};
    }
    io_uring_cq_advance(&ring_, n);
    in_kernel_ -= n;
    for (unsigned i = 0; i < n; ++i) {
      OnCqe(reaped[i].op, reaped[i].res);
      if (!alive) return;  // a callback destroyed the queue
    }
    StartWaiting();
  }
  alive_ = nullptr;
  if (io_uring_sq_ready(&ring_) > 0) loop_.Schedule(&submit_task_);
}

void UringQueue::OnCqe(UringOp* op, int res) {
  using Kind = UringOp::Kind;
  if (res == -EAGAIN || res == -EINTR) {
    Enqueue(op);  // the same step again
    return;
  }
  if (res == -EOPNOTSUPP) {
    // The filesystem or device cannot punch or zero ranges: fall back, and
    // remember it for the next operations of this queue.
    if (op->kind == Kind::kPunchHole) {
      punch_hole_refused_ = true;
      op->kind = zero_range_refused_ ? Kind::kZeroWrite : Kind::kZeroRange;
      Enqueue(op);
      return;
    }
    if (op->kind == Kind::kZeroRange) {
      zero_range_refused_ = true;
      op->kind = Kind::kZeroWrite;
      Enqueue(op);
      return;
    }
  }
  if (res < 0) {
    Complete(op, ErrnoToNvmeStatus(-res));
    return;
  }
  switch (op->kind) {
    case Kind::kRead:
    case Kind::kWrite:
    case Kind::kZeroWrite:
      if (res == 0) {
        // No progress: the file ended early (it shrank under us). nvmet
        // treats a short transfer as EIO too.
        Complete(op, ErrnoToNvmeStatus(EIO));
        return;
      }
      op->done_bytes += static_cast<uint64_t>(res);
      if (op->done_bytes < op->length) {
        Enqueue(op);  // short transfer, or more segments: continue
        return;
      }
      break;
    default:
      break;
  }
  Complete(op, kNvmeSuccess);
}

void UringQueue::Complete(UringOp* op, NvmeStatus status) {
  BackendCallback done = op->done.Take();
  Release(op);  // first: the callback may start another operation
  --in_flight_;
  done(status);
}

Result<std::unique_ptr<BackendQueue>> UringBackend::OpenQueue(EventLoop& loop) {
  return UringQueue::Create(this, loop);
}

// Reads one block at offset 0 with O_DIRECT, so that a filesystem that
// refuses it is reported at Open() rather than on every I/O.
Status ProbeDirect(int fd, const std::string& path, uint32_t block_size) {
  void* buf = nullptr;
  if (posix_memalign(&buf, 4096, block_size) != 0) {
    return ResourceExhaustedError(path + ": out of memory");
  }
  ssize_t r = pread(fd, buf, block_size, 0);
  int err = errno;
  free(buf);
  if (r >= 0) return Status::Ok();
  if (err == EINVAL) {
    return InvalidArgumentError(
        path + ": O_DIRECT I/O of " + std::to_string(block_size) +
        "-byte blocks refused (EINVAL): the filesystem does not support "
        "O_DIRECT or needs a larger alignment; use a larger block_size or "
        "turn direct off");
  }
  return ErrnoError(err, path + ": O_DIRECT read");
}

// Refuses a file on a pseudo filesystem (procfs, sysfs, ...): it opens and
// even "extends", and every I/O then fails.
Status CheckStoresData(int fd, const std::string& path) {
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) return ErrnoError(errno, path + ": fstatfs");
  struct Pseudo {
    unsigned long magic;
    const char* name;
  };
  static constexpr Pseudo kPseudo[] = {
      {0x9fa0, "procfs"},       {0x62656572, "sysfs"},
      {0x64626720, "debugfs"},  {0x74726163, "tracefs"},
      {0x63677270, "cgroup2"},  {0x27e0eb, "cgroup"},
      {0x73636673, "securityfs"}, {0x62656570, "configfs"},
      {0x1cd1, "devpts"},       {0x6165676C, "pstore"},
      {0xcafe4a11, "bpf"},      {0xde5e81e4, "efivarfs"}};
  for (const Pseudo& p : kPseudo) {
    if (static_cast<unsigned long>(fs.f_type) == p.magic) {
      return InvalidArgumentError(
          path + ": on " + p.name +
          ", a pseudo filesystem that stores no blocks: give a regular file "
          "on a real filesystem");
    }
  }
  return Status::Ok();
}

// Opens a file (block false) or a block device.
Result<std::unique_ptr<Backend>> OpenUringBackend(bool block,
                                                  const std::string& path,
                                                  uint64_t config_size,
                                                  bool direct,
                                                  const BackendOptions& config) {
  const std::string kind = block ? "block" : "file";
  const std::string bs = std::to_string(config.block_size);
  if (path.empty()) return InvalidArgumentError(kind + " backend: no path");
  if (config_size % config.block_size != 0) {
    return InvalidArgumentError(path + ": size " + std::to_string(config_size) +
                                " is not a multiple of the block size " + bs);
  }
  int flags = (config.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (direct) flags |= O_DIRECT;
  if (!block && !config.read_only && config_size > 0) flags |= O_CREAT;
  Fd fd(open(path.c_str(), flags, 0644));
  if (!fd.valid()) {
    int err = errno;
    if (err == EINVAL && direct) {
      return InvalidArgumentError(
          path +
          ": O_DIRECT is not supported by its filesystem "
          "(open: EINVAL); turn direct off");
    }
    return ErrnoError(err, "cannot open " + kind + " backend " + path);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(errno, path + ": fstat");

  uint64_t size = config_size;
  if (block) {
    if (!S_ISBLK(st.st_mode)) {
      return InvalidArgumentError(
          path + ": not a block device" +
          (S_ISREG(st.st_mode) ? " (a regular file: use backend \"file\")"
                                : ""));
    }
    uint64_t device_size = 0;
    if (ioctl(fd.get(), BLKGETSIZE64, &device_size) != 0) {
      return ErrnoError(errno, path + ": BLKGETSIZE64");
    }
    int logical = 0;
    if (ioctl(fd.get(), BLKSSZGET, &logical) != 0) {
      return ErrnoError(errno, path + ": BLKSSZGET");
    }
    if (static_cast<uint32_t>(logical) > config.block_size) {
      return InvalidArgumentError(
          path + ": logical block size " + std::to_string(logical) +
          " of the device is larger than the block size " + bs);
    }
    if (size > device_size) {
      return InvalidArgumentError(path + ": size " + std::to_string(size) +
                                  " is larger than the device (" +
                                  std::to_string(device_size) + " bytes)");
    }
    if (size == 0) size = device_size;
  } else {
    if (S_ISDIR(st.st_mode))
      return InvalidArgumentError(path + ": is a directory");
    if (S_ISBLK(st.st_mode)) {
      return InvalidArgumentError(path +
                                  ": is a block device: use backend \"block\"");
    }
    if (!S_ISREG(st.st_mode))
      return InvalidArgumentError(path + ": not a regular file");
    NVMEOF_RETURN_IF_ERROR(CheckStoresData(fd.get(), path));
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    if (size == 0) size = file_size;
    if (file_size > size) {
      NVMEOF_LOG(kWarn,
                 "%s is %llu bytes: the namespace serves only its first %llu "
                 "(its configured size)",
                 path.c_str(), static_cast<unsigned long long>(file_size),
                 static_cast<unsigned long long>(size));
    }
    if (file_size < size) {
      if (config.read_only) {
        return InvalidArgumentError(
            path + ": the file (" + std::to_string(file_size) +
            " bytes) is smaller than the size " + std::to_string(size) +
            " of a read-only backend");
      }
      if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        return ErrnoError(errno, path + ": cannot extend to " +
                                     std::to_string(size) + " bytes");
      }
    }
  }
  if (size == 0) {
    return InvalidArgumentError(path + ": empty, and no size configured");
  }
  if (size % config.block_size != 0) {
    return InvalidArgumentError(path + ": size " + std::to_string(size) +
                                " is not a multiple of the block size " + bs);
  }
  if (direct) {
    NVMEOF_RETURN_IF_ERROR(ProbeDirect(fd.get(), path, config.block_size));
  }
  return std::unique_ptr<Backend>(
      new UringBackend(config, path, size, std::move(fd)));
}

// "file" and "block": the same settings but for "size", which a block
// device does not take (it has its own).
class UringPlugin final : public BackendPlugin {
 public:
  explicit UringPlugin(bool block) : block_(block) {}
  std::string_view type() const override { return block_ ? "block" : "file"; }
  std::span<const std::string_view> keys() const override { return kKeys; }
  Result<config_internal::Json> Read(
      const config_internal::ObjectReader& r,
      const BackendOptions& options) const override {
    using config_internal::ErrorAt;
    config_internal::Json params = config_internal::Json::object();
    if (!r.Has("path")) return r.Missing("path");
    NVMEOF_ASSIGN_OR_RETURN(std::string path, r.String("path", ""));
    if (path.empty() || path.find('\0') != std::string::npos) {
      return ErrorAt(r.PathOf("path"), "must be a non-empty file name");
    }
    params["path"] = path;
    if (block_) {
      if (r.Has("size")) {
        return ErrorAt(r.PathOf("size"),
                       "not allowed for backend 'block' (a block device has "
                       "its own size)");
      }
    } else {
      NVMEOF_RETURN_IF_ERROR(ReadSize(r, options, /*required=*/false, params));
    }
    NVMEOF_ASSIGN_OR_RETURN(bool direct, r.Bool("direct", false));
    params["direct"] = direct;
    return params;
  }
  Result<std::unique_ptr<Backend>> Open(
      const BackendConfig& config) const override {
    const auto& p = config.params;
    auto path = p.find("path");
    auto direct = p.find("direct");
    return OpenUringBackend(
        block_,
        path != p.end() && path->is_string() ? path->get<std::string>() : "",
        ParamSize(p, "size"),
        direct != p.end() && direct->is_boolean() && direct->get<bool>(),
        config.options);
  }

 private:
  static constexpr std::string_view kKeys[] = {"path", "size", "direct"};
  const bool block_;
};

}  // namespace

std::unique_ptr<BackendPlugin> MakeFileBackendPlugin() {
  return std::make_unique<UringPlugin>(false);
}
std::unique_ptr<BackendPlugin> MakeBlockBackendPlugin() {
  return std::make_unique<UringPlugin>(true);
}

}  // namespace nvmeof::controller
