#!/usr/bin/env bash
# run_spdk_interop.sh PATH/TO/nvmeof-target
#
# Interop test: SPDK v26.05's initiator tools (spdk_nvme_identify and
# spdk_nvme_perf, from the prebuilt SPDK peer /work/shared/spdk-peer) against
# our nvmeof-target on 127.0.0.1.  Builds nothing, needs no hugepages (the
# SPDK tools run with --no-huge -s MB) and no VM.  SPDK's own tools are what
# most people benchmark NVMe-oF targets with: they must work as they are.
#
# Starts `nvmeof-target --ram 64M --listen 127.0.0.1:PORT --threads 1` on a
# free port, then, each SPDK tool under a time limit:
#   1. spdk_nvme_identify: exit 0; Serial Number, Model Number and Subsystem
#      NQN are the target's (from its --print-config); namespace 1 has the
#      expected size in LBAs;
#   2. spdk_nvme_perf randread 4 KiB QD8 for 2 s: exit 0, a "Total" line with
#      IOPS > 0, no I/O errors, no unexpected *ERROR* lines;
#   3. the same with randwrite;
#   4. spdk_nvme_perf with no `hostnqn:` in its transport ID, as it is most
#      often run: it then sends an empty HOSTNQN (and a valid HOSTID), which
#      Linux nvmet and SPDK's target accept where any host may connect, and
#      so must we;
#   5. the target's log has no error-level ("E ...") lines;
#   6. SIGTERM to the target (by PID): it exits with status 0 within 15 s;
#   7. SPDK's own rpc.py against a second nvmeof-target started with
#      --rpc-socket and nothing to serve: it makes a TCP transport, a RAM
#      bdev, a subsystem, its namespace and a listener, exactly as it would
#      on nvmf_tgt; spdk_nvme_identify then sees that namespace; a null bdev
#      added as namespace 2 and a resize show in identify, the removal of
#      namespace 2 too; rpc.py save_config and nvmf_get_subsystems answer;
#      nvmeof_save_config writes a file that `nvmeof-target --config` loads.
#
# Prints one PASS/FAIL line per check, then "N passed, M failed"; exits 1 if
# anything failed (logs kept, their directory printed), 0 otherwise.  When
# the SPDK peer cannot run here it prints "SKIP: interop test: <why>" and
# exits 0.
#
# Environment:
#   SPDK_PEER            the spdk-peer script (default: ../shared/spdk-peer/
#                        beside the repository)
#   SPDK_INTEROP_CORE_MASK  spdk_nvme_perf -c (default 0x1)
#   SPDK_INTEROP_MEM_MB  DPDK memory for perf with --no-huge (default 256)
#   SPDK_INTEROP_TIME    seconds per perf run (default 2)
#   NVMEOF_INTEROP_CAPTURE=1  save the loopback traffic (dumpcap) to the
#                        log directory
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SPDK_PEER=${SPDK_PEER:-$REPO/../shared/spdk-peer/spdk-peer}
CORE_MASK=${SPDK_INTEROP_CORE_MASK:-0x1}
PERF_MEM=${SPDK_INTEROP_MEM_MB:-256}
PERF_TIME=${SPDK_INTEROP_TIME:-2}
ID_MEM=128
RAM=64M
CMD_TIMEOUT=60 # seconds, for each SPDK command (perf: its run time more)
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:$(cat /proc/sys/kernel/random/uuid)

# shellcheck disable=SC2034 # used by lib.sh's say()
INTEROP_NAME=run_spdk_interop
# shellcheck source=/dev/null
source "$REPO/tests/interop/lib.sh"

