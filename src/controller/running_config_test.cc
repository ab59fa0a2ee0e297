// The running state saved as a config (RunningConfig): a target built
// from a file gives that file back, and what changed at run time is what
// the saved file says.

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
            std::vector<std::string>{"nqn.2024-01.io.example:h2"});
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

}  // namespace
}  // namespace nvmeof::controller
