// Helpers shared by the configuration tests: parse a file, get its error,
// wrap a namespace, subsystem or ports into a whole file.

#ifndef NVMEOF_CONTROLLER_CONFIG_TEST_UTIL_H_
#define NVMEOF_CONTROLLER_CONFIG_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "nvmeof/target_config.h"

namespace nvmeof::controller::config_testing {

inline constexpr std::string_view kNqnA = "nqn.2024-01.io.example:a";
inline constexpr std::string_view kNqnB = "nqn.2024-01.io.example:b";
inline constexpr std::string_view kHost1 = "nqn.2024-01.io.example:host1";

// The error message of parsing `json` as "t.json", or "OK".
inline std::string ErrorOf(std::string_view json) {
  Result<TargetConfig> r = ParseConfig(json, "t.json");
  if (r.ok()) return "OK";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

inline TargetConfig ParseOrDie(std::string_view json) {
  Result<TargetConfig> r = ParseConfig(json, "t.json");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : TargetConfig{};
}

// A file of one subsystem (kNqnA) whose only namespace is `ns`.
inline std::string WithNamespace(std::string_view ns) {
  return R"({"subsystems": [{"nqn": "nqn.2024-01.io.example:a", )"
         R"("namespaces": [)" +
         std::string(ns) + "]}]}";
}
// A file of `subsystem` alone.
inline std::string WithSubsystem(std::string_view subsystem) {
  return R"({"subsystems": [)" + std::string(subsystem) + "]}";
}
// A file of subsystems kNqnA and kNqnB and the given ports.
inline std::string WithPorts(std::string_view ports) {
  return R"({"subsystems": [{"nqn": "nqn.2024-01.io.example:a"},)"
         R"( {"nqn": "nqn.2024-01.io.example:b"}], "ports": [)" +
         std::string(ports) + "]}";
}

}  // namespace nvmeof::controller::config_testing

#endif  // NVMEOF_CONTROLLER_CONFIG_TEST_UTIL_H_
