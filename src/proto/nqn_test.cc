#include "nvmeof/proto/nqn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <string>

namespace nvmeof {
namespace {

using ::testing::HasSubstr;

// An NQN of exactly `length` bytes: a valid prefix, then 'a's.
std::string NqnOfLength(size_t length) {
  std::string nqn = "nqn.2014-08.com.example:";
  nqn.resize(length, 'a');
  return nqn;
}

TEST(ValidateNqnTest, AcceptsWellFormedNames) {
  EXPECT_TRUE(ValidateNqn(kDiscoveryNqn).ok());
  EXPECT_TRUE(ValidateNqn("nqn.2016-06.io.spdk:cnode1").ok());
  EXPECT_TRUE(ValidateNqn("nqn.2014-08.com.example").ok());
  EXPECT_TRUE(
      ValidateNqn("nqn.2014-08.com.example:sub:with:colons and spaces").ok());
  EXPECT_TRUE(ValidateNqn("nqn.1999-12.a1-b2.3com:x").ok());
  EXPECT_TRUE(ValidateNqn("nqn.2014-08.org.nvmexpress:uuid:f81d4fae-7dec-11d0-"
                          "a765-00a0c91e6bf6")
                  .ok());
  EXPECT_TRUE(ValidateNqn("nqn.2014-08.org.nvmexpress:uuid:F81D4FAE-7DEC-11D0-"
                          "A765-00A0C91E6BF6")
                  .ok());
}

TEST(ValidateNqnTest, LengthLimitIs223Bytes) {
  EXPECT_TRUE(ValidateNqn(NqnOfLength(223)).ok());
  const Status s = ValidateNqn(NqnOfLength(224));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("longer than 223 bytes"));
}

TEST(ValidateNqnTest, RejectsWrongPrefix) {
  for (const char* nqn :
       {"", "nqn", "NQN.2014-08.com.example", "iqn.2014-08.com.example",
        "nqn2014-08.com.example"}) {
    const Status s = ValidateNqn(nqn);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << nqn;
    EXPECT_THAT(std::string(s.message()), HasSubstr("must start with 'nqn.'"))
        << nqn;
  }
}

TEST(ValidateNqnTest, RejectsBadDates) {
  for (const char* nqn : {"nqn.2014-13.com.example", "nqn.2014-00.com.example",
                          "nqn.14-08.com.example", "nqn.2014-8.com.example",
                          "nqn.2014/08.com.example", "nqn.20a4-08.com.example",
                          "nqn.2014-0x.com.example", "nqn."}) {
    const Status s = ValidateNqn(nqn);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << nqn;
    EXPECT_THAT(std::string(s.message()), HasSubstr("date")) << nqn;
  }
}

TEST(ValidateNqnTest, RejectsBadDomains) {
  for (const char* nqn :
       {"nqn.2014-08", "nqn.2014-08.", "nqn.2014-08:foo", "nqn.2014-08.:foo",
        "nqn.2014-08com.example", "nqn.2014-08.com..example",
        "nqn.2014-08.com.example.", "nqn.2014-08.-com.example",
        "nqn.2014-08.com-.example", "nqn.2014-08.com_x.example",
        "nqn.2014-08.com.ex ample:x"}) {
    EXPECT_EQ(ValidateNqn(nqn).code(), StatusCode::kInvalidArgument) << nqn;
  }
  const std::string label63(63, 'a');
  EXPECT_TRUE(ValidateNqn("nqn.2014-08.com." + label63).ok());
  EXPECT_FALSE(ValidateNqn("nqn.2014-08.com." + label63 + "a").ok());
}

TEST(ValidateNqnTest, RejectsBadUuids) {
  const std::string prefix(kUuidNqnPrefix);
  for (const char* uuid : {"", "f81d4fae-7dec-11d0-a765-00a0c91e6bf",
                           "f81d4fae-7dec-11d0-a765-00a0c91e6bf66",
                           "f81d4fae7dec-11d0-a765-00a0c91e6bf6-",
                           "f81d4fae-7dec-11d0-a765_00a0c91e6bf6",
                           "g81d4fae-7dec-11d0-a765-00a0c91e6bf6",
                           "f81d4fae-7dec-11d0-a765-00a0c91e6bf6:x",
                           "{81d4fae-7dec-11d0-a765-00a0c91e6bf6"}) {
    const Status s = ValidateNqn(prefix + uuid);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << uuid;
    EXPECT_THAT(std::string(s.message()), HasSubstr("UUID")) << uuid;
  }
}

TEST(ValidateNqnTest, RejectsEmbeddedNul) {
  const std::string nqn("nqn.2014-08.com.example:a\0b", 27);
  EXPECT_THAT(std::string(ValidateNqn(nqn).message()), HasSubstr("NUL"));
}

TEST(NqnFieldTest, ReadStopsAtFirstNul) {
  std::array<char, kNqnFieldSize> field;
  field.fill('x');
  const std::string_view nqn = "nqn.2014-08.com.example:a";
  std::copy(nqn.begin(), nqn.end(), field.begin());
  field[nqn.size()] = '\0';  // garbage after the NUL is ignored
  Result<std::string_view> r = ReadNqnField(field);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, nqn);
  EXPECT_EQ(r->data(), field.data());
}

TEST(NqnFieldTest, ReadEmptyAndFull) {
  std::array<char, kNqnFieldSize> field{};
  EXPECT_EQ(*ReadNqnField(field), "");
  field.fill('a');
  field[255] = '\0';
  EXPECT_EQ(ReadNqnField(field)->size(), 255u);
}

TEST(NqnFieldTest, ReadRejectsUnterminatedField) {
  std::array<char, kNqnFieldSize> field;
  field.fill('a');
  Result<std::string_view> r = ReadNqnField(field);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kProtocolError);
}

TEST(NqnFieldTest, WriteNulPadsAndRoundTrips) {
  std::array<char, kNqnFieldSize> field;
  field.fill('z');
  ASSERT_TRUE(WriteNqnField(field, kDiscoveryNqn).ok());
  for (size_t i = kDiscoveryNqn.size(); i < field.size(); ++i) {
    ASSERT_EQ(field[i], '\0') << i;
  }
  EXPECT_EQ(*ReadNqnField(field), kDiscoveryNqn);
}

TEST(NqnFieldTest, WriteRejectsWhatDoesNotFit) {
  std::array<char, kNqnFieldSize> field;
  field.fill('z');
  EXPECT_TRUE(WriteNqnField(field, std::string(255, 'a')).ok());
  EXPECT_EQ(ReadNqnField(field)->size(), 255u);

  field.fill('z');
  EXPECT_EQ(WriteNqnField(field, std::string(256, 'a')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(field[0], 'z');  // untouched
  EXPECT_FALSE(WriteNqnField(field, std::string("a\0b", 3)).ok());
  EXPECT_EQ(field[0], 'z');
}

}  // namespace
}  // namespace nvmeof
