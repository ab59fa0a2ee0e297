// Key files: read when private, refused (with the path and the reason, and
// never the text) when others may read them or they hold no secret.

#include "auth/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace nvmeof::auth {
namespace {

// SECURITY.md 1.4's transformed key (secret 00..1f for nqn.host).
constexpr char kKey[] = "DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:";

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nvmeof-keyfile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& f : files_) ::unlink(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& text,
                    mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(KeyFileTest, ReadsAPrivateFileWithANewline) {
  Result<DhchapKey> k = ReadKeyFile(Write("k", std::string(kKey) + "\n", 0600));
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->transform, 1);
  EXPECT_EQ(k->secret.size(), 32u);
  EXPECT_EQ(k->Format(), kKey);
  EXPECT_TRUE(ReadKeyFile(Write("r", kKey, 0400)).ok());
}

TEST_F(KeyFileTest, RefusesAFileOthersMayRead) {
  const std::string path = Write("k", kKey, 0644);
  Result<DhchapKey> k = ReadKeyFile(path);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(),
            "key file " + path +
                ": mode 0644 lets others read it (it must be 0600 or 0400)");
  EXPECT_TRUE(ReadKeyFile(path, /*require_private=*/false).ok());
}

TEST_F(KeyFileTest, ErrorsNameThePathNeverTheText) {
  // A secret with its CRC broken: the last base64 digit changed.
  std::string bad = kKey;
  bad[bad.size() - 2] = bad[bad.size() - 2] == 'N' ? 'M' : 'N';
  const std::string path = Write("bad", bad, 0600);
  Result<DhchapKey> k = ReadKeyFile(path);
  ASSERT_FALSE(k.ok());
  const std::string msg(k.status().message());
  EXPECT_EQ(msg.rfind("key file " + path + ": ", 0), 0u) << msg;
  EXPECT_EQ(msg.find("yI3mm"), std::string::npos) << msg;

  Result<DhchapKey> none = ReadKeyFile(dir_ + "/missing");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ReadKeyFile(dir_).ok());  // a directory
  EXPECT_FALSE(ReadKeyFile(Write("empty", "", 0600)).ok());
  EXPECT_FALSE(ReadKeyFile(Write("big", std::string(5000, 'x'), 0600)).ok());
}

}  // namespace
}  // namespace nvmeof::auth
