#!/bin/sh
# Assembles the image's root filesystem: the rdma executable as /rdma, its ELF interpreter and
# the shared libraries it needs (found by reading the ELF headers, so a foreign-architecture
# executable works too), the static shim as /rdma-shim (which `rdma install` puts in front of the
# engine, docs/engine.md), and nothing else: no shell, no package manager.
#
#   deployment/rootfs.sh EXECUTABLE SHIM OUTDIR [SYSROOT]
#
# SYSROOT (default /) is where the libraries are taken from; for another architecture, a
# directory holding that architecture's libc6 package unpacked (see deployment/image.mk).
set -eu

[ $# -ge 3 ] || { echo "usage: rootfs.sh EXECUTABLE SHIM OUTDIR [SYSROOT]" >&2; exit 2; }
exe=$1
shim=$2
out=$3
sysroot=${4:-/}

machine=$(readelf -h "$exe" | sed -n 's/^ *Machine: *//p')
case $machine in
  *X86-64*) triplet=x86_64-linux-gnu ;;
  *AArch64*) triplet=aarch64-linux-gnu ;;
  *) echo "rootfs.sh: $exe: unsupported machine '$machine'" >&2; exit 1 ;;
esac

# The shim must run with nothing but itself: static (no interpreter, no NEEDED library), and
# for the executable's machine.
shim_machine=$(readelf -h "$shim" | sed -n 's/^ *Machine: *//p')
[ "$shim_machine" = "$machine" ] || { echo "rootfs.sh: $shim is for '$shim_machine', $exe for '$machine'" >&2; exit 1; }
if readelf -l "$shim" | grep -q 'Requesting program interpreter' || readelf -d "$shim" | grep -q '(NEEDED)'; then
  echo "rootfs.sh: $shim is not statically linked" >&2; exit 1
fi

rm -rf "$out"
mkdir -p "$out"
install -m 0755 "$exe" "$out/rdma"
install -m 0755 "$shim" "$out/rdma-shim"

# Copies a file of the sysroot to the same absolute path in the rootfs, following symlinks.
place() {
  mkdir -p "$out$(dirname "$1")"
  cp -L "$sysroot$1" "$out$1"
}

find_lib() {
  for dir in /lib/$triplet /usr/lib/$triplet /lib64 /usr/lib64 /lib /usr/lib; do
    if [ -e "$sysroot$dir/$1" ]; then echo "$dir/$1"; return 0; fi
  done
  echo "rootfs.sh: $1 (needed by $2) not found under $sysroot" >&2
  return 1
}

interp=$(readelf -l "$exe" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] || { echo "rootfs.sh: $exe has no ELF interpreter" >&2; exit 1; }
place "$interp"

# Breadth-first over NEEDED entries: the executable's, then each library's.
todo=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done_list=" ${interp##*/} "
while [ -n "$todo" ]; do
  next=""
  for lib in $todo; do
    case $done_list in *" $lib "*) continue ;; esac
    done_list="$done_list$lib "
    path=$(find_lib "$lib" "$exe")
    [ -e "$out$path" ] || place "$path"
    next="$next $(readelf -d "$sysroot$path" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
  done
  todo=$next
done

# The mount points a runtime fills in; the DaemonSet mounts the host's CNI bin dir here.
mkdir -p "$out/proc" "$out/dev" "$out/sys" "$out/tmp" "$out/host/opt/cni/bin"
chmod 1777 "$out/tmp"
echo "rootfs.sh: $out:" >&2
(cd "$out" && find . -type f | sort) >&2