(($# == 1)) || {
	echo "usage: $0 PATH/TO/nvmeof-target" >&2
	exit 2
}
TARGET=$(readlink -f "$1")
[[ -f $TARGET && -x $TARGET ]] || {
	echo "run_spdk_interop: $1 is not an executable" >&2
	exit 2
}

[[ $(uname -m) == x86_64 ]] || skip "the SPDK peer is an x86_64 build; this is $(uname -m)"
[[ -x $SPDK_PEER ]] || skip "no SPDK peer at $SPDK_PEER"
command -v python3 >/dev/null || command -v jq >/dev/null || skip "needs python3 or jq"

# DPDK leaves a run directory per process (spdk_pidPID) behind: ours go.
if ((EUID == 0)); then DPDK_RUN=/var/run/dpdk; else DPDK_RUN=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-spdk-interop.XXXXXX")
TPID='' CPID='' SPID='' KEEP=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_pid "$SPID" 5 || true
	stop_pid "$CPID" 2 || true
	stop_pid "$TPID" 5 || true
	rm_dpdk_dirs
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps
t0=$SECONDS

# spdk NAME LIMIT perf|identify ARGS...: the SPDK tool through spdk-peer
# (which execs it: one PID from here to the binary), stdout and stderr in
# $WORK/NAME.out/.err, bounded in time, dying with us (pdeathsig).
spdk() {
	local name=$1 limit=$2 st=0
	shift 2
	echo "+ spdk-peer $*" >"$WORK/$name.cmd"
	# shellcheck disable=SC2016 # $$, $0 and $@ are that bash's
	setpriv --pdeathsig TERM -- timeout -k 5 "$limit" \
		setpriv --pdeathsig KILL -- bash -c 'echo $$ >"$0"; exec "$@"' "$WORK/$name.pid" \
		"$SPDK_PEER" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
	SPID=$!
	wait "$SPID" || st=$?
	SPID=''
	return "$st"
}
rm_dpdk_dirs() {
	local f p
	for f in "$WORK"/*.pid; do
		[[ -f $f ]] || continue
		p=$(cat "$f")
		[[ $p =~ ^[0-9]+$ ]] || continue
		kill -0 "$p" 2>/dev/null && continue
		rm -rf "${DPDK_RUN:?}/spdk_pid$p"
		rm -f "$f"
	done
}

# ------------------------------------------------------ can SPDK run here? --

if ! "$SPDK_PEER" setup >"$WORK/setup.log" 2>&1; then
	sed 's/^/  spdk-peer setup: /' "$WORK/setup.log" | tail -n 15
	skip "spdk-peer setup failed (log above)"
fi
if ! spdk probe 30 identify -H; then
	sed 's/^/  spdk_nvme_identify: /' "$WORK/probe.err" | tail -n 10
	skip "spdk_nvme_identify does not run here (libraries?)"
fi
# The environment (DPDK EAL without hugepages) against a closed port: the
# connect must fail, the environment must come up.
CLOSED=$(free_port) || skip "no free loopback port"
spdk envprobe 30 identify --no-huge -s "$ID_MEM" \
	-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$CLOSED subnqn:nqn.2014-08.org.nvmexpress.discovery" || true
if grep -q 'Unable to initialize SPDK env' "$WORK/envprobe.err"; then
	sed 's/^/  spdk_nvme_identify: /' "$WORK/envprobe.err" | tail -n 10
	skip "SPDK's environment (DPDK, --no-huge) does not initialize here"
fi
rm_dpdk_dirs
say "SPDK peer ready ($((SECONDS - t0)) s); host NQN for the checks: $HOSTNQN"

# ------------------------------------------------------------- the target --

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

# What identify must show, from the target's own effective config.
"$TARGET" --ram "$RAM" --listen 127.0.0.1:4420 --print-config >"$WORK/config.json" 2>"$WORK/config.err" || true
jconf() { # EXPR over the config: subsystem 0 serial|model|nqn, ns block_size|size
	if command -v python3 >/dev/null; then
		python3 - "$WORK/config.json" "$1" <<-'PY' 2>/dev/null
			import json, sys
			c = json.load(open(sys.argv[1])); s = c["subsystems"][0]; n = s["namespaces"][0]
			print({"serial": s.get("serial"), "model": s.get("model"), "nqn": s.get("nqn"),
			       "block_size": n.get("block_size")}[sys.argv[2]])
		PY
	else
		case $1 in
		block_size) jq -r '.subsystems[0].namespaces[0].block_size' "$WORK/config.json" ;;
		*) jq -r --arg k "$1" '.subsystems[0][$k]' "$WORK/config.json" ;;
		esac 2>/dev/null
	fi
}
NQN=$(jconf nqn || true)
SERIAL=$(jconf serial || true)
MODEL=$(jconf model || true)
BS=$(jconf block_size || true)
[[ -n $NQN && $NQN != None && $NQN != null ]] || NQN=nqn.2024-11.io.nvmeof:ram0
[[ $BS =~ ^[0-9]+$ ]] || BS=512
NSZE=$((64 * 1024 * 1024 / BS))

start_target() {
	PORT=$(free_port) || return 1
	: >"$WORK/target.out"
	"$TARGET" --ram "$RAM" --listen "127.0.0.1:$PORT" --threads 1 \
		>"$WORK/target.out" 2>"$WORK/target.err" </dev/null &
	TPID=$!
	await_line "$WORK/target.out" '^listening on' "$TPID" && return 0
	stop_pid "$TPID" 2 || true
	TPID=''
	return 1
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
	result FAIL "target: nvmeof-target starts and prints 'listening on'"
	summary
	exit 1
fi
result PASS "target: nvmeof-target --ram $RAM listening on 127.0.0.1:$PORT (pid $TPID)"

if [[ ${NVMEOF_INTEROP_CAPTURE:-0} == 1 ]] && command -v dumpcap >/dev/null; then
	dumpcap -q -i lo -f "tcp port $PORT" -w "$WORK/lo.pcapng" 2>"$WORK/dumpcap.err" &
	CPID=$!
	sleep 1
	say "capturing the loopback traffic to $WORK/lo.pcapng"
fi

TRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN"

# ------------------------------------------------------------- the checks --

# field FILE LABEL: the value of an identify line "LABEL:   value".
field() { sed -n "s/^$2: *//p" "$1" | head -n 1; }
expect() { # WHAT GOT WANT
	if [[ $2 != "$3" ]]; then
		echo "$1: got '$2', expected '$3'"
		return 1
	fi
	echo "$1: $2"
}
# SPDK's stderr, less the known noise: the EAL memory-layout notice of
# --no-huge, and "CQ transport error -6" on an I/O qpair while perf tears
# its connections down at the end of a run.
unexpected_stderr() {
	grep -vE '^EAL: Static memory layout is selected|CQ transport error -6 \(No such device or address\)' "$1" |
		grep -E '\*ERROR\*|error|fail' || true
}

c_identify() {
	local st=0 bad
	spdk identify "$CMD_TIMEOUT" identify --no-huge -s "$ID_MEM" -r "$TRID hostnqn:$HOSTNQN" || st=$?
	cat "$WORK/identify.err"
	((st == 0)) || {
		echo "spdk_nvme_identify exit status $st"
		return 1
	}
	grep -q "^NVMeoF Controller at TCP (addr:127.0.0.1 subnqn:$NQN)" "$WORK/identify.out" ||
		{ echo "no 'NVMeoF Controller at TCP ...' header"; return 1; }
	expect "Subsystem NQN" "$(field "$WORK/identify.out" 'Subsystem NQN')" "$NQN" || st=1
	if [[ -n $SERIAL && $SERIAL != None && $SERIAL != null ]]; then
		expect "Serial Number" "$(field "$WORK/identify.out" 'Serial Number')" "$SERIAL" || st=1
	else
		echo "Serial Number: $(field "$WORK/identify.out" 'Serial Number') (no --print-config to compare with)"
		[[ -n $(field "$WORK/identify.out" 'Serial Number') ]] || st=1
	fi
	if [[ -n $MODEL && $MODEL != None && $MODEL != null ]]; then
		expect "Model Number" "$(field "$WORK/identify.out" 'Model Number')" "$MODEL" || st=1
	else
		echo "Model Number: $(field "$WORK/identify.out" 'Model Number') (no --print-config to compare with)"
		[[ -n $(field "$WORK/identify.out" 'Model Number') ]] || st=1
	fi
	grep -q '^Namespace ID:1$' "$WORK/identify.out" || { echo "no 'Namespace ID:1'"; st=1; }
	expect "Size (in LBAs)" "$(field "$WORK/identify.out" 'Size (in LBAs)' | cut -d' ' -f1)" "$NSZE" || st=1
	bad=$(unexpected_stderr "$WORK/identify.err")
	[[ -z $bad ]] || { echo "unexpected stderr: $bad"; st=1; }
	return "$st"
}

# run_perf NAME WORKLOAD [extra transport ID keys]: spdk_nvme_perf 4 KiB QD8.
run_perf() {
	spdk "$1" $((CMD_TIMEOUT + PERF_TIME)) perf --no-huge -s "$PERF_MEM" -c "$CORE_MASK" \
		-q 8 -o 4096 -w "$2" -t "$PERF_TIME" -r "$TRID${3:+ $3}"
}
# "IOPS MiB/s avg_us min_us max_us" of the Total line, if any.
perf_total() { sed -n 's/^Total *: *//p' "$WORK/$1.out" | head -n 1; }

c_perf() { # NAME WORKLOAD
	local name=$1 st=0 tot iops bad
	run_perf "$name" "$2" "hostnqn:$HOSTNQN" || st=$?
	cat "$WORK/$name.out" "$WORK/$name.err"
	# spdk_nvme_perf exits 0 when no controller attached: check the output.
	((st == 0)) || { echo "spdk_nvme_perf exit status $st"; return 1; }
	if grep -qE 'No valid NVMe controllers found|errors occurred|completed with error|starting I/O failed' \
		"$WORK/$name.out" "$WORK/$name.err"; then
		echo "spdk_nvme_perf reported errors"
		return 1
	fi
	tot=$(perf_total "$name")
	iops=$(awk '{print $1}' <<<"$tot")
	if [[ -z $iops ]] || ! awk -v v="$iops" 'BEGIN { exit !(v > 0) }'; then
		echo "Total IOPS: '$iops', expected > 0"
		return 1
	fi
	bad=$(unexpected_stderr "$WORK/$name.err")
	[[ -z $bad ]] || { echo "unexpected stderr: $bad"; return 1; }
	awk '{printf "%.0f IOPS, %.2f MiB/s, avg %.1f us", $1, $2, $3}' <<<"$tot" >"$WORK/$name.note"
}
c_randread() { c_perf perf_randread randread; }
c_randwrite() { c_perf perf_randwrite randwrite; }

# step NAME FUNCTION: FUNCTION under `set -e` in a subshell, its output in a
# log, one PASS/FAIL line (with the perf numbers when there are some).
nstep=0
step() {
	local name=$1 fn=$2 st=0 start=${EPOCHREALTIME/./} t log note=''
	nstep=$((nstep + 1))
	log=$WORK/$(printf '%02d' "$nstep")-${fn#c_}.log
	(
		set -e
		"$fn"
	) >"$log" 2>&1 &
	SPID=$!
	wait "$SPID" || st=$?
	SPID=''
	rm_dpdk_dirs
	t=$((${EPOCHREALTIME/./} - start))
	t=$(printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000)))
	case $fn in c_randread) note=$WORK/perf_randread.note ;; c_randwrite) note=$WORK/perf_randwrite.note ;; esac
	if ((st == 0)); then
		if [[ -n $note && -s $note ]]; then
			result PASS "$name (${t}s) [$(cat "$note")]"
		else
			result PASS "$name (${t}s)"
		fi
	else
		result FAIL "$name (exit status $st after ${t}s; log $log)"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
}

