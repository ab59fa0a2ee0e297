// The running state saved as a config (RunningConfig): a target built
// from a file gives that file back, and what changed at run time is what
// the saved file says.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

#include "controller/backend_registry.h"
#include "controller/target_impl.h"
#include "nvmeof/target.h"
#include "nvmeof/target_config.h"

namespace nvmeof::controller {
namespace {

constexpr char kFile[] = R"({
  "bdevs": [{"name": "Malloc0", "backend": "ram", "size": "1M"},
            {"name": "Null0", "backend": "null", "size": "1G",
             "block_size": 4096}],
  "subsystems": [
    {"nqn": "nqn.2024-01.io.example:b", "serial": "SN-B", "model": "M",
     "hosts": ["nqn.2024-01.io.example:h1", "nqn.2024-01.io.example:h2"],
     "max_namespaces": 16, "min_cntlid": 100, "max_cntlid": 199,
     "namespaces": [{"nsid": 2, "bdev_name": "Malloc0"},
                    {"nsid": 5, "backend": "ram", "size": "64K",
                     "eui64": "0011223344556677"}]},
    {"nqn": "nqn.2024-01.io.example:a",
     "namespaces": [{"bdev_name": "Null0"}]}],
  "ports": [{"id": 3, "address": "127.0.0.1", "port": 4420,
             "params": {"in_capsule_data_size": 4096, "max_queue_size": 32,
                        "max_io_queues": 8, "max_connections": 10,
                        "header_digest": false}},
            {"id": 9, "address": "::1", "port": 4421,
             "subsystems": ["nqn.2024-01.io.example:a"]},
            {"id": 10, "address": "127.0.0.2", "port": 4420,
             "subsystems": []}],
  "referrals": [{"address": "127.0.0.9", "port": 8009},
                {"address": "::1", "port": 4420,
                 "subnqn": "nqn.2024-01.io.example:elsewhere"}],
  "threads": 3, "log_level": "warn", "max_connections": 100
})";

TargetConfig Parse(std::string_view text) {
  Result<TargetConfig> c = ParseConfig(text, "t.json");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : TargetConfig{};
}

