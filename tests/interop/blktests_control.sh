#!/bin/bash
# tests/interop/blktests_control.sh: blktests' NVME_TARGET_CONTROL script
# for nvmeof-target.  It runs in the VM (run_blktests.sh stages it there)
# and drives the target through its JSON-RPC control plane on TCP (busybox
# nc, one request per connection, with the token).
#
#   config --show-blkdev-type | --show-trtype | --show-hostnqn |
#          --show-hostid | --show-host-traddr | --show-traddr |
#          --show-trsvid | --show-subsys-uuid | --show-subsysnqn
#       Prints the value (several flags: one line each).
#   setup --subsysnqn NQN --subsys-uuid UUID --hostnqn NQN
#         [--hostkey KEY] [--ctrlkey KEY | --ctrkey KEY]
#       A RAM bdev of BT_SIZE_MB MiB (bdev_malloc_create, UUID = UUID), the
#       subsystem (no host but NQN allowed), namespace 1 on the bdev with
#       that UUID, the host, and the subsystem on the target's port (the one
#       the VM reaches).  A subsystem of that NQN left over is deleted
#       first.  DH-HMAC-CHAP keys: the harness's 6.1 guest cannot
#       authenticate (no NVME_AUTH), so setup refuses them (status 3) and
#       creates nothing.
#   add-ports --ports N --subsysnqn NQN ...
#       The VM reaches the target on one port only, which setup used:
#       nothing to add (status 0, logged).
#   cleanup --subsysnqn NQN
#       Deletes the subsystem (which ends its associations) and its bdev.
#       Nothing to delete is not an error.
#
# blktests sends setup's and cleanup's output to /dev/null and ignores
# their status: everything goes to the log, BT_LOG.  Settings: the file
# ${BLKTESTS_CONTROL_ENV:-/etc/blktests_control.env} (shell assignments):
# BT_RPC_ADDR, BT_RPC_PORT, BT_RPC_TOKEN (the control plane as the VM
# reaches it), BT_TRADDR, BT_TRSVCID (the NVMe/TCP port as the VM reaches
# it), BT_LISTEN_ADDR, BT_LISTEN_PORT (that port as the target knows it),
# BT_SUBSYSNQN, BT_SUBSYS_UUID (the defaults blktests uses), BT_SIZE_MB,
# BT_BLOCK_SIZE, BT_BLKDEV_TYPE, BT_LOG.
# Exit status: 0 done, 1 an RPC failed, 2 usage, 3 not supported.
set -u
export LC_ALL=C

ENV_FILE=${BLKTESTS_CONTROL_ENV:-/etc/blktests_control.env}
if [[ -r $ENV_FILE ]]; then
	# shellcheck source=/dev/null
	. "$ENV_FILE"
fi
: "${BT_RPC_ADDR:=10.0.2.100}" "${BT_RPC_PORT:=5260}" "${BT_RPC_TOKEN:=}"
: "${BT_TRADDR:=10.0.2.100}" "${BT_TRSVCID:=4420}"
: "${BT_LISTEN_ADDR:=127.0.0.1}" "${BT_LISTEN_PORT:=4420}"
: "${BT_SUBSYSNQN:=nqn.2024-11.io.nvmeof:blktests-subsystem-1}"
: "${BT_SUBSYS_UUID:=91fdba0d-f87b-4c25-b80f-db7be1418b9e}"
# "file", not "device": for "device" blktests binds a loop device to its
# image file, which it never unbinds with a remote target (its
# _cleanup_blkdev is not reached then), and the loop module it loaded then
# cannot be unloaded: check waits for that after every test.  The image is
# not used either way; the namespace is a RAM bdev of the target.
: "${BT_SIZE_MB:=1024}" "${BT_BLOCK_SIZE:=512}" "${BT_BLKDEV_TYPE:=file}"
: "${BT_LOG:=/tmp/blktests_control.log}"

log() {
	local up
	read -r up _ </proc/uptime 2>/dev/null || up='?'
	printf '[%s] %s\n' "$up" "$*" >>"$BT_LOG"
}
fail() { # STATUS MESSAGE...
	local st=$1
	shift
	log "error: $*"
	echo "blktests_control: $*" >&2
	exit "$st"
}

# A JSON string literal.
jstr() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# rpc METHOD PARAMS: one request; the answer in RPC_OUT.  Status 1 if the
# answer is an error or missing.
RPC_OUT=''
rpc() {
	local req t0 t1
	req=$(printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s,"token":%s}' \
		"$1" "$2" "$(jstr "$BT_RPC_TOKEN")")
	read -r t0 _ </proc/uptime
	RPC_OUT=$(printf '%s' "$req" | timeout 30 nc "$BT_RPC_ADDR" "$BT_RPC_PORT" 2>&1)
	read -r t1 _ </proc/uptime
	log "  rpc $1 $2 -> ${RPC_OUT:-<no answer>} ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s)"
	[[ -n $RPC_OUT && $RPC_OUT == *'"result"'* ]]
}

# The bdev that backs NQN's namespace.
bdev_name() { printf 'blktests%s' "$(printf '%s' "$1" | cksum | cut -d' ' -f1)"; }

