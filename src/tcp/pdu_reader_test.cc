// PduReader: where a PDU's data ends up (copied into place, or left in
// place for the handler), checked through Consume().

#include "tcp/pdu_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace nvmeof::tcp {
namespace {

// A controller-side handler that takes CapsuleCmd data in place when the
// reader allows it, and records what it saw at the end of each PDU.
class Recorder final : public PduReader::Handler {
 public:
  PduReader reader{this, 65536};
  std::vector<uint8_t> dest = std::vector<uint8_t>(8192, 0xEE);
  struct End {
    bool ddgst_ok;
    bool in_place;
    std::vector<uint8_t> data;  // as seen at OnPduEnd, wherever it was
  };
  std::vector<End> ends;

  PduReader::Placement OnPduHeader(const PduLayout& layout,
                                   const uint8_t*) override {
    data_len_ = layout.data_len;
    return {PduError{}, MemDesc(dest.data(), dest.size()), 0, true};
  }
  PduError OnPduEnd(bool ddgst_ok) override {
    const uint8_t* at = reader.in_place();
    const uint8_t* from = at != nullptr ? at : dest.data();
    ends.push_back({ddgst_ok, at != nullptr,
                    std::vector<uint8_t>(from, from + data_len_)});
    return {};
  }

 private:
  uint32_t data_len_ = 0;
};

std::vector<uint8_t> CapsuleWithData(const std::vector<uint8_t>& data,
                                     bool ddgst, bool corrupt_digest = false) {
  Sqe sqe{};
  sqe.opcode = 0x01;
  sqe.flags = kSqeFlagsPsdtSgl;
  sqe.sgl1.type = kSglIcdType;
  sqe.sgl1.length = static_cast<uint32_t>(data.size());
  const PduFormat fmt{false, ddgst, 0};
  CapsuleCmdHeader h =
      MakeCapsuleCmd(sqe, fmt, static_cast<uint32_t>(data.size()));
  // Sized once and filled with memcpy (GCC 12 warns falsely on inserts).
  std::vector<uint8_t> out(sizeof(h) + data.size() + (ddgst ? 4 : 0));
  std::memcpy(out.data(), &h, sizeof(h));
  std::memcpy(out.data() + sizeof(h), data.data(), data.size());
  if (ddgst) {
    uint32_t d = ComputeCrc32c(data.data(), data.size());
    if (corrupt_digest) d ^= 1;
    std::memcpy(out.data() + sizeof(h) + data.size(), &d, 4);
  }
  return out;
}

void Init(Recorder& r, bool ddgst) {
  PduCheckContext& ctx = r.reader.context();
  ctx.controller = true;
  ctx.initialized = true;
  ctx.ddgst = ddgst;
  ctx.max_data_len = 8192;
}

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

TEST(PduReaderTest, DataThatCameWithItsHeaderIsLeftInPlace) {
  for (bool ddgst : {false, true}) {
    Recorder r;
    Init(r, ddgst);
    const auto a = Pattern(4096, 1), b = Pattern(512, 2);
    auto bytes = CapsuleWithData(a, ddgst);
    const auto second = CapsuleWithData(b, ddgst);
    bytes.insert(bytes.end(), second.begin(), second.end());
    ASSERT_EQ(r.reader.Consume(bytes.data(), bytes.size()),
              PduReader::Outcome::kOk);
    ASSERT_EQ(r.ends.size(), 2u);
    EXPECT_TRUE(r.ends[0].in_place);
    EXPECT_TRUE(r.ends[0].ddgst_ok);
    EXPECT_EQ(r.ends[0].data, a);
    EXPECT_TRUE(r.ends[1].in_place);
    EXPECT_EQ(r.ends[1].data, b);
    EXPECT_EQ(r.dest[0], 0xEE) << "nothing copied to the destination";
    EXPECT_EQ(r.reader.in_place(), nullptr) << "only during OnPduEnd";
  }
}

TEST(PduReaderTest, DataSplitFromItsHeaderIsCopiedIntoPlace) {
  for (bool ddgst : {false, true}) {
    Recorder r;
    Init(r, ddgst);
    const auto a = Pattern(4096, 3);
    const auto bytes = CapsuleWithData(a, ddgst);
    // The header and part of the data, then the rest (with the digest
    // split too): the reader must not keep pointers into a chunk it has
    // finished with.
    const size_t cut1 = sizeof(CapsuleCmdHeader) + 1000;
    const size_t cut2 = bytes.size() - (ddgst ? 2 : 1);
    ASSERT_EQ(r.reader.Consume(bytes.data(), cut1), PduReader::Outcome::kOk);
    ASSERT_EQ(r.reader.Consume(bytes.data() + cut1, cut2 - cut1),
              PduReader::Outcome::kOk);
    EXPECT_TRUE(r.ends.empty());
    ASSERT_EQ(r.reader.Consume(bytes.data() + cut2, bytes.size() - cut2),
              PduReader::Outcome::kOk);
    ASSERT_EQ(r.ends.size(), 1u);
    EXPECT_FALSE(r.ends[0].in_place);
    EXPECT_TRUE(r.ends[0].ddgst_ok);
    EXPECT_EQ(r.ends[0].data, a);
  }
}

TEST(PduReaderTest, DataWithoutItsDigestYetIsCopied) {
  // Data complete but the digest still to come: not in place (the chunk
  // would be gone when the digest arrives).
  Recorder r;
  Init(r, true);
  const auto a = Pattern(1024, 4);
  const auto bytes = CapsuleWithData(a, true);
  ASSERT_EQ(r.reader.Consume(bytes.data(), bytes.size() - 4),
            PduReader::Outcome::kOk);
  ASSERT_EQ(r.reader.Consume(bytes.data() + bytes.size() - 4, 4),
            PduReader::Outcome::kOk);
  ASSERT_EQ(r.ends.size(), 1u);
  EXPECT_FALSE(r.ends[0].in_place);
  EXPECT_EQ(r.ends[0].data, a);
}

TEST(PduReaderTest, InPlaceDataDigestMismatchIsReported) {
  Recorder r;
  Init(r, true);
  const auto bytes = CapsuleWithData(Pattern(2048, 5), true, true);
  ASSERT_EQ(r.reader.Consume(bytes.data(), bytes.size()),
            PduReader::Outcome::kOk);
  ASSERT_EQ(r.ends.size(), 1u);
  EXPECT_TRUE(r.ends[0].in_place);
  EXPECT_FALSE(r.ends[0].ddgst_ok);
}

}  // namespace
}  // namespace nvmeof::tcp