TEST(RunningConfigTest, ATargetMadeFromAFileSavesThatFile) {
  const TargetConfig config = Parse(kFile);
  auto target = Target::Create(config);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  Result<TargetConfig> saved = RunningConfig((*target)->impl(), config);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(ToJson(*saved), ToJson(config));
  EXPECT_EQ(*saved, config);
  // And it loads back.
  Result<TargetConfig> again = ParseConfig(ToJson(*saved), "saved.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, config);
}

TEST(RunningConfigTest, ChangesMadeWhileRunningAreSaved) {
  const TargetConfig config = Parse(kFile);
  auto target = Target::Create(config);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  TargetImpl& t = (*target)->impl();
  ASSERT_TRUE(t.GrowBackend("Malloc0", 4 << 20).ok());
  ASSERT_TRUE(t.RemoveNamespace("nqn.2024-01.io.example:a", 1).ok());
  ASSERT_TRUE(t.RemoveHost("nqn.2024-01.io.example:b",
                           "nqn.2024-01.io.example:h1")
                  .ok());
  ASSERT_TRUE(t.DeleteBackend("Null0").ok());

  Result<TargetConfig> saved = RunningConfig(t, config);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_EQ(saved->bdevs.size(), 1u);
  EXPECT_EQ(saved->bdevs[0].name, "Malloc0");
  EXPECT_EQ(saved->bdevs[0].backend.params["size"], "4M");
  EXPECT_EQ(saved->subsystems[0].hosts,
            std::vector<HostConfig>{{"nqn.2024-01.io.example:h2"}});
  EXPECT_TRUE(saved->subsystems[1].namespaces.empty());
  Result<TargetConfig> again = ParseConfig(ToJson(*saved), "saved.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *saved);
}

TEST(RunningConfigTest, ABackendAddedInCodeCannotBeSaved) {
  BackendConfig ram;
  ram.params["size"] = 1 << 20;
  auto backend = OpenBackend(ram);
  ASSERT_TRUE(backend.ok());
  auto target = Target::Create();
  ASSERT_TRUE(target->AddSubsystem({.nqn = "nqn.2024-01.io.example:a"}).ok());
  ASSERT_TRUE(target
                  ->AddNamespace("nqn.2024-01.io.example:a", {.nsid = 7},
                                 std::move(backend).value())
                  .ok());
  Result<TargetConfig> saved = RunningConfig(target->impl(), TargetConfig{});
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.status().message(),
            "namespace 7 of nqn.2024-01.io.example:a is served by a backend "
            "added in code, which no config describes");
}


// ---- ApplyConfig: a running target changed to serve another config ----

constexpr char kA[] = "nqn.2024-01.io.example:a";

// The config with its lists in a fixed order: a reconfigured target may
// list what it made again after what it kept.
std::string Canonical(TargetConfig c) {
  auto by = [](auto key) {
    return [key](const auto& a, const auto& b) { return a.*key < b.*key; };
  };
  std::sort(c.bdevs.begin(), c.bdevs.end(), by(&BdevConfig::name));
  std::sort(c.subsystems.begin(), c.subsystems.end(),
            by(&SubsystemConfig::nqn));
  for (SubsystemConfig& s : c.subsystems) {
    std::sort(s.hosts.begin(), s.hosts.end(), by(&HostConfig::nqn));
  }
  std::sort(c.ports.begin(), c.ports.end(), by(&PortConfig::id));
  for (PortConfig& p : c.ports) {
    std::sort(p.subsystems.begin(), p.subsystems.end());
  }
  return ToJson(c);
}

class ApplyConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = Parse(kFile);
    auto target = Target::Create(base_);
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    target_ = std::move(target).value();
  }
  // Applies `text`; the running state must then be what it says.
  std::vector<std::string> ApplyAndCompare(std::string_view text) {
    return ApplyAndCompare(Parse(text));
  }
  std::vector<std::string> ApplyAndCompare(const TargetConfig& wanted) {
    Result<std::vector<std::string>> done = target_->Reconfigure(wanted);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    Result<TargetConfig> now = RunningConfig(target_->impl(), wanted);
    EXPECT_TRUE(now.ok()) << now.status().ToString();
    if (now.ok()) {
      EXPECT_EQ(Canonical(*now), Canonical(wanted));
    }
    return done.ok() ? *done : std::vector<std::string>{};
  }
  bool Did(const std::vector<std::string>& done, std::string_view line) {
    return std::find(done.begin(), done.end(), line) != done.end();
  }
  TargetConfig base_;
  std::unique_ptr<Target> target_;
};

TEST_F(ApplyConfigTest, TheSameConfigChangesNothing) {
  EXPECT_TRUE(ApplyAndCompare(kFile).empty());
}

