#!/usr/bin/env bash
# tests/interop/run_tls_interop.sh PATH/TO/nvmeof-target [PATH/TO/nvmeof]
#
# NVMe/TCP over TLS 1.3 with a PSK, both roles, against real peers:
#
#  1. SPDK v26.05's host (../shared/spdk-peer/): `spdk_nvme_perf -S ssl
#     --psk-path FILE` (hostnqn: and subnqn: in the transport ID), 4 KiB
#     randread and randwrite, against our nvmeof-target configured (a) from
#     a config file (a "keys" keyring of 0600 NVMeTLSkey-1 files, hosts
#     with "psk", a port with "tls": "required") with a SHA-256 and a
#     SHA-384 key (TLS_AES_256_GCM_SHA384) and header + data digests, and
#     (b) started empty with --rpc-socket and configured by SPDK's rpc.py
#     (keyring_file_add_key, nvmf_subsystem_add_host --psk,
#     nvmf_subsystem_add_listener --secure-channel).  spdk_nvme_perf does
#     not verify data; spdk_nvme_identify takes no PSK (not run).
#  2. Our tool against SPDK's nvmf_tgt (a listener with --secure-channel,
#     the host with --psk; run here with --no-huge, configured like
#     `spdk-peer target --psk`): id-ctrl, 1 MiB write with 2 I/O queues
#     read back and compared, the same with -g -G, a wrong key refused.
#  3. The Linux 6.12 host with tlshd (../shared/linux-peer/, `host --kernel
#     6.12 --tls --tls-key`) against our target from the config file: a
#     discovery controller over TLS (nvme discover on it), connect over TLS,
#     1 MiB O_DIRECT write/read/cmp; once plain, once with header and data
#     digests.  The VM reaches 127.0.0.1:PORT through linux-peer's relay.
#  4. Our tool against Linux 6.12 nvmet with TLS required (`linux-peer
#     target --kernel 6.12 --tls --tls-key`): discover, id-ctrl, write+read
#     verified (plain and with -g -G), a wrong key refused.
#  5. Refusals by our target: a plain host on a TLS-required port, a wrong
#     key (our tool and spdk_nvme_perf), a host with a PSK connecting in
#     plain on a TLS-allowed port; plain and TLS hosts both served on the
#     allowed port; a good connect afterwards works; the target logs each
#     refusal with its reason, is still running, and stops on SIGTERM.
#  6. A stock TLS client: `openssl s_client -tls1_3 -psk_identity
#     "NVMe0R0h HOSTNQN SUBNQN" -psk HEX` sends a 128-byte ICReq and gets a
#     128-byte ICResp (SHA-256 key, default groups and ffdhe3072; s_client
#     -psk cannot offer a SHA-384 PSK: it makes its session with
#     TLS_AES_128_GCM_SHA256).  The tool prints identities but not the derived
#     TLS PSK, so this script derives it itself (RFC 8446 HKDF-Expand-Label,
#     python3), after checking its derivation against the v0 vector of
#     ../shared/SECURITY.md §2.4.
#
# Last: no secret (the base64 body of any NVMeTLSkey-1 key, or a derived
# TLS PSK in hex) appears in any log or output.
#
# Prints one PASS/FAIL line per check, then "N passed, M failed"; exits 1 if
# anything failed (logs kept, their directory printed), 0 otherwise.  A peer
# that cannot run here is reported as "not run: <why>"; when none can, it
# prints "SKIP: interop test: <why>" and exits 0.
#
# Environment:
#   SPDK_PEER, LINUX_PEER   the peers' scripts (default: ../shared/ beside
#                           the repository)
#   NVMEOF_TLS_INTEROP_PEERS  which to run (default "openssl spdk linux";
#                           the refusals by our own tool always run)
#   NVMEOF_INTEROP_KEEP=1   keep the logs even when everything passed
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SPDK_PEER=${SPDK_PEER:-$REPO/../shared/spdk-peer/spdk-peer}
LINUX_PEER=${LINUX_PEER:-$REPO/../shared/linux-peer/linux-peer}
PEERS=" ${NVMEOF_TLS_INTEROP_PEERS:-openssl spdk linux} "
CMD_TIMEOUT=30  # seconds, each nvmeof or SPDK command
VM_TIMEOUT=240  # seconds, each Linux host VM run
VM_LIFETIME=600 BOOT_TIMEOUT=180
PERF_MEM=256 PERF_TIME=1

# shellcheck disable=SC2034 # used by lib.sh's say()
INTEROP_NAME=run_tls_interop
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
	echo "run_tls_interop: $1 is not an executable" >&2
	exit 2
}
TOOL=$(readlink -f "${2:-$(dirname "$TARGET")/nvmeof}")
[[ -f $TOOL && -x $TOOL ]] || {
	echo "run_tls_interop: no nvmeof tool at $TOOL (it makes the keys; give its path)" >&2
	exit 2
}
[[ $(uname -m) == x86_64 ]] || skip "the peers are x86_64 builds; this is $(uname -m)"
command -v python3 >/dev/null || skip "no python3 (the script derives TLS PSKs with it)"

