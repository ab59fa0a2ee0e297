#!/usr/bin/env bash
# tests/interop/run_blktests.sh PATH/TO/nvmeof-target [TEST...]
#
# blktests' nvme group in a Linux VM (vm.sh run --blktests: Linux 6.1, the
# kernel's nvme-tcp host) against our nvmeof-target on 127.0.0.1, driven
# through blktests' NVME_TARGET_CONTROL hook (blktests_control.sh, which
# creates and deletes each test's subsystem through the target's JSON-RPC
# control plane on TCP, with a token).  Builds only blktests' small helper
# programs (src/, cached).  Not part of ctest.
#
# TEST: nvme/NNN or NNN (default: every test of tests/nvme).  The tests
# run in two `./check` runs (those with test_device(), with TEST_DEVS = a
# namespace of a subsystem of the target's config, blktests-dev, 256 MiB
# RAM, connected for them; then the others), under a watchdog that kills a
# test after BLKTESTS_TEST_TIMEOUT and goes on with the next.  Tests that
# cannot apply to a remote target (they write the kernel target's configfs
# or need its passthru), or that read a sysfs attribute the guest kernel
# lacks, are not run (listed with the reason) unless BLKTESTS_ALL=1.
# Prints the guest's output as it comes (check's lines, and for a failure
# the diff, the .full log and dmesg), the control script's log, the
# target's log, then one line per test: passed, failed (reason), not run
# (blktests' reasons), timeout.  Exit status 1 if a test failed or timed
# out, or the target did not exit 0 on SIGTERM; 0 otherwise (skips are
# fine); 2 when it cannot run here (no VM, no blktests).  The logs are kept
# on a failure (their directory is printed).
#
# Environment:
#   BLKTESTS_TARBALL   blktests source (.tar.gz, or an unpacked tree);
#                      default /work/shared/blktests/blktests-*.tar.gz
#   BLKTESTS_IMG_SIZE  NVME_IMG_SIZE, also the size of each test's RAM
#                      bdev (default 64m: nvme/010 writes and verifies it
#                      all in 4 KiB random I/O, a few hundred a second under
#                      TCG; nvme/012 needs 350m, which takes more than
#                      300 s for 010 and 012 each: with 350m, give
#                      BLKTESTS_TEST_TIMEOUT=1200 too)
#   BLKTESTS_BLOCK_SIZE  the block size of those bdevs, 512 or 4096
#                      (default 512)
#   BLKTESTS_TEST_TIMEOUT  seconds per test (default 300)
#   BLKTESTS_VM_TIMEOUT    seconds for the whole VM run (default 3600)
#   BLKTESTS_ALL       1: run the excluded tests too
#   BLKTESTS_BUILD_LOCK  a file to flock(1) while blktests' src/ builds
#   BLKTESTS_LOG_LEVEL     the target's --log-level (default info)
#   NVMEOF_INTEROP_CACHE   see vm.sh
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
IMG_SIZE=${BLKTESTS_IMG_SIZE:-64m}
TEST_TIMEOUT=${BLKTESTS_TEST_TIMEOUT:-300}
VM_TIMEOUT=${BLKTESTS_VM_TIMEOUT:-3600}
LOG_LEVEL=${BLKTESTS_LOG_LEVEL:-info}
BLOCK_SIZE=${BLKTESTS_BLOCK_SIZE:-512}
SUBSYSNQN=nqn.2024-11.io.nvmeof:blktests-subsystem-1
SUBSYS_UUID=91fdba0d-f87b-4c25-b80f-db7be1418b9e
DEV_NQN=nqn.2024-11.io.nvmeof:blktests-dev

INTEROP_NAME=run_blktests
# shellcheck source=tests/interop/lib.sh
source "$HERE/lib.sh"