TEST_F(ApplyConfigTest, EveryKindOfChangeIsApplied) {
  std::vector<std::string> done = ApplyAndCompare(R"({
    "bdevs": [{"name": "Malloc0", "backend": "ram", "size": "2M"},
              {"name": "Malloc9", "backend": "ram", "size": "1M"}],
    "subsystems": [
      {"nqn": "nqn.2024-01.io.example:b", "serial": "SN-B", "model": "M",
       "hosts": ["nqn.2024-01.io.example:h2", "nqn.2024-01.io.example:h3"],
       "max_namespaces": 16, "min_cntlid": 100, "max_cntlid": 199,
       "namespaces": [{"nsid": 2, "bdev_name": "Malloc0"},
                      {"nsid": 5, "backend": "ram", "size": "128K",
                       "eui64": "0011223344556677"},
                      {"nsid": 6, "backend": "null", "size": "1M"}]},
      {"nqn": "nqn.2024-01.io.example:c",
       "namespaces": [{"bdev_name": "Malloc9"}]}],
    "ports": [{"id": 3, "address": "127.0.0.1", "port": 4420,
               "subsystems": ["nqn.2024-01.io.example:b",
                              "nqn.2024-01.io.example:c"],
               "params": {"in_capsule_data_size": 4096, "max_queue_size": 32,
                          "max_io_queues": 8, "max_connections": 10,
                          "header_digest": false}},
              {"id": 10, "address": "127.0.0.3", "port": 4420,
               "subsystems": []},
              {"id": 11, "address": "127.0.0.1", "port": 4430}],
    "referrals": [{"address": "127.0.0.9", "port": 8009},
                  {"address": "127.0.0.10", "port": 8009,
                   "secure_channel": true}],
    "threads": 3, "log_level": "warn", "max_connections": 100
  })");
  for (const char* line :
       {"subsystem nqn.2024-01.io.example:a deleted", "bdev Null0 deleted",
        "bdev Malloc9 created", "bdev Malloc0 grown to 2097152 bytes",
        "namespace 5 of nqn.2024-01.io.example:b grown to 131072 bytes",
        "namespace 6 of nqn.2024-01.io.example:b added",
        "subsystem nqn.2024-01.io.example:c created",
        "host nqn.2024-01.io.example:h3 allowed on nqn.2024-01.io.example:b",
        "host nqn.2024-01.io.example:h1 no longer allowed on "
        "nqn.2024-01.io.example:b",
        "port 9 closed", "port 10 closed", "port 10 opened", "port 11 opened",
        "port 3 exposes nqn.2024-01.io.example:c",
        "referral [::1]:4420 (nqn.2024-01.io.example:elsewhere) removed",
        "referral 127.0.0.10:8009 added"}) {
    EXPECT_TRUE(Did(done, line)) << line;
  }
  EXPECT_FALSE(Did(done, "namespace 2 of nqn.2024-01.io.example:b removed"))
      << "unchanged, it stays";
}

// Keys: a host gains one, a rotated key file is read again on reload, a
// key no longer named leaves the keyring; the saved config names them.
TEST_F(ApplyConfigTest, KeysAndHostKeysFollowTheConfig) {
  char dir[] = "/tmp/nvmeof_apply_keys_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string k1 = std::string(dir) + "/k1";
  auto write = [&](const char* secret) {
    FILE* f = fopen(k1.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(secret, f);
    fclose(f);
    chmod(k1.c_str(), 0600);
  };
  constexpr char kS1[] =
      "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:";
  constexpr char kS2[] =
      "DHHC-1:01:yI3mmuRg+UJDXk85BFwtwbGxRfqgGJmco5HpbAnDQnDuyhrN:";
  write(kS1);
  TargetConfig want = base_;
  want.keys = {{"k1", k1}};
  want.dhchap_dhgroups = {"ffdhe2048"};
  want.subsystems[0].hosts[0].dhchap_key = "k1";
  std::vector<std::string> done = ApplyAndCompare(want);
  EXPECT_TRUE(Did(done, "key k1 added from " + k1)) << done.size();
  EXPECT_TRUE(Did(done, "keys of host nqn.2024-01.io.example:h1 on "
                        "nqn.2024-01.io.example:b set"));
  auto key_of_h1 = [&] {
    auto h = target_->impl()
                 .GetSubsystem("nqn.2024-01.io.example:b")
                 ->FindHost("nqn.2024-01.io.example:h1");
    return h && h->host_key ? h->host_key->Format() : std::string();
  };
  EXPECT_EQ(key_of_h1(), kS1);
  // Rotated in place: the same config, read again.
  write(kS2);
  ApplyAndCompare(want);
  EXPECT_EQ(key_of_h1(), kS2);
  // A key file that went bad changes nothing.
  write("DHHC-1:00:broken:");
  Result<std::vector<std::string>> bad = target_->Reconfigure(want);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()).find("DHHC-1:00:broken"),
            std::string::npos);
  EXPECT_EQ(key_of_h1(), kS2);
  // Back to no keys.
  done = ApplyAndCompare(base_);
  EXPECT_TRUE(Did(done, "key k1 removed"));
  EXPECT_TRUE(target_->impl().keys().empty());
  EXPECT_EQ(key_of_h1(), "");
  unlink(k1.c_str());
  rmdir(dir);
}

