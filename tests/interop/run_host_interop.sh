#!/usr/bin/env bash
# tests/interop/run_host_interop.sh PATH/TO/nvmeof
#
# Interop test, the other direction of run_interop.sh: our host tool
# (`nvmeof`) against the Linux kernel's NVMe/TCP target (nvmet-tcp) in a
# qemu VM (vm.sh target: 64 MiB RAM-backed namespace, 512-byte blocks,
# reached at 127.0.0.1:PORT through a hostfwd rule).  Builds nothing.
# Checks: discover, id-ctrl (subnqn, mn "Linux"), id-ns, 1 MiB write + read
# + cmp plain and with header and data digests, SMART log, perf randrw
# --verify, flush, and a kernel console free of nvmet errors.
#
# Prints one PASS/FAIL line per check, then "N passed, M failed"; exits 1 if
# anything failed (logs kept and their directory printed), 0 otherwise.
# When the VM cannot be set up here (no qemu, apt-get failed, not amd64) it
# prints "SKIP: interop test: <why>" and exits 0.
# Environment: NVMEOF_INTEROP_CACHE (see vm.sh), NVMEOF_INTEROP_CAPTURE=1
# (save the loopback traffic to the log directory with dumpcap, if present).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
NQN=nqn.2024-11.io.nvmeof.interop:linux
SIZE_MB=64 BLOCK=512
VM_LIFETIME=240 BOOT_TIMEOUT=120 # seconds
CMD_TIMEOUT=60                   # seconds, for each nvmeof command

INTEROP_NAME=run_host_interop
# shellcheck source=tests/interop/lib.sh
source "$HERE/lib.sh"

(($# == 1)) || {
	echo "usage: $0 PATH/TO/nvmeof" >&2
	exit 2
}
TOOL=$(readlink -f "$1")
[[ -f $TOOL && -x $TOOL ]] || {
	echo "run_host_interop: $1 is not an executable" >&2
	exit 2
}

[[ $(uname -m) == x86_64 ]] || skip "the VM is x86_64; this is $(uname -m)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-host-interop.XXXXXX")
VPID='' CPID='' SPID='' KEEP=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_pid "$SPID" 2 || true
	stop_pid "$VPID" 10 || true # vm.sh stops its VM
	stop_pid "$CPID" 2 || true
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps

setup_vm_or_skip


# Boot the target VM in the background (it dies with us: pdeathsig) and
# wait for its READY line.  Returns 2 when the port was taken.
start_target() {
	local i
	PORT=$(free_port) || return 1
	: >"$WORK/target.log"
	setpriv --pdeathsig TERM -- "$HERE/vm.sh" target --port "$PORT" --nqn "$NQN" \
		--size "$SIZE_MB" --block-size "$BLOCK" --timeout "$VM_LIFETIME" \
		--boot-timeout "$BOOT_TIMEOUT" --console "$WORK/console.log" \
		>"$WORK/target.log" 2>&1 </dev/null &
	VPID=$!
	for ((i = 0; i < (BOOT_TIMEOUT + 15) * 10; i++)); do
		grep -q '^READY ' "$WORK/target.log" && return 0
		kill -0 "$VPID" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$VPID" 10 || true
	VPID=''
	grep -q 'host forwarding rule' "$WORK/target.log" && return 2
	return 1
}

RESULTS=()
result() { # PASS|FAIL text
	RESULTS+=("$1 $2")
	echo "$1 $2"
}
summary() {
	local r passed=0 failed=0
	echo
	echo "=== summary ($((SECONDS - t0)) s)"
	for r in "${RESULTS[@]}"; do
		echo "$r"
		case $r in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
	done
	echo "$passed passed, $failed failed"
	((failed == 0)) || KEEP=1
}

say "booting the VM (Linux nvmet-tcp target)"
started=0
for attempt in 1 2 3; do
	st=0
	start_target || st=$?
	if ((st == 0)); then
		started=1
		break
	fi
	say "the target VM did not come up on port $PORT (attempt $attempt):"
	sed 's/^/  vm.sh: /' "$WORK/target.log" | tail -n 40
	((st == 2)) || break
done
if ((!started)); then
	result FAIL "target: the Linux nvmet-tcp VM prints READY within ${BOOT_TIMEOUT}s"
	summary
	exit 1