umask 077 # key files, configs: 0600
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-tls-interop.XXXXXX")
TPIDS=() SPID='' SPDK_PIDS=() DPDK_DIRS=() VM_PID='' VM_PORT='' KEEP=${NVMEOF_INTEROP_KEEP:-0}
DERIVED=() # derived TLS PSKs (hex): secrets too
if ((EUID == 0)); then DPDK_RUN=/var/run/dpdk; else DPDK_RUN=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
cleanup() {
	local rc=$? p d
	trap - EXIT INT TERM HUP
	stop_pid "$SPID" 20 || true
	for p in "${SPDK_PIDS[@]}"; do stop_pid "$p" 10 || true; done
	stop_pid "$VM_PID" 15 || true # linux-peer target's `timeout` process
	[[ -z $VM_PORT ]] || "$LINUX_PEER" stop --port "$VM_PORT" >/dev/null 2>&1 || true
	for p in "${TPIDS[@]}"; do stop_pid "$p" 10 || true; done
	rm_dpdk_dirs
	for d in "${DPDK_DIRS[@]}"; do rm -rf "${DPDK_RUN:?}/$d"; done
	if ((KEEP)); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
install_traps
# shellcheck disable=SC2034 # auth_lib.sh's summary reads it
t0=$SECONDS
want() { [[ $PEERS == *" $1 "* ]]; }

# --------------------------------------------------------------- secrets ----

# tlskey FILE [HMAC]: a new 0600 key file (nvmeof gen-tls-key -m HMAC),
# its key remembered in SECRETS.
tlskey() {
	local k
	k=$("$TOOL" gen-tls-key -m "${2:-1}") || return 1
	[[ $k == NVMeTLSkey-1:0[12]:*: ]] || { echo "gen-tls-key printed no NVMeTLSkey-1 key" >&2; return 1; }
	SECRETS+=("$k")
	(umask 077 && printf '%s\n' "$k" >"$1")
	chmod 600 "$1"
}
# derive KEYFILE HOSTNQN SUBNQN: prints "HEX IDENTITY", the v0 identity
# and its TLS PSK (retained PSK with "HostNQN", then "nvme-tls-psk" over the
# identity; RFC 8446 HKDF-Expand-Label), computed here independently of
# the code under test.
derive() {
	python3 - "$@" <<-'PY'
		import base64, hashlib, hmac, re, struct, sys, zlib
		H = {1: hashlib.sha256, 2: hashlib.sha384}
		def extract(h, ikm):
		    return hmac.new(bytes(h().digest_size), ikm, h).digest()
		def expand_label(h, prk, label, ctx, n):
		    lab = b"tls13 " + label
		    info = struct.pack(">H", n) + bytes([len(lab)]) + lab + bytes([len(ctx)]) + ctx
		    out, t, i = b"", b"", 1
		    while len(out) < n:
		        t = hmac.new(prk, t + info + bytes([i]), h).digest()
		        out, i = out + t, i + 1
		    return out[:n]
		key = open(sys.argv[1]).read().strip()
		host, sub = sys.argv[2], sys.argv[3]
		m = re.fullmatch(r"NVMeTLSkey-1:(0[0-2]):([A-Za-z0-9+/]+={0,2}):", key)
		if not m:
		    sys.exit("not an NVMeTLSkey-1 key")
		hm, raw = int(m[1]), base64.b64decode(m[2])
		psk, crc = raw[:-4], raw[-4:]
		if len(psk) not in (32, 48) or crc != struct.pack("<I", zlib.crc32(psk)):
		    sys.exit("bad key length or CRC")
		c = hm or len(psk) // 16 - 1
		ret = expand_label(H[hm], extract(H[hm], psk), b"HostNQN", host.encode(), len(psk)) if hm else psk
		ident = "NVMe0R%02d %s %s" % (c, host, sub)
		print(expand_label(H[c], extract(H[c], ret), b"nvme-tls-psk", ident.encode(), len(psk)).hex(), ident)
	PY
}
# c_no_secrets FILE...: no key body and no derived PSK appears.
c_no_secrets() {
	local s body found=0 f n=0
	for f in "$@"; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		for s in "${SECRETS[@]}" "${DERIVED[@]}"; do
			body=${s#NVMeTLSkey-1:??:}
			body=${body%:}
			if grep -qiF -- "$body" "$f"; then
				echo "a secret appears in $(basename "$f")"
				found=1
			fi
		done
	done
	((found == 0))
	echo "$((${#SECRETS[@]} + ${#DERIVED[@]})) secrets, none in $n files"
}

# ------------------------------------------------------------ the target ----

# start_target NAME ARGS...: nvmeof-target ARGS, stdout in $WORK/NAME.out,
# its log in $WORK/NAME.log; waits for "listening on".  Sets TPID.
start_target() {
	local name=$1
	shift
	: >"$WORK/$name.out"
	setpriv --pdeathsig TERM -- "$TARGET" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.log" </dev/null &
	TPID=$!
	TPIDS+=("$TPID")
	await_line "$WORK/$name.out" '^listening on' "$TPID" && return 0
	stop_pid "$TPID" 2 || true
	return 1
}
# stop_target WHO NAME PID: SIGTERM; PASS when it exits 0 within 15 s.
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
	if ((st == 0)); then result PASS "$what"; else result FAIL "$what (exit status $st)"; fi
}
c_alive() { # PID
	kill -0 "$1" 2>/dev/null || { echo "pid $1 is gone"; return 1; }
	echo "pid $1 running"
}
# c_log NAME ERE [COUNT]: the target's log NAME has (at least COUNT) lines
# matching ERE; the last is the note.
c_log() {
	local n
	n=$(grep -cE -- "$2" "$WORK/$1.log" || true)
	((n >= ${3:-1})) || {
		echo "$n lines of $1.log match '$2' (want >= ${3:-1}); its last lines:"
		tail -n 8 "$WORK/$1.log"
		return 1
	}
	grep -E -- "$2" "$WORK/$1.log" | tail -n 1 | sed 's/^[A-Z] [0-9:.]* //'
}
# tls_line NAME HOSTNQN SUBNQN [CIPHER]: our target's "TLS with A: TLSv1.3,
# CIPHER, identity "NVMe0R0h HOSTNQN SUBNQN"" (at least twice: admin + I/O
# queue, unless SUBNQN is the discovery NQN).
c_tls_line() {
	local c=${4:-TLS_AES_128_GCM_SHA256} h=01 n=2
	[[ $c == TLS_AES_256_GCM_SHA384 ]] && h=02
	[[ $3 == nqn.2014-08.org.nvmexpress.discovery ]] && n=1
	c_log "$1" "TLS with [^ ]+: TLSv1\.3, $c, identity \"NVMe0R$h $2 $3\"$" "$n"
}

# ------------------------------------------------------------ our tool ----

# nvmeof ARGS: the tool, bounded in time, dying with its step.
nvmeof() {
	local a shown=()
	for a in "$@"; do [[ $a == NVMeTLSkey-1:* ]] && shown+=("<key>") || shown+=("$a"); done
	echo "+ nvmeof ${shown[*]}" >&2
	setpriv --pdeathsig TERM -- timeout -k 5 "$CMD_TIMEOUT" \
		setpriv --pdeathsig KILL -- "$TOOL" "$@"
}
# c_io NAME CONNECTION...: id-ctrl, then 1 MiB written with 2 I/O queues,
# read back and compared (512-byte blocks).
c_io() {
	local name=$1
	shift
	nvmeof id-ctrl "$@" >"$WORK/$name.idctrl" 2>"$WORK/$name.err"
	grep -E '^(mn|subnqn) ' "$WORK/$name.idctrl" || true
	head -c 1048576 /dev/urandom >"$WORK/$name.pattern"
	nvmeof write "$@" -i 2 -s 0 -d "$WORK/$name.pattern" 2>>"$WORK/$name.err"
	nvmeof read "$@" -i 2 -s 0 -c $((2048 - 1)) -d "$WORK/$name.back" 2>>"$WORK/$name.err"
	cat "$WORK/$name.err"
	cmp "$WORK/$name.pattern" "$WORK/$name.back"
	echo "id-ctrl ($(sed -n 's/^mn *: *//p' "$WORK/$name.idctrl" | head -n 1)), 1 MiB written with 2 I/O queues, read back, identical"
}
# c_refused NAME PATTERN ARGS...: the tool fails, saying PATTERN (an ERE).
c_refused() {
	local name=$1 pattern=$2 st=0
	shift 2
	nvmeof "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || st=$?
	cat "$WORK/$name.err"
	((st != 0)) || { echo "succeeded; expected a failure saying '$pattern'"; return 1; }
	grep -qE -- "$pattern" "$WORK/$name.err" || { echo "exit status $st but no '$pattern' in the message"; return 1; }
	echo "refused (exit status $st): $(grep -E -- "$pattern" "$WORK/$name.err" | tail -n 1 | cut -c1-120)"
}
# c_discover NAME SUBNQN CONNECTION...: the discovery log over TLS lists
# SUBNQN with sectype tls and treq required.
c_discover() {
	local name=$1 sub=$2
	shift 2
	nvmeof discover "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	cat "$WORK/$name.out" "$WORK/$name.err"
	grep -A 10 "subtype: nvme subsystem" "$WORK/$name.out" | grep -q "subnqn: *$sub\$" ||
		{ echo "no entry for $sub"; return 1; }
	grep -qE '^sectype: *(tls|tls13|TLS 1.3)' "$WORK/$name.out" || { echo "no 'sectype: tls'"; return 1; }
	grep -qE '^treq: *required' "$WORK/$name.out" || { echo "no 'treq: required'"; return 1; }
	echo "$(sed -n 's/^Discovery Log Number of Records \([0-9]*\).*/\1/p' "$WORK/$name.out") records, $sub with sectype tls, treq required"
}

# ------------------------------------------------------------------ SPDK ----

# spdk NAME LIMIT perf|identify|rpc ARGS...: the SPDK tool (one PID from
# here to the binary), stdout and stderr in $WORK/NAME.out/.err.
spdk() {
	local name=$1 limit=$2 st=0
	shift 2
	# shellcheck disable=SC2016 # $$, $0 and $@ are that bash's
	setpriv --pdeathsig TERM -- timeout -k 5 "$limit" \
		setpriv --pdeathsig KILL -- bash -c 'echo $$ >"$0"; exec "$@"' "$WORK/$name.pid" \
		"$SPDK_PEER" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || st=$?
	return "$st"
}
# DPDK leaves a run directory per process (spdk_pidPID): ours go.
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
spdk_ok() {
	[[ -x $SPDK_PEER ]] || { SPDK_WHY="no SPDK peer at $SPDK_PEER"; return 1; }
	[[ -n ${SPDK_READY:-} ]] && return "$SPDK_READY"
	SPDK_READY=1
	if ! "$SPDK_PEER" setup >"$WORK/spdk-setup.log" 2>&1; then
		SPDK_WHY="spdk-peer setup failed ($(tail -n 1 "$WORK/spdk-setup.log"))"
		return 1
	fi
	if ! spdk probe 30 identify -H; then
		SPDK_WHY="spdk_nvme_identify does not run here ($(tail -n 1 "$WORK/probe.err"))"
		return 1
	fi
	SPDK_BIN=${SPDK_PEER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spdk-peer}/spdk-bundle/bin
	[[ -x $SPDK_BIN/nvmf_tgt ]] || { SPDK_WHY="no nvmf_tgt in $SPDK_BIN"; return 1; }
	SPDK_READY=0
}

# perf NAME PORT SUBNQN HOSTNQN PATTERN ARGS...: spdk_nvme_perf over TLS
# (-S ssl), 4 KiB PATTERN at QD 8 on one core for PERF_TIME s.
perf() {
	local name=$1 port=$2 sub=$3 h=$4 w=$5
	shift 5
	spdk "$name" $((CMD_TIMEOUT + PERF_TIME)) perf --no-huge -s "$PERF_MEM" -c 0x1 \
		-q 8 -o 4096 -w "$w" -t "$PERF_TIME" -S ssl \
		-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$sub hostnqn:$h" "$@"
}
perf_total() { sed -n 's/^Total *: *//p' "$WORK/$1.out" | head -n 1; }
# c_perf_good NAME PORT SUBNQN HOSTNQN PATTERN ARGS...
c_perf_good() {
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
	awk -v w="$5" '{printf "%s %.0f IOPS, %.2f MiB/s, no errors\n", w, $1, $2}' <<<"$tot"
}
# c_perf_bad NAME PORT SUBNQN HOSTNQN PATTERN ARGS...: no I/O, not attached.
c_perf_bad() {
	local name=$1 st=0 tot iops
	perf "$@" || st=$?
	grep -v '^EAL: Static memory layout' "$WORK/$name.err" | tail -n 8 || true
	tail -n 4 "$WORK/$name.out"
	tot=$(perf_total "$name")
	iops=$(awk '{print $1}' <<<"$tot")
	if [[ -n $iops ]] && awk -v v="$iops" 'BEGIN { exit !(v > 0) }'; then
		echo "spdk_nvme_perf did I/O ($iops IOPS): expected it not to attach"
		return 1
	fi
	grep -q 'No valid NVMe controllers' "$WORK/$name.out" "$WORK/$name.err" ||
		{ echo "no 'No valid NVMe controllers found'"; return 1; }
	echo "not attached (exit status $st); SPDK: $(grep -hiE 'ssl|tls|psk|sock' "$WORK/$name.err" | grep -v '^EAL' | tail -n 1 | cut -c1-110)"
}

# ------------------------------------------------------------- the cases ----

SUB=nqn.2024-11.io.nvmeof.interop:tls
DISC=nqn.2014-08.org.nvmexpress.discovery
H_SPDK=nqn.2024-11.io.nvmeof.interop:tls-spdk
H_SPDK384=nqn.2024-11.io.nvmeof.interop:tls-spdk384
H_TOOL=nqn.2024-11.io.nvmeof.interop:tls-tool
H_LINUX=nqn.2024-11.io.nvmeof.interop:tls-linux
H_PLAIN=nqn.2024-11.io.nvmeof.interop:tls-plain
K=$WORK/keys

# Our target from a config file: RPORT requires TLS, APORT allows it.
run_config_target() {
	mkdir -p "$K"
	tlskey "$K/spdk.psk" 1
	tlskey "$K/spdk384.psk" 2
	tlskey "$K/tool.psk" 1
	tlskey "$K/linux.psk" 1
	tlskey "$K/wrong.psk" 1 # in no keyring
	local started=0 i tpid
	for i in 1 2 3; do
		RPORT=$(free_port) && APORT=$(free_port) || break
		[[ $RPORT != "$APORT" ]] || continue
		cat >"$WORK/cfg-target.json" <<-EOF
			{ "log_level": "debug",
			  "keys": [ {"name":"spdk","path":"$K/spdk.psk"}, {"name":"spdk384","path":"$K/spdk384.psk"},
			            {"name":"tool","path":"$K/tool.psk"}, {"name":"linux","path":"$K/linux.psk"} ],
			  "subsystems": [ { "nqn": "$SUB", "model": "nvmeof tls interop",
			    "hosts": [ {"nqn":"$H_SPDK","psk":"spdk"}, {"nqn":"$H_SPDK384","psk":"spdk384"},
			               {"nqn":"$H_TOOL","psk":"tool"}, {"nqn":"$H_LINUX","psk":"linux"},
			               {"nqn":"$H_PLAIN"} ],
			    "namespaces": [ {"nsid":1,"backend":"ram","size":"64M"} ] } ],
			  "ports": [ {"id":1,"address":"127.0.0.1","port":$RPORT,"params":{"tls":"required"}},
			             {"id":2,"address":"127.0.0.1","port":$APORT,"params":{"tls":"allowed"}} ] }
		EOF
		if start_target cfg-target --config "$WORK/cfg-target.json"; then
			started=1
			break
		fi
		tail -n 3 "$WORK/cfg-target.log"
	done
	if ((!started)); then
		result FAIL "config: nvmeof-target starts from a config file with TLS ports"
		tail -n 5 "$WORK/cfg-target.log" | sed 's/^/    /'
		return
	fi
	tpid=$TPID
	result PASS "config: nvmeof-target (pid $tpid) from a config file: 4 hosts with 0600 NVMeTLSkey-1 keys, TLS required on 127.0.0.1:$RPORT, allowed on :$APORT"

	local R=(--traddr 127.0.0.1 --trsvcid "$RPORT" --nqn "$SUB") A=(--traddr 127.0.0.1 --trsvcid "$APORT" --nqn "$SUB")

	echo
	say "case 5 (and our own host): our tool -> nvmeof-target (config file)"
	step "case5 tool->cfg: TLS (SHA-256 key file), id-ctrl, write+read verified" \
		c_io cfg-tool "${R[@]}" -q "$H_TOOL" --tls-key "$K/tool.psk"
	step "case5 cfg log: TLSv1.3 TLS_AES_128_GCM_SHA256 with NVMe0R01 identity of the tool" \
		c_tls_line cfg-target "$H_TOOL" "$SUB"
	step "case5 tool->cfg: discovery over TLS lists the subsystem (sectype tls, treq required)" \
		c_discover cfg-disc "$SUB" --traddr 127.0.0.1 --trsvcid "$RPORT" -q "$H_TOOL" --tls-key "$K/tool.psk"
	step "case5: a plain host (no --tls-key) is refused by the TLS-required port" \
		c_refused cfg-plain '[Cc]onnection (reset|closed|refused)|closed the connection|recv|TLS' \
		id-ctrl "${R[@]}" -q "$H_TOOL"
	step "case5 cfg log: 'sent plain NVMe/TCP (no TLS ClientHello) to a listener that requires TLS'" \
		c_log cfg-target 'TLS: host [^ ]+: sent plain NVMe/TCP \(no TLS ClientHello\) to a listener that requires TLS'
	step "case5: a wrong key is refused (TLS handshake fails)" \
		c_refused cfg-wrong 'TLS|alert|[Cc]onnection reset' id-ctrl "${R[@]}" -q "$H_TOOL" --tls-key "$K/wrong.psk"
	step "case5 cfg log: the wrong key: 'the peer's PSK is not this one (... binder does not verify)'" \
		c_log cfg-target "TLS: host [^ ]+, identity \"NVMe0R01 $H_TOOL $SUB\": TLS handshake failed: the peer's PSK is not this one"
	step "case5: the host's key offered for another host NQN is refused" \
		c_refused cfg-otherhost 'TLS|alert|[Cc]onnection reset' id-ctrl "${R[@]}" -q "$H_LINUX" --tls-key "$K/tool.psk"
	step "case5: TLS-allowed port, a host with a PSK in plain: Connect refused" \
		c_refused cfg-allowed-plain 'Connect \(qid 0\) refused' id-ctrl "${A[@]}" -q "$H_TOOL"
	step "case5 cfg log: 'the host has a TLS PSK and connects only over TLS'" \
		c_log cfg-target "host $H_TOOL\) to $SUB, queue 0, refused: the host has a TLS PSK and connects only over TLS"
	step "case5: TLS-allowed port, a host without a PSK in plain: write+read verified" \
		c_io cfg-allowed-nopsk "${A[@]}" -q "$H_PLAIN"
	step "case5: TLS-allowed port, over TLS, with -g -G: write+read verified" \
		c_io cfg-allowed-tls "${A[@]}" -q "$H_TOOL" --tls-key "$K/tool.psk" -g -G
	step "case5: TLS-required port, after the refusals, with -g -G: write+read verified" \
		c_io cfg-after "${R[@]}" -q "$H_TOOL" --tls-key "$K/tool.psk" -g -G
	step "case5: the TP 8018 identity (--tls-identity 1, NVMe1R01 + digest) is accepted" \
		c_io cfg-id1 "${R[@]}" -q "$H_TOOL" --tls-key "$K/tool.psk" --tls-identity 1
	step "case5 cfg log: a NVMe1R01 identity with its digest" \
		c_log cfg-target "TLS with [^ ]+: TLSv1\.3, TLS_AES_128_GCM_SHA256, identity \"NVMe1R01 $H_TOOL $SUB [A-Za-z0-9+/=]{44}\"$"

	if want openssl; then run_openssl; fi
	if want spdk; then run_spdk_host_cfg; fi
	if want linux; then run_linux_host; fi

	step "case5: after all peers, a good connect still works" \
		c_io cfg-final "${R[@]}" -q "$H_TOOL" --tls-key "$K/tool.psk"
	step "case5: nvmeof-target (config file) still running" c_alive "$tpid"
	stop_target "config" cfg-target "$tpid"
}

# Case 6: openssl s_client with the derived TLS PSK; ICReq -> ICResp.
c_vector() {
	printf 'NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:\n' >"$WORK/vector.psk"
	local got
	got=$(derive "$WORK/vector.psk" nqn.psk-test-host nqn.psk-test-subsys)
	[[ $got == "05c6503551ad136e6ee32e6eeb3f6d500b69701d84ec71e328f65c7f51566f68 NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys" ]] ||
		{ echo "derivation gives '$got'"; return 1; }
	echo "v0 SHA-256 vector: TLS PSK 05c65035...6f68 (SECURITY.md 2.4)"
}
# c_sclient NAME PORT KEYFILE HOSTNQN SUBNQN CIPHER [s_client args]
c_sclient() {
	local name=$1 port=$2 kf=$3 h=$4 s=$5 cipher=$6 hex id st=0 out
	shift 6
	read -r hex id < <(derive "$kf" "$h" "$s")
	[[ -n $hex ]] || { echo "no derived PSK"; return 1; }
	out=$WORK/$name.icresp
	# The ICReq: type 0, hlen 128, plen 128 (le32); stdin stays open 2 s.
	(python3 -c 'import sys; sys.stdout.buffer.write(bytes([0,0,128,0])+(128).to_bytes(4,"little")+bytes(120))'
		sleep 2) | setpriv --pdeathsig TERM -- timeout 6 openssl s_client -connect "127.0.0.1:$port" \
		-tls1_3 -quiet -ciphersuites "$cipher" -psk_identity "$id" -psk "$hex" "$@" \
		>"$out" 2>"$WORK/$name.err" || st=$?
	grep -v '^Can.t use SSL_get_servername' "$WORK/$name.err" | tail -n 5 || true
	local n head
	n=$(stat -c %s "$out")
	head=$(head -c 8 "$out" | od -An -tx1 | tr -d ' \n')
	[[ $n == 128 && $head == 0100800080000000 ]] || {
		echo "got $n bytes starting '$head' (openssl status $st); want 128 starting 0100800080000000"
		return 1
	}
	echo "identity \"$id\", $cipher${*:+ $*}: 128-byte ICResp (pfv $(od -An -tx1 -j8 -N2 "$out" | tr -d ' '), maxh2cdata 0x$(od -An -tx4 -j12 -N4 "$out" | tr -d ' '))"
}
run_openssl() {
	command -v openssl >/dev/null || { not_run "openssl s_client (case 6)" "no openssl"; return; }
	echo
	say "case 6: openssl s_client -> nvmeof-target (config file)"
	step "case6: this script's TLS PSK derivation reproduces the SECURITY.md vector" c_vector
	[[ ${RESULTS[-1]} == PASS* ]] || { not_run "openssl s_client (case 6)" "the derivation is wrong"; return; }
	DERIVED+=("$(derive "$K/tool.psk" "$H_TOOL" "$SUB" | cut -d' ' -f1)")
	step "case6: openssl s_client, SHA-256 PSK, ICReq -> ICResp through TLS" \
		c_sclient ossl-256 "$RPORT" "$K/tool.psk" "$H_TOOL" "$SUB" TLS_AES_128_GCM_SHA256
	step "case6: openssl s_client, SHA-256 PSK, group ffdhe3072 (the spec's mandatory group)" \
		c_sclient ossl-ffdhe "$RPORT" "$K/tool.psk" "$H_TOOL" "$SUB" TLS_AES_128_GCM_SHA256 -groups ffdhe3072
	step "case6 cfg log: the s_client handshakes: TLSv1.3, TLS_AES_128_GCM_SHA256, NVMe0R01" \
		c_log cfg-target "TLS with [^ ]+: TLSv1\.3, TLS_AES_128_GCM_SHA256, identity \"NVMe0R01 $H_TOOL $SUB\"$" 2
	# s_client -psk always makes its PSK session with TLS_AES_128_GCM_SHA256
	# (apps/s_client.c psk_use_session_cb), so it cannot offer a SHA-384 PSK.
	not_run "openssl s_client with a SHA-384 PSK (case 6)" "s_client -psk builds its session with TLS_AES_128_GCM_SHA256 only; SHA-384 is covered by spdk_nvme_perf"
}

# Case 1a: spdk_nvme_perf -> the config-file target.
run_spdk_host_cfg() {
	spdk_ok || { not_run "SPDK host -> config-file target (case 1a)" "$SPDK_WHY"; return; }
	echo
	say "case 1a: SPDK spdk_nvme_perf -S ssl -> nvmeof-target (config file)"
	local P=("$RPORT" "$SUB")
	step "case1a spdk perf->cfg: randread, SHA-256 PSK" \
		c_perf_good spdk-cfg-rr "${P[@]}" "$H_SPDK" randread --psk-path "$K/spdk.psk"
	step "case1a spdk perf->cfg: randwrite, SHA-256 PSK" \
		c_perf_good spdk-cfg-rw "${P[@]}" "$H_SPDK" randwrite --psk-path "$K/spdk.psk"
	step "case1a spdk perf->cfg: randrw, SHA-256 PSK, header + data digests (-H -I)" \
		c_perf_good spdk-cfg-dg "${P[@]}" "$H_SPDK" randrw -M 50 --psk-path "$K/spdk.psk" -H -I
	step "case1a cfg log: spdk_nvme_perf's queues: TLSv1.3, TLS_AES_128_GCM_SHA256, NVMe0R01" \
		c_tls_line cfg-target "$H_SPDK" "$SUB"
	step "case1a spdk perf->cfg: randrw, SHA-384 PSK" \
		c_perf_good spdk-cfg-384 "${P[@]}" "$H_SPDK384" randrw -M 50 --psk-path "$K/spdk384.psk"
	step "case1a cfg log: SHA-384 PSK: TLS_AES_256_GCM_SHA384, NVMe0R02" \
		c_tls_line cfg-target "$H_SPDK384" "$SUB" TLS_AES_256_GCM_SHA384
	step "case5 spdk perf->cfg: a wrong PSK does not attach" \
		c_perf_bad spdk-cfg-wrong "${P[@]}" "$H_SPDK" randread --psk-path "$K/wrong.psk"
	step "case5 cfg log: spdk's wrong PSK: the peer's PSK is not this one" \
		c_log cfg-target "TLS: host [^ ]+, identity \"NVMe0R01 $H_SPDK $SUB\": TLS handshake failed: the peer's PSK is not this one"
	step "case5 spdk perf->cfg: no PSK (plain, -S posix) to the TLS-required port does not attach" \
		c_perf_bad spdk-cfg-plain "${P[@]}" "$H_SPDK" randread -S posix
	step "case5 spdk perf->cfg: after the failures, randread works" \
		c_perf_good spdk-cfg-after "${P[@]}" "$H_SPDK" randread --psk-path "$K/spdk.psk"
	not_run "spdk_nvme_identify over TLS (case 1)" "it has -S IMPL but no PSK option (--psk-path is spdk_nvme_perf's)"
}

# Case 3: the Linux 6.12 host (tlshd) -> the config-file target, plain and
# with digests.
linux_ok() {
	[[ -n ${LINUX_READY:-} ]] && return "$LINUX_READY"
	LINUX_READY=1
	[[ -x $LINUX_PEER ]] || { LINUX_WHY="no linux-peer at $LINUX_PEER"; return 1; }
	command -v qemu-system-x86_64 >/dev/null || { LINUX_WHY="no qemu-system-x86_64"; return 1; }
	if ! "$LINUX_PEER" setup --kernel 6.12 --tls >"$WORK/linux-setup.log" 2>&1; then
		LINUX_WHY="linux-peer setup --kernel 6.12 --tls failed: $(grep -i error "$WORK/linux-setup.log" | tail -n 1)"
		return 1
	fi
	LINUX_READY=0
}
GUEST_IO='set -e
echo "controller $LP_CTRL namespace $LP_NS"
for a in tls_key tls_configured_key transport address; do
	[ -r /sys/class/nvme/${LP_CTRL#/dev/}/$a ] && echo "$a: $(cat /sys/class/nvme/${LP_CTRL#/dev/}/$a)"
done
nvme id-ctrl $LP_CTRL | grep -E "^(mn|subnqn) "
dd if=/dev/urandom of=/tmp/pat bs=65536 count=16 2>/dev/null
dd if=/tmp/pat of=$LP_NS bs=65536 count=16 oflag=direct conv=fsync 2>/dev/null
dd if=$LP_NS of=/tmp/back bs=65536 count=16 iflag=direct 2>/dev/null
cmp /tmp/pat /tmp/back
echo "GUEST-IO-OK 1 MiB O_DIRECT written, read back, identical"
dmesg | grep -iE "nvme|tls" | tail -n 8'
# c_linux_host NAME [linux-peer host args]
c_linux_host() {
	local name=$1 st=0
	shift
	setpriv --pdeathsig TERM -- "$LINUX_PEER" host --kernel 6.12 --port "$RPORT" --nqn "$SUB" \
		--hostnqn "$H_LINUX" --tls --tls-key "$(cat "$K/linux.psk")" --no-fio --timeout "$VM_TIMEOUT" "$@" \
		-- "$GUEST_IO" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
	SPID=$!
	wait "$SPID" || st=$?
	SPID=''
	grep -vE '^\s*$' "$WORK/$name.out" | tail -n 40
	tail -n 12 "$WORK/$name.err"
	((st == 0)) || { echo "linux-peer host exit status $st (90 discover, 91 connect, 94 TLS setup)"; return 1; }
	grep -q '^GUEST-IO-OK' "$WORK/$name.out" || { echo "no GUEST-IO-OK"; return 1; }
	grep -q "subnqn: *$SUB" "$WORK/$name.out" || { echo "nvme discover (TLS) did not list $SUB"; return 1; }
	echo "discover over TLS lists $SUB; connected over TLS; $(sed -n 's/^GUEST-IO-OK //p' "$WORK/$name.out") ($(grep -o 'timing: .*' "$WORK/$name.err" | tail -n 1))"
}
run_linux_host() {
	linux_ok || { not_run "Linux 6.12 host (case 3)" "$LINUX_WHY"; return; }
	echo
	say "case 3: Linux 6.12 host (tlshd) -> nvmeof-target (config file), TLS required on :$RPORT"
	step "case3 linux host->cfg: discover over TLS, connect --tls, 1 MiB dd write/read/cmp" c_linux_host linux-host
	step "case3 cfg log: the Linux host's discovery controller over TLS (NVMe0R01 ... $DISC)" \
		c_tls_line cfg-target "$H_LINUX" "$DISC"
	step "case3 cfg log: the Linux host's admin and I/O queues over TLS (NVMe0R01 ... $SUB)" \
		c_tls_line cfg-target "$H_LINUX" "$SUB"
	step "case3 linux host->cfg: with header and data digests (--digest): 1 MiB dd write/read/cmp" \
		c_linux_host linux-host-dg --digest
	step "case3 cfg log: the digest run's queues over TLS too" \
		c_log cfg-target "TLS with [^ ]+: TLSv1\.3, TLS_AES_128_GCM_SHA256, identity \"NVMe0R01 $H_LINUX $SUB\"$" 4
}

# Case 1b: spdk_nvme_perf -> our target configured by rpc.py.
c_rpc_configure() {
	local r=("$SPDK_PEER" rpc -s "$SOCK" -t 10)
	"${r[@]}" nvmf_create_transport -t TCP || echo "(nvmf_create_transport: already there?)"
	"${r[@]}" bdev_malloc_create -b Malloc0 64 512
	"${r[@]}" nvmf_create_subsystem "$SUB" -s NVMEOFTLS0001 -d nvmeof_tls_interop
	"${r[@]}" nvmf_subsystem_add_ns "$SUB" Malloc0
	"${r[@]}" keyring_file_add_key spdkpsk "$K/spdk.psk"
	"${r[@]}" keyring_file_add_key spdk384 "$K/spdk384.psk"
	"${r[@]}" nvmf_subsystem_add_host "$SUB" "$H_SPDK" --psk spdkpsk
	"${r[@]}" nvmf_subsystem_add_host "$SUB" "$H_SPDK384" --psk spdk384
	"${r[@]}" nvmf_subsystem_add_listener "$SUB" -t tcp -a 127.0.0.1 -s "$SPORT" --secure-channel
	"${r[@]}" nvmf_subsystem_get_listeners "$SUB" | tee "$WORK/rpc-listeners.json"
	grep -q '"secure_channel": true' "$WORK/rpc-listeners.json" || { echo "the listener does not say secure_channel true"; return 1; }
	"${r[@]}" save_config >"$WORK/rpc-save_config.json"
	grep -q 'NVMeTLSkey' "$WORK/rpc-save_config.json" && { echo "save_config shows a key"; return 1; }
	echo "2 keys, 2 hosts with --psk, listener 127.0.0.1:$SPORT --secure-channel (secure_channel true), no key in save_config"
}
run_spdk_host_rpc() {
	spdk_ok || { not_run "SPDK host -> rpc.py-configured target (case 1b)" "$SPDK_WHY"; return; }
	echo
	say "case 1b: SPDK spdk_nvme_perf -S ssl -> nvmeof-target configured by rpc.py"
	local started=0 i tpid
	SOCK=$WORK/rpc-target.sock
	for i in 1 2 3; do
		SPORT=$(free_port) || break
		if start_target rpc-target --log-level debug --rpc-socket "$SOCK" --listen "127.0.0.1:$(free_port)"; then
			started=1
			break
		fi
	done
	((started)) || { result FAIL "rpc: nvmeof-target --rpc-socket starts"; return; }
	tpid=$TPID
	result PASS "rpc: nvmeof-target (pid $tpid) with --rpc-socket"
	step "case1b rpc.py: malloc bdev, subsystem, keyring_file_add_key, nvmf_subsystem_add_host --psk, add_listener --secure-channel" \
		c_rpc_configure
	[[ ${RESULTS[-1]} == PASS* ]] || { stop_target rpc rpc-target "$tpid"; return; }
	local P=("$SPORT" "$SUB")
	step "case1b spdk perf->rpc: randread, SHA-256 PSK" \
		c_perf_good spdk-rpc-rr "${P[@]}" "$H_SPDK" randread --psk-path "$K/spdk.psk"
	step "case1b spdk perf->rpc: randwrite, SHA-384 PSK" \
		c_perf_good spdk-rpc-rw "${P[@]}" "$H_SPDK384" randwrite --psk-path "$K/spdk384.psk"
	step "case1b rpc log: TLSv1.3 with both identities" \
		c_log rpc-target "TLS with [^ ]+: TLSv1\.3, TLS_AES_(128_GCM_SHA256, identity \"NVMe0R01 $H_SPDK|256_GCM_SHA384, identity \"NVMe0R02 $H_SPDK384) $SUB\"$" 4
	step "case5 spdk perf->rpc: a wrong PSK does not attach" \
		c_perf_bad spdk-rpc-wrong "${P[@]}" "$H_SPDK" randread --psk-path "$K/wrong.psk"
	step "case5 spdk perf->rpc: after it, randread works" \
		c_perf_good spdk-rpc-after "${P[@]}" "$H_SPDK" randread --psk-path "$K/spdk.psk"
	step "case5: nvmeof-target (rpc.py) still running" c_alive "$tpid"
	stop_target rpc rpc-target "$tpid"
}

# Case 2: our tool -> SPDK nvmf_tgt with a secure-channel listener.
run_spdk_target() {
	spdk_ok || { not_run "our tool -> SPDK nvmf_tgt (case 2)" "$SPDK_WHY"; return; }
	echo
	say "case 2: our tool -> SPDK nvmf_tgt (listener --secure-channel, host --psk)"
	local port sock shm pid log i ssub=nqn.2016-06.io.spdk:tls-interop
	port=$(free_port) || { result FAIL "case2: no free port"; return; }
	sock=$WORK/spdk-tgt.sock log=$WORK/spdk-tgt.log shm=$((port % 10000 + 20000))
	setpriv --pdeathsig TERM -- "$SPDK_BIN/nvmf_tgt" -m 0x1 --no-huge -s 1024 --no-pci \
		-r "$sock" -i "$shm" >"$log" 2>&1 </dev/null &
	pid=$!
	SPDK_PIDS+=("$pid")
	DPDK_DIRS+=("spdk$shm")
	local r=("$SPDK_PEER" rpc -s "$sock" -t 10)
	for ((i = 0; i < 300; i++)); do
		[[ -S $sock ]] && "${r[@]}" spdk_get_version >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! (
		set -e
		"${r[@]}" nvmf_create_transport -t TCP
		"${r[@]}" bdev_malloc_create -b Malloc0 64 512
		"${r[@]}" nvmf_create_subsystem "$ssub" -s SPDKTLS0001 -d SPDK_tls_interop
		"${r[@]}" nvmf_subsystem_add_ns "$ssub" Malloc0
		"${r[@]}" nvmf_subsystem_add_listener "$ssub" -t tcp -a 127.0.0.1 -s "$port" -k
		"${r[@]}" keyring_file_add_key psk "$K/tool.psk"
		"${r[@]}" nvmf_subsystem_add_host "$ssub" "$H_TOOL" --psk psk
	) >>"$log" 2>&1; then
		result FAIL "case2: SPDK nvmf_tgt starts and takes the TLS configuration"
		tail -n 8 "$log" | sed 's/^/    /'
		stop_pid "$pid" 10 || true
		return
	fi
	result PASS "case2: SPDK nvmf_tgt (pid $pid) on 127.0.0.1:$port, listener -k, host --psk"
	local S=(--traddr 127.0.0.1 --trsvcid "$port" --nqn "$ssub" -q "$H_TOOL")
	step "case2 tool->spdk: id-ctrl, 1 MiB write with 2 I/O queues, read back, identical" \
		c_io spdk-tgt-io "${S[@]}" --tls-key "$K/tool.psk"
	step "case2 tool->spdk: the same with header and data digests (-g -G)" \
		c_io spdk-tgt-dg "${S[@]}" --tls-key "$K/tool.psk" -g -G
	step "case2 tool->spdk: a wrong key is refused" \
		c_refused spdk-tgt-wrong 'TLS|alert|[Cc]onnection (reset|closed)' id-ctrl "${S[@]}" --tls-key "$K/wrong.psk"
	step "case2 tool->spdk: plain (no --tls-key) to the secure listener is refused" \
		c_refused spdk-tgt-plain '.' id-ctrl "${S[@]}"
	step "case2 tool->spdk: after the refusals, write+read verified" \
		c_io spdk-tgt-after "${S[@]}" --tls-key "$K/tool.psk"
	grep -iE 'tls|ssl|psk' "$log" | grep -v '^\[.*NOTICE' | tail -n 6 | sed 's/^/  nvmf_tgt: /' || true
	stop_pid "$pid" 10 || true
}

# Case 4: our tool -> Linux 6.12 nvmet with TLS required.
run_linux_target() {
	linux_ok || { not_run "our tool -> Linux 6.12 nvmet (case 4)" "$LINUX_WHY"; return; }
	echo
	say "case 4: our tool -> Linux 6.12 nvmet-tcp, TLS 1.3 required (booting the VM)"
	local lsub=nqn.2024-11.io.nvmeof.interop:tls-linux-target h=$H_TOOL port st i started=0
	tlskey "$K/ltarget.psk" 1
	for i in 1 2 3; do
		port=$(free_port) || break
		st=0
		setpriv --pdeathsig TERM -- timeout $((BOOT_TIMEOUT + 30)) "$LINUX_PEER" target --kernel 6.12 --background \
			--port "$port" --nqn "$lsub" --timeout "$VM_LIFETIME" --boot-timeout "$BOOT_TIMEOUT" \
			--pidfile "$WORK/linux-target.pid" --hostnqn "$h" --tls --tls-key "$(cat "$K/ltarget.psk")" \
			>"$WORK/linux-target.log" 2>&1 </dev/null || st=$?
		VM_PID=$(cat "$WORK/linux-target.pid" 2>/dev/null || true)
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
		result FAIL "case4: the Linux 6.12 nvmet-tcp VM with TLS prints READY"
		tail -n 15 "$WORK/linux-target.log" | sed 's/^/    /'
		return
	fi
	result PASS "case4: Linux 6.12 nvmet-tcp, TLS required, ready on 127.0.0.1:$port"
	local L=(--traddr 127.0.0.1 --trsvcid "$port" -q "$h")
	step "case4 tool->linux: discovery over TLS lists the subsystem" \
		c_discover linux-tgt-disc "$lsub" "${L[@]}" --tls-key "$K/ltarget.psk"
	step "case4 tool->linux: id-ctrl, 1 MiB write with 2 I/O queues, read back, identical" \
		c_io linux-tgt-io "${L[@]}" --nqn "$lsub" --tls-key "$K/ltarget.psk"
	step "case4 tool->linux: the same with header and data digests (-g -G)" \
		c_io linux-tgt-dg "${L[@]}" --nqn "$lsub" --tls-key "$K/ltarget.psk" -g -G
	step "case4 tool->linux: a wrong key is refused" \
		c_refused linux-tgt-wrong '.' id-ctrl "${L[@]}" --nqn "$lsub" --tls-key "$K/wrong.psk"
	step "case4 tool->linux: plain (no --tls-key) is refused" \
		c_refused linux-tgt-plain '.' id-ctrl "${L[@]}" --nqn "$lsub"
	step "case4 tool->linux: after the refusals, write+read verified" \
		c_io linux-tgt-after "${L[@]}" --nqn "$lsub" --tls-key "$K/ltarget.psk"
	if stop_pid "$VM_PID" 15; then
		result PASS "case4: the VM stopped on SIGTERM to its timeout process"
	else
		result FAIL "case4: the VM did not stop within 15 s of SIGTERM (SIGKILLed)"
	fi
	VM_PID=''
	"$LINUX_PEER" stop --port "$port" >/dev/null 2>&1 || true
	VM_PORT=''
}

# -------------------------------------------------------------------- run ---

run_config_target
if want spdk; then
	run_spdk_host_rpc
	run_spdk_target
fi
if want linux; then run_linux_target; fi

ran_peer=0
for r in "${RESULTS[@]}"; do
	case $r in *case1* | *case2* | *case3* | *case4* | *case6*) ran_peer=1 ;; esac
done
if ((!ran_peer)); then
	skip "no peer could run: ${NOT_RUN[*]}"
fi
step "no secret in any log or output (keys' base64 bodies, derived TLS PSKs)" \
	c_no_secrets "$WORK"/*.log "$WORK"/*.out "$WORK"/*.err "$WORK"/*.json "$WORK"/*.idctrl

summary
exit "$FAILED"