echo
step "identify: spdk_nvme_identify shows subnqn $NQN, our serial and model, nsid 1 of $NSZE LBAs" c_identify
step "perf: spdk_nvme_perf randread 4k qd8 ${PERF_TIME}s: IOPS > 0, no errors" c_randread
step "perf: spdk_nvme_perf randwrite 4k qd8 ${PERF_TIME}s: IOPS > 0, no errors" c_randwrite

# spdk_nvme_perf as it is most often run: no hostnqn, so an empty HOSTNQN.
c_nohostnqn() {
	local st=0 tot iops
	run_perf perf_nohostnqn randread || st=$?
	cat "$WORK/perf_nohostnqn.out" "$WORK/perf_nohostnqn.err"
	((st == 0)) || { echo "spdk_nvme_perf exit status $st"; return 1; }
	tot=$(perf_total perf_nohostnqn)
	iops=$(awk '{print $1}' <<<"$tot")
	if [[ -z $iops ]] || ! awk -v v="$iops" 'BEGIN { exit !(v > 0) }'; then
		echo "Total IOPS: '$iops', expected > 0 (refused?)"
		grep -o 'Connect command completed with error: sct [0-9]*, sc [0-9]*' \
			"$WORK/perf_nohostnqn.err" | head -n 1
		return 1
	fi
	awk '{printf "%.0f IOPS", $1}' <<<"$tot" >"$WORK/perf_nohostnqn.note"
}
step "perf: spdk_nvme_perf with no hostnqn (an empty HOSTNQN) is accepted" c_nohostnqn
LOG_LINES=$(cat "$WORK/target.out" "$WORK/target.err" | wc -l)

