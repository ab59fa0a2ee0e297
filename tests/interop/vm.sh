#!/usr/bin/env bash
# tests/interop/vm.sh: boots the Linux kernel in a throw-away qemu VM as an
# NVMe/TCP *host* (kernel nvme-tcp + nvme-cli + fio) and runs shell commands
# in it against an NVMe/TCP target listening on this machine's 127.0.0.1.
#
#   vm.sh setup
#       Idempotent.  apt-get installs what is missing, fetches the Debian
#       cloud kernel package (apt-get download, unpacked into the cache, not
#       installed) and builds the initramfs.
#   vm.sh run --port P [--disc-port P2] [--timeout S] [--cpus N] [--mem MiB]
#             [--console FILE] [--script FILE] [-- 'shell commands']
#       Boots the VM and runs the commands (busybox sh, cwd /tmp) with
#       TARGET_ADDR=10.0.2.100 TARGET_PORT=4420 (= host 127.0.0.1:P) and
#       TARGET_DISC_PORT (8009 = host 127.0.0.1:P2 with --disc-port, else
#       4420).  The commands' output (stdout and stderr, merged) goes to our
#       stdout; vm.sh's own messages to stderr.  Exit status: the commands'
#       status, 124 on --timeout (default 300 s), 125 on a harness error.
#       --console saves the guest kernel's console (all kernel messages).
#
# Network: qemu user-mode networking with restrict=on (the guest can open no
# connection of its own) and one guestfwd rule per port: a guest connection
# to 10.0.2.100:4420 makes qemu start `socat - TCP4:127.0.0.1:P`, so the
# guest reaches the target on the host loopback and nothing else.
#
# Cache: ${NVMEOF_INTEROP_CACHE:-$HOME/.cache/nvmeof-interop}.
# NVMEOF_INTEROP_ACCEL=kvm|tcg overrides the choice of accelerator.
set -euo pipefail
export LC_ALL=C

PROG=vm.sh
SELF=$(readlink -f "${BASH_SOURCE[0]}")
CACHE=${NVMEOF_INTEROP_CACHE:-${HOME:-/tmp}/.cache/nvmeof-interop}
KERNEL_META=linux-image-cloud-amd64
PACKAGES=(qemu-system-x86 busybox-static nvme-cli fio kmod cpio socat xz-utils zstd lz4)
# Guest modules; modprobe --show-depends adds nvme_fabrics and the rest.
MODULES=(virtio_pci virtio_net virtio_console nvme_tcp crc32c_intel crc32c_generic)
GUEST_IP=10.0.2.15 GATEWAY=10.0.2.2 TARGET_IP=10.0.2.100
GUEST_PORT=4420 GUEST_DISC_PORT=8009
EXIT_MARK=@@NVMEOF-VM-EXIT@@ UP_MARK=@@NVMEOF-VM-UP@@

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	log "error: $*"
	exit 125
}

# ------------------------------------------------------------------ setup ---

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

