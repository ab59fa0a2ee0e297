#!/usr/bin/env bash
# tests/interop/run_interop.sh PATH/TO/nvmeof-target
#
# Interop test: the Linux kernel's NVMe/TCP host (in a qemu VM, see vm.sh)
# and nvme-cli + fio against our nvmeof-target on 127.0.0.1.  Builds
# nothing.  Starts the target on a free port, runs guest_checks.sh in one
# VM boot (discover; connect plain, digests + 2 I/O queues, and for fio;
# Identify, SMART log, flush, O_DIRECT data checks, fio crc32c verify, on
# RAM and, verifying while it writes, on a file; a namespace added,
# resized and removed through the target's JSON-RPC control plane, which
# the guest calls over the VM's NAT with a token, while connected),
# stops the target with SIGTERM and checks that it exits 0.
#
# Prints one PASS/FAIL line per check, then "N passed, M failed"; exits 1 if
# anything failed (logs kept and their directory printed), 0 otherwise.
# When the VM cannot be set up here (no qemu, apt-get failed, not amd64) it
# prints "SKIP: <why>" and exits 0.
# Environment: NVMEOF_INTEROP_CACHE (see vm.sh), NVMEOF_INTEROP_CAPTURE=1
# (save the loopback traffic to the log directory with dumpcap, if present).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
NQN=nqn.2024-11.io.nvmeof:ram0
FILE_NQN=nqn.2024-11.io.nvmeof:file0
LIVE_NQN=nqn.2024-11.io.nvmeof:live0
VM_TIMEOUT=240

INTEROP_NAME=run_interop
# shellcheck source=tests/interop/lib.sh
source "$HERE/lib.sh"

(($# == 1)) || {
	echo "usage: $0 PATH/TO/nvmeof-target" >&2
	exit 2
}
TARGET=$(readlink -f "$1")
[[ -f $TARGET && -x $TARGET ]] || {
	echo "run_interop: $1 is not an executable" >&2
	exit 2
}

[[ $(uname -m) == x86_64 ]] || skip "the VM is x86_64 and takes this machine's binaries; this is $(uname -m)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-interop.XXXXXX")
TPID='' CPID='' VPID='' LPID='' KEEP=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_pid "$VPID" 10 || true # vm.sh stops its VM
	stop_pid "$LPID" 1 || true
	stop_pid "$CPID" 2 || true
	stop_pid "$TPID" 5 || true
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps

