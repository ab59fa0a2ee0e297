#!/usr/bin/env bash
# tests/interop/run_auth_target_interop.sh PATH/TO/nvmeof-target [PATH/TO/nvmeof]
#
# DH-HMAC-CHAP interop, target side: real hosts authenticate against our
# `nvmeof-target` (its controller's authentication):
#
#  * the Linux 6.12 kernel host (../shared/linux-peer/, `linux-peer host
#    --kernel 6.12`, nvme-cli 2.3) in ONE qemu VM.  The target starts from a
#    config file (a "keys" keyring of 0600 files, "dhchap_digests",
#    "dhchap_dhgroups", one subsystem whose "hosts" carry "dhchap_key" and
#    "dhchap_ctrlr_key") and serves, besides NVMe/TCP, its JSON-RPC control
#    plane on TCP with a token (--rpc-listen).  linux-peer relays two
#    loopback ports into the VM: the NVMe/TCP one and (--disc-port) the
#    control plane's, so the guest itself switches the target's policy
#    (nvmf_set_config) between its connects.  The kernel host offers every
#    hash and DH group; the target picks the first of its lists, so each
#    phase is one hash and one group: sha256, sha384 and sha512 each with
#    null, ffdhe2048 and ffdhe3072, then sha512/ffdhe8192, sha256/ffdhe4096
#    and sha384/ffdhe6144 (some phases with lists of several, to show the
#    order counts).  In each phase one host connects bidirectionally
#    (--dhchap-secret + --dhchap-ctrl-secret) and another one-way
#    (--dhchap-secret), every queue authenticating (admin + one I/O queue
#    per guest CPU); each writes 1 MiB with O_DIRECT, reads it back and
#    compares, and the one-way host first reads back what the bidirectional
#    one wrote.  The kernel must log the hash and group ("qid 0:
#    authenticated with hash hmac(H) dhgroup G", and "controller
#    authenticated" exactly when bidirectional).  Then what must fail: a
#    wrong host secret, a wrong controller secret, no secret, and a
#    controller secret for a host entry without a controller key; and after
#    them a good host still connects and reads back data of the first phase.
#  * SPDK v26.05's host, `spdk_nvme_perf --dhchap-key FILE
#    [--dhchap-ctrlr-key FILE]` (../shared/spdk-peer/), against a second
#    nvmeof-target started empty with --rpc-socket and configured entirely
#    through SPDK's own rpc.py: bdev_malloc_create, nvmf_create_subsystem,
#    nvmf_subsystem_add_ns, nvmf_subsystem_add_listener,
#    keyring_file_add_key, nvmf_subsystem_add_host --dhchap-key
#    [--dhchap-ctrlr-key], nvmf_set_config --dhchap-digests
#    --dhchap-dhgroups (three phases: sha256/null, sha384/ffdhe2048,
#    sha512/ffdhe4096 from the list "sha512,sha256"), one-way and
#    bidirectional randrw in each; then a wrong host key, a wrong controller
#    key, no key and a controller key for a host without one must each fail
#    to attach, and a good host works afterwards.  (spdk_nvme_perf does not
#    verify data; spdk_nvme_identify has no DH-HMAC-CHAP options.)
#
# For each target, from its log (--log-level debug): every queue of every
# good connect says "queue Q of host H from A authenticated (DH-HMAC-CHAP
# HASH, GROUP[, bidirectional])", each failure has its "failed DH-HMAC-CHAP:
# REASON" line (or, for a host that sent no secret, no "authenticated"
# line), the target is still running at the end and stops on SIGTERM with
# status 0, and no secret (the base64 part of any DHHC-1 key used) appears
# in its log or in anything this script or the peers printed.
#
# Prints one PASS/FAIL line per check, then "N passed, M failed"; exits 1 if
# anything failed (logs kept, their directory printed), 0 otherwise.  A peer
# that cannot run here is reported as "not run: <why>"; when neither can, it
# prints "SKIP: interop test: <why>" and exits 0.
#
# Environment:
#   SPDK_PEER, LINUX_PEER   the peers' scripts (default: ../shared/ beside
#                           the repository)
#   NVMEOF_AUTH_TARGET_INTEROP_PEERS  which to run (default "linux spdk")
#   NVMEOF_AUTH_TARGET_QUICK=1  Linux: only the first, fifth and ninth
#                           phases (sha256/null, sha384/ffdhe2048,
#                           sha512/ffdhe3072) and the failures
#   NVMEOF_INTEROP_KEEP=1   keep the logs even when everything passed
#   NVMEOF_INTEROP_CAPTURE=1  save the loopback traffic of each target
#                           (dumpcap) in the log directory (kept)
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SPDK_PEER=${SPDK_PEER:-$REPO/../shared/spdk-peer/spdk-peer}
LINUX_PEER=${LINUX_PEER:-$REPO/../shared/linux-peer/linux-peer}
PEERS=${NVMEOF_AUTH_TARGET_INTEROP_PEERS:-linux spdk}
QUICK=${NVMEOF_AUTH_TARGET_QUICK:-0}
CMD_TIMEOUT=60 # seconds, for each SPDK command
VM_TIMEOUT=480 # seconds, the whole Linux host VM run (~80 s on an idle TCG host)
PERF_MEM=256 PERF_TIME=1

# shellcheck disable=SC2034 # used by lib.sh's say()
INTEROP_NAME=run_auth_target_interop
# shellcheck source=tests/interop/lib.sh
source "$HERE/lib.sh"
# shellcheck source=tests/interop/auth_lib.sh
source "$HERE/auth_lib.sh"
# shellcheck disable=SC2034 # auth_lib.sh's step runs it
STEP_AFTER=rm_dpdk_dirs

