#!/usr/bin/env bash
# tests/interop/run_auth_interop.sh PATH/TO/nvmeof
#
# DH-HMAC-CHAP interop, host side: our `nvmeof` tool (the host library's
# authentication) against two real controllers that require it:
#
#  * SPDK v26.05's nvmf_tgt (the SPDK peer, ../shared/spdk-peer/), run here
#    with --no-huge and configured through SPDK's own rpc.py: nvmf_set_config
#    --dhchap-digests/--dhchap-dhgroups (before framework_start_init),
#    keyring_file_add_key for 0600 key files, nvmf_subsystem_add_host
#    --dhchap-key [--dhchap-ctrlr-key].  Three targets, one hash and one DH
#    group each: sha256/null (one-way), sha384/ffdhe2048 and
#    sha512/ffdhe4096 (bidirectional);
#  * the Linux 6.12 kernel's nvmet-tcp in a qemu VM (../shared/linux-peer/,
#    `linux-peer target --kernel 6.12`), three allowed hosts in one VM:
#    hmac(sha384)/ffdhe3072 with a controller key, hmac(sha256)/null one-way,
#    hmac(sha512)/ffdhe2048 with a controller key.
#
# For each: 1 MiB written with 2 I/O queues (every queue authenticates),
# read back and compared; the negotiated hash, group and direction as the
# tool logs them; one-way use of a host that also has a controller key; and
# what must fail: no secret, a wrong host secret (AUTH_Failure1), a wrong
# controller secret (R2 mismatch).  Last, no secret appears in anything the
# tool printed.
#
# Prints one PASS/FAIL line per check, then "N passed, M failed"; exits 1 if
# anything failed (logs kept, their directory printed), 0 otherwise.  A peer
# that cannot run here is reported as "not run: <why>"; when neither can, it
# prints "SKIP: interop test: <why>" and exits 0.
#
# Environment:
#   SPDK_PEER, LINUX_PEER   the peers' scripts (default: ../shared/ beside
#                           the repository)
#   NVMEOF_AUTH_INTEROP_PEERS  which to run (default "spdk linux")
#   NVMEOF_INTEROP_KEEP=1   keep the logs even when everything passed
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SPDK_PEER=${SPDK_PEER:-$REPO/../shared/spdk-peer/spdk-peer}
LINUX_PEER=${LINUX_PEER:-$REPO/../shared/linux-peer/linux-peer}
PEERS=${NVMEOF_AUTH_INTEROP_PEERS:-spdk linux}
CMD_TIMEOUT=60 # seconds, for each nvmeof command
VM_LIFETIME=900 BOOT_TIMEOUT=180

# shellcheck disable=SC2034 # used by lib.sh's say()
INTEROP_NAME=run_auth_interop
# shellcheck source=tests/interop/lib.sh
source "$HERE/lib.sh"
# shellcheck source=tests/interop/auth_lib.sh
source "$HERE/auth_lib.sh"

