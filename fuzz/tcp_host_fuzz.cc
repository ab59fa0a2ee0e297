// Fuzzes the host side of an NVMe/TCP connection: the input is what a
// controller sends, from the ICResp on. Once connected, the host has
// three commands in flight (cid 1: a 64 KiB read, cid 2: a 64 KiB write
// to be pulled by R2T, cid 3: no data), so that R2T, C2HData (with
// SUCCESS) and responses find commands to name. Invariants: no crash, no
// sanitizer report, no capsule leaked, no data callback run twice.

#include <sys/socket.h>

#include <cstdlib>

#include "fuzz_common.h"
#include "io/socket.h"
#include "nvmeof/tcp.h"

namespace nvmeof::fuzz {
namespace {

struct Host {
  std::unique_ptr<QueuePair> qp;
  std::vector<CapsulePtr> commands;
  std::vector<CapsulePtr> responses;
  std::vector<uint8_t> read_buf = std::vector<uint8_t>(65536);
  std::vector<uint8_t> write_buf = std::vector<uint8_t>(65536, 0x5A);
  int data_done[4] = {0, 0, 0, 0};
  bool connected = false;

  void Submit(uint16_t cid, uint8_t opcode, std::vector<uint8_t>* buf,
              bool out) {
    Sqe sqe{};
    sqe.cid = cid;
    sqe.opcode = opcode;
    CapsulePtr c = qp->AllocateCommand(sqe);
    if (buf != nullptr) {
      c->AppendData(MemDesc(buf->data(), buf->size()), out,
                    [this, cid](Status) {
                      if (++data_done[cid] > 1) abort();  // completed twice
                    });
    }
    if (!qp->Transmit(*c).ok()) abort();
    commands.push_back(std::move(c));
  }
};

}  // namespace
}  // namespace nvmeof::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvmeof;
  using namespace nvmeof::fuzz;
  static int listen_fd = [] {
    RegisterTcpTransport();
    auto l = ListenTcp(*SocketAddress::Parse("127.0.0.1", 0));
    return l->release();
  }();
  static std::string port = std::to_string(LocalAddress(listen_fd)->Port());

  Host host;
  HostQueuePairParams params;
  params.queue_size = 8;
  params.max_icd = 0;  // every write goes by R2T
  params.connect_timeout = std::chrono::milliseconds(1000);
  bool setup_done = false;
  TransportRegistry::Global()
      .Find(TransportType::kTcp)
      ->Connect(
          Loop(), {TransportType::kTcp, "127.0.0.1", port}, params,
          {[](Status) {},
           [&host](CapsulePtr c) { host.responses.push_back(std::move(c)); }},
          [&](Result<std::unique_ptr<QueuePair>> r) {
            setup_done = true;
            if (!r.ok()) return;
            host.qp = std::move(r).value();
            host.Submit(1, 0x02, &host.read_buf, false);
            host.Submit(2, 0x01, &host.write_buf, true);
            host.Submit(3, 0x00, nullptr, false);
          });
  Fd peer;
  if (!Loop().RunUntil(
          [&] {
            auto c = AcceptTcp(listen_fd);
            if (c.ok() && c->valid()) peer = std::move(c).value();
            return peer.valid();
          },
          std::chrono::seconds(5))) {
    abort();
  }
  Pump(peer.get(), data, size);
  if (!DrainUntilClosed(peer.get())) abort();
  if (!Loop().RunUntil([&] { return setup_done; }, std::chrono::seconds(5)))
    abort();
  host.responses.clear();
  if (host.qp) {
    bool closed = false;
    host.qp->Close([&] { closed = true; });
    if (!Loop().RunUntil([&] { return closed; }, std::chrono::seconds(5)))
      abort();
    host.commands.clear();
    if (host.qp->capsules_in_use() != 0) abort();
    host.qp.reset();
  }
  Loop().RunOnce(std::chrono::milliseconds(0));
  return 0;
}
