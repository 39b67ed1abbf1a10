#!/usr/bin/env bash
# A static apk-tools 2.14.10 (Alpine's package manager, for Alpine <= 3.22)
# or 3.0.6 (Alpine 3.23+)
# built from the sources in /work/shared/tools/apk-tools, for the Alpine-side
# test images and the hack/mkapk repositories: no Alpine mirror is reachable
# and Debian does not package apk-tools.
#
#   bash hack/harness/apk-tools.sh [DEST_DIR]
#       builds DEST_DIR/apk.static (default DEST_DIR:
#       /var/cache/copa-frontend/apk-tools/2.14.10) unless it is already there
#       for the same tarball, and prints its path on stdout.
#   bash hack/harness/apk-tools.sh --apk3 [DEST_DIR]
#       the same for apk-tools 3.0.6 (Alpine 3.23+; meson), as DEST_DIR/apk.static
#       (default /var/cache/copa-frontend/apk-tools/3.0.6)
#   source hack/harness/apk-tools.sh; apk_tools_static [DEST_DIR]; apk3_tools_static [DEST_DIR]
#       the same from another script (e.g. harness.sh); nothing runs on source.
#
# The binary is keyed by the tarball's sha256 (DEST_DIR/apk.static.source-sha256):
# a second run with the same tarball only compares the stamp. The build log
# goes to $COPA_CACHE/logs/build-apk-tools-2.14.10.log, not the terminal.
# Environment: APK_TOOLS_TARBALL (another 2.14 tarball; its sha256 is then
# not checked against the known one), COPA_CACHE.
# shellcheck shell=bash

APK_TOOLS_VERSION=2.14.10
APK3_TOOLS_VERSION=3.0.6
APK_TOOLS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The sha256s ../shared/tools/apk-tools/README.md lists for the tarballs.
declare -A APK_TOOLS_SHA256S=(
	[2.14.10]=cbecc69b1df34e51334f7b30859f509c95563287fcde5c1ec800c0f0701f1fff
	[3.0.6]=8a1b1abd48ee2610a4d229c111757aebeda8f8c8f76d5f49fb8162ec5c19b5a6
)
APK_TOOLS_DEPS=(build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev lua5.3 lua-zlib meson ninja-build)

# The subshell body keeps set -e, traps and cd local, so sourcing this file
# into harness.sh changes neither its options nor its helpers.
apk_tools_static() { apk_tools_build "$APK_TOOLS_VERSION" "$@"; }

# apk3_tools_static [DEST_DIR]: the same for apk-tools 3 (Alpine 3.23+),
# built with meson.
apk3_tools_static() { apk_tools_build "$APK3_TOOLS_VERSION" "$@"; }

# apk_tools_build VERSION [DEST_DIR]
apk_tools_build() (
	set -euo pipefail
	local APK_TOOLS_VERSION=$1
	shift
	local APK_TOOLS_SHA256=${APK_TOOLS_SHA256S[$APK_TOOLS_VERSION]}
	local cache=${COPA_CACHE:-/var/cache/copa-frontend}
	local dest=${1:-$cache/apk-tools/$APK_TOOLS_VERSION}
	# ../shared beside the clone, as on CI.
	local tarball=${APK_TOOLS_TARBALL:-$APK_TOOLS_HERE/../../../shared/tools/apk-tools/apk-tools-$APK_TOOLS_VERSION.tar.gz}
	local logf=$cache/logs/build-apk-tools-$APK_TOOLS_VERSION.log
	local bin=$dest/apk.static stamp=$dest/apk.static.source-sha256
	say() { printf '[apk-tools] %s\n' "$*" >&2; }
	fail() { say "ERROR: $*"; exit 1; }

	[[ -r $tarball ]] || fail "no tarball at $tarball"
	local sum
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	if [[ -z ${APK_TOOLS_TARBALL:-} && $sum != "$APK_TOOLS_SHA256" ]]; then
		fail "$tarball has sha256 $sum, expected $APK_TOOLS_SHA256"
	fi
	if [[ -x $bin && -f $stamp && "$(cat "$stamp")" == "$sum" ]]; then
		echo "$bin"
		exit 0
	fi

	mkdir -p "$dest" "$(dirname "$logf")"
	# Two harness jobs may ask at once; the second waits and then finds the
	# stamp written by the first.
	exec 9>"$dest/.lock"
	flock 9
	if [[ -x $bin && -f $stamp && "$(cat "$stamp")" == "$sum" ]]; then
		echo "$bin"
		exit 0
	fi

	local missing=() p
	for p in "${APK_TOOLS_DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	: >"$logf"
	if ((${#missing[@]})); then
		say "apt-get install ${missing[*]} (log: $logf)"
		# Another job on the machine may hold the dpkg lock; wait for it.
		if ! { apt-get -o DPkg::Lock::Timeout=300 update &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
				install -y --no-install-recommends "${missing[@]}"; } >>"$logf" 2>&1; then
			tail -n 30 "$logf" >&2
			fail "apt-get install failed (full log: $logf)"
		fi
	fi

	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/apk-tools-build.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	say "building apk-tools $APK_TOOLS_VERSION (static; log: $logf)"
	# lua5.3 and lua-zlib are needed for the help text: 2.14's genhelp.lua
	# fails without the zlib module. LUAAPK=no skips the Lua binding
	# (src/lua-apk.c), which apk.static does not use and which would need
	# liblua5.3-dev's headers.
	local src=$work/apk-tools-$APK_TOOLS_VERSION out
	case $APK_TOOLS_VERSION in
	2.*)
		out=$src/src/apk.static
		if ! { tar -xzf "$tarball" -C "$work" &&
			make -C "$src" -j"$(nproc)" static LUA=/usr/bin/lua5.3 LUAAPK=no; } >>"$logf" 2>&1; then
			tail -n 30 "$logf" >&2
			fail "build failed (full log: $logf)"
		fi
		;;
	*)
		# apk 3: meson, everything static, no Lua, Python, tests or docs.
		out=$work/B/src/apk
		if ! { tar -xzf "$tarball" -C "$work" &&
			meson setup "$work/B" "$src" --buildtype=release -Ddefault_library=static -Dprefer_static=true \
				-Dc_link_args=-static -Dlua=disabled -Dpython=disabled -Dtests=disabled -Ddocs=disabled -Dhelp=enabled -Dzstd=enabled &&
			ninja -C "$work/B"; } >>"$logf" 2>&1; then
			tail -n 30 "$logf" >&2
			fail "build failed (full log: $logf)"
		fi
		;;
	esac
	[[ -x $out ]] || fail "the build made no $out (log: $logf)"
	# A dynamic binary would not run in a bare root or a FROM scratch image.
	if ldd "$out" >/dev/null 2>&1; then
		fail "$out is dynamically linked"
	fi
	"$out" --version >>"$logf" 2>&1 || fail "$out --version failed (log: $logf)"

	cp "$out" "$bin.tmp"
	mv -f "$bin.tmp" "$bin"
	echo "$sum" >"$stamp.tmp"
	mv -f "$stamp.tmp" "$stamp"
	say "built $bin"
	echo "$bin"
)

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	case ${1:-} in
	--apk3) shift; apk3_tools_static "$@" ;;
	*) apk_tools_static "$@" ;;
	esac
fi