cmd_config() {
	(($#)) || fail 2 "config: which value? (--show-...)"
	local a
	for a in "$@"; do
		case $a in
		--show-blkdev-type) echo "$BT_BLKDEV_TYPE" ;;
		--show-trtype) echo tcp ;;
		--show-hostnqn) cat /etc/nvme/hostnqn ;;
		--show-hostid) cat /etc/nvme/hostid ;;
		--show-host-traddr) ip -4 -o addr show dev eth0 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }' ;;
		--show-traddr) echo "$BT_TRADDR" ;;
		--show-trsvid | --show-trsvcid) echo "$BT_TRSVCID" ;;
		--show-subsys-uuid) echo "$BT_SUBSYS_UUID" ;;
		--show-subsysnqn) echo "$BT_SUBSYSNQN" ;;
		*) fail 2 "config: unknown option $a" ;;
		esac
	done
}

# Delete NQN's subsystem and bdev; 0 unless an RPC failed for another
# reason than "not there".
remove_subsystem() {
	local nqn=$1 bdev rc=0
	bdev=$(bdev_name "$nqn")
	if ! rpc nvmf_delete_subsystem "{\"nqn\":$(jstr "$nqn")}"; then
		[[ $RPC_OUT == *"does not exist"* ]] || rc=1
	fi
	if ! rpc bdev_malloc_delete "{\"name\":$(jstr "$bdev")}"; then
		[[ $RPC_OUT == *'"code":-19'* ]] || rc=1
	fi
	return $rc
}

cmd_setup() {
	local nqn=$BT_SUBSYSNQN uuid=$BT_SUBSYS_UUID hostnqn='' hostkey='' ctrlkey='' bdev blocks
	while (($#)); do
		case $1 in
		--subsysnqn | --subsys-uuid | --hostnqn | --hostkey | --ctrlkey | --ctrkey)
			(($# >= 2)) || fail 2 "setup: $1 needs a value"
			;;&
		--subsysnqn) nqn=$2 ;;
		--subsys-uuid) uuid=$2 ;;
		--hostnqn) hostnqn=$2 ;;
		--hostkey) hostkey=$2 ;;
		--ctrlkey | --ctrkey) ctrlkey=$2 ;;
		*) fail 2 "setup: unknown option $1" ;;
		esac
		shift 2
	done
	[[ -n $hostnqn ]] || hostnqn=$(cat /etc/nvme/hostnqn)
	if [[ -n $hostkey || -n $ctrlkey ]]; then
		fail 3 "setup $nqn: DH-HMAC-CHAP keys given (--hostkey/--ctrlkey), but this" \
			"harness's 6.1 guest cannot authenticate (no NVME_AUTH) and does not pass keys" \
			"to the target's keyring yet: nothing created"
	fi
	bdev=$(bdev_name "$nqn")
	blocks=$((BT_SIZE_MB * 1048576 / BT_BLOCK_SIZE))
	# A subsystem left over (a test that did not clean up) goes first.
	if rpc nvmf_get_subsystems "{\"nqn\":$(jstr "$nqn")}"; then
		log "  note: $nqn exists already: deleting it first"
		remove_subsystem "$nqn" || true
	fi
	rpc bdev_malloc_create "{\"name\":$(jstr "$bdev"),\"num_blocks\":$blocks,\"block_size\":$BT_BLOCK_SIZE,\"uuid\":$(jstr "$uuid")}" ||
		fail 1 "setup $nqn: bdev_malloc_create failed"
	rpc nvmf_create_subsystem "{\"nqn\":$(jstr "$nqn"),\"allow_any_host\":false}" ||
		fail 1 "setup $nqn: nvmf_create_subsystem failed"
	rpc nvmf_subsystem_add_ns "{\"nqn\":$(jstr "$nqn"),\"namespace\":{\"bdev_name\":$(jstr "$bdev"),\"nsid\":1,\"uuid\":$(jstr "$uuid")}}" ||
		fail 1 "setup $nqn: nvmf_subsystem_add_ns failed"
	rpc nvmf_subsystem_add_host "{\"nqn\":$(jstr "$nqn"),\"host\":$(jstr "$hostnqn")}" ||
		fail 1 "setup $nqn: nvmf_subsystem_add_host failed"
	rpc nvmf_subsystem_add_listener "{\"nqn\":$(jstr "$nqn"),\"listen_address\":{\"trtype\":\"TCP\",\"adrfam\":\"IPv4\",\"traddr\":$(jstr "$BT_LISTEN_ADDR"),\"trsvcid\":\"$BT_LISTEN_PORT\"}}" ||
		fail 1 "setup $nqn: nvmf_subsystem_add_listener failed"
	log "  setup $nqn done: nsid 1 = $bdev ($BT_SIZE_MB MiB, $BT_BLOCK_SIZE-byte blocks, uuid $uuid), host $hostnqn"
}

cmd_cleanup() {
	local nqn=$BT_SUBSYSNQN
	while (($#)); do
		case $1 in
		--subsysnqn)
			(($# >= 2)) || fail 2 "cleanup: $1 needs a value"
			nqn=$2
			shift 2
			;;
		*) fail 2 "cleanup: unknown option $1" ;;
		esac
	done
	remove_subsystem "$nqn" || fail 1 "cleanup $nqn: an RPC failed"
	log "  cleanup $nqn done"
}

cmd_add_ports() {
	log "  add-ports: the VM reaches the target on one port ($BT_TRADDR:$BT_TRSVCID), which setup" \
		"put the subsystem on: nothing to add"
}

(($#)) || fail 2 "usage: $0 config|setup|cleanup|add-ports [options]"
cmd=$1
shift
log "$cmd $*"
case $cmd in
config) cmd_config "$@" ;;
setup) cmd_setup "$@" ;;
cleanup) cmd_cleanup "$@" ;;
add-ports) cmd_add_ports "$@" ;;
*) fail 2 "unknown command $cmd" ;;
esac