usage() {
	echo "usage: $0 PATH/TO/nvmeof-target [nvme/NNN...]" >&2
	exit 2
}
(($# >= 1)) || usage
TARGET_SRC=$(readlink -f "$1")
shift
[[ -f $TARGET_SRC && -x $TARGET_SRC ]] || {
	echo "run_blktests: $TARGET_SRC is not an executable" >&2
	exit 2
}
TESTS=()
for t in "$@"; do
	t=${t#nvme/}
	[[ $t =~ ^[0-9]{3}$ ]] || usage
	TESTS+=("$t")
done
[[ $BLOCK_SIZE == 512 || $BLOCK_SIZE == 4096 ]] || {
	echo "run_blktests: BLKTESTS_BLOCK_SIZE must be 512 or 4096" >&2
	exit 2
}
[[ $IMG_SIZE =~ ^[1-9][0-9]*[mMgG]$ ]] || {
	echo "run_blktests: BLKTESTS_IMG_SIZE must be like 512m or 1g" >&2
	exit 2
}
case $IMG_SIZE in
*[gG]) SIZE_MB=$((${IMG_SIZE%?} * 1024)) ;;
*) SIZE_MB=${IMG_SIZE%?} ;;
esac

tarball=${BLKTESTS_TARBALL:-}
if [[ -z $tarball ]]; then
	for f in /work/shared/blktests/blktests-*.tar.gz; do [[ -r $f ]] && tarball=$f; done
fi
[[ -n $tarball && -r $tarball ]] || {
	echo "run_blktests: no blktests source (set BLKTESTS_TARBALL)" >&2
	exit 2
}
[[ $(uname -m) == x86_64 ]] || {
	echo "run_blktests: the VM is x86_64 and takes this machine's binaries; this is $(uname -m)" >&2
	exit 2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-blktests.XXXXXX")
TPID='' VPID='' LPID='' KEEP=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_pid "$VPID" 10 || true # vm.sh stops its VM
	stop_pid "$LPID" 1 || true
	stop_pid "$TPID" 5 || true
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps

t0=$SECONDS
if ! timeout 900 "$HERE/vm.sh" setup --blktests >"$WORK/setup.log" 2>&1; then
	sed 's/^/  setup: /' "$WORK/setup.log" | tail -n 15
	echo "run_blktests: tests/interop/vm.sh setup --blktests failed (log above)" >&2
	exit 2
fi
say "VM setup ready ($((SECONDS - t0)) s)"

# The blktests tree goes into the guest as a tarball whose top directory
# is blktests/.
mkdir -p "$WORK/tree"
if [[ -d $tarball ]]; then
	cp -a "$tarball" "$WORK/tree/blktests"
else
	tar -xzf "$tarball" -C "$WORK/tree"
	top=$(tar -tzf "$tarball" | sed -n 1p)
	top=${top%%/*}
	[[ $top == blktests && -d $WORK/tree/blktests ]] || {
		echo "run_blktests: $tarball does not unpack to blktests/ (but $top/)" >&2
		exit 2
	}
fi
# blktests' helper programs (src/: nvme/064, 067 and 069 run some), built
# here, static (the VM has no liburing), once per blktests source: cached.
# Without a compiler the tests that need them fail or skip, the rest run.
src_key=$(cd "$WORK/tree/blktests/src" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
src_cache=${NVMEOF_INTEROP_CACHE:-${HOME:-/tmp}/.cache/nvmeof-interop}/blktests-src-$src_key
if [[ ! -e $src_cache/.done ]]; then
	rm -rf "$src_cache.tmp"
	mkdir -p "$src_cache.tmp"
	cp -a "$WORK/tree/blktests/src/." "$src_cache.tmp/"
	lock=()
	[[ -z ${BLKTESTS_BUILD_LOCK:-} ]] || lock=(flock "$BLKTESTS_BUILD_LOCK")
	if "${lock[@]}" make -C "$src_cache.tmp" -j1 LDFLAGS="-static -s" >"$WORK/src-build.log" 2>&1; then
		touch "$src_cache.tmp/.done"
		rm -rf "$src_cache"
		mv "$src_cache.tmp" "$src_cache"
	else
		say "note: blktests' src/ programs did not build (the tests that run them fail):"
		tail -n 5 "$WORK/src-build.log" | sed 's/^/  src: /'
		rm -rf "$src_cache.tmp"
	fi
fi
if [[ -e $src_cache/.done ]]; then
	cp -a "$src_cache/." "$WORK/tree/blktests/src/"
	rm -f "$WORK/tree/blktests/src/.done"
fi
tar -C "$WORK/tree" -czf "$WORK/blktests.tar.gz" blktests
rm -rf "$WORK/tree"
# Our own copy of the binary: the original may be relinked meanwhile.
cp "$TARGET_SRC" "$WORK/nvmeof-target"
TARGET=$WORK/nvmeof-target
(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$WORK/token")

start_target() {
	PORT=$(free_port) || return 1
	RPC_PORT=$(free_port) || return 1
	: >"$WORK/target.out"
	# One port; the subsystem for the device tests beside the ones the
	# control script makes.
	cat >"$WORK/target.json" <<-JSON
		{ "ports": [ { "address": "127.0.0.1", "port": $PORT } ],
		  "threads": 2,
		  "log_level": "$LOG_LEVEL",
		  "subsystems": [
		    { "nqn": "$DEV_NQN", "namespaces": [ { "nsid": 1, "backend": "ram", "size": "256M" } ] } ] }
	JSON
	"$TARGET" --config "$WORK/target.json" \
		--rpc-listen "127.0.0.1:$RPC_PORT" --rpc-token-file "$WORK/token" \
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
	KEEP=1
	echo "FAIL: nvmeof-target does not start"
	exit 1
fi
say "nvmeof-target listening on 127.0.0.1:$PORT, control plane on 127.0.0.1:$RPC_PORT (pid $TPID)"

# The settings of the control script and of the guest's driver.
cat >"$WORK/control.env" <<EOF
BT_RPC_ADDR=10.0.2.100 BT_RPC_PORT=5260 BT_RPC_TOKEN=$(cat "$WORK/token")
BT_TRADDR=10.0.2.100 BT_TRSVCID=4420
BT_LISTEN_ADDR=127.0.0.1 BT_LISTEN_PORT=$PORT
BT_SUBSYSNQN=$SUBSYSNQN BT_SUBSYS_UUID=$SUBSYS_UUID
BT_SIZE_MB=$SIZE_MB BT_BLOCK_SIZE=$BLOCK_SIZE BT_BLKDEV_TYPE=file
BT_LOG=/tmp/blktests_control.log
BT_IMG_SIZE=$IMG_SIZE BT_TEST_TIMEOUT=$TEST_TIMEOUT BT_DEV_NQN=$DEV_NQN
BT_TESTS="${TESTS[*]}" BT_ALL=${BLKTESTS_ALL:-0}
EOF

# The guest's driver (bash, in the VM).
cat >"$WORK/guest.sh" <<'GUEST'
set -u
export PATH=/usr/sbin:/usr/bin LC_ALL=C
. /etc/blktests_control.env
ctl=/usr/local/bin/blktests_control.sh
say() { echo "guest: $*"; }
up() { local u; read -r u _ </proc/uptime; echo "${u%.*}"; }

# Tests that set up the kernel target themselves (its configfs or debugfs,
# or passthru) and do not skip themselves when NVME_TARGET_CONTROL is set:
# with a remote target they fail, or pass without testing anything
# (nvme/038).  Not run unless BT_ALL=1.
declare -A NOT_APPLICABLE=(
	[031]="writes the kernel target's configfs (many subsystems)"
	[033]="needs the kernel target's passthru" [034]="needs the kernel target's passthru"
	[035]="needs the kernel target's passthru" [036]="needs the kernel target's passthru"
	[037]="needs the kernel target's passthru"
	[038]="writes the kernel target's configfs (subsystem without a namespace)"
	[042]="writes the kernel target's configfs (DH-HMAC-CHAP keys)"
	[043]="writes the kernel target's configfs (DH-HMAC-CHAP hash/group)"
	[044]="writes the kernel target's configfs (DH-HMAC-CHAP keys)"
	[045]="writes the kernel target's configfs (re-authentication)"
	[048]="writes the kernel target's configfs (attr_qid_max)"
	[051]="writes the kernel target's configfs (namespace enable/disable)"
	[054]="writes the kernel target's configfs (reservations)"
	[057]="writes the kernel target's configfs (ANA groups, 4 ports)"
	[058]="writes the kernel target's configfs (namespace remapping, 6 ports)"
	[060]="writes the kernel target's debugfs (target reset)"
	[063]="writes the kernel target's configfs (DH-HMAC-CHAP, secure concatenation)"
	[065]="writes the kernel target's configfs (scsi_debug namespace)"
)

# bash's process substitution (check uses it) needs /dev/fd, which
# devtmpfs does not make.
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
n=0
for f in stdin stdout stderr; do
	[[ -e /dev/$f ]] || ln -s "/proc/self/fd/$n" "/dev/$f"
	n=$((n + 1))
done
# blktests runs as root here; nvme/067 runs its program with sudo.
if [[ ! -e /usr/bin/sudo ]]; then
	printf '#!/bin/sh\n# run_blktests: root already\nexec "$@"\n' >/usr/bin/sudo
	chmod 0755 /usr/bin/sudo
fi
modprobe configfs && mount -t configfs configfs /sys/kernel/config || say "cannot mount configfs"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
# Loaded here, so that check does not unload them after each test (loop
# could not go anyway: with a remote target blktests binds a loop device
# to its unused image for the tests that use the default blkdev type, and
# never unbinds it; check would wait 50 s for each).
for m in loop nvmet nvmet_tcp xfs; do modprobe "$m" || say "modprobe $m failed"; done
mkdir -p /tmp/bt && tar -xzf /root/blktests.tar.gz -C /tmp/bt || { say "cannot unpack blktests"; exit 2; }
cd /tmp/bt/blktests || exit 2
cat >config <<EOF
NVME_TARGET_CONTROL=$ctl
NVMET_TRTYPES=tcp
NVME_IMG_SIZE=$BT_IMG_SIZE
LOGGER_PROG=true
EOF
say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB;" \
	"$(nvme version | head -n 1); $(fio --version); nvme_core multipath=$(cat /sys/module/nvme_core/parameters/multipath)"
say "NVME_TARGET_CONTROL=$ctl: traddr $($ctl config --show-traddr):$($ctl config --show-trsvid)," \
	"subsysnqn $($ctl config --show-subsysnqn), hostnqn $($ctl config --show-hostnqn)"

# The namespace block device of subsystem $1 (the multipath head), once
# there; empty after 10 s.
ns_of() {
	local i b
	for ((i = 0; i < 100; i++)); do
		for b in /sys/block/nvme*n*; do
			[[ ${b##*/} == nvme*c*n* ]] && continue
			[[ $(cat "$b/device/subsysnqn" 2>/dev/null) == "$1" && -b /dev/${b##*/} ]] || continue
			echo "/dev/${b##*/}"
			return 0
		done
		sleep 0.1
	done
	return 1
}

# bounded SECS CMD...: CMD in the background, waited for SECS at most (a
# process stuck in the kernel outlives any signal); 1 if it did not end.
bounded() {
	local secs=$1 p i
	shift
	"$@" >/dev/null 2>&1 &
	p=$!
	for ((i = 0; i < secs * 2; i++)); do
		kill -0 "$p" 2>/dev/null || { wait "$p"; return 0; }
		sleep 0.5
	done
	kill -KILL "$p" 2>/dev/null
	return 1
}

# What a killed test left: its mounts, controllers, loop devices and the
# test subsystem.  A controller that does not go away (the guest kernel's
# nvme host stuck): WEDGED, no more tests.
WEDGED=''
tidy() {
	local c m
	while read -r _ m _; do
		[[ $m == /mnt/blktests* ]] && { say "left over: mount $m: unmounting"; umount -l "$m"; }
	done </proc/mounts
	for c in /sys/class/nvme/nvme*; do
		[[ -e $c ]] || continue
		say "left over: ${c##*/} ($(cat "$c/subsysnqn" 2>/dev/null), $(cat "$c/state" 2>/dev/null)): disconnecting"
		bounded 30 nvme disconnect -d "${c##*/}" ||
			say "nvme disconnect -d ${c##*/} still runs after 30 s"
	done
	bounded 10 losetup -D || true
	bounded 60 "$ctl" cleanup --subsysnqn "$BT_SUBSYSNQN" || true
	for c in /sys/class/nvme/nvme*; do
		[[ -e $c ]] || continue
		WEDGED="${c##*/} ($(cat "$c/state" 2>/dev/null)) does not go away"
		say "the guest's nvme host is stuck: $WEDGED; no more tests (dmesg below)"
		dmesg | tail -n 80 | sed 's/^/    dmesg: /'
		break
	done
}

# run_batch CONFIG TEST...: one ./check for the tests, its output to our
# stdout and /tmp/all.out.  A watchdog kills check (its process group) when
# one test runs longer than BT_TEST_TIMEOUT, records it as timed out
# (/tmp/timeouts), tidies up and starts check again with the tests after it.
run_batch() {
	local cfg=$1 pid cur started now off size i t
	shift
	local -a rest=("$@")
	while ((${#rest[@]})); do
		: >/tmp/batch.out
		setsid ./check -c "$cfg" "${rest[@]}" >/tmp/batch.out 2>&1 </dev/null &
		pid=$!
		cur='' started=$(up) off=0
		while :; do
			sleep 1
			now=$(up)
			# What check wrote since the last look (up to the size taken
			# first: what it writes meanwhile comes the next time).
			size=$(stat -c %s /tmp/batch.out)
			tail -c +$((off + 1)) /tmp/batch.out | head -c $((size - off))
			off=$size
			# The test now running: the last name line that no status
			# line has followed yet.
			local last
			last=$(awk '/^nvme\/[0-9][0-9][0-9] / { t = $1; if ($NF ~ /\]$/ && $0 ~ /\[(passed|failed|not run)\]$/) t = "" } END { print t }' /tmp/batch.out)
			if [[ $last != "$cur" ]]; then
				cur=$last started=$now
			fi
			kill -0 "$pid" 2>/dev/null || break
			if [[ -n $cur ]] && ((now - started > BT_TEST_TIMEOUT)); then
				say "$cur has run for more than ${BT_TEST_TIMEOUT}s: killing check"
				kill -TERM -- "-$pid" 2>/dev/null
				for ((i = 0; i < 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
				kill -KILL -- "-$pid" 2>/dev/null
				break
			fi
		done
		wait "$pid" 2>/dev/null
		tail -c +$((off + 1)) /tmp/batch.out
		cat /tmp/batch.out >>/tmp/all.out
		if [[ -n $cur ]] && ! kill -0 "$pid" 2>/dev/null && ! grep -q "^$cur .*\[\(passed\|failed\|not run\)\]$" /tmp/batch.out; then
			echo "$cur" >>/tmp/timeouts
			tidy
			# Go on after it.
			for ((i = 0; i < ${#rest[@]}; i++)); do
				[[ ${rest[i]} == "$cur" ]] && break
			done
			rest=("${rest[@]:i+1}")
			if [[ -n $WEDGED ]]; then
				for t in "${rest[@]}"; do
					echo "$t the guest's nvme host was stuck after $cur: $WEDGED" >>/tmp/excluded
				done
				rest=()
			fi
		else
			rest=()
		fi
	done
}

all=($BT_TESTS)
((${#all[@]})) || all=($(cd tests/nvme && ls [0-9][0-9][0-9]))
: >/tmp/all.out
: >/tmp/timeouts
: >/tmp/excluded

# The test device (for the tests with test_device()), connected first:
# the guest kernel's sysfs attributes that some tests read are looked up on
# it.
dev=''
nvme connect -t tcp -a "$BT_TRADDR" -s "$BT_TRSVCID" -n "$BT_DEV_NQN" >/dev/null 2>&1 ||
	say "cannot connect $BT_DEV_NQN for the test device"
if dev=$(ns_of "$BT_DEV_NQN"); then
	say "test device $dev (namespace 1 of $BT_DEV_NQN)"
	{ cat config; echo "TEST_DEVS=($dev)"; } >config.dev
else
	dev=''
	say "no test device: the tests that need one do not run"
fi
# Tests that read a sysfs attribute of a newer kernel than the guest's
# without checking for it first: they fail on the guest kernel whatever the
# target does.  Not run unless BT_ALL=1 (when the attribute is there, they
# run).
declare -A KERNEL_LACKS=()
if [[ -n $dev ]]; then
	sys=/sys/block/${dev#/dev/}
	[[ -e $sys/metadata_bytes ]] ||
		KERNEL_LACKS[049]="the guest kernel $(uname -r) has no $sys/metadata_bytes, which the test reads"
	[[ -e $sys/delayed_removal_secs ]] ||
		KERNEL_LACKS[068]="the guest kernel $(uname -r) has no $sys/delayed_removal_secs (multipath delayed removal, Linux 6.16), which the test sets"
fi

devtests=() tests=()
for t in "${all[@]}"; do
	if [[ ${BT_ALL:-0} != 1 && -n ${NOT_APPLICABLE[$t]:-} ]]; then
		echo "nvme/$t not applicable to a remote target: ${NOT_APPLICABLE[$t]}" >>/tmp/excluded
	elif [[ ${BT_ALL:-0} != 1 && -n ${KERNEL_LACKS[$t]:-} ]]; then
		echo "nvme/$t ${KERNEL_LACKS[$t]}" >>/tmp/excluded
	elif grep -q '^test_device()' "tests/nvme/$t"; then
		if [[ -n $dev ]]; then
			devtests+=("nvme/$t")
		else
			echo "nvme/$t no test device (namespace 1 of $BT_DEV_NQN did not appear)" >>/tmp/excluded
		fi
	else
		tests+=("nvme/$t")
	fi
done
say "${#all[@]} tests: ${#devtests[@]} with a test device, ${#tests[@]} without," \
	"$(wc -l </tmp/excluded) not run here (below); ${BT_TEST_TIMEOUT}s each at most, NVME_IMG_SIZE=$BT_IMG_SIZE"

((${#devtests[@]})) && run_batch config.dev "${devtests[@]}"
bounded 30 nvme disconnect -n "$BT_DEV_NQN" || true
[[ -n $WEDGED ]] || tidy
if [[ -n $WEDGED ]]; then
	for t in "${tests[@]}"; do
		echo "$t the guest's nvme host was stuck: $WEDGED" >>/tmp/excluded
	done
elif ((${#tests[@]})); then
	run_batch config "${tests[@]}"
fi
[[ -n $WEDGED ]] || tidy

# One @@BT-RESULT line per test: name, runtime, status (reasons).
{
	awk '
		function flush() {
			if (name != "") print name "\t" (rt == "" ? "-" : rt) "\t" st (why == "" ? "" : " (" why ")")
			name = ""; st = ""; why = ""; rt = ""; mode = ""
		}
		/^nvme\/[0-9][0-9][0-9] .*\[(passed|failed|not run)\]$/ {
			flush(); name = $1; st = $0; sub(/.*\[/, "", st); sub(/\]$/, "", st); mode = st; next
		}
		/^nvme\/\*\*\* .*\[not run\]$/ { flush(); name = "nvme/***"; st = "not run"; mode = st; next }
		/^    runtime/ && mode != "" { rt = $NF; next }
		/^    / && mode == "not run" { r = $0; sub(/^ +/, "", r); why = why (why == "" ? "" : "; ") r; next }
		/^    / && mode == "failed" {
			r = $0; sub(/^ +/, "", r)
			if (r ~ /^(exited with status|something found in dmesg)/ || (r ~ /^[-+]/ && r !~ /^(---|\+\+\+)/)) {
				if (length(why) < 300) why = why (why == "" ? "" : " / ") r
			}
			next
		}
		/^nvme\// { flush(); next }
		END { flush() }' /tmp/all.out
	while read -r t; do printf '%s\t-\ttimeout (killed after %ss)\n' "$t" "$BT_TEST_TIMEOUT"; done </tmp/timeouts
	while read -r t why; do printf '%s\t-\tnot run (%s)\n' "$t" "$why"; done </tmp/excluded
} | sort -t $'\t' -k 1,1 >/tmp/results.tsv

# The details of each failure.
while IFS=$'\t' read -r name rt res; do
	[[ $res == failed* || $res == timeout* ]] || continue
	echo "=== $name: $res"
	for f in results/*/"$name".out.bad; do
		[[ -e $f ]] || continue
		echo "--- $f (diff against tests/$name.out)"
		diff -u "tests/$name.out" "$f" | sed 's/^/    /'
	done
	for f in results/*/"$name".full; do
		[[ -s $f ]] || continue
		echo "--- $f (last 40 lines)"
		tail -n 40 "$f" | sed 's/^/    /'
	done
	for f in results/*/"$name".dmesg; do
		[[ -s $f ]] || continue
		echo "--- $f (last 60 lines)"
		tail -n 60 "$f" | sed 's/^/    /'
	done
	echo "--- dmesg during the test (at most 60 lines)"
	dmesg | awk -v m="run blktests $name at" '
		index($0, m) { on = 1; print; next }
		on && /run blktests nvme\// { exit }
		on && n++ < 60' | sed 's/^/    /'
done </tmp/results.tsv
while IFS=$'\t' read -r name rt res; do echo "@@BT-RESULT $name $rt $res"; done </tmp/results.tsv
echo "@@BT-CONTROL-LOG"
cat "$BT_LOG" 2>/dev/null
echo "@@BT-DONE"
GUEST

say "booting the VM (Linux nvme-tcp host + blktests) against 127.0.0.1:$PORT"
: >"$WORK/guest.log"
vm_rc=0
"$HERE/vm.sh" run --blktests --port "$PORT" --rpc-port "$RPC_PORT" --cpus 2 --mem 1024 \
	--timeout "$VM_TIMEOUT" --console "$WORK/console.log" \
	--file "$WORK/blktests.tar.gz:/root/blktests.tar.gz" \
	--file "$HERE/blktests_control.sh:/usr/local/bin/blktests_control.sh" \
	--file "$WORK/control.env:/etc/blktests_control.env" \
	--file "$WORK/guest.sh:/etc/vm/blktests_guest.sh" \
	-- 'exec bash /etc/vm/blktests_guest.sh' >"$WORK/guest.log" 2>&1 &
VPID=$!
tail -n +1 -s 0.5 -f --pid="$VPID" "$WORK/guest.log" | sed -u -n '/^@@BT-CONTROL-LOG$/,$!p' &
LPID=$!
wait "$VPID" || vm_rc=$?
VPID=''
wait "$LPID" || true
LPID=''

echo
echo "=== the control script's log (blktests_control.sh in the guest)"
sed -n '/^@@BT-CONTROL-LOG$/,/^@@BT-DONE$/{/^@@BT-/d;s/^/  /;p}' "$WORK/guest.log"

# Stop the target: SIGTERM, then it must exit 0 within 15 s.
target_line=''
if kill -0 "$TPID" 2>/dev/null; then
	kill -TERM "$TPID"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TPID" 2>/dev/null; then
		target_line="FAIL target: still running 15 s after SIGTERM"
		kill -KILL "$TPID" 2>/dev/null || true
		wait "$TPID" 2>/dev/null || true
	else
		tst=0
		wait "$TPID" || tst=$?
		((tst == 0)) || target_line="FAIL target: exit status $tst after SIGTERM (expected 0)"
	fi
else
	tst=0
	wait "$TPID" || tst=$?
	target_line="FAIL target: died during the run (exit status $tst)"
fi
TPID=''
echo
echo "=== target log: warnings and errors (all: $WORK/target.out, target.err)"
grep -aiE 'warn|error|fail' "$WORK/target.out" "$WORK/target.err" | tail -n 40 | sed 's/^/  /' || true
tail -n 5 "$WORK/target.err" | sed 's/^/  stderr: /'

echo
echo "=== blktests nvme group against nvmeof-target ($((SECONDS - t0)) s)"
npass=0 nfail=0 nskip=0
while read -r _ name secs res; do
	printf '%-9s %5s  %s\n' "$name" "$secs" "$res"
	case $res in
	passed*) npass=$((npass + 1)) ;;
	"not run"*) nskip=$((nskip + 1)) ;;
	*) nfail=$((nfail + 1)) ;;
	esac
done < <(grep -a '^@@BT-RESULT ' "$WORK/guest.log" || true)
if ! grep -q '^@@BT-DONE$' "$WORK/guest.log"; then
	echo "FAIL vm: the run did not complete (vm.sh status $vm_rc; 124 = timeout after ${VM_TIMEOUT}s)"
	nfail=$((nfail + 1))
fi
if [[ -n $target_line ]]; then
	echo "$target_line"
	nfail=$((nfail + 1))
fi
echo "$npass passed, $nfail failed, $nskip not run"
if ((nfail)); then
	KEEP=1
	exit 1
fi
