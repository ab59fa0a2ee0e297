// The nvmeof tool's I/O verbs: read, write, compare, flush, write-zeroes,
// dsm.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "io/socket.h"
#include "nvmeof/proto/identify.h"
#include "tools/nvmeof_cli.h"

namespace nvmeof::tools {

namespace {

// The namespace's block size (Identify Namespace, current LBA format).
Result<uint32_t> BlockSize(host::Association& assoc, uint32_t nsid) {
  NVMEOF_ASSIGN_OR_RETURN(IdentifyNamespace id,
                          ActiveNamespace(assoc, nsid));
  return static_cast<uint32_t>(id.lbaf[FlbasIndex(id.flbas)].block_size());
}

// Read, Write or Compare of `buf` at `slba`; the library splits at MDTS
// and keeps a window within the queue. `*moved`: the bytes that moved
// (all of them on success; those of the commands that succeeded if one
// failed).
Status Transfer(host::Association& assoc, uint8_t opcode, uint32_t nsid,
                uint64_t slba, uint32_t block_size, std::vector<uint8_t>& buf,
                uint64_t* moved) {
  bool done = false;
  host::Completion out;
  assoc.SubmitRw(1, opcode, nsid, slba, block_size,
                 MemDesc(buf.data(), buf.size()), [&](host::Completion c) {
                   out = std::move(c);
                   done = true;
                 });
  assoc.loop().RunUntil([&] { return done; }, std::chrono::minutes(30));
  *moved = out.ok() ? buf.size() : out.bytes_done;
  if (!done) return DeadlineExceededError("transfer did not complete");
  if (!out.status.ok()) return out.status;
  if (!out.nvme().ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  NvmeStatusToString(out.nvme()));
  }
  return Status();
}

// One I/O command without data, or with `data` to send.
int RunIoCommand(Args& a, const char* what, const Sqe& sqe,
                 const MemDesc& data = {}) {
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  host::Completion done = s->assoc->IoSync(1, sqe, data, !data.empty());
  if (!done.ok()) {
    return Fail(std::string(what) + ": " +
                (done.status.ok() ? NvmeStatusToString(done.nvme())
                                  : std::string(done.status.message())));
  }
  return 0;
}

void ReadFlags(CLI::App* v, Args& a) {
  AddIoConnection(v, a);
  AddIo(v, a, false, true);
  v->add_option("-d,--data", a.data_file,
                "file to write the blocks to (default: stdout)");
}

void DataFlags(CLI::App* v, Args& a) {
  AddIoConnection(v, a);
  AddIo(v, a, true, false);
}

// The whole of `path`, read in large pieces.
Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "cannot open " + path);
  std::vector<uint8_t> out;
  struct stat st {};
  if (fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    out.reserve(static_cast<size_t>(st.st_size));
  }
  constexpr size_t kPiece = 1 << 20;
  for (;;) {
    const size_t at = out.size();
    out.resize(at + kPiece);
    ssize_t n = read(fd.get(), out.data() + at, kPiece);
    if (n < 0 && errno == EINTR) {
      out.resize(at);
      continue;
    }
    if (n < 0) return ErrnoError(errno, "cannot read " + path);
    out.resize(at + static_cast<size_t>(n));
    if (n == 0) return out;
  }
}

// read, write, compare.
int ReadWriteCompare(Args& a, uint8_t opcode, const char* verb) {
  // The data first: a file that cannot be read is refused before anything
  // is connected (and reading it cannot hold up the keep-alive).
  std::vector<uint8_t> buf;
  if (opcode != 0x02) {
    Result<std::vector<uint8_t>> data = ReadWholeFile(a.data_file);
    if (!data.ok()) return Fail(data.status());
    buf = std::move(data).value();
  }
  auto s = OpenSession(a, false);
  if (!s.ok()) return Fail(s.status());
  host::Association& assoc = *s->assoc;
  Result<uint32_t> bs = BlockSize(assoc, a.nsid);
  if (!bs.ok()) return Fail(bs.status());
  if (opcode != 0x02) {
    if (buf.empty() || buf.size() % *bs != 0) {
      return Fail(a.data_file + " is " + std::to_string(buf.size()) +
                  " bytes: not a multiple of the block size (" +
                  std::to_string(*bs) + ")");
    }
  } else {
    buf.resize(uint64_t{a.block_count + 1} * *bs);
  }
  uint64_t moved = 0;
  Status st = Transfer(assoc, opcode, a.nsid, a.slba, *bs, buf, &moved);
  if (!st.ok()) {
    std::string what = std::string(verb) + ": " + std::string(st.message());
    if (moved > 0 && opcode == 0x01) {
      what += " (" + std::to_string(moved) + " of " +
              std::to_string(buf.size()) +
              " bytes were written before it failed; which blocks is not "
              "known: commands run in parallel)";
    }
    return Fail(what);
  }
  if (opcode == 0x02) {
    if (a.data_file.empty() || a.data_file == "-") {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
    } else {
      std::ofstream out(a.data_file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(buf.data()),
                static_cast<std::streamsize>(buf.size()));
      if (!out) {
        return Fail("cannot write " + a.data_file + ": " +
                    std::strerror(errno));
      }
      std::fprintf(stderr, "read: success (%zu bytes to %s)\n", buf.size(),
                   a.data_file.c_str());
    }
    return 0;
  }
  std::printf("%s: success\n", verb);
  return 0;
}