fi
result PASS "target: Linux nvmet-tcp ready on 127.0.0.1:$PORT after $((SECONDS - t0)) s (vm.sh pid $VPID)"

if [[ ${NVMEOF_INTEROP_CAPTURE:-0} == 1 ]] && command -v dumpcap >/dev/null; then
	dumpcap -q -i lo -f "tcp port $PORT" -w "$WORK/lo.pcapng" 2>"$WORK/dumpcap.err" &
	CPID=$!
	sleep 1
	say "capturing the loopback traffic to $WORK/lo.pcapng"
fi

# ------------------------------------------------------------- the checks ---

CONN=(--traddr 127.0.0.1 --trsvcid "$PORT" --nqn "$NQN")
DIGEST=(-g -G)
NSZE=$((SIZE_MB * 1024 * 1024 / BLOCK))
MIB_BLOCKS=$((1024 * 1024 / BLOCK))

# nvmeof ARGS: the tool, bounded in time, with its command line logged;
# it dies with its step (pdeathsig) when we are interrupted.
nvmeof() {
	echo "+ nvmeof $*" >&2
	setpriv --pdeathsig TERM -- timeout -k 5 "$CMD_TIMEOUT" \
		setpriv --pdeathsig KILL -- "$TOOL" "$@"
}
# jget FILE KEY: a top-level value of a JSON object (jq or python3).
jget() {
	if command -v jq >/dev/null; then
		jq -r --arg k "$2" '.[$k] | tostring' "$1"
	elif command -v python3 >/dev/null; then
		python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
	else
		echo "jget: needs jq or python3" >&2
		return 1
	fi
}
# expect WHAT GOT WANT
expect() {
	if [[ $2 != "$3" ]]; then
		echo "$1: got '$2', expected '$3'"
		return 1
	fi
	echo "$1: $2"
}

# 1 MiB of random data written at LBA $1 and read back (extra options:
# the rest), compared with cmp.
io_check() {
	local lba=$1
	shift
	head -c 1048576 /dev/urandom >"$WORK/pattern.$lba"
	nvmeof write "${CONN[@]}" "$@" -n 1 -s "$lba" -d "$WORK/pattern.$lba"
	nvmeof read "${CONN[@]}" "$@" -n 1 -s "$lba" -c $((MIB_BLOCKS - 1)) -d "$WORK/readback.$lba"
	cmp "$WORK/pattern.$lba" "$WORK/readback.$lba"
	echo "1 MiB at LBA $lba: written, read back, identical"
}

c_discover() {
	nvmeof discover --traddr 127.0.0.1 --trsvcid "$PORT" | tee "$WORK/discover.out"
	grep -q "^subnqn: *$NQN\$" "$WORK/discover.out"
}
c_id_ctrl() {
	nvmeof id-ctrl "${CONN[@]}" -o json | tee "$WORK/id-ctrl.json"
	expect subnqn "$(jget "$WORK/id-ctrl.json" subnqn)" "$NQN"
	expect mn "$(jget "$WORK/id-ctrl.json" mn)" Linux
}
c_id_ns() {
	nvmeof id-ns "${CONN[@]}" -n 1 -o json | tee "$WORK/id-ns.json"
	expect nsze "$(jget "$WORK/id-ns.json" nsze)" "$NSZE"
	expect ncap "$(jget "$WORK/id-ns.json" ncap)" "$NSZE"
}
c_io_plain() { io_check 0; }
c_io_digest() { io_check 4096 "${DIGEST[@]}"; }
c_digest_reads_plain() {
	nvmeof read "${CONN[@]}" "${DIGEST[@]}" -n 1 -s 0 -c $((MIB_BLOCKS - 1)) -d "$WORK/readback.0d"
	cmp "$WORK/pattern.0" "$WORK/readback.0d"
	echo "the plain write at LBA 0 reads back identical with digests"
}
c_smart() {
	nvmeof get-log "${CONN[@]}" -l 2 -o json | tee "$WORK/smart.json"
	local w
	w=$(jget "$WORK/smart.json" host_write_commands)
	if [[ ! $w =~ ^[0-9]+$ ]] || ((w == 0)); then
		echo "host_write_commands: '$w', expected > 0 after the writes"
		return 1
	fi
}
c_perf() {
	nvmeof perf "${CONN[@]}" -n 1 --workload randrw --time 3 --verify --io-size 4096 \
		--queue-depth 8 -o json >"$WORK/perf.json"
	if command -v jq >/dev/null; then jq 'del(.histogram)' "$WORK/perf.json"; fi
	expect errors "$(jget "$WORK/perf.json" errors)" 0
	expect verify_errors "$(jget "$WORK/perf.json" verify_errors)" 0
	local ios
	ios=$(jget "$WORK/perf.json" ios)
	if [[ ! $ios =~ ^[0-9]+$ ]] || ((ios == 0)); then
		echo "ios: '$ios', expected > 0"
		return 1
	fi
	echo "$ios I/Os, $(jget "$WORK/perf.json" iops | cut -d. -f1) IOPS" >"$WORK/perf.note"
}
c_flush() { nvmeof flush "${CONN[@]}" -n 1; }