# ------------------------------------------------------------------- stop --

stop_pid "$CPID" 2 || true
CPID=''

# Error-level lines in the target's log (its lines start "E hh:mm:ss").
if head -n "$LOG_LINES" < <(cat "$WORK/target.out" "$WORK/target.err") | grep -E '^E ' >"$WORK/target.bad"; then
	result FAIL "target: no error-level lines in its log ($(wc -l <"$WORK/target.bad") lines)"
	sed 's/^/    target: /' "$WORK/target.bad" | head -n 20
else
	result PASS "target: no error-level lines in its log ($(cat "$WORK/target.out" "$WORK/target.err" | grep -c 'controller [0-9]*:.* for ' || true) controllers created)"
fi

if ! kill -0 "$TPID" 2>/dev/null; then
	st=0
	wait "$TPID" || st=$?
	result FAIL "target: stayed up during the checks (exited early, status $st)"
else
	kill -TERM "$TPID"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TPID" 2>/dev/null; then
		stop_pid "$TPID" 1 || true
		result FAIL "target: exits within 15 s of SIGTERM (SIGKILLed)"
	else
		st=0
		wait "$TPID" || st=$?
		if ((st == 0)); then
			result PASS "target: exits with status 0 on SIGTERM (pid $TPID)"
		else
			result FAIL "target: exits with status 0 on SIGTERM (status $st)"
		fi
	fi
