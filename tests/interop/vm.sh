#!/usr/bin/env bash
# tests/interop/vm.sh: boots the Linux kernel in a throw-away qemu VM, either
# as an NVMe/TCP *host* (kernel nvme-tcp + nvme-cli + fio) that runs shell
# commands against a target listening on this machine's 127.0.0.1 (`run`),
# or as an NVMe/TCP *target* (kernel nvmet-tcp) that a host on this machine
# reaches at 127.0.0.1 (`target`).
#
#   vm.sh setup [--blktests]
#       Idempotent.  apt-get installs what is missing, fetches the Debian
#       cloud kernel package (apt-get download, unpacked into the cache, not
#       installed) and builds the initramfs.  --blktests also builds the
#       second archive that `run --blktests` appends (below).
#   vm.sh run --port P [--disc-port P2] [--rpc-port P3] [--timeout S]
#             [--cpus N] [--mem MiB] [--console FILE] [--script FILE]
#             [--file HOSTPATH:GUESTPATH]... [--blktests]
#             [-- 'shell commands']
#       Boots the VM and runs the commands (busybox sh, cwd /tmp) with
#       TARGET_ADDR=10.0.2.100 TARGET_PORT=4420 (= host 127.0.0.1:P),
#       TARGET_DISC_PORT (8009 = host 127.0.0.1:P2 with --disc-port, else
#       4420) and TARGET_RPC_PORT (5260 = host 127.0.0.1:P3, the target's
#       JSON-RPC control plane on TCP, with --rpc-port; else empty).  The commands' output (stdout and stderr, merged) goes to our
#       stdout; vm.sh's own messages to stderr.  Exit status: the commands'
#       status, 124 on --timeout (default 300 s), 125 on a harness error.
#       --console saves the guest kernel's console (all kernel messages).
#       --file copies a host file into the guest (the per-run archive) at
#       the absolute GUESTPATH, its mode kept.  --blktests appends the
#       cached blktests userland (blktests.cpio: bash, coreutils, gawk,
#       grep, sed, findutils, diffutils, gzip, kmod, util-linux tools,
#       xfsprogs, procps, the loop, xfs and configfs modules, the kernel's
#       /boot/config-VERSION, a no-op udevadm), which only the blktests
#       harness (run_blktests.sh) needs; the normal runs do not carry it.
#   vm.sh target --port P [--nqn NQN] [--size MiB] [--block-size 512|4096]
#             [--timeout S] [--boot-timeout S] [--cpus N] [--mem MiB]
#             [--console FILE] [-- 'setup commands']
#       Boots the VM as an nvmet-tcp target: subsystem NQN (default
#       nqn.2024-11.io.nvmeof.interop:linux, any host allowed), namespace 1 =
#       a RAM-backed null_blk disk (default 64 MiB, 512-byte blocks), port P
#       in the guest (10.0.2.15:P, discovery included) = host 127.0.0.1:P.
#       The setup commands run in the guest before the port is enabled, with
#       NVMET, SUBSYS, PORTDIR (configfs directories) set.  Prints the guest's
#       output, then "READY addr=127.0.0.1 port=P nqn=NQN" on stdout once the
#       port listens, and serves until SIGTERM/SIGINT (stops the VM; status
#       143/130) or --timeout (VM lifetime, default 600 s; status 124).  Not
#       ready within --boot-timeout (default 120 s): status 124; guest setup
#       failed: 92 (setup commands), 93 (configfs), 125 (other); qemu failed
#       (e.g. host port P taken: "Could not set up host forwarding rule"):
#       125.  --console FILE: the kernel console, written live.
#
# Network: qemu user-mode networking with restrict=on (the guest can open no
# connection of its own).  run: one guestfwd rule per port: a guest
# connection to 10.0.2.100:4420 makes qemu start `socat - TCP4:127.0.0.1:P`,
# so the guest reaches the target on the host loopback and nothing else.
# target: one hostfwd rule, host 127.0.0.1:P -> guest 10.0.2.15:P.
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
# Only for `setup --blktests` / `run --blktests`: the userland blktests needs.
BLKTESTS_PACKAGES=(bash coreutils util-linux mount grep sed gawk findutils diffutils gzip
	procps bsdextrautils libc-bin xfsprogs)
