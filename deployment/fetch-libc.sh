#!/bin/sh
# Unpacks Debian's libc6 for ARCH (amd64, arm64) into DIR, to be the SYSROOT of rootfs.sh when
# the image is for another architecture than the build machine's. Uses apt with its own state
# directory, so the machine's apt configuration (its architectures, lists, cache) is untouched.
#
#   deployment/fetch-libc.sh ARCH DIR
set -eu

arch=$1
dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/lists/partial" "$work/archives/partial" "$dir"
apt_opts="-o APT::Architecture=$arch -o APT::Architectures::=$arch \
  -o Dir::State::Lists=$work/lists -o Dir::State::Status=/dev/null \
  -o Dir::Cache=$work -o Dir::Cache::archives=$work/archives -o Debug::NoLocking=1 \
  -o APT::Sandbox::User=root"
# shellcheck disable=SC2086 # the options are meant to split
apt-get -q $apt_opts update >&2
# shellcheck disable=SC2086
(cd "$work" && apt-get -q $apt_opts download "libc6:$arch" >&2)
dpkg-deb -x "$work"/libc6_*_"$arch".deb "$dir"
echo "fetch-libc.sh: libc6:$arch unpacked in $dir" >&2
