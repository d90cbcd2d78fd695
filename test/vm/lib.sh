# shellcheck shell=bash
# Shared by test/vm/setup, run, e2e and demo. Sourced, not run.
#
# Everything downloaded or built lives in the cache (outside the repo):
#   $RDMA_TESTBED_CACHE (default /var/cache/rdma-cni-testbed)
#     debs/                 .deb files fetched with apt-get download (names end in _<arch>.deb)
#     apt-arm64/            apt's own state (lists, caches) for the arm64 guest's packages
#     kernel/<kver>/        the kernel image, modules, headers and kbuild (dpkg -x); kver ends in -<arch>
#     sysroot/<key>/        the arm64 guest's iproute2 and libraries (dpkg -x)
#     cni/<debname>/        containernetworking-plugins (dpkg -x)
#     module/<key>/         rdma_sim.ko built from test/vm/module
#     initramfs/base-<key>.cpio   the guest's system (busybox, iproute2, modules, init); arm64's
#                                 is base-arm64-<key>.cpio
#     initramfs/plugin-<key>.cpio build/rdma and its libraries (initramfs mode only)

TB_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_REPO=$(cd "$TB_VM_DIR/../.." && pwd)
TB_CACHE=${RDMA_TESTBED_CACHE:-/var/cache/rdma-cni-testbed}
TB_HOST_ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
# How build/rdma reaches the guest: 9p (shared folder, default) or initramfs.
TB_PLUGIN_MODE=${RDMA_TESTBED_PLUGIN_MODE:-9p}
TB_VERBOSE=${RDMA_TESTBED_VERBOSE:-0}
TB_APT_UPDATED=0

# tb_set_arch ARCH : the guest's architecture, amd64 (default) or arm64 (RDMA_TESTBED_ARCH, or
# test/vm/run --arch). amd64 is the host's own: the host's apt, ldd, gcc and qemu-system-x86_64.
# arm64 is a foreign guest: its packages come through an apt state of its own ($TB_CACHE/apt-arm64,
# the machine's apt configuration untouched), its libraries are found with readelf, rdma_sim.ko
# and rdma-nlprobe are cross-built, and it runs in qemu-system-aarch64 (virt, TCG).
tb_set_arch() {
	TB_ARCH=$1
	case "$TB_ARCH" in
	amd64)
		TB_QEMU=qemu-system-x86_64
		TB_TRIPLET=x86_64-linux-gnu
		TB_PLUGIN=${RDMA_TESTBED_PLUGIN:-$TB_REPO/build/rdma}
		;;
	arm64)
		TB_QEMU=qemu-system-aarch64
		TB_TRIPLET=aarch64-linux-gnu
		# build/arm64 holds rdma, rdma-test and rdma-shim for arm64 (make build-arm64)
		TB_PLUGIN=${RDMA_TESTBED_PLUGIN:-$TB_REPO/build/arm64/rdma}
		;;
	*) tb_die "unknown architecture '$TB_ARCH': amd64 or arm64" ;;
	esac
	[ "$TB_ARCH" = amd64 ] || [ "$TB_HOST_ARCH" = amd64 ] || tb_die "the test bed runs on an amd64 host"
}
tb_foreign() { [ "$TB_ARCH" != "$TB_HOST_ARCH" ]; }

# apt for the guest's architecture: the machine's own for amd64; for arm64 a state of its own
# (as deployment/fetch-libc.sh does) with arm64 as the native architecture and amd64 as a
# foreign one (linux-kbuild, the kernel build's host tools, is the amd64 package).
tb_apt_opts() {
	tb_foreign || return 0
	local d=$TB_CACHE/apt-$TB_ARCH
	echo "-o APT::Architecture=$TB_ARCH -o APT::Architectures::=$TB_ARCH -o APT::Architectures::=$TB_HOST_ARCH" \
		"-o Dir::State::Lists=$d/lists -o Dir::State::Status=/dev/null -o Dir::Cache=$d" \
		"-o Dir::Cache::archives=$d/archives -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}
# shellcheck disable=SC2046 # the options are meant to split
tb_apt_get() { apt-get $(tb_apt_opts) "$@"; }
# shellcheck disable=SC2046
tb_apt_cache() { apt-cache $(tb_apt_opts) "$@"; }
tb_apt_lists() { if tb_foreign; then echo "$TB_CACHE/apt-$TB_ARCH/lists"; else echo /var/lib/apt/lists; fi; }

tb_log() { printf '%s\n' "testbed: $*" >&2; }
tb_die() { printf '%s\n' "testbed: error: $*" >&2; exit 1; }
tb_now() { date +%s.%N; }
tb_elapsed() { awk -v a="$1" -v b="$(tb_now)" 'BEGIN { printf "%.1f", b - a }'; }

tb_apt_update() {
	if [ "$TB_APT_UPDATED" != "$TB_ARCH" ]; then
		if tb_foreign; then
			tb_log "apt-get update ($TB_ARCH, state in $TB_CACHE/apt-$TB_ARCH)"
			mkdir -p "$TB_CACHE/apt-$TB_ARCH/lists/partial" "$TB_CACHE/apt-$TB_ARCH/archives/partial"
		else
			tb_log "apt-get update"
		fi
		tb_apt_get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || tb_die "apt-get update failed"
		TB_APT_UPDATED=$TB_ARCH
	fi
}

# tb_need_pkgs PKG... : install the Debian packages that are missing.
tb_need_pkgs() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || tb_die "need root to install:$missing"
	tb_apt_update
	tb_log "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null ||
		tb_die "apt-get install$missing failed"
}

tb_host_pkgs() {
	tb_need_pkgs qemu-system-x86 cpio kmod iproute2 gcc make libelf-dev libc6-dev linux-libc-dev \
		util-linux coreutils findutils
	if [ "$TB_ARCH" = arm64 ]; then
		tb_need_pkgs qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils
	fi
}

# Answers of apt-cache are slow (~0.5 s each): keep them while the package lists stay the same.
# One file per architecture (amd64's keeps its old name).
tb_memo_file() {
	local arch=""
	tb_foreign && arch=$TB_ARCH-
	echo "$TB_CACHE/.resolved-$arch$(stat -c %Y "$(tb_apt_lists)" 2>/dev/null || echo 0)"
}
tb_memo_get() {
	local f
	f=$(tb_memo_file)
	[ -e "$f" ] && awk -v k="$1" '$1 == k { v = $2 } END { if (v != "") print v; else exit 1 }' "$f"
}
tb_memo_put() {
	local f
	f=$(tb_memo_file)
	if [ ! -e "$f" ]; then
		if tb_foreign; then rm -f "$TB_CACHE/.resolved-$TB_ARCH-"*; else rm -f "$TB_CACHE"/.resolved-[0-9]*; fi
	fi
	echo "$1 $2" >>"$f"
}