int Read(Args& a) { return ReadWriteCompare(a, 0x02, "read"); }
int Write(Args& a) { return ReadWriteCompare(a, 0x01, "write"); }
int Compare(Args& a) { return ReadWriteCompare(a, 0x05, "compare"); }

void FlushFlags(CLI::App* v, Args& a) {
  AddIoConnection(v, a);
  v->add_option("-n,--namespace-id", a.nsid, "namespace ID (0xffffffff: all)");
}

int Flush(Args& a) {
  Sqe sqe{};
  sqe.nsid = a.nsid;
  if (int rc = RunIoCommand(a, "flush", sqe); rc != 0) return rc;
  std::printf("NVMe Flush: success\n");
  return 0;
}

void WriteZeroesFlags(CLI::App* v, Args& a) {
  AddIoConnection(v, a);
  AddIo(v, a, false, true);
}

int WriteZeroes(Args& a) {
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(NvmOpcode::kWriteZeroes);
  sqe.nsid = a.nsid;
  sqe.cdw10 = static_cast<uint32_t>(a.slba);
  sqe.cdw11 = static_cast<uint32_t>(a.slba >> 32);
  sqe.cdw12 = a.block_count & 0xFFFF;
  if (int rc = RunIoCommand(a, "write-zeroes", sqe); rc != 0) return rc;
  std::printf("NVMe Write Zeroes: success\n");
  return 0;
}

void DsmFlags(CLI::App* v, Args& a) {
  AddIoConnection(v, a);
  v->add_option("-n,--namespace-id", a.nsid, "namespace ID")
      ->capture_default_str();
  v->add_option("--slbs", a.dsm_slbs, "first LBA of each range")
      ->delimiter(',');
  v->add_option("--blocks", a.dsm_blocks, "blocks in each range")
      ->delimiter(',');
  v->add_flag("-d,--ad", a.dsm_ad, "deallocate the ranges");
}

int Dsm(Args& a) {
  if (a.dsm_slbs.size() != a.dsm_blocks.size() || a.dsm_slbs.empty() ||
      a.dsm_slbs.size() > 256) {
    return Fail("dsm: give as many --slbs as --blocks (1 to 256)");
  }
  struct Range {
    uint32_t attributes, nlb;
    uint64_t slba;
  };
  std::vector<Range> ranges;
  for (size_t i = 0; i < a.dsm_slbs.size(); ++i)
    ranges.push_back({0, a.dsm_blocks[i], a.dsm_slbs[i]});
  Sqe sqe{};
  sqe.opcode = static_cast<uint8_t>(NvmOpcode::kDatasetManagement);
  sqe.nsid = a.nsid;
  sqe.cdw10 = static_cast<uint32_t>(ranges.size() - 1);
  sqe.cdw11 = a.dsm_ad ? (1u << 2) : 0;
  if (int rc = RunIoCommand(
          a, "dsm", sqe, MemDesc(ranges.data(), ranges.size() * sizeof(Range)));
      rc != 0) {
    return rc;
  }
  std::printf("NVMe DSM: success\n");
  return 0;
}

}  // namespace

std::vector<Verb> IoVerbs() {
  return {
      {"read", "read blocks into --data (or stdout)", ReadFlags, Read},
      {"write", "write the whole --data file", DataFlags, Write},
      {"compare", "compare blocks with the whole --data file", DataFlags,
       Compare},
      {"flush", "Flush", FlushFlags, Flush},
      {"write-zeroes", "Write Zeroes", WriteZeroesFlags, WriteZeroes},
      {"dsm", "Dataset Management (deallocate with --ad)", DsmFlags, Dsm},
  };
}

}  // namespace nvmeof::tools