# step NAME FUNCTION: FUNCTION under `set -e` (in a background subshell:
# errexit holds there), its output in a log, one PASS/FAIL line.
nstep=0
step() {
	local name=$1 fn=$2 st=0 start=${EPOCHREALTIME/./} t log
	nstep=$((nstep + 1))
	log=$WORK/$(printf '%02d' "$nstep")-${fn#c_}.log
	(
		set -e
		"$fn"
	) >"$log" 2>&1 &
	SPID=$!
	wait "$SPID" || st=$?
	SPID=''
	t=$((${EPOCHREALTIME/./} - start))
	t=$(printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000)))
	if ((st == 0)); then
		result PASS "$name (${t}s)"
	else
		result FAIL "$name (exit status $st after ${t}s; log $log)"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
}

echo
step "discover: the discovery log lists $NQN" c_discover
step "id-ctrl: -o json has subnqn $NQN and mn \"Linux\"" c_id_ctrl
step "id-ns: nsze = ncap = $NSZE ($SIZE_MB MiB of $BLOCK-byte blocks)" c_id_ns
step "io: write 1 MiB at LBA 0, read -c $((MIB_BLOCKS - 1)), cmp" c_io_plain
step "digest: -g -G write 1 MiB at LBA 4096, read, cmp" c_io_digest
step "digest: -g -G read of LBA 0 matches the plain write" c_digest_reads_plain
step "get-log -l 2: SMART log, host_write_commands > 0" c_smart
step "perf: randrw 4k qd8 3s --verify: 0 errors, 0 verify errors" c_perf
[[ ! -s $WORK/perf.note ]] || RESULTS[-1]+=" [$(cat "$WORK/perf.note")]"
step "flush: namespace 1" c_flush

# ------------------------------------------------------------------- stop ---

stop_pid "$CPID" 2 || true
CPID=''
sleep 0.5 # the last kernel messages
if ! kill -0 "$VPID" 2>/dev/null; then
	st=0
	wait "$VPID" || st=$?
	result FAIL "target: the VM stayed up during the checks (vm.sh ended early, status $st)"
elif stop_pid "$VPID" 10; then
	result PASS "target: the VM stopped on SIGTERM to vm.sh (pid $VPID)"
else
	result FAIL "target: the VM did not stop within 10 s of SIGTERM (SIGKILLed)"
fi
VPID=''

# nvmet's complaints (bad PDUs, digest errors, keep-alive expiry) and
# kernel warnings in the guest console.
tr -d '\r' <"$WORK/console.log" >"$WORK/console.txt" 2>/dev/null || true
if grep -Ei 'nvmet.*(error|fail|invalid|unexpected|unhandled|expired|unsupported)|WARNING:|BUG:|Call Trace' \
	"$WORK/console.txt" >"$WORK/console.bad"; then
	result FAIL "guest kernel: no nvmet errors or kernel warnings ($(wc -l <"$WORK/console.bad") lines)"
	sed 's/^/    kernel: /' "$WORK/console.bad" | head -n 20
else
	result PASS "guest kernel: no nvmet errors or kernel warnings ($(grep -c 'nvmet: creating' "$WORK/console.txt" || true) controllers created)"
fi

echo
echo "=== guest kernel console (nvmet lines, last 15)"
grep -E 'nvmet|null_blk' "$WORK/console.txt" | tail -n 15 | sed 's/^/  kernel: /' || true
summary
if ((KEEP)); then exit 1; fi
