# shellcheck shell=bash
# Shared by run_interop.sh and run_host_interop.sh (sourced, not run).
# The caller sets INTEROP_NAME and WORK, and defines cleanup() (which
# stops what it started) before calling install_traps.

say() { printf '%s: %s\n' "$INTEROP_NAME" "$*"; }
skip() {
	echo "SKIP: interop test: $*"
	exit 0
}

# SIGTERM to process $1 (one we started), SIGKILL if still there after $2 s.
# Returns 1 if it took SIGKILL.
stop_pid() {
	local i
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null || true
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
		return 1
	fi
	wait "$1" 2>/dev/null || true
}

# await_line FILE REGEX PID: 0 once a line of FILE matches REGEX (within
# 10 s), 1 if PID exits first or the time runs out.
await_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# cleanup on exit; an interrupted run keeps its logs.
install_traps() {
	trap cleanup EXIT
	trap 'KEEP=1; exit 130' INT
	trap 'KEEP=1; exit 143' TERM
	trap 'KEEP=1; exit 129' HUP
}

# vm.sh setup, or SKIP (with the setup log) when the VM cannot run here.
# Sets t0, the start of the run, which the callers time their steps from.
setup_vm_or_skip() {
	t0=$SECONDS
	if ! "$HERE/vm.sh" setup >"$WORK/setup.log" 2>&1; then
		sed 's/^/  setup: /' "$WORK/setup.log" | tail -n 15
		skip "tests/interop/vm.sh setup failed (log above)"
	fi
	command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
	say "VM setup ready ($((SECONDS - t0)) s)"
}

# A port that nothing listens on (a connection attempt is refused); the
# caller retries with another if binding it still races.
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 30000))
		(: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return 0
		}
	done
	return 1
}
