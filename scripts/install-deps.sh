#!/usr/bin/env bash
# Installs every Debian package that nvmeof needs to build and test.
# Idempotent: packages already present are not touched, and apt is not
# called at all when nothing is missing. Nothing is fetched from anywhere
# but Debian's archive.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang clang-format clang-tidy libclang-rt-dev   # clang build, libFuzzer, tidy
  libisal-dev          # CRC32C (crc32_iscsi), the hardware path
  liburing-dev         # io_uring for file and block backends
  libssl-dev           # OpenSSL 3: DH-HMAC-CHAP (src/auth/), TLS
  nlohmann-json3-dev   # the target's config file, -o json output
  libcli11-dev         # command-line flags of the tools
  libgtest-dev libgmock-dev
  libbenchmark-dev
  prometheus-cpp-dev   # the metrics endpoint (--metrics-listen)
  help2man             # the man pages, made from each program's --help
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}"
