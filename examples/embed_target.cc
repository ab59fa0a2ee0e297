// A program that serves its own storage over NVMe/TCP with nvmeof::Target.
//
//   build/examples/embed_target [PORT]     (default 4420, on 127.0.0.1)
//   nvmeof read --trsvcid PORT -n 1 -s 0 -c 0 -d block0.bin
//       --nqn nqn.2024-11.io.nvmeof.example:embedded
//
// Its namespace is a Backend of its own: 1 MiB of memory whose every
// 512-byte block starts out holding its own LBA (a little-endian uint64,
// repeated), which a host can read, overwrite and read back. A real
// program would put its own store behind the same few methods.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "nvmeof/backend.h"
#include "nvmeof/target.h"
#include "nvmeof/tcp.h"

namespace {

constexpr char kNqn[] = "nqn.2024-11.io.nvmeof.example:embedded";
constexpr uint32_t kBlockSize = 512;
constexpr uint64_t kBlocks = 2048;

class PatternBackend final : public nvmeof::Backend {
 public:
  PatternBackend()
      : Backend(nvmeof::BackendOptions{kBlockSize, false},
                kBlocks * kBlockSize),
        bytes_(kBlocks * kBlockSize) {
    for (uint64_t lba = 0; lba < kBlocks; ++lba) {
      for (uint32_t i = 0; i < kBlockSize; i += 8) {
        std::memcpy(&bytes_[lba * kBlockSize + i], &lba, 8);
      }
    }
  }
  nvmeof::BackendCapabilities capabilities() const override { return {}; }
  nvmeof::Result<std::unique_ptr<nvmeof::BackendQueue>> OpenQueue(
      nvmeof::EventLoop& loop) override;

  uint8_t* at(uint64_t offset) { return bytes_.data() + offset; }

 private:
  std::vector<uint8_t> bytes_;
};

// One per I/O thread. Every operation completes later on the loop, through
// BackendCompletions, as the interface requires.
class PatternQueue final : public nvmeof::BackendQueue {
 public:
  PatternQueue(PatternBackend* backend, nvmeof::EventLoop& loop)
      : backend_(backend), completions_(&loop, &in_flight_) {}

  void Read(uint64_t offset, const nvmeof::MemDesc& dst,
            nvmeof::BackendCallback done) override {
    nvmeof::NvmeStatus s = Check(offset, dst.length());
    if (s.ok()) dst.CopyIn(0, backend_->at(offset), dst.length());
    Finish(std::move(done), s);
  }
  void Write(uint64_t offset, const nvmeof::MemDesc& src, bool /*fua*/,
             nvmeof::BackendCallback done) override {
    nvmeof::NvmeStatus s = Check(offset, src.length());
    if (s.ok()) src.CopyOut(0, backend_->at(offset), src.length());
    Finish(std::move(done), s);
  }
  void Flush(nvmeof::BackendCallback done) override {
    Finish(std::move(done), nvmeof::kNvmeSuccess);
  }
  void WriteZeroes(uint64_t offset, uint64_t length,
                   nvmeof::BackendCallback done) override {
    nvmeof::NvmeStatus s = Check(offset, length);
    if (s.ok()) std::memset(backend_->at(offset), 0, length);
    Finish(std::move(done), s);
  }
  void Deallocate(uint64_t offset, uint64_t length,
                  nvmeof::BackendCallback done) override {
    WriteZeroes(offset, length, std::move(done));
  }

 private:
  nvmeof::NvmeStatus Check(uint64_t offset, uint64_t length) const {
    return nvmeof::CheckRange(offset, length, backend_->size_bytes(),
                              backend_->block_size());
  }
  void Finish(nvmeof::BackendCallback done, nvmeof::NvmeStatus status) {
    ++in_flight_;
    completions_.Post(std::move(done), status);
  }

  PatternBackend* const backend_;
  nvmeof::BackendCompletions completions_;
};

nvmeof::Result<std::unique_ptr<nvmeof::BackendQueue>>
PatternBackend::OpenQueue(nvmeof::EventLoop& loop) {
  return std::unique_ptr<nvmeof::BackendQueue>(new PatternQueue(this, loop));
}

int Check(const nvmeof::Status& s) {
  if (s.ok()) return 0;
  std::fprintf(stderr, "embed_target: %s\n", s.ToString().c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 4420;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  nvmeof::RegisterTcpTransport();
  std::unique_ptr<nvmeof::Target> target = nvmeof::Target::Create();
  Check(target->AddSubsystem({.nqn = kNqn}));
  Check(target->AddNamespace(kNqn, {.nsid = 1},
                             std::make_unique<PatternBackend>()));
  Check(target->AddPort(
      {.address = "127.0.0.1", .port = static_cast<uint16_t>(port)}));
  Check(target->Start({.threads = 1}));
  std::printf("embed_target: serving %s on 127.0.0.1:%s\n", kNqn,
              target->listen_addresses()[0].trsvcid.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  target->Stop();
  std::printf("embed_target: stopped\n");
  return 0;
}