install_packages() {
	local missing=() p sudo=()
	for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
	((${#missing[@]})) || return 0
	if ((EUID != 0)); then
		sudo -n true 2>/dev/null || die "packages missing (${missing[*]}) and not root (no sudo -n)"
		sudo=(sudo -n)
	fi
	log "apt-get install ${missing[*]}"
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends)
	"${apt[@]}" "${missing[@]}" >&2 ||
		{ "${sudo[@]}" apt-get update -q >&2 && "${apt[@]}" "${missing[@]}" >&2; } ||
		die "apt-get install ${missing[*]} failed"
}

# linux-image-cloud-amd64 -> the versioned package, e.g.
# linux-image-6.1.0-56-cloud-amd64.
kernel_package() {
	local p
	p=$(apt-cache depends "$KERNEL_META" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [[ -z $p ]]; then
		if ((EUID == 0)); then apt-get update -q >&2 || true; fi
		p=$(apt-cache depends "$KERNEL_META" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	printf '%s\n' "$p"
}

# Unpack the kernel package into $CACHE/kernel/PKG (modules.dep included).
fetch_kernel() {
	local pkg=$1 dir=$CACHE/kernel/$1 dl kver
	[[ -e $dir/.complete ]] && return 0
	log "apt-get download $pkg"
	rm -rf "$dir" "$dir.tmp"
	dl=$(mktemp -d "$CACHE/dl.XXXXXX")
	local opts=()
	((EUID != 0)) || opts=(-o APT::Sandbox::User=root) # _apt cannot write here
	(cd "$dl" && apt-get download -q "${opts[@]}" "$pkg" >&2) || {
		rm -rf "$dl"
		die "apt-get download $pkg failed"
	}
	mkdir -p "$dir.tmp"
	dpkg-deb -x "$dl"/*.deb "$dir.tmp"
	rm -rf "$dl"
	kver=$(basename "$(ls -d "$dir.tmp"/lib/modules/*/)")
	depmod -b "$dir.tmp" "$kver"
	touch "$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
}

# The uncompressed vmlinux inside a bzImage, found through the boot header
# (setup_sects at 0x1f1, payload_offset/payload_length at 0x248/0x24c).
# qemu boots it through its PVH entry point: no decompression in the guest,
# which takes seconds under TCG.
extract_vmlinux() {
	local img=$1 out=$2 sects off len start magic dec
	sects=$(od -An -tu1 -j $((0x1f1)) -N 1 "$img" | tr -d ' ')
	off=$(od -An -tu4 -j $((0x248)) -N 4 "$img" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N 4 "$img" | tr -d ' ')
	start=$(((sects + 1) * 512 + off))
	magic=$(od -An -tx1 -j "$start" -N 6 "$img" | tr -d ' \n')
	case $magic in
	fd377a585a00) dec="xz -dcq" ;;
	28b52ffd*) dec="zstd -dcq" ;;
	1f8b*) dec="gzip -dcq" ;;
	02214c18*) dec="lz4 -dcq" ;;
	*) return 1 ;;
	esac
	# The payload ends with the 4-byte uncompressed size: the decompressor
	# may complain about it after it wrote everything.
	tail -c +$((start + 1)) "$img" | head -c "$len" | $dec >"$out" 2>/dev/null || true
	[[ $(od -An -tx1 -N4 "$out" | tr -d ' ') == 7f454c46 ]]
}

# Copy file $1 (symlinks followed) into $STAGE at the same path.
stage() {
	[[ -e $STAGE$1 ]] && return 0
	mkdir -p "$STAGE$(dirname "$1")"
	cp -L "$1" "$STAGE$1"
}
# An executable and the shared libraries ldd lists for it.
stage_elf() {
	local lib
	stage "$1"
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		stage "$lib"
	done
}

# Fingerprint of what the initramfs is made of: rebuild when it changes.
build_stamp() {
	local p
	printf 'kernel %s\n' "$1"
	for p in busybox-static nvme-cli libnvme1 fio; do
		printf '%s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)"
	done
	sha256sum "$SELF" | cut -d' ' -f1
}

