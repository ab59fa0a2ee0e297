#!/usr/bin/env bash
# `make install`'s layout, installed into a scratch DESTDIR from a built
# tree: the programs run, the man pages are those of their --help, the
# systemd unit names the installed daemon and reloads with SIGHUP, the
# default config loads, and a second install keeps an operator's config.
# Usage: install_test.sh BUILD_DIR
set -uo pipefail
BUILD=$1
dest=$(mktemp -d /tmp/nvmeof-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
root=$dest$prefix
pass=0 fail=0
check() {
  local name=$1; shift
  if "$@" >"$dest/out" 2>&1; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     /' "$dest/out" | head -10
  fi
}
check "cmake --install into DESTDIR" env DESTDIR="$dest" cmake --install "$BUILD"
for p in sbin/nvmeof-target bin/nvmeof bin/nvmeof-ctl; do
  check "$p --version" bash -c "'$root/$p' --version | grep -Eq '^${p#*/} [0-9]+\.[0-9]+\.[0-9]+$'"
done
# help2man escapes '-' as '\-' in the page. Without help2man (CMake warns)
# there are no pages to check.
if [ ! -f "$root/share/man/man8/nvmeof-target.8" ] && ! command -v help2man >/dev/null; then
  echo "skip the man pages: help2man is not installed (scripts/install-deps.sh installs it)"
else
check "nvmeof-target(8) is its --help" grep -q 'rpc\\-socket' "$root/share/man/man8/nvmeof-target.8"
check "nvmeof-ctl(8) is its --help" grep -q 'subsystem' "$root/share/man/man8/nvmeof-ctl.8"
check "nvmeof(1) is its --help" grep -q 'discover' "$root/share/man/man1/nvmeof.1"
fi
if command -v man >/dev/null; then
  check "the man pages render" bash -c "for f in '$root'/share/man/man*/nvmeof*; do MANWIDTH=80 man -l \"\$f\" >/dev/null 2>&1 || exit 1; done"
fi
unit=$root/lib/systemd/system/nvmeof-target.service
check "the unit runs the installed daemon on the installed config" grep -qx "ExecStart=$prefix/sbin/nvmeof-target --config .*/nvmeof/target.json --rpc-socket /run/nvmeof/nvmeof.sock" "$unit"
check "systemctl reload sends SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"
check "the unit waits for the daemon's readiness (sd_notify)" grep -qx 'Type=notify' "$unit"
conf=$(sed -n 's/^ExecStart=.*--config \([^ ]*\) .*/\1/p' "$unit")
check "the default config loads" "$root/sbin/nvmeof-target" --config "$dest$conf" --print-config
echo '{ "log_level": "warn" }' >"$dest$conf"
check "a second install keeps the operator's config" bash -c "env DESTDIR='$dest' cmake --install '$BUILD' | grep -q 'Kept:' && grep -q warn '$dest$conf'"
check "the docs are installed" test -f "$root/share/doc/nvmeof/RPC.md"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