(($# == 1 || $# == 2)) || {
	echo "usage: $0 PATH/TO/nvmeof-target [PATH/TO/nvmeof]" >&2
	exit 2
}
TARGET=$(readlink -f "$1")
[[ -f $TARGET && -x $TARGET ]] || {
	echo "run_auth_target_interop: $1 is not an executable" >&2
	exit 2
}
TOOL=$(readlink -f "${2:-$(dirname "$TARGET")/nvmeof}")
[[ -f $TOOL && -x $TOOL ]] || {
	echo "run_auth_target_interop: no nvmeof tool at $TOOL (it makes the keys; give its path)" >&2
	exit 2
}
[[ $(uname -m) == x86_64 ]] || skip "the peers are x86_64 builds; this is $(uname -m)"

umask 077 # key files, token, config: 0600
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-auth-target-interop.XXXXXX")
TPIDS=() SPID='' CPIDS=() KEEP=${NVMEOF_INTEROP_KEEP:-0}
if ((EUID == 0)); then DPDK_RUN=/var/run/dpdk; else DPDK_RUN=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	# The step in the background first (a linux-peer run: its traps stop
	# the VM and its relays), then the targets and captures.
	stop_pid "$SPID" 20 || true
	for p in "${TPIDS[@]}"; do stop_pid "$p" 10 || true; done
	for p in "${CPIDS[@]}"; do stop_pid "$p" 2 || true; done
	rm_dpdk_dirs
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps
# shellcheck disable=SC2034 # auth_lib.sh's summary reads it
t0=$SECONDS


# --------------------------------------------------------------- secrets ----

# keyfile FILE SECRET: a 0600 key file.
keyfile() {
	(umask 077 && printf '%s\n' "$2" >"$1")
	chmod 600 "$1"
}
# no_secrets FILE...: none of the secrets' base64 bodies appears.
c_no_secrets() {
	local s body found=0 f n=0
	for f in "$@"; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		for s in "${SECRETS[@]}"; do
			body=${s#DHHC-1:??:}
			body=${body%:}
			if grep -qF -- "$body" "$f"; then
				echo "a secret appears in $(basename "$f")"
				found=1
			fi
		done
	done
	((found == 0))
	echo "${#SECRETS[@]} secrets, none in $n files"
}

# ------------------------------------------------------------ the target ----

# start_target NAME ARGS...: nvmeof-target ARGS, stdout in $WORK/NAME.out,
# its log (stderr) in $WORK/NAME.log; waits for "listening on".  Sets TPID.
# (Debug level: --log-level debug, or "log_level" in a --config file, which
# ignores the flag.)
start_target() {
	local name=$1
	shift
	: >"$WORK/$name.out"
	setpriv --pdeathsig TERM -- "$TARGET" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.log" </dev/null &
	TPID=$!
	TPIDS+=("$TPID")
	if await_line "$WORK/$name.out" '^listening on' "$TPID"; then
		capture "$name" "$TPORT"
		return 0
	fi
	stop_pid "$TPID" 2 || true
	return 1
}
# capture NAME PORT: with NVMEOF_INTEROP_CAPTURE=1, dumpcap of the port.
capture() {
	[[ ${NVMEOF_INTEROP_CAPTURE:-0} == 1 ]] || return 0
	command -v dumpcap >/dev/null || { say "no dumpcap: no capture"; return 0; }
	dumpcap -q -i lo -f "tcp port $2" -w "$WORK/$1.pcapng" 2>"$WORK/$1.dumpcap.err" &
	CPIDS+=($!)
	KEEP=1
	sleep 1
	say "capturing 127.0.0.1:$2 to $WORK/$1.pcapng"
}
# stop_target WHO NAME PID: SIGTERM; PASS when it exits 0 within 15 s.  In
# this shell (the target is its child).
stop_target() {
	local what="$1: nvmeof-target stops on SIGTERM with status 0" name=$2 pid=$3 i st=0
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || st=$?
		result FAIL "$what (it had exited already, status $st)"
		return
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		result FAIL "$what (still running 15 s after SIGTERM)"
		return
	fi
	wait "$pid" || st=$?
	if ((st == 0)); then
		result PASS "$what"
	else
		result FAIL "$what (exit status $st)"
		tail -n 3 "$WORK/$name.out" | sed 's/^/    /'
	fi
}

# auth_line NAME HOSTNQN QID HASH GROUP BI: the target's log has the line.
auth_line() {
	local re
	re="queue $3 of host $2 from [^ ]+ authenticated \\(DH-HMAC-CHAP $4, $5"
	if (($6)); then re+=', bidirectional\)$'; else re+='\)$'; fi
	grep -qE -- "$re" "$WORK/$1.log"
}
# c_log_good NAME HOSTNQN HASH GROUP BI: queue 0 and at least one I/O
# queue authenticated that way, and none otherwise.
c_log_good() {
	local name=$1 h=$2 n other
	auth_line "$name" "$h" 0 "$3" "$4" "$5" || {
		echo "no 'queue 0 of host $h ... authenticated (DH-HMAC-CHAP $3, $4$( (($5)) && echo ', bidirectional'))'"
		grep -F -- "$h" "$WORK/$name.log" | tail -n 3 || true
		return 1
	}
	auth_line "$name" "$h" 1 "$3" "$4" "$5" || {
		echo "no 'queue 1 of host $h ... authenticated (...)' (the I/O queue)"
		grep -F -- "$h" "$WORK/$name.log" | tail -n 3 || true
		return 1
	}
	n=$(grep -cE "queue [0-9]+ of host $h from [^ ]+ authenticated \(" "$WORK/$name.log" || true)
	other=$(grep -E "queue [0-9]+ of host $h from [^ ]+ authenticated \(" "$WORK/$name.log" |
		grep -vcE "\(DH-HMAC-CHAP $3, $4$( (($5)) && echo ', bidirectional')\)$" || true)
	((other == 0)) || { echo "$other queues of $h authenticated otherwise"; return 1; }
	grep -E "queue 0 of host $h from [^ ]+ authenticated" "$WORK/$name.log" | tail -n 1 | sed 's/^[A-Z] [0-9:.]* //'
	echo "$n queues: $3, $4$( (($5)) && echo ', bidirectional')"
}
# c_log_failed NAME HOSTNQN REASON: "queue 0 of host H from A failed
# DH-HMAC-CHAP: REASON", and no queue of H authenticated.
c_log_failed() {
	local name=$1 h=$2
	if grep -qE "queue [0-9]+ of host $h from [^ ]+ authenticated" "$WORK/$name.log"; then
		echo "a queue of $h authenticated:"
		grep -E "of host $h from" "$WORK/$name.log" | tail -n 3
		return 1
	fi
	if [[ -z $3 ]]; then
		grep -F -- "$h" "$WORK/$name.log" | tail -n 3 || true
		echo "no queue of $h authenticated"
		return 0
	fi
	grep -F -- "of host $h from " "$WORK/$name.log" | grep -qF -- "failed DH-HMAC-CHAP: $3" || {
		echo "no 'queue ... of host $h from ... failed DH-HMAC-CHAP: $3'"
		grep -F -- "$h" "$WORK/$name.log" | tail -n 3 || true
		return 1
	}
	grep -F -- "of host $h from " "$WORK/$name.log" | grep -F -- "failed DH-HMAC-CHAP: $3" | tail -n 1 |
		sed 's/^[A-Z] [0-9:.]* //'
}
c_alive() { # PID
	kill -0 "$1" 2>/dev/null || { echo "pid $1 is gone"; return 1; }
	echo "pid $1 running"
}

# ----------------------------------------------------------------- Linux ----

LSUB=nqn.2024-11.io.nvmeof.interop:auth-target
LHOST=nqn.2024-11.io.nvmeof.interop:lhost
# Phases: "DIGESTS GROUPS HASH GROUP" (lists in the target's order of
# preference; the hash and group it must pick from the kernel's offer of
# all).  The first is the config file's; the others are set by the guest
# through nvmf_set_config.
LPHASES=(
	"sha256,sha384,sha512 null,ffdhe2048 sha256 null"
	"sha256 ffdhe2048 sha256 ffdhe2048"
	"sha256 ffdhe3072,ffdhe2048 sha256 ffdhe3072"
	"sha384 null sha384 null"
	"sha384,sha256 ffdhe2048,null sha384 ffdhe2048"
	"sha384 ffdhe3072 sha384 ffdhe3072"
	"sha512 null sha512 null"
	"sha512 ffdhe2048 sha512 ffdhe2048"
	"sha512,sha384 ffdhe3072 sha512 ffdhe3072"
	"sha512 ffdhe8192 sha512 ffdhe8192"
	"sha256 ffdhe4096 sha256 ffdhe4096"
	"sha384 ffdhe6144,ffdhe2048 sha384 ffdhe6144"
)
LFAIL_POLICY="sha512 ffdhe2048"
jlist() { # a,b -> "a","b"
	local IFS=, x out=''
	for x in $1; do out+=${out:+,}\"$x\"; done
	printf '%s' "$out"
}
uuid() { cat /proc/sys/kernel/random/uuid; }

run_linux() {
	if [[ ! -x $LINUX_PEER ]]; then
		not_run "Linux 6.12 host" "no linux-peer at $LINUX_PEER"
		return
	fi
	command -v qemu-system-x86_64 >/dev/null || {
		not_run "Linux 6.12 host" "no qemu-system-x86_64"
		return
	}
	if ! "$LINUX_PEER" setup --kernel 6.12 >"$WORK/linux-setup.log" 2>&1; then
		sed 's/^/  linux-peer setup: /' "$WORK/linux-setup.log" | tail -n 10
		not_run "Linux 6.12 host" "linux-peer setup --kernel 6.12 failed (log above)"
		return
	fi

	local phases=() i
	if ((QUICK)); then phases=(0 4 8); else for i in "${!LPHASES[@]}"; do phases+=("$i"); done; fi

	# Keys and host entries: per phase a bidirectional host (key +
	# controller key) and a one-way host (key only); the secrets vary
	# their transform (none, SHA-256/384/512) and length.
	local keys=() hosts=() guest=$WORK/linux-guest.sh kvars='' body=''
	mkdir -p "$WORK/keys"
	newkey() { # ENTRY NQN SLOT [ctrl]: a secret for the entry, in KEY/CKEY
		local var ent=$1 nqn=$2 m=$(($3 % 4)) l='' s
		((m != 0)) || l=$((32 + 16 * ($3 / 4 % 3)))
		key s "$m" "$nqn" ${l:+"$l"}
		keyfile "$WORK/keys/$ent${4:+-ctrl}.key" "$s"
		keys+=("{\"name\":\"$ent${4:+-ctrl}\",\"path\":\"$WORK/keys/$ent${4:+-ctrl}.key\"}")
		var=$(tr -c 'a-zA-Z0-9\n' _ <<<"K_$ent${4:+_ctrl}")
		kvars+="$var='$s'"$'\n'
	}
	local slot=0
	entry() { # ENTRY bi|one: a host entry nqn LHOST-ENTRY
		local ent=$1 nqn=$LHOST-$1
		newkey "$ent" "$nqn" $((slot++))
		if [[ $2 == bi ]]; then
			newkey "$ent" "$LSUB" $((slot++)) ctrl
			hosts+=("{\"nqn\":\"$nqn\",\"dhchap_key\":\"$ent\",\"dhchap_ctrlr_key\":\"$ent-ctrl\"}")
		else
			hosts+=("{\"nqn\":\"$nqn\",\"dhchap_key\":\"$ent\"}")
		fi
	}
	for i in "${phases[@]}"; do
		entry "p$((i + 1))-bi" bi
		entry "p$((i + 1))-one" one
	done
	entry badhost one
	entry badctrl bi
	entry nokey one
	entry noctrl one
	entry after bi
	local wrong wrongc
	key wrong 1 "$LHOST-badhost"
	key wrongc 2 "$LSUB"

	local -a first
	read -ra first <<<"${LPHASES[0]}"
	local IFS_save=$IFS
	IFS=,
	cat >"$WORK/linux-target.json" <<-EOF
		{ "log_level": "debug",
		  "keys": [ ${keys[*]} ],
		  "dhchap_digests": [ $(jlist "${first[0]}") ],
		  "dhchap_dhgroups": [ $(jlist "${first[1]}") ],
		  "ports": [ { "address": "127.0.0.1", "port": PORT } ],
		  "subsystems": [ { "nqn": "$LSUB", "model": "nvmeof auth interop",
		                    "hosts": [ ${hosts[*]} ],
		                    "namespaces": [ { "backend": "ram", "size": "64M" } ] } ] }
	EOF
	IFS=$IFS_save
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/linux-rpc.token"
	echo >>"$WORK/linux-rpc.token"
	chmod 600 "$WORK/linux-rpc.token"

	echo
	say "Linux 6.12 host -> nvmeof-target (${#phases[@]} phases, one VM)"
	local started=0 port rport tpid=''
	for i in 1 2 3; do
		if ! port=$(free_port) || ! rport=$(free_port); then break; fi
		[[ $port != "$rport" ]] || continue
		sed "s/\"port\": PORT/\"port\": $port/" "$WORK/linux-target.json" >"$WORK/linux-target.run.json"
		TPORT=$port
		if start_target linux-target --config "$WORK/linux-target.run.json" \
			--rpc-listen "127.0.0.1:$rport" --rpc-token-file "$WORK/linux-rpc.token"; then
			started=1 tpid=$TPID
			break
		fi
		sed 's/^/  target: /' "$WORK/linux-target.out" "$WORK/linux-target.log" | tail -n 5
	done
	if ((!started)); then
		result FAIL "linux: nvmeof-target starts from its config file (keys, hosts with keys, digests, groups)"
		return
	fi
	result PASS "linux: nvmeof-target (pid $tpid) from a config file with ${#keys[@]} 0600 key files, ${#hosts[@]} hosts with DH-HMAC-CHAP keys, on 127.0.0.1:$port; control plane on 127.0.0.1:$rport with a token"

	# The guest's commands: the settings, then the functions, then the
	# phases.  The secrets are in this file (0600) and the VM only.
	# shellcheck disable=SC2016 # the guest's variables, expanded there
	{
		echo "SUB='$LSUB' TOKEN='$(head -n 1 "$WORK/linux-rpc.token")'"
		printf '%s' "$kvars"
		cat <<-'GUEST'
			P=$LP_PEER_IP
			NCHECK=0
			check() { NCHECK=$((NCHECK + 1)); echo "CHECK $*"; }
			now() { read -r u _ </proc/uptime; echo "$u"; }
			since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
			# nvmf_set_config through the target's TCP control plane (the
			# second relayed port), one request per connection.
			rpc() {
				RPC_OUT=$(printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s,"token":"%s"}' \
					"$1" "$2" "$TOKEN" | timeout 30 nc "$P" "$LP_DISC_PORT" 2>&1)
				case $RPC_OUT in *'"result":true'*) return 0 ;; esac
				return 1
			}
			policy() { # NAME DIGESTS GROUPS (JSON lists' insides)
				if rpc nvmf_set_config "{\"dhchap_digests\":[$2],\"dhchap_dhgroups\":[$3]}"; then
					check PASS "$1: nvmf_set_config [$2] [$3] through the TCP control plane"
				else
					check FAIL "$1: nvmf_set_config [$2] [$3]: ${RPC_OUT:-no answer}"
				fi
			}
			# The namespace's block device (the multipath head), or none.
			find_ns() {
				NS=''
				for b in /sys/block/nvme*n*; do
					case ${b##*/} in nvme*c*n*) continue ;; esac
					[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$SUB" ] || continue
					NS=/dev/${b##*/}
				done
				[ -n "$NS" ] && [ -b "$NS" ]
			}
			wait_ns() {
				n=0
				until find_ns; do
					n=$((n + 1))
					[ $n -lt 100 ] || return 1
					sleep 0.1
				done
			}
			ctrl_of() { # the controller of SUB
				CTRL=''
				for c in /sys/class/nvme/nvme*; do
					[ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$SUB" ] && CTRL=${c##*/}
				done
				[ -n "$CTRL" ]
			}
			disconnect() {
				nvme disconnect -n "$SUB" >/dev/null 2>&1
				n=0
				while ctrl_of || find_ns; do
					n=$((n + 1))
					[ $n -lt 100 ] || { echo "    (controller $CTRL still there)"; return 1; }
					sleep 0.1
				done
			}
			connect() { # HOSTNQN HOSTID [nvme connect args]
				h=$1 id=$2
				shift 2
				dmesg -c >/dev/null 2>&1
				timeout 90 nvme connect -t tcp -a "$P" -s "$LP_PORT" -n "$SUB" \
					--hostnqn "$h" --hostid "$id" "$@" >/tmp/connect.out 2>&1
			}
			kmsg() { dmesg | grep -E 'nvme' | tail -n "${1:-6}" | sed 's/^/    kernel: /'; }
			# 1 MiB slots of the namespace: a fresh pattern written with
			# O_DIRECT, read back, compared; or one written before, read.
			write_slot() {
				dd if=/dev/urandom of="/tmp/pat.$1" bs=65536 count=16 2>/dev/null &&
					dd if="/tmp/pat.$1" of="$NS" bs=65536 seek=$(($1 * 16)) count=16 oflag=direct conv=fsync 2>/dev/null &&
					read_slot "$1"
			}
			read_slot() {
				rm -f /tmp/back
				dd if="$NS" of=/tmp/back bs=65536 skip=$(($1 * 16)) count=16 iflag=direct 2>/dev/null &&
					cmp -s "/tmp/pat.$1" /tmp/back
			}
			# good NAME HASH GROUP BI READSLOT WRITESLOT HOSTNQN HOSTID ARGS...
			good() {
				name=$1 hash=$2 group=$3 bi=$4 rs=$5 ws=$6 hn=$7 hid=$8
				shift 8
				t=$(now)
				if ! connect "$hn" "$hid" "$@"; then
					check FAIL "$name: nvme connect failed: $(grep -v '^$' /tmp/connect.out | tail -n 1)"
					kmsg
					return
				fi
				tc=$(since "$t")
				why=''
				wait_ns || why="no namespace block device appeared"
				ctrl_of
				qc=$(cat "/sys/class/nvme/$CTRL/queue_count" 2>/dev/null || echo '?')
				if [ -z "$why" ] && ! dmesg | grep -q "qid 0: authenticated with hash hmac($hash) dhgroup $group\$"; then
					why="the kernel did not log 'qid 0: authenticated with hash hmac($hash) dhgroup $group'"
				fi
				if [ -z "$why" ] && [ "$bi" = 1 ] && ! dmesg | grep -q 'qid 0: controller authenticated'; then
					why="the kernel did not log 'qid 0: controller authenticated'"
				fi
				if [ -z "$why" ] && [ "$bi" = 0 ] && dmesg | grep -q 'controller authenticated'; then
					why="the kernel logged 'controller authenticated' on a one-way connect"
				fi
				if [ -z "$why" ] && [ "$rs" != - ] && ! read_slot "$rs"; then
					why="slot $rs (written by an earlier association) reads back different"
				fi
				if [ -z "$why" ] && ! write_slot "$ws"; then
					why="1 MiB written to slot $ws reads back different"
				fi
				[ -n "$why" ] && kmsg 8
				disconnect || why="${why:+$why; }nvme disconnect did not remove the controller"
				if [ -z "$why" ]; then
					check PASS "$name: connected in ${tc}s ($qc queues), hmac($hash) $group$([ "$bi" = 1 ] && echo ', controller authenticated'), 1 MiB written, read back, identical$([ "$rs" != - ] && echo ", slot $rs of an earlier association too")"
				else
					check FAIL "$name: $why"
				fi
			}
			# bad NAME WHY HOSTNQN HOSTID ARGS...: the connect must fail and
			# the kernel log WHY (a grep -E pattern).
			bad() {
				name=$1 want=$2 hn=$3 hid=$4
				shift 4
				if connect "$hn" "$hid" "$@"; then
					check FAIL "$name: connected; expected a refusal"
					kmsg
					disconnect
					return
				fi
				msg=$(grep -v '^$' /tmp/connect.out | tail -n 1)
				kmsg 4
				if ctrl_of; then
					check FAIL "$name: nvme connect failed but controller $CTRL is there"
					disconnect
					return
				fi
				if ! dmesg | grep -qE "$want"; then
					check FAIL "$name: refused ($msg) but the kernel did not log '$want'"
					return
				fi
				check PASS "$name: refused ($msg; kernel: $(dmesg | grep -oE "$want.*" | tail -n 1))"
			}
		GUEST
		local hash group d g ph bi one
		for i in "${phases[@]}"; do
			read -r d g hash group <<<"${LPHASES[$i]}"
			ph=p$((i + 1))
			bi=$(tr -c 'a-zA-Z0-9\n' _ <<<"K_$ph-bi")
			one=$(tr -c 'a-zA-Z0-9\n' _ <<<"K_$ph-one")
			echo "echo '--- phase $ph: target lists [$d] [$g] -> $hash/$group'"
			if [[ $i != 0 ]]; then
				printf 'policy %q %q %q\n' "$ph" "$(jlist "$d")" "$(jlist "$g")"
			fi
			printf 'good %q %q %q 1 - %d %q %q -S "$%s" -C "$%s_ctrl"\n' \
				"$ph-bi ($hash/$group, bidirectional)" "$hash" "$group" $((2 * i)) \
				"$LHOST-$ph-bi" "$(uuid)" "$bi" "$bi"
			printf 'good %q %q %q 0 %d %d %q %q -S "$%s"\n' \
				"$ph-one ($hash/$group, one-way)" "$hash" "$group" $((2 * i)) $((2 * i + 1)) \
				"$LHOST-$ph-one" "$(uuid)" "$one"
		done
		read -r d g <<<"$LFAIL_POLICY"
		echo "echo '--- failures, target lists [$d] [$g]'"
		printf 'policy failures %q %q\n' "$(jlist "$d")" "$(jlist "$g")"
		# The kernel: AUTH_Failure1 ends the transaction ("authentication
		# failed, error -129" = EKEYREJECTED); a wrong R2 it finds itself
		# ("controller authentication failed", then its AUTH_Failure2); no
		# key: it gives up at the Connect response's ATR ("no key").
		printf 'bad %q %q %q %q -S %q\n' "a wrong host secret" 'qid 0: authentication failed, error -129' \
			"$LHOST-badhost" "$(uuid)" "$wrong"
		printf 'bad %q %q %q %q -S "$K_badctrl" -C %q\n' "a wrong controller secret" \
			'qid 0: controller authentication failed' "$LHOST-badctrl" "$(uuid)" "$wrongc"
		printf 'bad %q %q %q %q\n' "no secret (the host entry has a key)" 'qid 0: no key' "$LHOST-nokey" "$(uuid)"
		printf 'bad %q %q %q %q -S "$K_noctrl" -C "$K_after_ctrl"\n' \
			"a controller secret for a host entry without a controller key" \
			'qid 0: authentication failed, error -129' "$LHOST-noctrl" "$(uuid)"
		printf 'good %q %q %q 1 0 60 %q %q -S "$K_after" -C "$K_after_ctrl"\n' \
			"after the failures ($d/$g, bidirectional)" "$d" "$g" "$LHOST-after" "$(uuid)"
		echo 'echo "CHECKS-END $NCHECK"'
	} >"$guest"
	chmod 600 "$guest"
	# Per phase two connects and (but the first) a policy; then the
	# failures' policy, four refusals and the good host.
	local nchecks=$((3 * ${#phases[@]} - 1 + 1 + 4 + 1))

	# The VM: no discovery, no connect of linux-peer's own: the commands
	# connect (nvme connect --dhchap-secret [--dhchap-ctrl-secret], as
	# linux-peer's --dhchap-secret shortcut does) as each host in turn.
	local st=0 vt=$SECONDS
	say "booting the Linux 6.12 host VM ($nchecks checks in the guest)"
	setpriv --pdeathsig TERM -- "$LINUX_PEER" host --kernel 6.12 --port "$port" --disc-port "$rport" \
		--no-discover --no-connect --no-fio --hostnqn "$LHOST" --timeout "$VM_TIMEOUT" \
		--script "$guest" >"$WORK/linux-host.out" 2>"$WORK/linux-host.err" </dev/null &
	SPID=$!
	wait "$SPID" || st=$?
	SPID=''
	local vm_s=$((SECONDS - vt))
	local line n=0
	while IFS= read -r line; do
		case $line in
		"CHECK PASS "*) result PASS "linux: ${line#CHECK PASS }"; n=$((n + 1)) ;;
		"CHECK FAIL "*) result FAIL "linux: ${line#CHECK FAIL }"; n=$((n + 1)) ;;
		esac
	done <"$WORK/linux-host.out"
	if ((st == 0)) && grep -q "^CHECKS-END $nchecks\$" "$WORK/linux-host.out" && ((n == nchecks)); then
		result PASS "linux: the VM ran all $nchecks guest checks in ${vm_s}s ($(grep -o 'timing: .*' "$WORK/linux-host.err" | tail -n 1))"
	else
		result FAIL "linux: the VM run (status $st, $n of $nchecks guest checks reported; logs $WORK/linux-host.out, .err)"
		grep -v '^CHECK ' "$WORK/linux-host.out" | tail -n 12 | sed 's/^/    guest: /'
		tail -n 8 "$WORK/linux-host.err" | sed 's/^/    linux-peer: /'
	fi

	# What the target logged for each of them.
	for i in "${phases[@]}"; do
		read -r d g hash group <<<"${LPHASES[$i]}"
		ph=p$((i + 1))
		step "linux target log: $ph-bi, every queue $hash/$group bidirectional" \
			c_log_good linux-target "$LHOST-$ph-bi" "$hash" "$group" 1
		step "linux target log: $ph-one, every queue $hash/$group one-way" \
			c_log_good linux-target "$LHOST-$ph-one" "$hash" "$group" 0
	done
	read -r d g <<<"$LFAIL_POLICY"
	step "linux target log: the wrong host secret: R1 mismatch" \
		c_log_failed linux-target "$LHOST-badhost" "host response (R1) mismatch"
	step "linux target log: the wrong controller secret: the host's AUTH_Failure2" \
		c_log_failed linux-target "$LHOST-badctrl" "host sent AUTH_Failure2"
	step "linux target log: no secret: no queue authenticated" \
		c_log_failed linux-target "$LHOST-nokey" ""
	step "linux target log: a controller secret without a controller key: refused" \
		c_log_failed linux-target "$LHOST-noctrl" "host asked for bidirectional authentication; no controller key"
	step "linux target log: after the failures, every queue $d/$g bidirectional" \
		c_log_good linux-target "$LHOST-after" "$d" "$g" 1
	step "linux: nvmeof-target still running after the VM's run" c_alive "$tpid"
	stop_target linux linux-target "$tpid"
	step "linux: no secret in the target's log or output, nor in the guest's output" \
		c_no_secrets "$WORK/linux-target.log" "$WORK/linux-target.out" "$WORK/linux-host.out" "$WORK/linux-host.err"
}

# ------------------------------------------------------------------ SPDK ----

SSUB=nqn.2016-06.io.spdk:auth-target
SHOST=nqn.2024-11.io.nvmeof.interop:spdkhost
SPHASES=(
	"sha256 null sha256 null"
	"sha384 ffdhe2048 sha384 ffdhe2048"
	"sha512,sha256 ffdhe4096,null sha512 ffdhe4096"
)

# spdk NAME LIMIT perf|identify|rpc ARGS...: the SPDK tool through spdk-peer
# (which execs it: one PID from here to the binary), stdout and stderr in
# $WORK/NAME.out/.err, bounded in time, dying with us (pdeathsig).
spdk() {
	local name=$1 limit=$2 st=0
	shift 2
	# shellcheck disable=SC2016 # $$, $0 and $@ are that bash's
	setpriv --pdeathsig TERM -- timeout -k 5 "$limit" \
		setpriv --pdeathsig KILL -- bash -c 'echo $$ >"$0"; exec "$@"' "$WORK/$name.pid" \
		"$SPDK_PEER" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || st=$?
	return "$st"
}
# DPDK leaves a run directory per process (spdk_pidPID) behind: ours go.
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
srpc() { "$SPDK_PEER" rpc -s "$SSOCK" -t 10 "$@"; }

# perf NAME HOSTNQN [--dhchap-key F [--dhchap-ctrlr-key F]]: spdk_nvme_perf,
# 4 KiB randrw 50/50 QD8 on one core.
perf() {
	local name=$1 h=$2
	shift 2
	spdk "$name" $((CMD_TIMEOUT + PERF_TIME)) perf --no-huge -s "$PERF_MEM" -c 0x1 \
		-q 8 -o 4096 -w randrw -M 50 -t "$PERF_TIME" \
		-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$SPORT subnqn:$SSUB hostnqn:$h" "$@"
}
perf_total() { sed -n 's/^Total *: *//p' "$WORK/$1.out" | head -n 1; }
c_perf_good() { # NAME HOSTNQN ARGS...
	local name=$1 st=0 tot iops
	perf "$@" || st=$?
	grep -v '^EAL: Static memory layout' "$WORK/$name.err" | tail -n 8 || true
	tail -n 6 "$WORK/$name.out"
	((st == 0)) || { echo "spdk_nvme_perf exit status $st"; return 1; }
	if grep -qE 'No valid NVMe controllers|errors occurred|completed with error|starting I/O failed|[Ff]ailed to' \
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
	awk '{printf "randrw %.0f IOPS, %.2f MiB/s, no errors\n", $1, $2}' <<<"$tot"
}
c_perf_bad() { # NAME WHY HOSTNQN ARGS...: no I/O, and SPDK says WHY (an ERE)
	local name=$1 why=$2 st=0 tot iops
	shift 2
	perf "$name" "$@" || st=$?
	grep -v '^EAL: Static memory layout' "$WORK/$name.err" | tail -n 8 || true
	tail -n 4 "$WORK/$name.out"
	tot=$(perf_total "$name")
	iops=$(awk '{print $1}' <<<"$tot")
	if [[ -n $iops ]] && awk -v v="$iops" 'BEGIN { exit !(v > 0) }'; then
		echo "spdk_nvme_perf did I/O ($iops IOPS): expected it not to attach"
		return 1
	fi
	grep -q 'No valid NVMe controllers' "$WORK/$name.out" "$WORK/$name.err" || {
		echo "no 'No valid NVMe controllers found'"
		return 1
	}
	grep -qE -- "$why" "$WORK/$name.err" || {
		echo "SPDK did not say '$why'"
		return 1
	}
	echo "not attached (exit status $st), SPDK: $(grep -hoE -- "$why.*" "$WORK/$name.err" | head -n 1 | cut -c1-90)"
}

# The target, empty, with the Unix control plane; configured by rpc.py.
c_spdk_configure() {
	local f
	srpc bdev_malloc_create -b Malloc0 64 512
	srpc nvmf_create_subsystem "$SSUB" -s NVMEOFAUTH0001 -d nvmeof_auth_target
	srpc nvmf_subsystem_add_ns "$SSUB" Malloc0
	srpc nvmf_subsystem_add_listener "$SSUB" -t tcp -a 127.0.0.1 -s "$SPORT"
	for f in "$WORK"/spdk-keys/*.key; do
		f=${f##*/}
		srpc keyring_file_add_key "${f%.key}" "$WORK/spdk-keys/$f"
	done
	local e
	for e in "${SENTRIES[@]}"; do
		# shellcheck disable=SC2086 # "NQN --dhchap-key K [--dhchap-ctrlr-key C]"
		srpc nvmf_subsystem_add_host "$SSUB" $e
	done
	srpc keyring_get_keys | grep -c '"name"' | sed 's/$/ keys in the keyring/'
	srpc nvmf_get_subsystems | grep -q DHHC-1 && { echo "nvmf_get_subsystems shows a secret"; return 1; }
	srpc save_config >"$WORK/spdk-save_config.json"
	grep -q DHHC-1 "$WORK/spdk-save_config.json" && { echo "save_config shows a secret"; return 1; }
	echo "${#SENTRIES[@]} hosts, keyring of $(find "$WORK/spdk-keys" -name '*.key' | wc -l) files, no secret in nvmf_get_subsystems or save_config"
}
c_spdk_policy() { # DIGESTS GROUPS
	srpc nvmf_set_config --dhchap-digests "$1" --dhchap-dhgroups "$2"
	echo "nvmf_set_config --dhchap-digests $1 --dhchap-dhgroups $2"
}

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
	if ! spdk probe 30 identify -H; then
		sed 's/^/  spdk_nvme_identify: /' "$WORK/probe.err" | tail -n 10
		not_run SPDK "spdk_nvme_identify does not run here (libraries?)"
		return
	fi
	rm_dpdk_dirs

	mkdir -p "$WORK/spdk-keys"
	SENTRIES=()
	local -A SK
	local n=0 i ent s
	skey() { # NAME HMAC NQN: untransformed secrets (HMAC 0) of 48 bytes
		if (($2 == 0)); then key s 0 "$3" 48; else key s "$2" "$3"; fi
		keyfile "$WORK/spdk-keys/$1.key" "$s"
		SK[$1]=$WORK/spdk-keys/$1.key
	}
	for i in "${!SPHASES[@]}"; do
		ent=p$((i + 1))
		skey "$ent-one" $((i % 4)) "$SHOST-$ent-one"
		SENTRIES+=("$SHOST-$ent-one --dhchap-key $ent-one")
		skey "$ent-bi" $(((i + 1) % 4)) "$SHOST-$ent-bi"
		skey "$ent-bi-ctrl" $(((i + 2) % 4)) "$SSUB"
		SENTRIES+=("$SHOST-$ent-bi --dhchap-key $ent-bi --dhchap-ctrlr-key $ent-bi-ctrl")
	done
	skey badhost 1 "$SHOST-badhost"
	SENTRIES+=("$SHOST-badhost --dhchap-key badhost")
	skey badctrl 2 "$SHOST-badctrl"
	skey badctrl-ctrl 3 "$SSUB"
	SENTRIES+=("$SHOST-badctrl --dhchap-key badctrl --dhchap-ctrlr-key badctrl-ctrl")
	skey nokey 3 "$SHOST-nokey"
	SENTRIES+=("$SHOST-nokey --dhchap-key nokey")
	skey noctrl 1 "$SHOST-noctrl"
	SENTRIES+=("$SHOST-noctrl --dhchap-key noctrl")
	skey after 2 "$SHOST-after"
	skey after-ctrl 1 "$SSUB"
	SENTRIES+=("$SHOST-after --dhchap-key after --dhchap-ctrlr-key after-ctrl")
	# Not in the keyring: the wrong ones.
	mkdir -p "$WORK/spdk-wrong"
	key s 1 "$SHOST-badhost"
	keyfile "$WORK/spdk-wrong/host.key" "$s"
	key s 3 "$SSUB"
	keyfile "$WORK/spdk-wrong/ctrl.key" "$s"

	echo
	say "SPDK v26.05 spdk_nvme_perf -> nvmeof-target configured by rpc.py"
	local started=0 tpid=''
	SSOCK=$WORK/spdk-target.sock
	for i in 1 2 3; do
		SPORT=$(free_port) || break
		TPORT=$SPORT
		if start_target spdk-target --log-level debug --rpc-socket "$SSOCK" --listen "127.0.0.1:$SPORT"; then
			started=1 tpid=$TPID
			break
		fi
		sed 's/^/  target: /' "$WORK/spdk-target.out" "$WORK/spdk-target.log" | tail -n 5
	done
	if ((!started)); then
		result FAIL "spdk: nvmeof-target --rpc-socket starts empty"
		return
	fi
	result PASS "spdk: nvmeof-target (pid $tpid) empty, --rpc-socket, on 127.0.0.1:$SPORT"
	step "spdk: rpc.py: malloc bdev, subsystem, namespace, listener, keyring_file_add_key, nvmf_subsystem_add_host --dhchap-key [--dhchap-ctrlr-key]" \
		c_spdk_configure
	[[ ${RESULTS[-1]} == PASS* ]] || return

	local d g hash group ph
	for i in "${!SPHASES[@]}"; do
		read -r d g hash group <<<"${SPHASES[$i]}"
		ph=p$((i + 1))
		step "spdk: rpc.py nvmf_set_config --dhchap-digests $d --dhchap-dhgroups $g" c_spdk_policy "$d" "$g"
		step "spdk $ph ($hash/$group, one-way): spdk_nvme_perf --dhchap-key" \
			c_perf_good "spdk-$ph-one" "$SHOST-$ph-one" --dhchap-key "${SK[$ph-one]}"
		step "spdk $ph ($hash/$group, bidirectional): spdk_nvme_perf --dhchap-key --dhchap-ctrlr-key" \
			c_perf_good "spdk-$ph-bi" "$SHOST-$ph-bi" --dhchap-key "${SK[$ph-bi]}" --dhchap-ctrlr-key "${SK[$ph-bi-ctrl]}"
		step "spdk target log: $ph-one, every queue $hash/$group one-way" \
			c_log_good spdk-target "$SHOST-$ph-one" "$hash" "$group" 0
		step "spdk target log: $ph-bi, every queue $hash/$group bidirectional" \
			c_log_good spdk-target "$SHOST-$ph-bi" "$hash" "$group" 1
	done
	step "spdk: a wrong host key does not attach" \
		c_perf_bad spdk-badhost 'received AUTH_failure1' "$SHOST-badhost" --dhchap-key "$WORK/spdk-wrong/host.key"
	step "spdk target log: the wrong host key: R1 mismatch" \
		c_log_failed spdk-target "$SHOST-badhost" "host response (R1) mismatch"
	step "spdk: a wrong controller key does not attach" \
		c_perf_bad spdk-badctrl 'controller challenge mismatch' "$SHOST-badctrl" --dhchap-key "${SK[badctrl]}" --dhchap-ctrlr-key "$WORK/spdk-wrong/ctrl.key"
	step "spdk target log: the wrong controller key: the host's AUTH_Failure2" \
		c_log_failed spdk-target "$SHOST-badctrl" "host sent AUTH_Failure2"
	step "spdk: no key (the host entry has one) does not attach" \
		c_perf_bad spdk-nokey 'missing DH-HMAC-CHAP key' "$SHOST-nokey"
	step "spdk target log: no key: no queue authenticated" \
		c_log_failed spdk-target "$SHOST-nokey" ""
	step "spdk: a controller key for a host entry without one does not attach" \
		c_perf_bad spdk-noctrl 'received AUTH_failure1' "$SHOST-noctrl" --dhchap-key "${SK[noctrl]}" --dhchap-ctrlr-key "${SK[after-ctrl]}"
	step "spdk target log: a controller key without one: refused" \
		c_log_failed spdk-target "$SHOST-noctrl" "host asked for bidirectional authentication; no controller key"
	read -r d g hash group <<<"${SPHASES[-1]}"
	step "spdk: after the failures, bidirectional works ($hash/$group)" \
		c_perf_good spdk-after "$SHOST-after" --dhchap-key "${SK[after]}" --dhchap-ctrlr-key "${SK[after-ctrl]}"
	step "spdk target log: after the failures, every queue $hash/$group bidirectional" \
		c_log_good spdk-target "$SHOST-after" "$hash" "$group" 1
	step "spdk: nvmeof-target still running" c_alive "$tpid"
	stop_target spdk spdk-target "$tpid"
	local outs=("$WORK"/spdk-target.log "$WORK"/spdk-target.out "$WORK"/spdk-*.err "$WORK"/spdk-*.out
		"$WORK"/spdk-save_config.json)
	step "spdk: no secret in the target's log or output, nor in SPDK's output" c_no_secrets "${outs[@]}"
}

# -------------------------------------------------------------------- run ---

for p in $PEERS; do
	case $p in
	linux) run_linux ;;
	spdk) run_spdk ;;
	*)
		echo "run_auth_target_interop: unknown peer '$p' (linux, spdk)" >&2
		exit 2
		;;
	esac
done

if ((${#RESULTS[@]} == 0)); then
	skip "no peer could run: ${NOT_RUN[*]}"
fi
# What this script printed (the step logs included).
step "no secret in this script's step logs" c_no_secrets "$WORK"/[0-9][0-9]-*.log

summary
exit "$FAILED"
