# shellcheck shell=sh disable=SC2016 # the steps expand their variables themselves
# The checks that run_interop.sh runs inside the VM (busybox sh, through
# `vm.sh run`): the Linux kernel's NVMe/TCP host and nvme-cli against the
# target at $TARGET_ADDR:$TARGET_PORT.  Each step runs under `sh -e` and
# ends with one line, "PASS <step> (<seconds>s)" or "FAIL <step> (...)";
# after a failure the rest of its group is reported as "FAIL ... (not run)".
# Exit status: the number of failed steps (0: all passed).
# Input: NQN (default nqn.2024-11.io.nvmeof:ram0), FILE_NQN (a subsystem
# with a file namespace; its checks are skipped when unset), LIVE_NQN and
# RPC_TOKEN (a subsystem changed through the target's control plane while
# connected, and the token of that control plane on TCP; skipped when
# unset or without TARGET_RPC_PORT), TARGET_ADDR, TARGET_PORT,
# TARGET_DISC_PORT, TARGET_RPC_PORT (set by vm.sh).

: "${NQN:=nqn.2024-11.io.nvmeof:ram0}"
export NQN TARGET_ADDR TARGET_PORT TARGET_DISC_PORT TARGET_RPC_PORT RPC_TOKEN

# Helpers for the steps, which run in their own `sh -e`.
cat >/tmp/lib.sh <<'EOF'
# Wait until a live controller of $NQN has a namespace block device; write
# "CTRL=/dev/nvmeX NS=/dev/nvmeYnZ" to /tmp/dev.
wait_dev() {
	i=0
	while [ $i -lt 100 ]; do
		for c in /sys/class/nvme/nvme*; do
			[ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
			[ "$(cat "$c/state" 2>/dev/null)" = live ] || continue
			for b in /sys/block/nvme*n*; do
				case ${b##*/} in nvme*c*n*) continue ;; esac # multipath paths
				[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
				[ -b "/dev/${b##*/}" ] || continue
				CTRL=/dev/${c##*/} NS=/dev/${b##*/}
				echo "CTRL=$CTRL NS=$NS" >/tmp/dev
				cat /tmp/dev
				return 0
			done
		done
		i=$((i + 1))
		sleep 0.1
	done
	echo "no live controller with a namespace for $NQN after 10 s"
	ls /sys/class/nvme/ /sys/block/
	return 1
}
# Wait until no controller of $NQN is left.
wait_gone() {
	i=0
	while [ $i -lt 100 ]; do
		grep -qsxF "$NQN" /sys/class/nvme/nvme*/subsysnqn || return 0
		i=$((i + 1))
		sleep 0.1
	done
	echo "a controller of $NQN is still there after 10 s"
	return 1
}
# 1 MiB O_DIRECT write of a random pattern at MiB offset $1, read back with
# O_DIRECT, compared byte for byte; the pattern stays in /tmp/pattern.$1.
dd_check() {
	dd if=/dev/urandom of="/tmp/pattern.$1" bs=1M count=1 2>/dev/null
	dd if="/tmp/pattern.$1" of="$NS" bs=1M seek="$1" count=1 oflag=direct
	dd if="$NS" of=/tmp/readback bs=1M skip="$1" count=1 iflag=direct
	cmp "/tmp/pattern.$1" /tmp/readback
	echo "1 MiB at offset $1 MiB: written, read back, identical"
}
# fio on $NS with these options, O_DIRECT, crc32c verify (fatal); prints
# its summary and fails unless it ended with err= 0.
fio_verify() {
	eng=psync
	fio --enghelp 2>/dev/null | grep -qw libaio && eng=libaio
	fio --filename="$NS" --ioengine=$eng --direct=1 --verify=crc32c --verify_fatal=1 \
		--group_reporting "$@" >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; return 1; }
	grep -E "^ *(write|read|WRITE|READ):|err=" /tmp/fio.out
	grep -q "err= 0" /tmp/fio.out
}
# rpc METHOD PARAMS: one JSON-RPC call to the target's control plane (TCP,
# with the token) through busybox nc, which half-closes after the request:
# the target answers, then closes. Prints the response; fails on an error.
rpc() {
	printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s,"token":"%s"}' \
		"$1" "$2" "$RPC_TOKEN" | nc "$TARGET_ADDR" "$TARGET_RPC_PORT" >/tmp/rpc.out
	echo "rpc $1: $(cat /tmp/rpc.out)"
	grep -q '"result"' /tmp/rpc.out
}
# ns_dev NSID: prints the block device of namespace NSID of $NQN; fails if
# there is none.
ns_dev() {
	for b in /sys/block/nvme*n*; do
		case ${b##*/} in nvme*c*n*) continue ;; esac
		[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
		[ "$(cat "$b/nsid" 2>/dev/null)" = "$1" ] || continue
		echo "/dev/${b##*/}"
		return 0
	done
	return 1
}
# sectors DEV: its size in 512-byte sectors.
sectors() { cat "/sys/block/${1#/dev/}/size"; }
# await COMMAND WHAT: until COMMAND succeeds, for up to 10 s.
await() {
	i=0
	while [ $i -lt 100 ]; do
		eval "$1" >/dev/null 2>&1 && return 0
		i=$((i + 1))
		sleep 0.1
	done
	echo "not within 10 s: $2"
	ls /sys/block/
	return 1
}
EOF

pass=0 fail=0 skip_rest=''
uptime_s() { read -r u _ </proc/uptime && echo "$u"; }

# step NAME COMMANDS
step() {
	if [ -n "$skip_rest" ]; then
		echo "FAIL $1 (not run: $skip_rest)"
		fail=$((fail + 1))
		return 1
	fi
	echo "STEP $1"
	t0=$(uptime_s)
	# shellcheck source=/dev/null
	[ ! -e /tmp/dev ] || . /tmp/dev
	CTRL=${CTRL:-} NS=${NS:-} sh -ec ". /tmp/lib.sh; $2"
	rc=$?
	t=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')
	if [ $rc -eq 0 ]; then
		echo "PASS $1 (${t}s)"
		pass=$((pass + 1))
		return 0
	fi
	echo "FAIL $1 (exit status $rc after ${t}s)"
	fail=$((fail + 1))
	skip_rest="'$1' failed"
	return 1
}

# group NAME: start a group of steps; end_group: leave no controller behind.
group() {
	echo
	echo "=== $1"
	skip_rest='' CTRL='' NS=''
	rm -f /tmp/dev
}
end_group() {
	if [ -n "$skip_rest" ]; then
		nvme disconnect -n "$NQN" >/dev/null 2>&1
		# shellcheck source=/dev/null
		(. /tmp/lib.sh && wait_gone >/dev/null)
	fi
}

connect() { # connect-step commands, with extra nvme connect options $1
	echo "nvme connect -t tcp -a \"\$TARGET_ADDR\" -s \"\$TARGET_PORT\" -n \"\$NQN\" $1
wait_dev"
}
disconnect='nvme disconnect -n "$NQN"; wait_gone'

group "discovery"
step "discover: nvme discover lists $NQN" '
	nvme discover -t tcp -a "$TARGET_ADDR" -s "$TARGET_DISC_PORT" >/tmp/disc
	cat /tmp/disc
	grep -q "^subnqn: *$NQN\$" /tmp/disc'
end_group

group "plain connection"
step "plain: nvme connect" "$(connect '')"
step "plain: nvme list" 'nvme list | tee /tmp/list; grep -q "^$NS " /tmp/list'
step "plain: nvme id-ctrl" '
	nvme id-ctrl "$CTRL" >/tmp/idctrl
	grep -E "^(vid|sn|mn|fr|mdts|cntlid|ver|kas|sqes|cqes|nn|sgls|ioccsz|iorcsz|subnqn) " /tmp/idctrl
	grep -q "^subnqn *: $NQN\$" /tmp/idctrl'
step "plain: nvme id-ns" '
	nvme id-ns "$NS" >/tmp/idns
	grep -E "^(nsze|ncap|nuse|nlbaf|flbas|lbaf +[0-9]+ .*in use)" /tmp/idns
	grep -Eq "^nsze *: 0x0*[1-9a-f]" /tmp/idns'
step "plain: nvme smart-log" 'nvme smart-log "$CTRL"'
step "plain: nvme flush" 'nvme flush "$NS"'
step "plain: 1 MiB O_DIRECT write, read back, compare" 'dd_check 1'
# Linux sends Dataset Management with a 4096-byte range buffer whatever
# the range count: write 1 MiB at 8 MiB, discard it, read back zeros.
step "plain: blkdiscard 1 MiB, reads back zeros" '
  dd if=/dev/urandom of=/tmp/rnd bs=64k count=16 2>/dev/null
  dd if=/tmp/rnd of="$NS" bs=64k seek=128 count=16 oflag=direct 2>/dev/null
  blkdiscard -o 8388608 -l 1048576 "$NS"
  test "$(dd if="$NS" bs=64k skip=128 count=16 iflag=direct 2>/dev/null | tr -d "\000" | wc -c)" -eq 0'
step "plain: nvme disconnect" "$disconnect"
end_group

group "header and data digests, 2 I/O queues"
step "digest: nvme connect --hdr-digest --data-digest -i 2" "$(connect '--hdr-digest --data-digest -i 2')
	echo \"queue_count (admin + I/O): \$(cat /sys/class/nvme/\${CTRL#/dev/}/queue_count)\""
step "digest: data written by the plain connection reads back" '
	dd if="$NS" of=/tmp/readback bs=1M skip=1 count=1 iflag=direct
	cmp /tmp/pattern.1 /tmp/readback'
step "digest: 1 MiB O_DIRECT write, read back, compare" 'dd_check 5'
step "digest: nvme disconnect" "$disconnect"
end_group

group "fio"
step "fio: nvme connect" "$(connect '')"
step "fio: randwrite 4k-128k, verify crc32c" '
	fio_verify --name=interop --iodepth=8 --rw=randwrite --bsrange=4k-128k \
		--numjobs=2 --size=32M --offset_increment=32M --do_verify=1'
step "fio: nvme disconnect" "$disconnect"
end_group

# Reads of a file namespace go through the target's buffers: verifying
# while writing (reads and in-capsule writes in flight together) checks
# that no read's data is overwritten before it is sent.
if [ -n "${FILE_NQN:-}" ]; then
	NQN_RAM=$NQN
	NQN=$FILE_NQN
	group "fio on a file namespace"
	step "file: nvme connect -i 2" "$(connect '-i 2')"
	step "file: randwrite 4k at QD 16, verified while writing" '
		fio_verify --name=file --iodepth=16 --rw=randwrite --bs=4k \
			--numjobs=2 --size=8M --offset_increment=16M --verify_backlog=32'
	step "file: nvme disconnect" "$disconnect"
	end_group
	NQN=$NQN_RAM
fi

# Namespaces added, resized and removed through the control plane while
# the host is connected: the host hears of each (Namespace Attribute
# Changed) and its block devices follow.
if [ -n "${LIVE_NQN:-}" ] && [ -n "${TARGET_RPC_PORT:-}" ] && [ -n "${RPC_TOKEN:-}" ]; then
	NQN_RAM=$NQN
	NQN=$LIVE_NQN
	group "namespaces changed while connected (the control plane, over the VM's NAT)"
	step "live: nvme connect" "$(connect '')"
	step "live: nvmf_subsystem_add_ns: namespace 2 appears, 32 MiB" '
		rpc nvmf_subsystem_add_ns "{\"nqn\": \"$NQN\", \"namespace\": {\"bdev_name\": \"Live2\", \"nsid\": 2}}"
		await "ns_dev 2" "a block device for namespace 2"
		dev=$(ns_dev 2)
		echo "namespace 2: $dev, $(sectors "$dev") sectors"
		test "$(sectors "$dev")" -eq 65536'
	step "live: bdev_resize to 64 MiB: namespace 2 shows its new size" '
		rpc bdev_resize "{\"name\": \"Live2\", \"new_size\": 64}"
		dev=$(ns_dev 2)
		await "test \$(sectors $dev) -eq 131072" "namespace 2 at 64 MiB"
		echo "namespace 2: $(sectors "$dev") sectors"'
	step "live: nvmf_subsystem_remove_ns: namespace 2 goes, namespace 1 stays" '
		rpc nvmf_subsystem_remove_ns "{\"nqn\": \"$NQN\", \"nsid\": 2}"
		await "! ns_dev 2" "namespace 2 gone"
		ns_dev 1'
	step "live: namespace 1 still writes and reads back" 'dd_check 2'
	step "live: nvme disconnect" "$disconnect"
	end_group
	NQN=$NQN_RAM
fi

if [ $fail -ne 0 ]; then
	echo
	echo "=== guest dmesg | tail -50"
	dmesg | tail -50
fi
echo
echo "guest: $pass passed, $fail failed"
exit $fail