TEST_F(ApplyConfigTest, AnIdentityChangeMakesTheSubsystemAgain) {
  std::string text = kFile;
  text.replace(text.find("\"SN-B\""), 6, "\"SN-B2\"");
  std::vector<std::string> done = ApplyAndCompare(text);
  EXPECT_TRUE(Did(done, "subsystem nqn.2024-01.io.example:b deleted"));
  EXPECT_TRUE(Did(done, "subsystem nqn.2024-01.io.example:b created"));
  EXPECT_FALSE(Did(done, "subsystem nqn.2024-01.io.example:a deleted"));
}

TEST_F(ApplyConfigTest, ABackendThatCannotOpenChangesNothing) {
  std::string text = kFile;
  const std::string ns = R"({"bdev_name": "Null0"})";
  text.replace(text.find(ns), ns.size(),
               R"({"backend": "file", "path": "/nonexistent/nvmeof/x.img"})");
  text.replace(text.find("\"SN-B\""), 6, "\"SN-B2\"");  // would remake b
  Result<std::vector<std::string>> done = target_->Reconfigure(Parse(text));
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.status().message().find("/nonexistent/nvmeof/x.img"),
            std::string_view::npos)
      << done.status().ToString();
  Result<TargetConfig> now = RunningConfig(target_->impl(), base_);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Canonical(*now), Canonical(base_));
}

// Opened to any host: the subsystem is open before a host leaves the
// list, so that host's connections never end (RemoveHost ends only those
// no longer allowed).
TEST_F(ApplyConfigTest, OpeningToAnyHostComesBeforeAHostLeavesTheList) {
  std::string text = kFile;
  const std::string hosts =
      R"("hosts": ["nqn.2024-01.io.example:h1", "nqn.2024-01.io.example:h2"],)";
  ASSERT_NE(text.find(hosts), std::string::npos);
  text.replace(text.find(hosts), hosts.size(), R"("allow_any_host": true,)");
  std::vector<std::string> done = ApplyAndCompare(text);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0], "any host may connect to nqn.2024-01.io.example:b");
  EXPECT_EQ(done[1], "host nqn.2024-01.io.example:h1 no longer allowed on "
                     "nqn.2024-01.io.example:b");
}

// A listener the control plane added is a port that closes by itself
// once it exposes nothing; a reload handles it whichever way it goes.
TEST_F(ApplyConfigTest, PortsTheControlPlaneMadeFollowTheConfig) {
  TargetImpl& t = target_->impl();
  ASSERT_TRUE(t.AddListener(kA, TransportType::kTcp, "127.0.0.5", "4420", {})
                  .ok());
  Result<TargetConfig> now = RunningConfig(t, base_);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  // Kept for discovery alone: it stops exposing `a`, closes, and is
  // opened again as configured.
  TargetConfig wanted = *now;
  for (PortConfig& p : wanted.ports) {
    if (p.address == "127.0.0.5") p.subsystems.clear();
  }
  ApplyAndCompare(wanted);
}

TEST_F(ApplyConfigTest, APortThatClosedWithItsSubsystemIsNotAnError) {
  ASSERT_TRUE(target_->impl()
                  .AddListener(kA, TransportType::kTcp, "127.0.0.5", "4420", {})
                  .ok());
  // Subsystem `a` goes, and with it the port that exposed it alone.
  TargetConfig wanted = base_;
  std::erase_if(wanted.subsystems,
                [](const SubsystemConfig& s) { return s.nqn == kA; });
  std::erase_if(wanted.ports, [](const PortConfig& p) { return p.id == 9; });
  for (PortConfig& p : wanted.ports) std::erase(p.subsystems, kA);
  ApplyAndCompare(wanted);
}

}  // namespace
}  // namespace nvmeof::controller