setup_vm_or_skip
# The token of the target's control plane on TCP, which the guest reaches
# through the VM's NAT.
(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$WORK/token")


start_target() {
	PORT=$(free_port) || return 1
	: >"$WORK/target.out"
	# A RAM namespace (reads sent from its memory) and a file one (reads
	# land in the target's buffers first).
	truncate -s 64M "$WORK/ns.img"
	cat >"$WORK/target.json" <<-JSON
		{ "ports": [ { "address": "127.0.0.1", "port": $PORT } ],
		  "threads": 2,
		  "bdevs": [ { "name": "Live2", "backend": "ram", "size": "32M" } ],
		  "subsystems": [
		    { "nqn": "$NQN", "namespaces": [ { "nsid": 1, "backend": "ram", "size": "256M" } ] },
		    { "nqn": "$FILE_NQN", "namespaces": [ { "nsid": 1, "backend": "file", "path": "$WORK/ns.img" } ] },
		    { "nqn": "$LIVE_NQN", "namespaces": [ { "nsid": 1, "backend": "ram", "size": "16M" } ] } ] }
	JSON
	RPC_PORT=$(free_port) || return 1
	"$TARGET" --config "$WORK/target.json" \
		--rpc-listen "127.0.0.1:$RPC_PORT" --rpc-token-file "$WORK/token" \
		>"$WORK/target.out" 2>"$WORK/target.err" </dev/null &
	TPID=$!
	await_line "$WORK/target.out" '^listening on' "$TPID" && return 0
	stop_pid "$TPID" 2 || true
	TPID=''
	return 1
}

RESULTS=()
result() { # PASS|FAIL text
	RESULTS+=("$1 $2")
	echo "$1 $2"
}

started=0
for attempt in 1 2 3; do
	if start_target; then
		started=1
		break
	fi
	say "the target did not start on port $PORT (attempt $attempt):"
	sed 's/^/  target: /' "$WORK/target.out" "$WORK/target.err"
done
if ((!started)); then
	KEEP=1
	result FAIL "target: nvmeof-target starts and prints 'listening on'"
	echo "0 passed, 1 failed"
	exit 1
fi
result PASS "target: nvmeof-target listening on 127.0.0.1:$PORT (pid $TPID)"

if [[ ${NVMEOF_INTEROP_CAPTURE:-0} == 1 ]] && command -v dumpcap >/dev/null; then
	dumpcap -q -i lo -f "tcp port $PORT" -w "$WORK/lo.pcapng" 2>"$WORK/dumpcap.err" &
	CPID=$!
	sleep 1
	say "capturing the loopback traffic to $WORK/lo.pcapng"
fi

# The VM, in the background (so that a signal reaches our trap at once);
# its output goes to guest.log, which tail streams to our stdout.
say "booting the VM (Linux nvme-tcp host) against 127.0.0.1:$PORT"
: >"$WORK/guest.log"
"$HERE/vm.sh" run --port "$PORT" --rpc-port "$RPC_PORT" --cpus 2 --timeout "$VM_TIMEOUT" \
	--console "$WORK/console.log" \
	-- "NQN=$NQN FILE_NQN=$FILE_NQN LIVE_NQN=$LIVE_NQN RPC_TOKEN=$(cat "$WORK/token")"$'\n'"$(cat "$HERE/guest_checks.sh")" \
	>"$WORK/guest.log" 2>&1 &
VPID=$!
tail -n +1 -s 0.2 -f --pid="$VPID" "$WORK/guest.log" &
LPID=$!
vm_rc=0
wait "$VPID" || vm_rc=$?
VPID=''
wait "$LPID" || true
LPID=''

# The guest's own PASS/FAIL lines.
while IFS= read -r line; do
	RESULTS+=("$line")
done < <(grep -E '^(PASS|FAIL) ' "$WORK/guest.log" || true)
if ((vm_rc == 124 || vm_rc == 125)); then
	result FAIL "vm: the VM run ended in error (vm.sh status $vm_rc; 124 = timeout after ${VM_TIMEOUT}s)"
elif ! grep -q '^guest: [0-9]* passed, [0-9]* failed$' "$WORK/guest.log"; then
	result FAIL "vm: the guest checks did not complete (status $vm_rc)"
fi

# Stop the target: SIGTERM, then it must exit 0 within 15 s.
stop_pid "$CPID" 2 || true
CPID=''

if kill -0 "$TPID" 2>/dev/null; then
	kill -TERM "$TPID"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TPID" 2>/dev/null; then
		result FAIL "target: exits within 15 s of SIGTERM"
		kill -KILL "$TPID" 2>/dev/null || true
		wait "$TPID" 2>/dev/null || true
	else
		tst=0
		wait "$TPID" || tst=$?
		if ((tst == 0)); then
			result PASS "target: exit status 0 after SIGTERM"
		else
			result FAIL "target: exit status $tst after SIGTERM (expected 0)"
		fi
	fi
else
	tst=0
	wait "$TPID" || tst=$?
	result FAIL "target: died during the test (exit status $tst)"
fi
TPID=''

echo
echo "=== target stdout/stderr (last 20 lines each)"
tail -n 20 "$WORK/target.out" | sed 's/^/  target: /'
tail -n 20 "$WORK/target.err" | sed 's/^/  target stderr: /'

echo
echo "=== summary ($((SECONDS - t0)) s)"
passed=0 failed=0
for r in "${RESULTS[@]}"; do
	echo "$r"
	case $r in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "$passed passed, $failed failed"
if ((failed)); then
	KEEP=1
	exit 1
fi