build_initramfs() {
	local pkg=$1 kdir=$CACHE/kernel/$1 kver tmp m kind path dest
	kver=$(basename "$(ls -d "$kdir"/lib/modules/*/)")
	log "building the initramfs for $kver"
	tmp=$(mktemp -d "$CACHE/build.XXXXXX")
	STAGE=$tmp/root
	# usr-merged like the host, so that ldd's paths work as they are.
	mkdir -p "$STAGE"/usr/{bin,sbin,lib,lib64} "$STAGE"/{dev,proc,sys,tmp,run,root,etc/nvme,etc/vm}
	for m in bin sbin lib lib64; do ln -s "usr/$m" "$STAGE/$m"; done

	cp /bin/busybox "$STAGE/usr/bin/busybox"
	for m in $(/bin/busybox --list); do
		[[ -e $STAGE/usr/bin/$m ]] || ln -s busybox "$STAGE/usr/bin/$m"
	done
	stage_elf /usr/sbin/nvme
	stage_elf /usr/bin/fio

	local mdir=/lib/modules/$kver
	for m in "${MODULES[@]}"; do
		while read -r kind path _; do
			[[ $kind == insmod ]] || continue
			dest=$STAGE$mdir/${path#"$kdir$mdir/"}
			mkdir -p "$(dirname "$dest")"
			cp "$path" "$dest"
		done < <(modprobe -d "$kdir" -S "$kver" --show-depends "$m" 2>/dev/null || log "note: no module $m in $pkg")
	done
	cp "$kdir$mdir"/modules.{builtin,builtin.modinfo,order} "$STAGE$mdir/"
	depmod -b "$STAGE" "$kver"
	guest_init >"$STAGE/init"
	chmod 0755 "$STAGE/init"
	(cd "$STAGE" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$tmp/initramfs.cpio"

	# The PVH-bootable vmlinux when the kernel has PVH, else the bzImage.
	local bz=$kdir/boot/vmlinuz-$kver what="vmlinux, PVH entry"
	if ! grep -q '^CONFIG_PVH=y' "$kdir/boot/config-$kver" || ! extract_vmlinux "$bz" "$tmp/kernel"; then
		cp "$bz" "$tmp/kernel"
		what=bzImage
	fi
	mv "$tmp/kernel" "$CACHE/kernel.img"
	mv "$tmp/initramfs.cpio" "$CACHE/initramfs.cpio"
	build_stamp "$pkg" >"$CACHE/stamp"
	rm -rf "$tmp"
	log "kernel $kver ($what), initramfs $(du -h "$CACHE/initramfs.cpio" | cut -f1)"
}

cmd_setup() {
	local lock pkg t0=$EPOCHSECONDS
	mkdir -p "$CACHE/kernel"
	exec {lock}>"$CACHE/.lock"
	flock -w 900 "$lock" || die "cannot lock $CACHE/.lock"
	install_packages
	pkg=$(kernel_package)
	if [[ -z $pkg ]]; then
		# Offline: keep the kernel we have, if any.
		pkg=$(cat "$CACHE/kernel/current" 2>/dev/null) || die "cannot resolve $KERNEL_META (apt-get update?)"
	fi
	fetch_kernel "$pkg"
	printf '%s\n' "$pkg" >"$CACHE/kernel/current"
	# Older kernels (the meta-package moved on) are of no more use.
	find "$CACHE/kernel" -mindepth 1 -maxdepth 1 -type d ! -name "$pkg" -exec rm -rf {} +
	if [[ ! -e $CACHE/kernel.img || ! -e $CACHE/initramfs.cpio ]] ||
		! cmp -s <(build_stamp "$pkg") "$CACHE/stamp"; then
		build_initramfs "$pkg"
	fi
	exec {lock}>&-
	log "ready ($pkg, cache $CACHE, $((EPOCHSECONDS - t0)) s)"
}

# /init of the guest (busybox sh as PID 1).  Output channel: the virtio
# serial port "nvmeof.out" (a UART is far slower under TCG); ttyS0 carries
# the kernel console.
guest_init() {
	cat <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
modprobe virtio_pci
modprobe virtio_console
out=
for p in /sys/class/virtio-ports/*; do
	[ "$(cat "$p/name" 2>/dev/null)" = nvmeof.out ] && out=/dev/${p##*/}
done
if [ ! -c "$out" ]; then
	echo "init: no virtio serial port nvmeof.out" >/dev/console
	poweroff -f
fi
exec </dev/null >"$out" 2>&1
finish() {
	echo "@@NVMEOF-VM-EXIT@@ $1"
	sync
	poweroff -f
	sleep 60
}
[ -r /etc/vm/env ] || finish 125
. /etc/vm/env
read -r up _ </proc/uptime
echo "@@NVMEOF-VM-UP@@ $up"
echo 7 >/proc/sys/kernel/printk # every kernel message to the console
modprobe virtio_net || finish 125
grep -qw sse4_2 /proc/cpuinfo && modprobe crc32c_intel
modprobe nvme_tcp || { echo "init: modprobe nvme_tcp failed"; finish 125; }
ip link set lo up
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
ip addr add "$VM_GUEST_IP/24" dev eth0 && ip link set eth0 up &&
	ip route add default via "$VM_GATEWAY" || { echo "init: network setup failed"; finish 125; }
echo "$VM_HOSTNQN" >/etc/nvme/hostnqn
echo "$VM_HOSTID" >/etc/nvme/hostid
export TARGET_ADDR TARGET_PORT TARGET_DISC_PORT
cd /tmp
sh /etc/vm/job.sh
finish $?
EOF
}

# -------------------------------------------------------------------- run ---

RUN='' VM_PID=''
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	if [[ -n $VM_PID ]] && kill -0 "$VM_PID" 2>/dev/null; then
		kill -TERM "$VM_PID" 2>/dev/null || true # timeout passes it on to qemu
		for ((i = 0; i < 50; i++)); do
			kill -0 "$VM_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$VM_PID" 2>/dev/null || true
		wait "$VM_PID" 2>/dev/null || true
	fi
	[[ -z $RUN ]] || rm -rf "$RUN"
	exit "$rc"
}

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$SELF"; }