# Every executable of these packages goes into blktests.cpio ...
BLKTESTS_FULL_PACKAGES=(bash coreutils grep sed gawk findutils diffutils gzip procps)
# ... and these of the others.
BLKTESTS_PROGRAMS=(dmesg findmnt lsblk blkid blockdev wipefs flock getopt setsid taskset
	mount umount losetup column getconf mkfs.xfs xfs_io modprobe modinfo rmmod insmod
	lsmod depmod kmod)
BLKTESTS_MODULES=(loop xfs configfs)
# Guest modules; modprobe --show-depends adds nvme_fabrics and the rest.
# nvmet, nvmet_tcp and null_blk: the target mode.
MODULES=(virtio_pci virtio_net virtio_console nvme_tcp crc32c_intel crc32c_generic
	nvmet nvmet_tcp null_blk)
GUEST_IP=10.0.2.15 GATEWAY=10.0.2.2 TARGET_IP=10.0.2.100
GUEST_PORT=4420 GUEST_DISC_PORT=8009 GUEST_RPC_PORT=5260
EXIT_MARK=@@NVMEOF-VM-EXIT@@ UP_MARK=@@NVMEOF-VM-UP@@ READY_MARK=@@NVMEOF-VM-READY@@
DEFAULT_TARGET_NQN=nqn.2024-11.io.nvmeof.interop:linux

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	log "error: $*"
	exit 125
}

# ------------------------------------------------------------------ setup ---

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