# tb_fetch_deb PKG[:ARCH] : path of PKG's .deb (candidate version) in the cache, downloading it
# once. Without ARCH: the guest's architecture (or all).
tb_fetch_deb() {
	local file
	if file=$(tb_memo_get "deb:$1") && [ -e "$file" ]; then
		echo "$file"
		return 0
	fi
	file=$(tb_fetch_deb_uncached "$1")
	tb_memo_put "deb:$1" "$file"
	echo "$file"
}

tb_fetch_deb_uncached() {
	local spec=$1 pkg=${1%%:*} arch=$TB_ARCH ver file
	case "$spec" in *:*) arch=${spec#*:} ;; esac
	ver=$(tb_apt_cache policy "$spec" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		# no package lists yet: use a cached copy if there is one
		file=$(ls -1 "$TB_CACHE/debs/${pkg}_"*"_$arch.deb" "$TB_CACHE/debs/${pkg}_"*_all.deb 2>/dev/null | sort -V | tail -n 1)
		if [ -n "$file" ]; then echo "$file"; return 0; fi
		tb_apt_update
		ver=$(tb_apt_cache policy "$spec" | awk '/Candidate:/ { print $2 }')
		[ -n "$ver" ] && [ "$ver" != "(none)" ] || tb_die "no Debian package $spec"
	fi
	# file names encode the epoch colon as %3a
	file=$(ls -1 "$TB_CACHE/debs/${pkg}_${ver/:/%3a}_$arch.deb" "$TB_CACHE/debs/${pkg}_${ver/:/%3a}_all.deb" 2>/dev/null | head -n 1)
	if [ -z "$file" ]; then
		rm -rf "$TB_CACHE/debs/tmp"
		mkdir -p "$TB_CACHE/debs/tmp"
		tb_log "downloading $spec $ver"
		(cd "$TB_CACHE/debs/tmp" && tb_apt_get download -q "$spec=$ver" >/dev/null 2>&1) ||
			(tb_apt_update && cd "$TB_CACHE/debs/tmp" && tb_apt_get download -q "$spec=$ver" >/dev/null) ||
			tb_die "apt-get download $spec failed"
		mv "$TB_CACHE/debs/tmp/${pkg}_"*.deb "$TB_CACHE/debs/"
		file=$(ls -1 "$TB_CACHE/debs/${pkg}_${ver/:/%3a}_$arch.deb" "$TB_CACHE/debs/${pkg}_${ver/:/%3a}_all.deb" 2>/dev/null | head -n 1)
	fi
	echo "$file"
}

# The kernel version that linux-image-<arch> depends on now (e.g. 6.1.0-56-amd64). For arm64 the
# same Debian kernel as amd64's, built for arm64 (one source upload gives both).
tb_kernel_version() {
	local kver
	case "${RDMA_TESTBED_KVER:-}" in *-"$TB_ARCH") echo "$RDMA_TESTBED_KVER"; return 0 ;; esac
	if kver=$(tb_memo_get kver); then
		echo "$kver"
		return 0
	fi
	kver=$(tb_kernel_version_uncached)
	tb_memo_put kver "$kver"
	echo "$kver"
}

tb_kernel_version_uncached() {
	local kver a=$TB_ARCH
	kver=$(tb_apt_cache depends "linux-image-$a" 2>/dev/null |
		sed -n "s/^ *Depends: linux-image-\([0-9].*-$a\)\$/\1/p" | head -n 1)
	if [ -z "$kver" ]; then
		kver=$(ls -1 "$TB_CACHE/kernel" 2>/dev/null | grep -- "-$a\$" | sort -V | tail -n 1)
		[ -n "$kver" ] && [ -e "$TB_CACHE/kernel/$kver/.complete" ] && { echo "$kver"; return 0; }
		tb_apt_update
		kver=$(tb_apt_cache depends "linux-image-$a" |
			sed -n "s/^ *Depends: linux-image-\([0-9].*-$a\)\$/\1/p" | head -n 1)
	fi
	[ -n "$kver" ] || tb_die "cannot resolve linux-image-$a's kernel"
	echo "$kver"
}

# A foreign guest's lists follow the machine's: when the machine's are newer (someone ran
# apt-get update), update ours too, so both guests get the same kernel upload. Offline, the
# cache is used as it is.
tb_refresh_lists() {
	local ours
	tb_foreign || return 0
	ours=$(tb_apt_lists)
	[ -d "$ours" ] || return 0 # none yet: the first lookup updates
	[ /var/lib/apt/lists -nt "$ours" ] || return 0
	tb_log "the machine's package lists are newer than the $TB_ARCH guest's: apt-get update ($TB_ARCH)"
	if tb_apt_get update -qq >/dev/null 2>&1; then
		TB_APT_UPDATED=$TB_ARCH
		touch "$ours"
	else
		tb_log "warning: apt-get update ($TB_ARCH) failed; using the lists and cache as they are"
	fi
}

# Unpack kernel image, headers and kbuild for $TB_KVER into $TB_KDIR (once).
tb_prepare_kernel() {
	tb_refresh_lists
	TB_KVER=$(tb_kernel_version)
	TB_KDIR=$TB_CACHE/kernel/$TB_KVER
	[ -e "$TB_KDIR/.complete" ] && return 0
	local abi=${TB_KVER%-"$TB_ARCH"} series deb tmp
	series=$(echo "$TB_KVER" | cut -d. -f1,2)
	tmp=$TB_KDIR.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# linux-kbuild holds the host tools of a module build (fixdep, modpost): the host's build of it,
	# also for an arm64 kernel (its headers package links scripts/ and tools/ there)
	for deb in "linux-image-$TB_KVER" "linux-headers-$TB_KVER" "linux-headers-$abi-common" \
		"linux-kbuild-$series:$TB_HOST_ARCH"; do
		dpkg -x "$(tb_fetch_deb "$deb")" "$tmp/root"
	done
	# The arch headers include the common tree by its absolute /usr/src path.
	sed -i "s|/usr/src/|$TB_KDIR/root/usr/src/|" "$tmp/root/usr/src/linux-headers-$TB_KVER/Makefile"
	depmod -b "$tmp/root" "$TB_KVER"
	rm -rf "$TB_KDIR"
	mv "$tmp" "$TB_KDIR"
	# the path baked into the Makefile is the final one
	touch "$TB_KDIR/.complete"
}