is_port() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= 65535)); }

cmd_run() {
	local port='' disc_port='' timeout=300 cpus=2 mem=512 console='' job=''
	while (($#)); do
		case $1 in
		--port | --disc-port | --timeout | --cpus | --mem | --console | --script)
			(($# >= 2)) || die "$1 needs a value"
			;;&
		--port) port=$2 ;;
		--disc-port) disc_port=$2 ;;
		--timeout) timeout=$2 ;;
		--cpus) cpus=$2 ;;
		--mem) mem=$2 ;;
		--console) console=$2 ;;
		--script) job+=$(cat "$2")$'\n' || die "cannot read $2" ;;
		--) shift; job+="$*"; break ;;
		-h | --help) usage; exit 0 ;;
		*) die "run: unknown option $1" ;;
		esac
		shift 2
	done
	is_port "$port" || die "run: --port P (1-65535) is required"
	[[ -z $disc_port ]] || is_port "$disc_port" || die "bad --disc-port '$disc_port'"
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "bad --timeout '$timeout'"
	[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "bad --cpus '$cpus'"
	[[ $mem =~ ^[1-9][0-9]*$ ]] || die "bad --mem '$mem'"
	((mem >= 256)) || die "--mem must be at least 256 (MiB)"
	[[ -n $job ]] || die "run: no commands (-- 'commands' or --script FILE)"
	[[ -e $CACHE/kernel.img && -e $CACHE/initramfs.cpio ]] || cmd_setup
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"

	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	RUN=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-vm.XXXXXX")

	# Per-run archive appended to the initramfs: settings and commands.
	local hostid disc=$GUEST_PORT
	hostid=$(cat /proc/sys/kernel/random/uuid)
	[[ -z $disc_port ]] || disc=$GUEST_DISC_PORT
	mkdir -p "$RUN/job/etc/vm"
	cat >"$RUN/job/etc/vm/env" <<EOF
VM_GUEST_IP=$GUEST_IP VM_GATEWAY=$GATEWAY
VM_HOSTID=$hostid VM_HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:$hostid
TARGET_ADDR=$TARGET_IP TARGET_PORT=$GUEST_PORT TARGET_DISC_PORT=$disc
EOF
	printf '%s\n' "$job" >"$RUN/job/etc/vm/job.sh"
	(cd "$RUN/job" && find . | cpio -o -H newc -R 0:0 --quiet) >"$RUN/job.cpio"
	cat "$CACHE/initramfs.cpio" "$RUN/job.cpio" >"$RUN/initrd"

	# The network: restrict=on, and only the guestfwd rules.  qemu starts
	# one socat per guest connection (NVMe/TCP opens one per queue).  ",,"
	# is a literal comma inside a qemu option value.
	local fwd="guestfwd=tcp:$TARGET_IP:$GUEST_PORT-cmd:socat - TCP4:127.0.0.1:$port,,nodelay"
	[[ -z $disc_port ]] ||
		fwd+=",guestfwd=tcp:$TARGET_IP:$GUEST_DISC_PORT-cmd:socat - TCP4:127.0.0.1:$disc_port,,nodelay"

	# KVM only with hardware virtualisation; here /dev/kvm is PVM, under
	# which a stock kernel crawls, so TCG.
	local accel=${NVMEOF_INTEROP_ACCEL:-}
	if [[ -z $accel ]]; then
		accel=tcg
		[[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo && accel=kvm
	fi
	local accel_args=(-accel "tcg,thread=multi" -cpu max)
	[[ $accel == kvm ]] && accel_args=(-accel kvm -cpu host)
	local bios=()
	[[ -r /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom) # boots -kernel fast
	local append="console=ttyS0 quiet panic=-1 8250.nr_uarts=1 random.trust_cpu=on cryptomgr.notests"
	append+=" mitigations=off i8042.noaux i8042.nokbd i8042.nopnp no_timer_check"
	local qemu=(qemu-system-x86_64 -name nvmeof-interop -nodefaults -no-user-config
		-display none -monitor none -no-reboot -machine pc "${accel_args[@]}"
		-smp "$cpus" -m "$mem" "${bios[@]}"
		-kernel "$CACHE/kernel.img" -initrd "$RUN/initrd" -append "$append"
		-chardev "file,id=con,path=$RUN/console.log" -serial chardev:con
		-device virtio-serial-pci -chardev "file,id=out,path=/dev/stdout"
		-device "virtserialport,chardev=out,name=nvmeof.out"
		-netdev "user,id=n0,restrict=on,ipv6=off,$fwd"
		-device "virtio-net-pci,netdev=n0,romfile=")

	# (A stdio chardev would hang the guest's port at stdin's EOF: the
	# port writes to qemu's stdout as a file instead.)
	# qemu's stdout (the guest's output channel) goes through a filter that
	# passes the output on and takes out the markers.  Both qemu and its
	# `timeout` die with this script (PR_SET_PDEATHSIG), even on SIGKILL.
	local t0=${EPOCHREALTIME/./} st=0 i
	setpriv --pdeathsig KILL -- timeout -k 5 "$timeout" \
		setpriv --pdeathsig KILL -- "${qemu[@]}" </dev/null 2>"$RUN/qemu.err" \
		> >(awk -v exit_mark="$EXIT_MARK" -v up_mark="$UP_MARK" -v dir="$RUN" '
			{ sub(/\r$/, "") }
			index($0, up_mark) == 1 { print $2 > (dir "/up"); close(dir "/up"); next }
			(i = index($0, exit_mark)) > 0 {
				if (i > 1) print substr($0, 1, i - 1)
				split(substr($0, i), f, " "); print f[2] > (dir "/rc"); close(dir "/rc"); next
			}
			{ print; fflush() }
			END { printf "" > (dir "/done") }') &
	VM_PID=$!
	wait "$VM_PID" || st=$?
	VM_PID=''
	for ((i = 0; i < 50; i++)); do # let the filter finish
		[[ -e $RUN/done ]] && break
		sleep 0.1
	done
	[[ -z $console ]] || cp "$RUN/console.log" "$console" 2>/dev/null || true

	local t=$((${EPOCHREALTIME/./} - t0)) rc
	t=$(printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000)))
	if [[ -s $RUN/rc ]]; then
		rc=$(cat "$RUN/rc")
		log "VM done in ${t}s (kernel boot $(cat "$RUN/up" 2>/dev/null || echo ?)s, $accel); commands exited $rc"
		exit "$rc"
	fi
	if ((st == 124)); then
		log "timeout: the VM did not finish within ${timeout}s"
		rc=124
	else
		log "the VM ended without an exit status (qemu status $st) after ${t}s"
		sed 's/^/  qemu: /' "$RUN/qemu.err" >&2
		rc=125
	fi
	if [[ -s $RUN/console.log ]]; then
		log "last kernel messages:"
		tr -d '\r' <"$RUN/console.log" | tail -n 30 | sed 's/^/  kernel: /' >&2
	else
		log "no kernel messages on the console"
	fi
	exit "$rc"
}

case ${1:-} in
setup) shift; (($# == 0)) || die "setup takes no options"; cmd_setup ;;
run) shift; cmd_run "$@" ;;
-h | --help | help) usage ;;
*) usage >&2; exit 125 ;;
esac