fi
TPID=''

# ----------------------------------------- rpc.py builds an empty target --

SOCK=$WORK/rpc.sock
# rpcpy NAME ARGS...: SPDK's rpc.py (through spdk-peer) on our socket.
rpcpy() {
	local name=$1
	shift
	spdk "rpc_$name" "$CMD_TIMEOUT" rpc -s "$SOCK" "$@"
}
start_rpc_target() { # ARGS...
	: >"$WORK/rpc_target.out"
	"$TARGET" --rpc-socket "$SOCK" --threads 1 "$@" \
		>"$WORK/rpc_target.out" 2>"$WORK/rpc_target.err" </dev/null &
	TPID=$!
	await_line "$WORK/rpc_target.out" '^control plane on' "$TPID"
}
RNQN=nqn.2016-06.io.spdk:cnode1
RPORT=$(free_port)
RTRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$RPORT subnqn:$RNQN"
# identify_ns NAME NSID: namespace NSID's "Size (in LBAs)" as identify
# shows it through the subsystem rpc.py made (empty: no such namespace).
identify_ns() {
	spdk "$1" "$CMD_TIMEOUT" identify --no-huge -s "$ID_MEM" -r "$RTRID hostnqn:$HOSTNQN" || return 1
	awk -v want="Namespace ID:$2" '$0 == want { on = 1; next }
		/^Namespace ID:/ { on = 0 }
		on && /^Size \(in LBAs\):/ { print $4; exit }' "$WORK/$1.out"
}
c_rpc_build() {
	rpcpy version spdk_get_version
	rpcpy transport nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192
	rpcpy malloc bdev_malloc_create -b Malloc0 64 512
	rpcpy subsystem nvmf_create_subsystem "$RNQN" -a -s SPDK00000000000001 -d "SPDK_Controller1" -m 32
	rpcpy ns nvmf_subsystem_add_ns "$RNQN" Malloc0
	rpcpy listener nvmf_subsystem_add_listener "$RNQN" -t tcp -a 127.0.0.1 -s "$RPORT" -f ipv4
	cat "$WORK"/rpc_*.out
	local n
	n=$(identify_ns id_rpc 1)
	expect "namespace 1 (Malloc0, 64 MiB of 512 B), Size (in LBAs)" "$n" 131072
}
c_rpc_change() {
	rpcpy null bdev_null_create Null0 32 4096
	rpcpy ns2 nvmf_subsystem_add_ns "$RNQN" Null0 -n 2
	local n
	n=$(identify_ns id_rpc2 2)
	expect "namespace 2 added (Null0, 32 MiB of 4 KiB), Size (in LBAs)" "$n" 8192
	rpcpy resize bdev_null_resize Null0 64
	n=$(identify_ns id_rpc3 2)
	expect "namespace 2 resized to 64 MiB, Size (in LBAs)" "$n" 16384
	rpcpy rm nvmf_subsystem_remove_ns "$RNQN" 2
	n=$(identify_ns id_rpc4 2)
	expect "namespace 2 removed, Size (in LBAs)" "$n" ""
	grep -q '^Namespace ID:1$' "$WORK/id_rpc4.out" || { echo "namespace 1 went too"; return 1; }
}
c_rpc_save() {
	rpcpy get nvmf_get_subsystems
	grep -q "\"nqn\": \"$RNQN\"" "$WORK/rpc_get.out"
	rpcpy save save_config
	# rpc.py composes it from framework_get_subsystems/_config: the bdev
	# and the subsystem are in it.
	grep -q '"bdev_malloc_create"' "$WORK/rpc_save.out"
	grep -q '"nvmf_subsystem_add_listener"' "$WORK/rpc_save.out"
	# Our own method (rpc.py has no verb for it): a plain JSON-RPC call.
	python3 - "$SOCK" "$WORK/saved.json" <<-'PY'
			import json, socket, sys
			s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
			s.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "nvmeof_save_config",
			                      "params": {"file": sys.argv[2]}}).encode())
			s.shutdown(socket.SHUT_WR)  # the target answers, then closes
			buf = b""
			while chunk := s.recv(1 << 16):
			    buf += chunk
			r = json.loads(buf)
			assert "result" in r, r
		PY
	"$TARGET" --config "$WORK/saved.json" --print-config >"$WORK/saved.check"
	grep -q '"bdev_name": "Malloc0"' "$WORK/saved.check"
}

if start_rpc_target; then
	result PASS "rpc: nvmeof-target --rpc-socket starts with nothing to serve"
	step "rpc: rpc.py builds transport, Malloc0, $RNQN, its namespace and a listener; identify sees it" c_rpc_build
	step "rpc: a namespace added, resized and removed through rpc.py shows in identify" c_rpc_change
	step "rpc: nvmf_get_subsystems, rpc.py save_config, nvmeof_save_config loads back" c_rpc_save
	stop_pid "$TPID" 15 || result FAIL "rpc: the target exits within 15 s of SIGTERM (SIGKILLed)"
else
	result FAIL "rpc: nvmeof-target --rpc-socket starts with nothing to serve"
	sed 's/^/  target: /' "$WORK/rpc_target.out" "$WORK/rpc_target.err"
fi
TPID=''

summary
if ((KEEP)); then exit 1; fi