# tb_unpack PKG DIR FILE : unpacks PKG's .deb (tb_fetch_deb) once into
# $TB_CACHE/DIR/<the .deb's name>/root, and prints that folder without /root. FILE, a path under
# root, is there only once a whole unpack was: its absence unpacks again.
tb_unpack() {
	local deb dir
	deb=$(tb_fetch_deb "$1") || exit 1
	dir=$TB_CACHE/$2/$(basename "$deb" .deb)
	if [ ! -x "$dir/root/$3" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$deb" "$dir/root" || tb_die "dpkg -x $deb failed"
	fi
	echo "$dir"
}

tb_prepare_cni() {
	TB_CNI_DIR=$(tb_unpack containernetworking-plugins cni usr/lib/cni/host-device) || exit 1
}

# Debian's dynamically linked busybox (unpacked, not installed). Not busybox-static:
# that one's sh runs its own applets before PATH, so `ip` would never be iproute2's.
tb_prepare_busybox() {
	TB_BUSYBOX_DIR=$(tb_unpack busybox busybox bin/busybox) || exit 1
}

# tb_key FUNCTION... [-- FILE...] : a fragment's cache key (16 hex digits) from what it is built
# from: the definitions of the functions that build it (declare -f: their code without comments,
# so an edit elsewhere in lib.sh, or of a comment, keeps the key), the FILEs it copies or
# compiles, and its other inputs (package versions, the paths of the fragments it takes from,
# which name their own keys) as text on stdin.
tb_key() {
	local fns=() f
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		fns+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	# checked first: a failure inside the pipe below would still give a key, of less than its inputs
	declare -F "${fns[@]}" >/dev/null || tb_die "tb_key: not all are functions: ${fns[*]}"
	for f in "$@"; do
		if [ ! -f "$f" ] || [ ! -r "$f" ]; then tb_die "tb_key: cannot read $f"; fi
	done
	{
		cat
		declare -f "${fns[@]}"
		[ $# -eq 0 ] || cat "$@"
	} | sha256sum | cut -c1-16
}

# The fragments' keys, each from what goes into that fragment (test/testbed/keys.test.ts checks
# that an edit elsewhere keeps them and an edit of an input changes them). Inputs that are other
# fragments go in by path, which carries their own key (TB_MODULE, TB_SYSROOT) or the .deb's
# name and version (TB_CNI_DIR, TB_BUSYBOX_DIR); the kernel's files by TB_KVER (TB_KDIR is named
# by it); the host's iproute2 (ip, rdma) and libraries by their versions (dpkg-query); .debs by name.
# rdma_sim.ko: the kernel it is built against and its source.
tb_module_key() {
	printf '%s\n' "$TB_KVER" | tb_key tb_build_module -- "$TB_VM_DIR/module/rdma_sim.c" "$TB_VM_DIR/module/Makefile"
}
# tb_sysroot_key DEB... : the foreign guest's userland, the .debs it unpacks.
tb_sysroot_key() {
	local f
	for f in "$@"; do basename "$f"; done | LC_ALL=C sort | tb_key tb_prepare_sysroot
}
# The base initramfs: kernel modules, rdma_sim.ko, busybox, host-device, iproute2 and the
# libraries (the host's, or the foreign sysroot's), init, rdma-nlprobe.
tb_base_key() {
	{
		echo "$TB_KVER $TB_CNI_DIR $TB_MODULE $TB_BUSYBOX_DIR"
		if tb_foreign; then echo "$TB_ARCH $TB_SYSROOT"; else dpkg-query -W iproute2 libc6; fi
	} | tb_key tb_build_base tb_busybox_applets tb_unpack tb_guest_modules tb_copy_with_libs tb_copy_libs tb_elf_libs \
		-- "$TB_VM_DIR/guest/init" "$TB_VM_DIR/tools/rdma-nlprobe.c"
}
# The plugin's fragment (initramfs mode): build/rdma (by size, time and inode) and its libraries.
tb_plugin_key() {
	{
		stat -c '%s %Y %i' "$TB_PLUGIN"
		echo "$TB_SYSROOT"
	} | tb_key tb_plugin_cpio tb_copy_with_libs tb_copy_libs tb_elf_libs
}
# tb_podman_key DEB... : podman's packages, its configs, and the image (busybox, the host's rdma).
tb_podman_key() {
	local f
	{
		for f in "$@"; do basename "$f"; done | LC_ALL=C sort
		echo "$TB_BUSYBOX_DIR"
		dpkg-query -W iproute2 libc6
	} | tb_key tb_prepare_podman tb_podman_image_tar tb_copy_with_libs tb_copy_libs -- "$TB_VM_DIR/guest/podman/"*
}
# tb_containerd_key DEB... : containerd's packages, setup.sh and the test CNI plugins, loopback
# and static, and the two images (pause.c; busybox and the host's rdma).
tb_containerd_key() {
	local f
	{
		for f in "$@"; do basename "$f"; done | LC_ALL=C sort
		echo "$TB_BUSYBOX_DIR $TB_CNI_DIR"
		dpkg-query -W iproute2 libc6
	} | tb_key tb_prepare_containerd tb_podman_image_tar tb_oci_archive tb_copy_with_libs tb_copy_libs \
		-- "$TB_VM_DIR/guest/containerd/"* "$TB_VM_DIR/tools/pause.c"
}

# Build rdma_sim.ko (once per kernel and source) into $TB_MODULE.
tb_build_module() {
	local key dir
	key=$(tb_module_key) || exit 1
	dir=$TB_CACHE/module/$key
	TB_MODULE=$dir/rdma_sim.ko
	[ -e "$TB_MODULE" ] && return 0
	tb_log "building rdma_sim.ko for $TB_KVER"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	cp "$TB_VM_DIR/module/rdma_sim.c" "$TB_VM_DIR/module/Makefile" "$dir.tmp/"
	local cross=""
	tb_foreign && cross="ARCH=$TB_ARCH CROSS_COMPILE=$TB_TRIPLET-"
	# shellcheck disable=SC2086
	if ! make -s -C "$TB_KDIR/root/usr/src/linux-headers-$TB_KVER" M="$dir.tmp" $cross modules \
		>"$dir.tmp/build.log" 2>&1; then
		cat "$dir.tmp/build.log" >&2
		tb_die "module build failed"
	fi
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# tb_copy_with_libs STAGE FILE [DEST] : copy an executable and the shared libraries ldd names.
tb_copy_with_libs() {
	local stage=$1 file=$2 dest=${3:-$2}
	mkdir -p "$stage$(dirname "$dest")"
	cp -L "$file" "$stage$dest"
	tb_copy_libs "$stage" "$file"
}

# tb_copy_libs STAGE FILE : copy the shared libraries that ldd names for FILE (for a foreign
# guest: the ones tb_elf_libs finds in its sysroot).
tb_copy_libs() {
	local stage=$1 file=$2 lib
	if tb_foreign; then
		for lib in $(tb_elf_libs "$file"); do
			[ -e "$stage$lib" ] && continue
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$TB_SYSROOT$lib" "$stage$lib"
		done
		return 0
	fi
	for lib in $(ldd "$file" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/.*\(0x/ { print $1 }'); do
		[ -e "$stage$lib" ] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}

# tb_elf_libs FILE : the guest paths of FILE's program interpreter and the shared libraries it
# needs, recursively, looked up in $TB_SYSROOT as the guest's loader would (readelf, no ldd: the
# host cannot run a foreign executable).
tb_elf_libs() {
	local todo=$1 seen=" " f n d found
	local dirs="/lib/$TB_TRIPLET /usr/lib/$TB_TRIPLET /lib /usr/lib"
	readelf -lW "$1" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p'
	while [ -n "$todo" ]; do
		set -- $todo
		f=$1
		shift
		todo="$*"
		for n in $(readelf -dW "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case "$seen" in *" $n "*) continue ;; esac
			seen="$seen$n "
			found=""
			for d in $dirs; do
				if [ -e "$TB_SYSROOT$d/$n" ]; then found=$d/$n; break; fi
			done
			[ -n "$found" ] || tb_die "$(basename "$f") needs $n, which is not in $TB_SYSROOT"
			echo "$found"
			todo="$todo $TB_SYSROOT$found"
		done
	done
}

# The foreign guest's userland packages: iproute2 and busybox with what they depend on (Depends
# and Pre-Depends, first alternative, recursively), less what serves package installation or
# commands the guest does not run; unpacked with dpkg -x into $TB_SYSROOT (once per set of .debs).
TB_SYSROOT_ROOTS="iproute2 busybox libc6"
TB_SYSROOT_SKIP="debconf cdebconf libcap2-bin perl-base iptables dpkg tar adduser passwd
init-system-helpers lsb-base usr-is-merged usrmerge"
tb_prepare_sysroot() {
	local pkgs p file debs="" key
	TB_SYSROOT=""
	tb_foreign || return 0
	pkgs=$(tb_packages sysroot "$TB_SYSROOT_ROOTS" "$TB_SYSROOT_SKIP") || exit 1
	# shellcheck disable=SC2086
	debs=$(tb_fetch_debs $pkgs)
	# shellcheck disable=SC2086
	key=$(tb_sysroot_key $debs) || exit 1
	TB_SYSROOT=$TB_CACHE/sysroot/$TB_ARCH-$key/root
	[ -e "$TB_SYSROOT/.complete" ] && return 0
	tb_log "unpacking the $TB_ARCH guest's userland ($(echo $debs | wc -w) packages)"
	rm -rf "${TB_SYSROOT%/root}"
	mkdir -p "$TB_SYSROOT"
	for file in $debs; do dpkg -x "$file" "$TB_SYSROOT" || tb_die "dpkg -x $file failed"; done
	touch "$TB_SYSROOT/.complete"
}

# tb_fetch_debs PKG... : the paths of their .debs (candidate versions) in the cache; the ones
# not there yet come with one apt-get download.
tb_fetch_debs() {
	local p file missing="" debs=""
	for p in "$@"; do
		if file=$(tb_memo_get "deb:$p") && [ -e "$file" ]; then debs="$debs $file"; else missing="$missing $p"; fi
	done
	if [ -n "$missing" ]; then
		rm -rf "$TB_CACHE/debs/tmp"
		mkdir -p "$TB_CACHE/debs/tmp"
		tb_log "downloading$missing"
		# shellcheck disable=SC2086
		(cd "$TB_CACHE/debs/tmp" && tb_apt_get download -q $missing >/dev/null 2>&1) ||
			(tb_apt_update && cd "$TB_CACHE/debs/tmp" && tb_apt_get download -q $missing >/dev/null) ||
			tb_die "apt-get download$missing failed"
		for p in $missing; do
			file=$(ls -1 "$TB_CACHE/debs/tmp/${p}_"*.deb 2>/dev/null | head -n 1)
			[ -n "$file" ] || tb_die "apt-get download $p left no .deb"
			mv "$file" "$TB_CACHE/debs/"
			file=$TB_CACHE/debs/$(basename "$file")
			tb_memo_put "deb:$p" "$file"
			debs="$debs $file"
		done
	fi
	echo $debs
}

# tb_packages NAME ROOTS SKIP : the package names of tb_deps_closure ROOTS SKIP, one line, resolved
# once per state of the package lists and of ROOTS and SKIP (the memo's key names them by checksum).
tb_packages() {
	local pkgs key
	key=$1-packages-$(echo $2 / $3 | cksum | cut -d' ' -f1)
	if pkgs=$(tb_memo_get "$key"); then
		echo "$pkgs" | tr ',' ' '
		return 0
	fi
	pkgs=$(tb_deps_closure "$2" "$3")
	[ -n "$pkgs" ] || tb_die "cannot resolve the packages of $1 (apt-cache depends $(echo $2))"
	tb_memo_put "$key" "$(echo $pkgs | tr ' ' ',')"
	echo $pkgs
}

# tb_deps_closure ROOTS SKIP : ROOTS and the packages they depend on, recursively (one
# `apt-cache depends --important` per level; "|Depends: a" then "Depends: b" is "a or b": take a).
tb_deps_closure() {
	local level=$1 skip seen=" " next d p
	skip=" $(echo $2) "
	tb_apt_cache policy libc6 2>/dev/null | grep -q 'Candidate: [0-9]' || tb_apt_update
	while [ -n "$level" ]; do
		for p in $level; do seen="$seen$p "; done
		next=" "
		for d in $(tb_apt_cache depends --important $level 2>/dev/null | awk '
			/^[^ ]/ { alt = 0; next }
			/^ *\|(Pre)?Depends:/ { if (!alt) print $2; alt = 1; next }
			/^ *(Pre)?Depends:/ { if (!alt) print $2; alt = 0; next }' | sort -u); do
			case "$d" in "<"* | *:*) continue ;; esac # virtual, or another architecture's
			case "$skip$seen$next" in *" $d "*) continue ;; esac
			next="$next$d "
		done
		level=$(echo $next)
	done
	echo $seen
}

# The command's output file as the guest leaves it (test/vm/guest/init): the output, then the
# line "TB_OUTPUT_END rc=<n> bytes=<size of the output>" at the very end. Sets TB_OUTPUT_BYTES
# (how much of the file is the command's output: the whole file when the marker is not right)
# and TB_OUTPUT_RC; returns 1, with the reason in TB_OUTPUT_ERROR, when the file is missing or
# its marker is missing, garbled, not a whole last line, or names another size.
tb_output_check() {
	local f=$1 size line rc bytes
	TB_OUTPUT_BYTES=0 TB_OUTPUT_RC="" TB_OUTPUT_ERROR=""
	if [ ! -f "$f" ]; then
		TB_OUTPUT_ERROR="no output file"
		return 1
	fi
	size=$(stat -c %s "$f")
	TB_OUTPUT_BYTES=$size
	line=$(tail -c 200 "$f" | sed -n '$s/.*\(TB_OUTPUT_END rc=[0-9]\{1,3\} bytes=[0-9]\{1,15\}\)$/\1/p')
	if [ -z "$line" ]; then
		TB_OUTPUT_ERROR="no end marker (TB_OUTPUT_END rc=<n> bytes=<n>) at the end of the output"
		return 1
	fi
	if [ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" != 0a ]; then
		TB_OUTPUT_ERROR="the end marker is not a whole line"
		return 1
	fi
	rc=${line#TB_OUTPUT_END rc=}
	rc=$((10#${rc%% *}))
	bytes=$((10#${line##*bytes=}))
	if [ $((bytes + ${#line} + 1)) != "$size" ]; then
		TB_OUTPUT_ERROR="the end marker says $bytes bytes of output, $((size - ${#line} - 1)) came"
		return 1
	fi
	if [ "$rc" -gt 255 ]; then
		TB_OUTPUT_ERROR="the end marker's exit status $rc is not one"
		return 1
	fi
	TB_OUTPUT_BYTES=$bytes
	TB_OUTPUT_RC=$rc
}

# Guest kernel modules, in load order: virtio NICs, 9p (the plugin's folder and the command's
# output), RDMA core.
tb_guest_modules() {
	local root=$1 m
	for m in virtio_pci virtio_net 9pnet_virtio 9p ib_core ib_uverbs; do
		modprobe -d "$root" -S "$TB_KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++'
}

# The names of the guest busybox's applets. A foreign busybox cannot run here: ask the host's
# build of the same Debian package (same configuration), unpacked like the guest's.
tb_busybox_applets() {
	if ! tb_foreign; then
		"$TB_BUSYBOX_DIR/root/bin/busybox" --list
		return
	fi
	local arch=$TB_ARCH dir
	TB_ARCH=$TB_HOST_ARCH
	dir=$(tb_unpack busybox busybox bin/busybox)
	TB_ARCH=$arch
	[ -n "$dir" ] || exit 1
	"$dir/root/bin/busybox" --list
}

# Build the base initramfs (everything but the payload and the plugin) into $TB_BASE.
tb_build_base() {
	local key stage m name
	local ip=/bin/ip rdma=/usr/bin/rdma cc=gcc
	key=$(tb_base_key) || exit 1
	# amd64's base keeps its old name
	if tb_foreign; then
		TB_BASE=$TB_CACHE/initramfs/base-$TB_ARCH-$key.cpio
		ip=$TB_SYSROOT/bin/ip
		rdma=$TB_SYSROOT/usr/bin/rdma
		cc=$TB_TRIPLET-gcc
	else
		TB_BASE=$TB_CACHE/initramfs/base-$key.cpio
	fi
	[ -e "$TB_BASE" ] && return 0
	tb_log "building the guest's base initramfs"
	stage=$TB_CACHE/initramfs/stage-$key
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/testbed,proc,sys,dev,run,tmp,mnt,opt/cni/bin,lib/modules,var/lib,payload}
	ln -s ../run "$stage/var/run"
	tb_copy_with_libs "$stage" "$TB_BUSYBOX_DIR/root/bin/busybox" /bin/busybox
	for name in $(tb_busybox_applets); do
		[ "$name" = busybox ] || ln -s busybox "$stage/bin/$name"
	done
	# iproute2 in /usr/sbin, which comes first on the guest's PATH (busybox has an `ip` too)
	tb_copy_with_libs "$stage" "$ip" /usr/sbin/ip
	tb_copy_with_libs "$stage" "$rdma" /usr/sbin/rdma
	tb_copy_with_libs "$stage" "$TB_CNI_DIR/root/usr/lib/cni/host-device" /opt/cni/bin/host-device
	mkdir -p "$stage/lib/modules/$TB_KVER"
	: >"$stage/etc/testbed/modules"
	for m in $(tb_guest_modules "$TB_KDIR/root"); do
		cp "$m" "$stage/lib/modules/$TB_KVER/"
		echo "/lib/modules/$TB_KVER/$(basename "$m")" >>"$stage/etc/testbed/modules"
	done
	cp "$TB_MODULE" "$stage/lib/modules/$TB_KVER/rdma_sim.ko"
	mkdir -p "$stage/usr/local/bin"
	"$cc" -static -O2 -Wall -o "$stage/usr/local/bin/rdma-nlprobe" "$TB_VM_DIR/tools/rdma-nlprobe.c" ||
		tb_die "building rdma-nlprobe failed"
	cp "$TB_VM_DIR/guest/init" "$stage/init"
	chmod 755 "$stage/init"
	echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
	echo "root:x:0:" >"$stage/etc/group"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$TB_BASE.tmp"
	mv "$TB_BASE.tmp" "$TB_BASE"
	rm -rf "$stage"
}

# Everything a boot needs, built or fetched once. Sets TB_KVER TB_KDIR TB_MODULE TB_BASE, and
# TB_ACCEL TB_ACCEL_ARGS (tb_choose_accel); with TB_WANT_PODMAN=1 also TB_PODMAN_CPIO, with
# TB_WANT_CONTAINERD=1 TB_CONTAINERD_CPIO.
tb_prepare() {
	tb_host_pkgs
	mkdir -p "$TB_CACHE"
	exec 8>"$TB_CACHE/.lock"
	flock 8
	tb_prepare_kernel
	tb_prepare_cni
	tb_prepare_busybox
	tb_prepare_sysroot
	tb_build_module
	tb_build_base
	if [ "${TB_WANT_PODMAN:-0}" = 1 ]; then
		tb_foreign && tb_die "--podman: the podman boot is $TB_HOST_ARCH only"
		tb_prepare_podman
	fi
	if [ "${TB_WANT_CONTAINERD:-0}" = 1 ]; then
		tb_foreign && tb_die "--containerd: the containerd boot is $TB_HOST_ARCH only"
		tb_prepare_containerd
	fi
	tb_choose_accel
	flock -u 8
	exec 8>&-
}

# The accelerator. A /dev/kvm that opens is no proof that a guest runs: on a nested or
# paravirtualised KVM qemu may abort at the first vCPU reset (`failed to set MSR 0x10a`) or hang
# at boot. So KVM is used only once a real guest has booted with it here (tb_probe_kvm); the
# verdict is kept per host kernel, qemu, CPU and guest kernel, so any of those changing probes
# again. RDMA_TESTBED_KVM: auto (default) | 1 (KVM or fail) | 0 (TCG).
# Sets TB_ACCEL (kvm or tcg) and TB_ACCEL_ARGS, and logs one line saying which and why.
# An arm64 guest on this amd64 host always runs under TCG: the virt board with the emulated
# CPU "max" (every architecture feature qemu has), with pointer authentication by qemu's own
# cheap algorithm instead of QARMA5's, which is slow to emulate and serves nothing here.
TB_KVM_DEV=/dev/kvm
tb_choose_accel() {
	local want=${RDMA_TESTBED_KVM:-auto} why verdict file
	TB_ACCEL=tcg
	TB_ACCEL_ARGS="-accel tcg -cpu max"
	if [ "$TB_ARCH" = arm64 ]; then
		TB_ACCEL_ARGS="-M virt -accel tcg -cpu max,pauth-impdef=on"
		[ "$want" = 1 ] && tb_die "RDMA_TESTBED_KVM=1: an arm64 guest cannot use KVM on an $TB_HOST_ARCH host"
		tb_log "using TCG (an arm64 guest on an $TB_HOST_ARCH host)"
		return 0
	fi
	case "$want" in
	0)
		tb_log "using TCG (RDMA_TESTBED_KVM=0)"
		return 0
		;;
	1 | auto) ;;
	*) tb_die "RDMA_TESTBED_KVM is '$want': use auto (the default), 1 (KVM) or 0 (TCG)" ;;
	esac
	if [ ! -e "$TB_KVM_DEV" ]; then
		why="no $TB_KVM_DEV"
	elif [ ! -w "$TB_KVM_DEV" ] || [ ! -r "$TB_KVM_DEV" ]; then
		why="$TB_KVM_DEV is not readable and writable by $(id -un)"
	else
		file=$TB_CACHE/accel/kvm-$(tb_accel_key).verdict
		if [ -s "$file" ]; then
			verdict=$(head -n 1 "$file")
			why="${verdict#unusable: }; verdict of $(date -r "$file" +%F) kept in $file"
		else
			verdict=$(tb_probe_kvm)
			mkdir -p "$TB_CACHE/accel"
			printf '%s\n' "$verdict" >"$file.tmp" && mv "$file.tmp" "$file"
			why=${verdict#unusable: }
		fi
		case "$verdict" in
		ok*)
			TB_ACCEL=kvm
			TB_ACCEL_ARGS="-accel kvm -cpu host"
			tb_log "using KVM (${why#ok: })"
			return 0
			;;
		esac
	fi
	[ "$want" = 1 ] && tb_die "RDMA_TESTBED_KVM=1, but KVM is unusable here ($why); unset it to fall back to TCG"
	tb_log "KVM unusable here ($why); using TCG"
}

# A key for the KVM verdict: what decides whether a KVM guest runs.
tb_accel_key() {
	{
		uname -srvm
		grep -m 1 -E '^(model name|flags)' /proc/cpuinfo 2>/dev/null
		command -v "$TB_QEMU" && stat -L -c '%s %Y' "$(command -v "$TB_QEMU")" && "$TB_QEMU" --version 2>&1 | head -n 1
		echo "$TB_KVER"
	} | sha256sum | cut -c1-16
}

# Boots the test bed's own guest (no NICs, command `true`) under KVM with a deadline. Prints
# "ok: ..." when it reported in, else "unusable: <why>" (qemu's own error when it gave one).
tb_probe_kvm() {
	local dir limit=${RDMA_TESTBED_KVM_PROBE_TIMEOUT:-30} rc t0 err
	dir=$(mktemp -d /tmp/rdma-kvm-probe.XXXXXX)
	mkdir -p "$dir/stage/etc/testbed" "$dir/stage/payload"
	echo 'exec true' >"$dir/stage/etc/testbed/cmd"
	printf 'TB_PCI=0\nTB_AUX=0\nTB_SHARED=0\nTB_PLUGIN_SRC=none\n' >"$dir/stage/etc/testbed/conf"
	(cd "$dir/stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir/run.cpio"
	cat "$TB_BASE" "$dir/run.cpio" >"$dir/initrd"
	: >"$dir/console"
	mkdir "$dir/out"
	t0=$(tb_now)
	# (the guest's /init writes the command's output to the 9p share tbout, as under test/vm/run)
	timeout -k 2 "$limit" "$TB_QEMU" -accel kvm -cpu host -m 256 -smp 1 -display none -monitor none \
		-no-reboot -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$TB_KDIR/root/boot/vmlinuz-$TB_KVER" -initrd "$dir/initrd" \
		-append "console=ttyS0 quiet loglevel=1 panic=-1" -serial "file:$dir/console" \
		-fsdev "local,id=tbout,path=$dir/out,security_model=none" \
		-device virtio-9p-pci,fsdev=tbout,mount_tag=tbout,addr=0x2 \
		</dev/null >/dev/null 2>"$dir/stderr"
	rc=$?
	if grep -q '^TB_EXIT=0' "$dir/console"; then
		echo "ok: a guest booted with it in $(tb_elapsed "$t0") s"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "unusable: no sign of life from a KVM guest within ${limit} s"
	else
		# qemu's first complaint, without its program name: "failed to set MSR 0x10a to 0x69"
		err=$(grep -v -e '^$' -e 'warning:' "$dir/stderr" | head -n 1 | sed -E 's/^[^ :]*qemu[^ :]*: //; s/^error: //')
		if grep -q '^TB_EXIT=' "$dir/console"; then
			echo "unusable: the probe guest failed ($(grep -m 1 '^TB_EXIT=' "$dir/console" | tr -d '\r'))"
		elif [ -n "$err" ]; then
			echo "unusable: qemu: $err"
		else
			echo "unusable: qemu exited $rc before the guest reported in"
		fi
	fi
	rm -rf "$dir"
}

# An initramfs fragment with the plugin and the libraries it needs (initramfs mode).
tb_plugin_cpio() {
	local key stage
	key=$(tb_plugin_key) || exit 1
	TB_PLUGIN_CPIO=$TB_CACHE/initramfs/plugin-$key.cpio
	[ -e "$TB_PLUGIN_CPIO" ] && return 0
	stage=$TB_CACHE/initramfs/pstage-$key
	rm -rf "$stage"
	tb_copy_with_libs "$stage" "$TB_PLUGIN" /opt/cni/bin/rdma
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$TB_PLUGIN_CPIO.tmp"
	mv "$TB_PLUGIN_CPIO.tmp" "$TB_PLUGIN_CPIO"
	rm -rf "$stage"
	# keep only the newest few
	ls -1t "$TB_CACHE"/initramfs/plugin-*.cpio | tail -n +4 | xargs -r rm -f
}

# --- podman (test/vm/run --podman) ---------------------------------------------------------
# Debian's podman with its CNI backend, unpacked with dpkg -x into the cache, in an initramfs
# fragment of its own that only the podman boot carries:
#   podman/<key>/podman.cpio   the packages' files, the configs of test/vm/guest/podman, and
#                              the image's rootfs as a tarball (/usr/share/testbed/rdma-image.tar)
#
# The packages: TB_PODMAN_ROOTS and what they depend on (Depends and Pre-Depends, first
# alternative, recursively, `apt-cache depends --important`), less TB_PODMAN_SKIP. With Debian
# 12's lists that is 46 packages, libc6 among them (podman needs its libm, which the guest
# lacks); the fragment's cpio is 85 MB (67 MB before systemd and libcap2-bin). systemd for systemd-socket-activate, which stands in for systemd's
# socket units (t-podman-8), and libcap2-bin for capsh, which narrows the engine's bounding set
# there as the service unit's CapabilityBoundingSet does.
TB_PODMAN_ROOTS="podman crun conmon catatonit golang-github-containers-common golang-github-containers-image
systemd libcap2-bin"
# Packages the guest does without: host-device is already there and netavark is the other network
# backend; dpkg, tar, perl-base, debconf, adduser, passwd, init-system-helpers, lsb-base and the
# usrmerge helpers only serve package installation; gnupg (libgpgme11's) and dmsetup
# (libdevmapper's) are programs podman does not run with an insecureAcceptAnything policy and the
# vfs storage driver. Of systemd's dependencies, systemd-socket-activate (with its
# libsystemd-shared) loads none of mount, libcryptsetup12, libfdisk1, libapparmor1, libp11-kit0,
# libsmartcols1 and libuuid1.
TB_PODMAN_SKIP="containernetworking-plugins netavark dpkg tar perl-base debconf adduser passwd
init-system-helpers lsb-base usr-is-merged usrmerge gnupg dmsetup
mount libcryptsetup12 libfdisk1 libapparmor1 libp11-kit0 libsmartcols1 libuuid1"

# The image's rootfs: busybox and iproute2's rdma with their libraries.
tb_podman_image_tar() {
	local out=$1 root
	root=$(mktemp -d /tmp/rdma-image.XXXXXX)
	mkdir -p "$root"/{bin,usr/sbin,proc,sys,dev,run,tmp,etc}
	tb_copy_with_libs "$root" "$TB_BUSYBOX_DIR/root/bin/busybox" /bin/busybox
	for name in sh ls cat sleep echo true false test grep sed readlink; do ln -s busybox "$root/bin/$name"; done
	tb_copy_with_libs "$root" /usr/bin/rdma /usr/sbin/rdma
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$out" .
	rm -rf "$root"
}

# Fetch and unpack podman's packages, build the fragment (once per set of .debs and configs).
# Sets TB_PODMAN_CPIO.
tb_prepare_podman() {
	local pkgs file debs key dir stage
	pkgs=$(tb_packages podman "$TB_PODMAN_ROOTS" "$TB_PODMAN_SKIP") || exit 1
	# shellcheck disable=SC2086
	debs=$(tb_fetch_debs $pkgs) || tb_die "cannot fetch podman's packages"
	# shellcheck disable=SC2086
	key=$(tb_podman_key $debs) || exit 1
	dir=$TB_CACHE/podman/$key
	TB_PODMAN_CPIO=$dir/podman.cpio
	[ -e "$TB_PODMAN_CPIO" ] && return 0
	tb_log "building the podman fragment ($(echo $pkgs | wc -w) packages)"
	rm -rf "$dir.tmp"
	stage=$dir.tmp/stage
	mkdir -p "$stage"
	for file in $debs; do dpkg -x "$file" "$stage" || tb_die "dpkg -x $file failed"; done
	# the default bridge network needs plugins the guest lacks: only the test networks are there
	rm -f "$stage"/etc/cni/net.d/*
	rm -rf "$stage"/usr/share/{doc,man,info,locale,lintian,bash-completion,zsh,fish,bug,gitlab-ci,common-licenses}
	mkdir -p "$stage/etc/containers" "$stage/etc/cni/net.d" "$stage/usr/share/testbed" "$stage/etc/testbed"
	cp "$TB_VM_DIR/guest/podman/containers.conf" "$TB_VM_DIR/guest/podman/storage.conf" \
		"$TB_VM_DIR/guest/podman/policy.json" "$stage/etc/containers/"
	cp "$TB_VM_DIR/guest/podman/setup.sh" "$stage/etc/testbed/podman-setup.sh"
	tb_podman_image_tar "$stage/usr/share/testbed/rdma-image.tar"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir.tmp/podman.cpio"
	rm -rf "$stage" "$dir"
	mv "$dir.tmp" "$dir"
	# keep only the newest few
	ls -1dt "$TB_CACHE"/podman/*/ | tail -n +3 | xargs -r rm -rf
}


# --- containerd (test/vm/run --containerd) -------------------------------------------------
# Debian's containerd (1.6, its CRI plugin built in, ctr, the runc v2 shim) and runc, unpacked
# with dpkg -x into the cache, in an initramfs fragment of its own that only the containerd boot
# carries:
#   containerd/<key>/containerd.cpio  the packages' files, test/vm/guest/containerd (setup.sh, and
#                                     the CNI plugins cni-trace and cni-fail in /opt/cni/bin, with
#                                     containernetworking-plugins' loopback and static), and
#                                     an OCI image archive for `ctr images import`,
#                                     /usr/share/testbed/images.oci.tar, with two images:
#                                     localhost/pause:testbed (the sandbox image:
#                                     test/vm/tools/pause.c, static) and
#                                     localhost/rdma-image:testbed (busybox and iproute2's rdma,
#                                     the podman boot's rootfs)
# The packages: containerd, runc and what they depend on (tb_deps_closure): with Debian 12's lists
# containerd runc libc6 libseccomp2 libgcc-s1 gcc-12-base, 6 debs, ~93 MB unpacked (no registry
# is reachable from the guest, so no image is pulled).
TB_CONTAINERD_ROOTS="containerd runc"
TB_CONTAINERD_SKIP="dpkg tar perl-base debconf adduser passwd init-system-helpers lsb-base usr-is-merged usrmerge"

# tb_oci_archive OUT NAME LAYER_TAR CONFIG [NAME LAYER_TAR CONFIG ...] : an OCI image layout
# (oci-layout, index.json, blobs/sha256) as a tar at OUT, one image per triple: one uncompressed
# layer, the image config's "config" object CONFIG (JSON), named NAME (the index's
# io.containerd.image.name, which `ctr images import` uses). One archive, one import per namespace.
tb_oci_archive() {
	local out=$1 dir name layer config ld ls cd cs md ms manifests=""
	shift
	dir=$(mktemp -d /tmp/rdma-oci.XXXXXX)
	mkdir -p "$dir/blobs/sha256"
	while [ $# -ge 3 ]; do
		name=$1 layer=$2 config=$3
		shift 3
		ld=$(sha256sum "$layer" | cut -c1-64)
		ls=$(stat -c %s "$layer")
		cp "$layer" "$dir/blobs/sha256/$ld"
		printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
			"$TB_ARCH" "$config" "$ld" >"$dir/config"
		cd=$(sha256sum "$dir/config" | cut -c1-64)
		cs=$(stat -c %s "$dir/config")
		mv "$dir/config" "$dir/blobs/sha256/$cd"
		printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
			"$cd" "$cs" "$ld" "$ls" >"$dir/manifest"
		md=$(sha256sum "$dir/manifest" | cut -c1-64)
		ms=$(stat -c %s "$dir/manifest")
		mv "$dir/manifest" "$dir/blobs/sha256/$md"
		manifests="$manifests${manifests:+,}$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
			"$md" "$ms" "$TB_ARCH" "$name" "${name##*:}")"
	done
	[ $# = 0 ] || tb_die "tb_oci_archive: NAME LAYER_TAR CONFIG triples expected"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$manifests" >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf "$out" oci-layout index.json blobs
	rm -rf "$dir"
}

# Fetch and unpack containerd's packages, build the images and the fragment (once per set of
# .debs, configs and image sources). Sets TB_CONTAINERD_CPIO.
tb_prepare_containerd() {
	local pkgs file debs key dir stage tmp
	pkgs=$(tb_packages containerd "$TB_CONTAINERD_ROOTS" "$TB_CONTAINERD_SKIP") || exit 1
	# shellcheck disable=SC2086
	debs=$(tb_fetch_debs $pkgs) || tb_die "cannot fetch containerd's packages"
	# shellcheck disable=SC2086
	key=$(tb_containerd_key $debs) || exit 1
	dir=$TB_CACHE/containerd/$key
	TB_CONTAINERD_CPIO=$dir/containerd.cpio
	[ -e "$TB_CONTAINERD_CPIO" ] && return 0
	tb_log "building the containerd fragment ($(echo $pkgs | wc -w) packages)"
	rm -rf "$dir.tmp"
	stage=$dir.tmp/stage
	tmp=$dir.tmp/work
	mkdir -p "$stage" "$tmp/pause"
	for file in $debs; do dpkg -x "$file" "$stage" || tb_die "dpkg -x $file failed"; done
	# the v1 shims serve the old io.containerd.runtime.v1.linux runtime only; setup.sh writes the config
	rm -f "$stage/usr/bin/containerd-shim" "$stage/usr/bin/containerd-shim-runc-v1" "$stage/etc/containerd/config.toml"
	rm -rf "$stage"/lib/systemd "$stage"/usr/share/{doc,man,info,locale,lintian,bash-completion,zsh,fish,bug,common-licenses}
	mkdir -p "$stage/usr/share/testbed" "$stage/etc/testbed"
	cp "$TB_VM_DIR/guest/containerd/setup.sh" "$stage/etc/testbed/containerd-setup.sh"
	mkdir -p "$stage/opt/cni/bin"
	cp "$TB_VM_DIR/guest/containerd/cni-trace" "$TB_VM_DIR/guest/containerd/cni-fail" "$stage/opt/cni/bin/"
	# the CRI plugin brings up each pod's lo through the loopback plugin, beside the pod network,
	# and wants an IP on eth0 (static IPAM)
	for file in loopback static; do
		tb_copy_with_libs "$stage" "$TB_CNI_DIR/root/usr/lib/cni/$file" "/opt/cni/bin/$file"
	done
	gcc -static -O2 -Wall -Wextra -Werror -o "$tmp/pause/pause" "$TB_VM_DIR/tools/pause.c" ||
		tb_die "building pause failed"
	tar -C "$tmp/pause" --numeric-owner --owner=0 --group=0 -cf "$tmp/pause.tar" .
	tb_podman_image_tar "$tmp/rdma-image.tar"
	tb_oci_archive "$stage/usr/share/testbed/images.oci.tar" \
		localhost/pause:testbed "$tmp/pause.tar" '{"Entrypoint":["/pause"]}' \
		localhost/rdma-image:testbed "$tmp/rdma-image.tar" '{"Cmd":["sh"],"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}'
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir.tmp/containerd.cpio"
	rm -rf "$stage" "$tmp" "$dir"
	mv "$dir.tmp" "$dir"
	# keep only the newest few
	ls -1dt "$TB_CACHE"/containerd/*/ | tail -n +3 | xargs -r rm -rf
}

tb_set_arch "${RDMA_TESTBED_ARCH:-amd64}"