(($# == 1)) || {
	echo "usage: $0 PATH/TO/nvmeof" >&2
	exit 2
}
TOOL=$(readlink -f "$1")
[[ -f $TOOL && -x $TOOL ]] || {
	echo "run_auth_interop: $1 is not an executable" >&2
	exit 2
}
[[ $(uname -m) == x86_64 ]] || skip "the peers are x86_64 builds; this is $(uname -m)"

umask 077 # key files: 0600
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-auth-interop.XXXXXX")
SPDK_PIDS=() VM_PID='' VM_PORT='' SPID='' KEEP=${NVMEOF_INTEROP_KEEP:-0} DPDK_DIRS=()
if ((EUID == 0)); then DPDK_RUN=/var/run/dpdk; else DPDK_RUN=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
cleanup() {
	local rc=$? p d
	trap - EXIT INT TERM HUP
	stop_pid "$SPID" 5 || true
	for p in "${SPDK_PIDS[@]}"; do stop_pid "$p" 10 || true; done
	stop_pid "$VM_PID" 15 || true # the linux-peer VM's `timeout`: SIGTERM stops it
	[[ -z $VM_PORT ]] || "$LINUX_PEER" stop --port "$VM_PORT" >/dev/null 2>&1 || true
	for d in "${DPDK_DIRS[@]}"; do rm -rf "${DPDK_RUN:?}/$d"; done
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps
# shellcheck disable=SC2034 # auth_lib.sh's summary reads it
t0=$SECONDS


# ------------------------------------------------------------ the tool ----

# nvmeof ARGS: the tool, bounded in time; its command line logged with the
# secrets masked; dies with its step (pdeathsig).
nvmeof() {
	local a shown=()
	for a in "$@"; do [[ $a == DHHC-1:* ]] && shown+=("<secret>") || shown+=("$a"); done
	echo "+ nvmeof ${shown[*]}" >&2
	setpriv --pdeathsig TERM -- timeout -k 5 "$CMD_TIMEOUT" \
		setpriv --pdeathsig KILL -- "$TOOL" "$@"
}

# io_check NAME CONNECTION... : 1 MiB written with 2 I/O queues, read back,
# compared; the tool's stderr (its log) kept in $WORK/NAME.err.
io_check() {
	local name=$1
	shift
	head -c 1048576 /dev/urandom >"$WORK/$name.pattern"
	nvmeof write "$@" -i 2 -s 0 -d "$WORK/$name.pattern" 2>"$WORK/$name.err"
	cat "$WORK/$name.err" >&2
	nvmeof read "$@" -i 2 -s 0 -c $((2048 - 1)) -d "$WORK/$name.back" 2>>"$WORK/$name.err"
	cmp "$WORK/$name.pattern" "$WORK/$name.back"
	echo "1 MiB written with 2 I/O queues, read back, identical"
}
# negotiated NAME WANT: the tool logged "hash H, DH group G, DIRECTION".
negotiated() {
	grep -h 'queue 0 authenticated' "$WORK/$1.err" | tail -n 1 >&2 || true
	if ! grep -q "queue 0 authenticated (DH-HMAC-CHAP, $2)" "$WORK/$1.err"; then
		echo "the tool did not log '$2' for queue 0"
		return 1
	fi
}
# refused NAME PATTERN ARGS...: the tool fails, saying PATTERN (an ERE).
refused() {
	local name=$1 pattern=$2 st=0
	shift 2
	nvmeof "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || st=$?
	cat "$WORK/$name.out" "$WORK/$name.err"
	if ((st == 0)); then
		echo "succeeded; expected a failure saying '$pattern'"
		return 1
	fi
	grep -qE -- "$pattern" "$WORK/$name.err" || {
		echo "exit status $st but no '$pattern' in the message"
		return 1
	}
}

# ------------------------------------------------------------------ SPDK ----

SPDK_SUB=nqn.2016-06.io.spdk:auth-interop
spdk_rpc() { "$SPDK_PEER" rpc -s "$SPDK_SOCK" -t 10 "$@"; }

# spdk_target NAME DIGESTS DHGROUPS HOSTNQN HOSTKEY [CTRLKEY]: nvmf_tgt
# with only those digests and DH groups, one subsystem that allows only
# HOSTNQN, authenticated with those keys; sets SPDK_PORT.  Logs in
# $WORK/spdk-NAME.log.  In this shell (it records the PID), with a
# PASS/FAIL line.
spdk_target() {
	local what="spdk: nvmf_tgt ($2, $3${6:+, controller key}) starts, configured by rpc.py"
	if spdk_target_start "$@" >"$WORK/spdk-$1.start" 2>&1; then
		result PASS "$what ($(tail -n 1 "$WORK/spdk-$1.start"))"
	else
		result FAIL "$what"
		sed 's/^/    /' "$WORK/spdk-$1.start" | tail -n 10
		return 1
	fi
}
spdk_target_start() {
	local name=$1 digests=$2 groups=$3 host=$4 hkey=$5 ckey=${6:-} log i shm pid
	log=$WORK/spdk-$name.log
	SPDK_PORT=$(free_port) || return 1
	SPDK_SOCK=$WORK/spdk-$name.sock
	shm=$((SPDK_PORT % 10000 + 20000))
	printf '%s\n' "$hkey" >"$WORK/spdk-$name.hkey"
	[[ -z $ckey ]] || printf '%s\n' "$ckey" >"$WORK/spdk-$name.ckey"
	setpriv --pdeathsig TERM -- "$SPDK_BIN/nvmf_tgt" -m 0x1 --no-huge -s 1024 --no-pci \
		-r "$SPDK_SOCK" -i "$shm" --wait-for-rpc >"$log" 2>&1 </dev/null &
	pid=$!
	SPDK_PIDS+=("$pid")
	DPDK_DIRS+=("spdk$shm")
	for ((i = 0; i < 300; i++)); do
		[[ -S $SPDK_SOCK ]] && spdk_rpc spdk_get_version >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { echo "nvmf_tgt exited:"; tail -n 5 "$log"; return 1; }
		sleep 0.1
	done
	(
		set -e
		spdk_rpc nvmf_set_config --dhchap-digests "$digests" --dhchap-dhgroups "$groups"
		spdk_rpc framework_start_init
		spdk_rpc nvmf_create_transport -t TCP
		spdk_rpc bdev_malloc_create -b Malloc0 64 512
		spdk_rpc nvmf_create_subsystem "$SPDK_SUB" -s SPDKAUTH0001 -d SPDK_auth_interop
		spdk_rpc nvmf_subsystem_add_ns "$SPDK_SUB" Malloc0
		spdk_rpc nvmf_subsystem_add_listener "$SPDK_SUB" -t tcp -a 127.0.0.1 -s "$SPDK_PORT"
		spdk_rpc keyring_file_add_key hkey "$WORK/spdk-$name.hkey"
		if [[ -n $ckey ]]; then
			spdk_rpc keyring_file_add_key ckey "$WORK/spdk-$name.ckey"
			spdk_rpc nvmf_subsystem_add_host "$SPDK_SUB" "$host" --dhchap-key hkey --dhchap-ctrlr-key ckey
		else
			spdk_rpc nvmf_subsystem_add_host "$SPDK_SUB" "$host" --dhchap-key hkey
		fi
	) >>"$log" 2>&1 || { echo "configuring nvmf_tgt failed:"; tail -n 5 "$log"; return 1; }
	echo "nvmf_tgt (pid $pid) on 127.0.0.1:$SPDK_PORT: $digests, $groups${ckey:+, controller key}"
}
spdk_stop() { # the last target started
	local pid=${SPDK_PIDS[-1]}
	stop_pid "$pid" 10 || true
}

c_io() { # NAME WANT CONNECTION...
	local name=$1 want=$2
	shift 2
	io_check "$name" "$@"
	negotiated "$name" "$want"
}
c_refused() { refused "$@"; }

run_spdk() {
	if [[ ! -x $SPDK_PEER ]]; then
		not_run SPDK "no SPDK peer at $SPDK_PEER"
		return
	fi
	if ! "$SPDK_PEER" setup >"$WORK/spdk-setup.log" 2>&1; then
		sed 's/^/  spdk-peer setup: /' "$WORK/spdk-setup.log" | tail -n 10
		not_run SPDK "spdk-peer setup failed (log above)"
		return
	fi
	local cache=${SPDK_PEER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spdk-peer}
	SPDK_BIN=$cache/spdk-bundle/bin
	[[ -x $SPDK_BIN/nvmf_tgt ]] || { not_run SPDK "no nvmf_tgt in $SPDK_BIN"; return; }

	local ha hb hc ka kb cb kc cc bad
	ha=nqn.2014-08.org.nvmexpress:uuid:$(cat /proc/sys/kernel/random/uuid)
	hb=nqn.2014-08.org.nvmexpress:uuid:$(cat /proc/sys/kernel/random/uuid)
	hc=nqn.2014-08.org.nvmexpress:uuid:$(cat /proc/sys/kernel/random/uuid)
	key ka 1 "$ha"       # SHA-256 transform, 32 bytes
	key kb 2 "$hb"       # SHA-384, 48
	key cb 2 "$SPDK_SUB" # the controller's: keyed with the subsystem NQN
	key kc 0 "$hc" 64    # no transform, 64 bytes
	key cc 3 "$SPDK_SUB" # SHA-512, 64

	echo
	say "SPDK nvmf_tgt: sha256, null DH, one-way"
	if spdk_target a sha256 null "$ha" "$ka"; then
		local A=(--traddr 127.0.0.1 --trsvcid "$SPDK_PORT" --nqn "$SPDK_SUB" -q "$ha")
		step "spdk sha256/null one-way: write, read, cmp (admin + 2 I/O queues authenticated)" \
			c_io spdk-a "hash sha256, DH group null, one-way" "${A[@]}" -S "$ka"
		step "spdk: no --dhchap-secret is refused with the reason" c_refused spdk-a-nokey \
			'the controller requires DH-HMAC-CHAP authentication and no --dhchap-secret is set' \
			id-ctrl "${A[@]}"
		key bad 1 "$ha"
		step "spdk: a wrong host secret fails with AUTH_Failure1" c_refused spdk-a-bad \
			'DH-HMAC-CHAP on queue 0 failed: the controller sent AUTH_Failure1' id-ctrl "${A[@]}" -S "$bad"
		step "spdk: asking a controller without a controller key to prove itself fails" c_refused spdk-a-noctrl \
			'DH-HMAC-CHAP on queue 0 failed' id-ctrl "${A[@]}" -S "$ka" -C "$cb"
		spdk_stop
	fi

	echo
	say "SPDK nvmf_tgt: sha384, ffdhe2048, bidirectional"
	if spdk_target b sha384 ffdhe2048 "$hb" "$kb" "$cb"; then
		local B=(--traddr 127.0.0.1 --trsvcid "$SPDK_PORT" --nqn "$SPDK_SUB" -q "$hb")
		step "spdk sha384/ffdhe2048 bidirectional: write, read, cmp" \
			c_io spdk-b "hash sha384, DH group ffdhe2048, bidirectional" "${B[@]}" -S "$kb" -C "$cb"
		step "spdk sha384/ffdhe2048: one-way (no -C) works too" \
			c_io spdk-b1 "hash sha384, DH group ffdhe2048, one-way" "${B[@]}" -S "$kb"
		key bad 2 "$SPDK_SUB"
		step "spdk: a wrong controller secret fails (R2 mismatch)" c_refused spdk-b-badc \
			'controller response \(R2\) mismatch' id-ctrl "${B[@]}" -S "$kb" -C "$bad"
		spdk_stop
	fi

	echo
	say "SPDK nvmf_tgt: sha512, ffdhe4096, bidirectional, untransformed host secret"
	if spdk_target c sha512 ffdhe4096 "$hc" "$kc" "$cc"; then
		local C=(--traddr 127.0.0.1 --trsvcid "$SPDK_PORT" --nqn "$SPDK_SUB" -q "$hc")
		step "spdk sha512/ffdhe4096 bidirectional: write, read, cmp" \
			c_io spdk-c "hash sha512, DH group ffdhe4096, bidirectional" "${C[@]}" -S "$kc" -C "$cc"
		spdk_stop
	fi
	local f
	for f in "$WORK"/spdk-*.log; do
		grep -h 'auth.c' "$f" 2>/dev/null | sed 's/^/  nvmf_tgt: /' | tail -n 4 || true
	done
}

# ----------------------------------------------------------------- Linux ----

LINUX_SUB=nqn.2024-11.io.nvmeof.interop:auth
run_linux() {
	if [[ ! -x $LINUX_PEER ]]; then
		not_run "Linux 6.12" "no linux-peer at $LINUX_PEER"
		return
	fi
	command -v qemu-system-x86_64 >/dev/null || {
		not_run "Linux 6.12" "no qemu-system-x86_64"
		return
	}
	if ! "$LINUX_PEER" setup --kernel 6.12 >"$WORK/linux-setup.log" 2>&1; then
		sed 's/^/  linux-peer setup: /' "$WORK/linux-setup.log" | tail -n 10
		not_run "Linux 6.12" "linux-peer setup --kernel 6.12 failed (log above)"
		return
	fi

	local h1 h2 h3 k1 c1 k2 k3 c3 bad port st=0 i extra
	h1=nqn.2024-11.io.nvmeof.interop:host1
	h2=nqn.2024-11.io.nvmeof.interop:host2
	h3=nqn.2024-11.io.nvmeof.interop:host3
	key k1 2 "$h1"
	key c1 2 "$LINUX_SUB"
	key k2 1 "$h2"
	key k3 3 "$h3"
	key c3 0 "$LINUX_SUB" 32
	# Hosts 2 and 3 beside the one linux-peer makes (configfs, before the
	# port is enabled).
	extra="set -e
mkdir \$NVMET/hosts/$h2 \$NVMET/hosts/$h3
echo '$k2' > \$NVMET/hosts/$h2/dhchap_key
echo 'hmac(sha256)' > \$NVMET/hosts/$h2/dhchap_hash
echo null > \$NVMET/hosts/$h2/dhchap_dhgroup
echo '$k3' > \$NVMET/hosts/$h3/dhchap_key
echo '$c3' > \$NVMET/hosts/$h3/dhchap_ctrl_key
echo 'hmac(sha512)' > \$NVMET/hosts/$h3/dhchap_hash
echo ffdhe2048 > \$NVMET/hosts/$h3/dhchap_dhgroup
ln -s \$NVMET/hosts/$h2 \$SUBSYS/allowed_hosts/$h2
ln -s \$NVMET/hosts/$h3 \$SUBSYS/allowed_hosts/$h3"

	echo
	say "Linux 6.12 nvmet-tcp (booting the VM)"
	local started=0
	for i in 1 2 3; do
		port=$(free_port) || break
		: >"$WORK/linux-target.log"
		st=0
		setpriv --pdeathsig TERM -- "$LINUX_PEER" target --kernel 6.12 --background --port "$port" \
			--nqn "$LINUX_SUB" --timeout "$VM_LIFETIME" --boot-timeout "$BOOT_TIMEOUT" \
			--pidfile "$WORK/linux.pid" --hostnqn "$h1" --dhchap-key "$k1" --dhchap-ctrl-key "$c1" \
			--dhchap-hash 'hmac(sha384)' --dhchap-dhgroup ffdhe3072 -- "$extra" \
			>"$WORK/linux-target.log" 2>&1 </dev/null || st=$?
		VM_PID=$(cat "$WORK/linux.pid" 2>/dev/null || true)
		VM_PORT=$port
		if ((st == 0)) && grep -q '^READY ' "$WORK/linux-target.log"; then
			started=1
			break
		fi
		stop_pid "$VM_PID" 15 || true
		"$LINUX_PEER" stop --port "$port" >/dev/null 2>&1 || true
		VM_PID='' VM_PORT=''
		grep -q 'host forwarding rule\|in use' "$WORK/linux-target.log" || break
	done
	if ((!started)); then
		sed 's/^/  linux-peer: /' "$WORK/linux-target.log" | grep -v DHHC-1 | tail -n 20
		result FAIL "linux: the Linux 6.12 nvmet-tcp VM prints READY within ${BOOT_TIMEOUT}s"
		return
	fi
	result PASS "linux: Linux 6.12 nvmet-tcp ready on 127.0.0.1:$port (timeout pid $VM_PID)"

	local L=(--traddr 127.0.0.1 --trsvcid "$port" --nqn "$LINUX_SUB")
	step "linux hmac(sha384)/ffdhe3072 bidirectional: write, read, cmp (admin + 2 I/O queues)" \
		c_io linux-1 "hash sha384, DH group ffdhe3072, bidirectional" "${L[@]}" -q "$h1" -S "$k1" -C "$c1"
	step "linux hmac(sha384)/ffdhe3072: one-way (no -C)" \
		c_io linux-1w "hash sha384, DH group ffdhe3072, one-way" "${L[@]}" -q "$h1" -S "$k1"
	step "linux hmac(sha256)/null one-way: write, read, cmp" \
		c_io linux-2 "hash sha256, DH group null, one-way" "${L[@]}" -q "$h2" -S "$k2"
	step "linux hmac(sha512)/ffdhe2048 bidirectional (controller key untransformed): write, read, cmp" \
		c_io linux-3 "hash sha512, DH group ffdhe2048, bidirectional" "${L[@]}" -q "$h3" -S "$k3" -C "$c3"
	step "linux: no --dhchap-secret is refused with the reason" c_refused linux-nokey \
		'the controller requires DH-HMAC-CHAP authentication and no --dhchap-secret is set' \
		id-ctrl "${L[@]}" -q "$h1"
	key bad 2 "$h1"
	# nvmet answers with AUTH_Failure1 and ends the controller (a fatal
	# error) at once: the connection may close before the answer arrives.
	step "linux: a wrong host secret fails (AUTH_Failure1, or the queue dropped with it)" c_refused linux-bad \
		'DH-HMAC-CHAP on queue 0 failed: (the controller sent AUTH_Failure1|Authentication Receive: controller closed the connection)' \
		id-ctrl "${L[@]}" -q "$h1" -S "$bad"
	key bad 2 "$LINUX_SUB"
	step "linux: a wrong controller secret fails (R2 mismatch)" c_refused linux-badc \
		'controller response \(R2\) mismatch' id-ctrl "${L[@]}" -q "$h1" -S "$k1" -C "$bad"
	step "linux: the target still serves after the failures" \
		c_io linux-after "hash sha384, DH group ffdhe3072, bidirectional" "${L[@]}" -q "$h1" -S "$k1" -C "$c1"

	if stop_pid "$VM_PID" 15; then
		result PASS "linux: the VM stopped on SIGTERM to its timeout process (pid $VM_PID)"
	else
		result FAIL "linux: the VM did not stop within 15 s of SIGTERM (SIGKILLed)"
	fi
	VM_PID=''
	# linux-peer's run directory of the background target.
	"$LINUX_PEER" stop --port "$port" >/dev/null 2>&1 || true
	VM_PORT=''
}

# -------------------------------------------------------------------- run ---

for p in $PEERS; do
	case $p in
	spdk) run_spdk ;;
	linux) run_linux ;;
	*) echo "run_auth_interop: unknown peer '$p' (spdk, linux)" >&2; exit 2 ;;
	esac
done

if ((${#RESULTS[@]} == 0)); then
	skip "no peer could run: ${NOT_RUN[*]}"
fi

# No secret in anything the tool printed (its outputs and messages).
c_no_secrets() {
	local s body found=0 f
	for s in "${SECRETS[@]}"; do
		body=${s#DHHC-1:??:}
		body=${body%:}
		for f in "$WORK"/*.err "$WORK"/*.out; do
			[[ -f $f ]] || continue
			if grep -qF -- "$body" "$f"; then
				echo "a secret appears in $(basename "$f")"
				found=1
			fi
		done
	done
	((found == 0))
	echo "${#SECRETS[@]} secrets, none in the tool's output"
}
step "no secret appears in the tool's output or messages" c_no_secrets

summary
exit "$FAILED"