install_packages() { # PACKAGE...
	local missing=() p sudo=()
	for p in "$@"; do installed "$p" || missing+=("$p"); done
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
	for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
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

# stage_modules KDIR KVER MODULE...: the modules and what they depend on
# (modprobe --show-depends) into $STAGE, with a new modules.dep.
stage_modules() {
	local kdir=$1 kver=$2 m kind path dest mdir=/lib/modules/$2
	shift 2
	for m in "$@"; do
		while read -r kind path _; do
			[[ $kind == insmod ]] || continue
			dest=$STAGE$mdir/${path#"$kdir$mdir/"}
			mkdir -p "$(dirname "$dest")"
			cp "$path" "$dest"
		done < <(modprobe -d "$kdir" -S "$kver" --show-depends "$m" 2>/dev/null || log "note: no module $m in $kdir")
	done
	cp "$kdir$mdir"/modules.{builtin,builtin.modinfo,order} "$STAGE$mdir/"
	depmod -b "$STAGE" "$kver"
}

build_initramfs() {
	local pkg=$1 kdir=$CACHE/kernel/$1 kver tmp m
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

	stage_modules "$kdir" "$kver" "${MODULES[@]}"
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

# What blktests.cpio is made of: rebuild when it changes.
blktests_stamp() {
	local p
	printf 'kernel %s\n' "$1"
	for p in "${BLKTESTS_PACKAGES[@]}" kmod; do
		printf '%s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)"
	done
	sha256sum "$SELF" | cut -d' ' -f1
}

# The second archive for `run --blktests`, appended after the initramfs:
# the kernel unpacks it over the busybox userland (a file or link of the
# same name replaces busybox's link), so blktests finds bash, GNU
# coreutils, gawk & co. at their usual paths.  modules.dep covers the
# initramfs's modules and these.
build_blktests_archive() {
	local pkg=$1 kdir=$CACHE/kernel/$1 kver tmp p f m
	kver=$(basename "$(ls -d "$kdir"/lib/modules/*/)")
	log "building the blktests userland archive for $kver"
	tmp=$(mktemp -d "$CACHE/build.XXXXXX")
	STAGE=$tmp/root
	mkdir -p "$STAGE"/usr/{bin,sbin,lib,lib64} "$STAGE"/boot
	for m in bin sbin lib lib64; do ln -s "usr/$m" "$STAGE/$m"; done
	for p in "${BLKTESTS_FULL_PACKAGES[@]}"; do
		while read -r f; do
			if [[ -f $f && -x $f ]]; then stage_elf "$f"; fi
		done < <(dpkg -L "$p" | grep -E '^/(usr/)?s?bin/')
	done
	for p in "${BLKTESTS_PROGRAMS[@]}"; do
		f=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$p") || die "blktests: $p is not installed here"
		stage_elf "$f"
	done
	ln -sf gawk "$STAGE/usr/bin/awk"
	# busybox sh runs its own applet for a command that has one, whatever
	# PATH says: the scripts among these (zgrep calls gzip -cdfq, egrep
	# grep) would get busybox's gzip and grep.  They run under bash.
	while IFS= read -r -d '' f; do
		if head -c 10 "$f" | cmp -s - <(printf '#!/bin/sh\n'); then sed -i '1s|^#!/bin/sh$|#!/bin/bash|' "$f"; fi
	done < <(find "$STAGE/usr/bin" "$STAGE/usr/sbin" -type f -print0)
	# No udevd runs in the VM (devtmpfs makes the device nodes): blktests'
	# `udevadm settle` has nothing to wait for.
	printf '#!/bin/sh\n# vm.sh: no udevd in this VM, nothing to settle or trigger\nexit 0\n' >"$STAGE/usr/bin/udevadm"
	chmod 0755 "$STAGE/usr/bin/udevadm"
	# blktests reads the kernel's options from /boot/config-$(uname -r).
	cp "$kdir/boot/config-$kver" "$STAGE/boot/"
	stage_modules "$kdir" "$kver" "${MODULES[@]}" "${BLKTESTS_MODULES[@]}"
	# The initramfs has the usr-merge links already.
	(cd "$STAGE" && find . ! -path ./bin ! -path ./sbin ! -path ./lib ! -path ./lib64 -print0 |
		sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$tmp/blktests.cpio"
	mv "$tmp/blktests.cpio" "$CACHE/blktests.cpio"
	blktests_stamp "$pkg" >"$CACHE/blktests.stamp"
	rm -rf "$tmp"
	log "blktests archive $(du -h "$CACHE/blktests.cpio" | cut -f1)"
}

cmd_setup() { # [--blktests]
	local lock pkg t0=$EPOCHSECONDS blktests=0
	[[ ${1:-} != --blktests ]] || blktests=1
	mkdir -p "$CACHE/kernel"
	exec {lock}>"$CACHE/.lock"
	flock -w 900 "$lock" || die "cannot lock $CACHE/.lock"
	install_packages "${PACKAGES[@]}"
	((!blktests)) || install_packages "${BLKTESTS_PACKAGES[@]}"
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
	if ((blktests)) && { [[ ! -e $CACHE/blktests.cpio ]] ||
		! cmp -s <(blktests_stamp "$pkg") "$CACHE/blktests.stamp"; }; then
		build_blktests_archive "$pkg"
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
# Target mode: nvmet-tcp serving namespace 1 (a RAM-backed null_blk disk)
# of subsystem $VM_NQN on $VM_GUEST_IP:$VM_PORT until the host stops the VM.
put() { echo "$1" >"$2" || { echo "init: cannot write '$1' to $2"; finish 93; }; }
mk() { mkdir "$1" || { echo "init: cannot create $1"; finish 93; }; }
target_main() {
	for m in nvmet nvmet_tcp; do
		modprobe $m || { echo "init: modprobe $m failed"; finish 125; }
	done
	modprobe null_blk nr_devices=0 || { echo "init: modprobe null_blk failed"; finish 125; }
	grep -q " /sys/kernel/config " /proc/mounts ||
		mount -t configfs configfs /sys/kernel/config || finish 125
	ip link set lo up
	echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
	ip addr add "$VM_GUEST_IP/24" dev eth0 && ip link set eth0 up ||
		{ echo "init: network setup failed"; finish 125; }
	NVMET=/sys/kernel/config/nvmet NULLB=/sys/kernel/config/nullb
	SUBSYS=$NVMET/subsystems/$VM_NQN PORTDIR=$NVMET/ports/1
	export NVMET SUBSYS PORTDIR
	mk "$NULLB/ns1"
	put "$VM_SIZE_MB" "$NULLB/ns1/size"
	put "$VM_BLOCK_SIZE" "$NULLB/ns1/blocksize"
	put 1 "$NULLB/ns1/memory_backed"
	put 1 "$NULLB/ns1/power"
	# The disk is named after the configfs item (newer kernels) or nullbN.
	dev=/dev/ns1
	[ -b $dev ] || dev=/dev/nullb$(cat "$NULLB/ns1/index")
	[ -b "$dev" ] || { echo "init: no null_blk disk"; finish 125; }
	mk "$SUBSYS"
	put 1 "$SUBSYS/attr_allow_any_host"
	mk "$SUBSYS/namespaces/1"
	put "$dev" "$SUBSYS/namespaces/1/device_path"
	put 1 "$SUBSYS/namespaces/1/enable"
	mk "$PORTDIR"
	put tcp "$PORTDIR/addr_trtype"
	put ipv4 "$PORTDIR/addr_adrfam"
	put 0.0.0.0 "$PORTDIR/addr_traddr"
	put "$VM_PORT" "$PORTDIR/addr_trsvcid"
	(cd /tmp && sh /etc/vm/job.sh) || { echo "init: the setup commands failed"; finish 92; }
	ln -s "$SUBSYS" "$PORTDIR/subsystems/$VM_NQN" ||
		{ echo "init: cannot enable port $VM_PORT"; finish 93; }
	echo "init: nvmet-tcp on $VM_GUEST_IP:$VM_PORT, $VM_NQN namespace 1 = $dev" \
		"($VM_SIZE_MB MiB, $VM_BLOCK_SIZE-byte blocks)"
	read -r up _ </proc/uptime
	echo "@@NVMEOF-VM-READY@@ $up"
	while :; do sleep 3600; done
}
[ -r /etc/vm/env ] || finish 125
. /etc/vm/env
read -r up _ </proc/uptime
echo "@@NVMEOF-VM-UP@@ $up"
echo 7 >/proc/sys/kernel/printk # every kernel message to the console
modprobe virtio_net || finish 125
grep -qw sse4_2 /proc/cpuinfo && modprobe crc32c_intel
[ "${VM_MODE:-run}" != target ] || target_main
modprobe nvme_tcp || { echo "init: modprobe nvme_tcp failed"; finish 125; }
ip link set lo up
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
ip addr add "$VM_GUEST_IP/24" dev eth0 && ip link set eth0 up &&
	ip route add default via "$VM_GATEWAY" || { echo "init: network setup failed"; finish 125; }
echo "$VM_HOSTNQN" >/etc/nvme/hostnqn
echo "$VM_HOSTID" >/etc/nvme/hostid
export TARGET_ADDR TARGET_PORT TARGET_DISC_PORT TARGET_RPC_PORT
cd /tmp
sh /etc/vm/job.sh
finish $?
EOF
}

# -------------------------------------------------------------------- run ---

RUN='' VM_PID='' ACCEL='' T0=''
EXTRA_ARCHIVES=() # appended to the initramfs before the per-run archive
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

# Traps, the run directory $RUN and the start of the per-run archive
# ($RUN/job: /etc/vm/env and /etc/vm/job.sh).
prepare_run() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	RUN=$(mktemp -d "${TMPDIR:-/tmp}/nvmeof-vm.XXXXXX")
	mkdir -p "$RUN/job/etc/vm"
}

# launch_vm NETDEV LIFETIME CONSOLE CPUS MEM: the initrd (the cached
# initramfs + the per-run archive) and qemu in the background: VM_PID (the
# `timeout` process), ACCEL, T0 (start, microseconds).  The guest's output
# channel goes to our stdout through a filter that takes out the markers:
# $RUN/up, $RUN/ready, $RUN/rc (their values), $RUN/done (end of output).
launch_vm() {
	local netdev=$1 lifetime=$2 console=$3 cpus=$4 mem=$5
	(cd "$RUN/job" && find . | cpio -o -H newc -R 0:0 --quiet) >"$RUN/job.cpio"
	cat "$CACHE/initramfs.cpio" "${EXTRA_ARCHIVES[@]}" "$RUN/job.cpio" >"$RUN/initrd"

	# KVM only with hardware virtualisation; here /dev/kvm is PVM, under
	# which a stock kernel crawls, so TCG.
	ACCEL=${NVMEOF_INTEROP_ACCEL:-}
	if [[ -z $ACCEL ]]; then
		ACCEL=tcg
		[[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo && ACCEL=kvm
	fi
	local accel_args=(-accel "tcg,thread=multi" -cpu max)
	[[ $ACCEL == kvm ]] && accel_args=(-accel kvm -cpu host)
	local bios=()
	[[ -r /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom) # boots -kernel fast
	local append="console=ttyS0 quiet panic=-1 8250.nr_uarts=1 random.trust_cpu=on cryptomgr.notests"
	append+=" mitigations=off i8042.noaux i8042.nokbd i8042.nopnp no_timer_check"
	local qemu=(qemu-system-x86_64 -name nvmeof-interop -nodefaults -no-user-config
		-display none -monitor none -no-reboot -machine pc "${accel_args[@]}"
		-smp "$cpus" -m "$mem" "${bios[@]}"
		-kernel "$CACHE/kernel.img" -initrd "$RUN/initrd" -append "$append"
		-chardev "file,id=con,path=$console" -serial chardev:con
		-device virtio-serial-pci -chardev "file,id=out,path=/dev/stdout"
		-device "virtserialport,chardev=out,name=nvmeof.out"
		-netdev "$netdev"
		-device "virtio-net-pci,netdev=n0,romfile=")

	# (A stdio chardev would hang the guest's port at stdin's EOF: the
	# port writes to qemu's stdout as a file instead.)
	# qemu's stdout (the guest's output channel) goes through a filter that
	# passes the output on and takes out the markers.  Both qemu and its
	# `timeout` die with this script (PR_SET_PDEATHSIG), even on SIGKILL.
	# mawk reads a pipe in whole blocks unless -W interactive: the markers
	# (READY) would wait for more output or the end.
	local awk=(awk)
	awk -W version 2>/dev/null | grep -q '^mawk' && awk=(awk -W interactive)
	T0=${EPOCHREALTIME/./}
	# shellcheck disable=SC2016 # the filter is an awk program
	setpriv --pdeathsig KILL -- timeout -k 5 "$lifetime" \
		setpriv --pdeathsig KILL -- "${qemu[@]}" </dev/null 2>"$RUN/qemu.err" \
		> >("${awk[@]}" -v exit_mark="$EXIT_MARK" -v up_mark="$UP_MARK" -v ready_mark="$READY_MARK" -v dir="$RUN" '
			{ sub(/\r$/, "") }
			index($0, up_mark) == 1 { print $2 > (dir "/up"); close(dir "/up"); next }
			index($0, ready_mark) == 1 { print $2 > (dir "/ready"); close(dir "/ready"); next }
			(i = index($0, exit_mark)) > 0 {
				if (i > 1) print substr($0, 1, i - 1)
				split(substr($0, i), f, " "); print f[2] > (dir "/rc"); close(dir "/rc"); next
			}
			{ print; fflush() }
			END { printf "" > (dir "/done") }') &
	VM_PID=$!
}

# Seconds since T0, two decimals.
elapsed() {
	local t=$((${EPOCHREALTIME/./} - T0))
	printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000))
}

# The VM ended without an exit status: say why (qemu status $1, --timeout
# $2, console file $3) and return the status to exit with (124 or 125).
vm_failed() {
	local st=$1 timeout=$2 console=$3 rc
	if ((st == 124)); then
		log "timeout: the VM did not finish within ${timeout}s"
		rc=124
	else
		log "the VM ended without an exit status (qemu status $st) after $(elapsed)s"
		sed 's/^/  qemu: /' "$RUN/qemu.err" >&2
		rc=125
	fi
	if [[ -s $console ]]; then
		log "last kernel messages:"
		tr -d '\r' <"$console" | tail -n 30 | sed 's/^/  kernel: /' >&2
	else
		log "no kernel messages on the console"
	fi
	return "$rc"
}

# Wait up to 5 s for the output filter to see the end of the guest's output.
wait_filter() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -e $RUN/done ]] && break
		sleep 0.1
	done
}

cmd_run() {
	local port='' disc_port='' rpc_port='' timeout=300 cpus=2 mem=512 console='' job=''
	local blktests=0 files=() spec
	while (($#)); do
		case $1 in
		--port | --disc-port | --rpc-port | --timeout | --cpus | --mem | --console | --script | --file)
			(($# >= 2)) || die "$1 needs a value"
			;;&
		--blktests) blktests=1; shift; continue ;;
		--file)
			[[ $2 == *:/* && -r ${2%%:*} && ${2#*:} != *..* ]] ||
				die "--file HOSTPATH:GUESTPATH (a readable file, an absolute path without ..): '$2'"
			files+=("$2")
			;;
		--port) port=$2 ;;
		--disc-port) disc_port=$2 ;;
		--rpc-port) rpc_port=$2 ;;
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
	[[ -z $rpc_port ]] || is_port "$rpc_port" || die "bad --rpc-port '$rpc_port'"
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "bad --timeout '$timeout'"
	[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "bad --cpus '$cpus'"
	[[ $mem =~ ^[1-9][0-9]*$ ]] || die "bad --mem '$mem'"
	((mem >= 256)) || die "--mem must be at least 256 (MiB)"
	[[ -n $job ]] || die "run: no commands (-- 'commands' or --script FILE)"
	[[ -e $CACHE/kernel.img && -e $CACHE/initramfs.cpio ]] || cmd_setup
	if ((blktests)); then
		[[ -e $CACHE/blktests.cpio ]] || cmd_setup --blktests
		EXTRA_ARCHIVES=("$CACHE/blktests.cpio")
	fi
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"

	prepare_run
	for spec in "${files[@]}"; do
		mkdir -p "$RUN/job$(dirname "${spec#*:}")"
		cp "${spec%%:*}" "$RUN/job${spec#*:}" || die "--file: cannot copy ${spec%%:*}"
	done
	# Per-run archive appended to the initramfs: settings and commands.
	local hostid disc=$GUEST_PORT rpc=''
	hostid=$(cat /proc/sys/kernel/random/uuid)
	[[ -z $disc_port ]] || disc=$GUEST_DISC_PORT
	[[ -z $rpc_port ]] || rpc=$GUEST_RPC_PORT
	cat >"$RUN/job/etc/vm/env" <<EOT
VM_MODE=run VM_GUEST_IP=$GUEST_IP VM_GATEWAY=$GATEWAY
VM_HOSTID=$hostid VM_HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:$hostid
TARGET_ADDR=$TARGET_IP TARGET_PORT=$GUEST_PORT TARGET_DISC_PORT=$disc
TARGET_RPC_PORT=$rpc
EOT
	printf '%s\n' "$job" >"$RUN/job/etc/vm/job.sh"

	# The network: restrict=on, and only the guestfwd rules.  qemu starts
	# one socat per guest connection (NVMe/TCP opens one per queue).  ",,"
	# is a literal comma inside a qemu option value.
	local fwd="guestfwd=tcp:$TARGET_IP:$GUEST_PORT-cmd:socat - TCP4:127.0.0.1:$port,,nodelay"
	[[ -z $disc_port ]] ||
		fwd+=",guestfwd=tcp:$TARGET_IP:$GUEST_DISC_PORT-cmd:socat - TCP4:127.0.0.1:$disc_port,,nodelay"
	# socat waits only 0.5 s (-t) for the answer after the guest's
	# half-close (busybox nc's end of a request): a request that takes
	# longer (bdev_malloc_create of 512 MiB) would lose its answer.
	[[ -z $rpc_port ]] ||
		fwd+=",guestfwd=tcp:$TARGET_IP:$GUEST_RPC_PORT-cmd:socat -t 60 - TCP4:127.0.0.1:$rpc_port"
	launch_vm "user,id=n0,restrict=on,ipv6=off,$fwd" "$timeout" "$RUN/console.log" "$cpus" "$mem"

	local st=0 rc
	wait "$VM_PID" || st=$?
	VM_PID=''
	wait_filter
	[[ -z $console ]] || cp "$RUN/console.log" "$console" 2>/dev/null || true

	if [[ -s $RUN/rc ]]; then
		rc=$(cat "$RUN/rc")
		log "VM done in $(elapsed)s (kernel boot $(cat "$RUN/up" 2>/dev/null || echo ?)s, $ACCEL); commands exited $rc"
		exit "$rc"
	fi
	rc=0
	vm_failed "$st" "$timeout" "$RUN/console.log" || rc=$?
	exit "$rc"
}

cmd_target() {
	local port='' nqn=$DEFAULT_TARGET_NQN size=64 bsize=512 timeout=600 boot_timeout=120
	local cpus=1 mem='' console='' job=''
	while (($#)); do
		case $1 in
		--port | --nqn | --size | --block-size | --timeout | --boot-timeout | --cpus | --mem | --console)
			(($# >= 2)) || die "$1 needs a value"
			;;&
		--port) port=$2 ;;
		--nqn) nqn=$2 ;;
		--size) size=$2 ;;
		--block-size) bsize=$2 ;;
		--timeout) timeout=$2 ;;
		--boot-timeout) boot_timeout=$2 ;;
		--cpus) cpus=$2 ;;
		--mem) mem=$2 ;;
		--console) console=$2 ;;
		--) shift; job+="$*"; break ;;
		-h | --help) usage; exit 0 ;;
		*) die "target: unknown option $1" ;;
		esac
		shift 2
	done
	is_port "$port" || die "target: --port P (1-65535) is required"
	[[ $nqn =~ ^nqn\.[A-Za-z0-9._:-]{1,218}$ ]] || die "bad --nqn '$nqn'"
	[[ $size =~ ^[1-9][0-9]*$ ]] || die "bad --size '$size'"
	[[ $bsize == 512 || $bsize == 4096 ]] || die "--block-size must be 512 or 4096"
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "bad --timeout '$timeout'"
	[[ $boot_timeout =~ ^[1-9][0-9]*$ ]] || die "bad --boot-timeout '$boot_timeout'"
	[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "bad --cpus '$cpus'"
	# The namespace lives in the guest's RAM.
	[[ -n $mem ]] || mem=$((size + 448))
	[[ $mem =~ ^[1-9][0-9]*$ ]] || die "bad --mem '$mem'"
	((mem >= 256 + size)) || die "--mem must be at least 256 + --size (MiB)"
	if [[ -n $console ]]; then
		[[ $console != *,* ]] || die "--console: no commas in the path, please"
		: >"$console" || die "cannot write --console $console"
		console=$(readlink -f "$console")
	fi
	[[ -e $CACHE/kernel.img && -e $CACHE/initramfs.cpio ]] || cmd_setup
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"

	prepare_run
	[[ -n $console ]] || console=$RUN/console.log
	cat >"$RUN/job/etc/vm/env" <<EOT
VM_MODE=target VM_GUEST_IP=$GUEST_IP VM_GATEWAY=$GATEWAY
VM_NQN=$nqn VM_PORT=$port VM_SIZE_MB=$size VM_BLOCK_SIZE=$bsize
EOT
	printf '%s\n' "$job" >"$RUN/job/etc/vm/job.sh"

	# The network: restrict=on and one hostfwd rule (the same port on both
	# sides, so that the discovery log's trsvcid is right for us too).
	launch_vm "user,id=n0,restrict=on,ipv6=off,hostfwd=tcp:127.0.0.1:$port-$GUEST_IP:$port" \
		"$timeout" "$console" "$cpus" "$mem"

	# READY, the guest's exit status (it failed), qemu's end, or the bound.
	local deadline=$((T0 + boot_timeout * 1000000)) st=0 rc
	while [[ ! -e $RUN/ready && ! -s $RUN/rc ]] && kill -0 "$VM_PID" 2>/dev/null &&
		((${EPOCHREALTIME/./} < deadline)); do
		sleep 0.1
	done
	if [[ -e $RUN/ready ]]; then
		log "target ready in $(elapsed)s (kernel boot $(cat "$RUN/up" 2>/dev/null || echo ?)s, guest uptime $(cat "$RUN/ready")s, $ACCEL)"
		echo "READY addr=127.0.0.1 port=$port nqn=$nqn"
		# Serve until a signal (the traps stop the VM) or the lifetime.
		wait "$VM_PID" || st=$?
		VM_PID=''
		wait_filter
		if ((st == 124)); then
			log "the VM's lifetime (--timeout ${timeout}s) is over"
			exit 124
		fi
		log "the VM ended by itself after $(elapsed)s (qemu status $st)"
		[[ ! -s $RUN/rc ]] || log "guest exit status $(cat "$RUN/rc")"
		exit 125
	fi
	if kill -0 "$VM_PID" 2>/dev/null && [[ ! -s $RUN/rc ]]; then
		log "the target was not ready within ${boot_timeout}s"
		rc=124
	else
		wait "$VM_PID" || st=$?
		VM_PID=''
		wait_filter
		if [[ -s $RUN/rc ]]; then
			rc=$(cat "$RUN/rc")
			log "the guest's target setup failed (status $rc)"
		else
			rc=0
			vm_failed "$st" "$timeout" "$console" || rc=$?
			exit "$rc"
		fi
	fi
	tr -d '\r' <"$console" | tail -n 30 | sed 's/^/  kernel: /' >&2
	exit "$rc"
}

case ${1:-} in
setup)
	shift
	(($# == 0)) || [[ $* == --blktests ]] || die "setup takes no options but --blktests"
	cmd_setup "$@"
	;;
run) shift; cmd_run "$@" ;;
target) shift; cmd_target "$@" ;;
-h | --help | help) usage ;;
*) usage >&2; exit 125 ;;
esac
