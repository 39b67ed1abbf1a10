#!/usr/bin/env bash
# hack/distroless-rootfs.sh ROOTFS OUT.tar EPOCH PKG...
#
# Writes OUT.tar, a distroless-style root filesystem taken from the Debian
# rootfs ROOTFS without running anything in it (as Google's distroless images
# are assembled from .deb contents):
#   - the files of each PKG, from var/lib/dpkg/info/PKG[:ARCH].list, with every
#     parent directory, owners, modes and mtimes as in ROOTFS. A listed path
#     whose directory goes through a symlink (lib/x86_64-linux-gnu/libc.so.6 on
#     merged /usr) is stored at its real place (usr/lib/...), the symlink itself
#     (lib -> usr/lib) as the symlink;
#   - the merged-/usr top-level symlinks of ROOTFS (bin, lib, lib64, sbin, ...);
#   - /etc/passwd and /etc/group as distroless writes them (root, nobody,
#     nonroot 65532), /home/nonroot (0700, 65532:65532), /tmp (1777);
#   - the distroless dpkg database: var/lib/dpkg/status.d/PKG, the package's
#     stanza from ROOTFS's var/lib/dpkg/status without Status and Conffiles
#     (the package's control file), and status.d/PKG.md5sums, a copy of
#     info/PKG[:ARCH].md5sums. No var/lib/dpkg/status.
# Files written here (passwd, group, status.d) get mtime EPOCH. Runs as root
# (the tar keeps numeric owners; home/nonroot is chowned to 65532).
set -euo pipefail

die() { echo "distroless-rootfs: ERROR: $*" >&2; exit 1; }
(($# >= 4)) || die "usage: $0 ROOTFS OUT.tar EPOCH PKG..."
root=$(realpath "$1") out=$2 epoch=$3
shift 3
[[ -d $root/var/lib/dpkg/info && -f $root/var/lib/dpkg/status ]] || die "$root has no dpkg database"
[[ $epoch =~ ^[0-9]+$ ]] || die "EPOCH must be seconds since 1970, not '$epoch'"
arch=$(dpkg --print-architecture)
info=$root/var/lib/dpkg/info
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

declare -A seen=() dircache=()
paths=()
# add REL: REL (relative to ROOTFS, no ./) and its parent directories.
add() {
	local p=$1
	while [[ -n $p && $p != . && -z ${seen[$p]:-} ]]; do
		[[ -e $root/$p || -L $root/$p ]] || die "$p is not in $root"
		seen[$p]=1
		paths+=("./$p")
		[[ $p == */* ]] && p=${p%/*} || p=
	done
}
# resolve_dir DIR: DIR (relative to ROOTFS) with every symlink in it resolved
# inside ROOTFS, as if ROOTFS were /. Prints "." for the root.
resolve_dir() {
	local todo=$1 done='' c t n=0
	while [[ -n $todo ]]; do
		c=${todo%%/*}
		[[ $todo == */* ]] && todo=${todo#*/} || todo=
		case $c in
		'' | .) ;;
		..) done=${done%/*} ;;
		*)
			if [[ -L $root$done/$c ]]; then
				((++n <= 40)) || die "too many symlinks resolving $1"
				t=$(readlink "$root$done/$c")
				[[ $t == /* ]] && done=''
				todo=${t#/}/$todo
			else
				done=$done/$c
			fi
			;;
		esac
	done
	[[ -n $done ]] && echo "${done#/}" || echo .
}
# canon REL: sets CANON to REL with the symlinks in its directory resolved
# (cached per directory; no subshell, so the cache survives).
canon() {
	local rel=$1 d b
	[[ $rel == */* ]] && d=${rel%/*} || d=.
	b=${rel##*/}
	[[ -n ${dircache[$d]:-} ]] || dircache[$d]=$(resolve_dir "$d")
	d=${dircache[$d]}
	[[ $d == . ]] && CANON=$b || CANON=$d/$b
}
# dpkg_info PKG EXT: info/PKG:ARCH.EXT or info/PKG.EXT, whichever exists.
dpkg_info() {
	local f
	for f in "$info/$1:$arch.$2" "$info/$1.$2"; do
		[[ -f $f ]] && { echo "$f"; return 0; }
	done
	return 1
}

# Written below, not taken from ROOTFS.
declare -A staged=([etc/passwd]=1 [etc/group]=1 [home/nonroot]=1 [var/lib/dpkg/status.d]=1)

mkdir -p "$stage/etc" "$stage/home/nonroot" "$stage/var/lib/dpkg/status.d"
for pkg in "$@"; do
	list=$(dpkg_info "$pkg" list) || die "$pkg: no $info/${pkg}[:$arch].list (is it installed?)"
	while IFS= read -r line; do
		rel=${line#/}
		[[ -z $rel || $rel == . ]] && continue
		canon "$rel"
		rel=$CANON
		[[ -n ${staged[$rel]:-} ]] && continue
		add "$rel"
	done <"$list"

	# The package's control stanza: status minus Status and Conffiles (with
	# its continuation lines); the package must be installed, for ARCH or all.
	awk -v pkg="$pkg" -v arch="$arch" '
		BEGIN { RS = ""; FS = "\n" }
		{
			name = ""; a = ""; st = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Package: /) name = substr($i, 10)
				else if ($i ~ /^Architecture: /) a = substr($i, 15)
				else if ($i ~ /^Status: /) st = substr($i, 9)
			}
			if (name != pkg || (a != arch && a != "all")) next
			if (st != "install ok installed") { print pkg ": status is \"" st "\"" > "/dev/stderr"; bad = 1; exit }
			n++
			skip = 0
			for (i = 1; i <= NF; i++) {
				if ($i !~ /^[ \t]/) skip = ($i ~ /^(Status|Conffiles):/)
				if (!skip) print $i
			}
		}
		END {
			if (bad) exit 1
			if (n != 1) { print pkg ": " n + 0 " installed stanzas for " arch " in the dpkg status" > "/dev/stderr"; exit 1 }
		}' "$root/var/lib/dpkg/status" >"$stage/var/lib/dpkg/status.d/$pkg" || die "$pkg: no control stanza"
	if md5=$(dpkg_info "$pkg" md5sums); then
		cp "$md5" "$stage/var/lib/dpkg/status.d/$pkg.md5sums"
	else
		echo "distroless-rootfs: $pkg has no md5sums file" >&2
	fi
done

# Merged-/usr top-level symlinks, and the directories they point to.
for d in bin sbin lib lib32 lib64 libx32; do
	if [[ -L $root/$d ]]; then
		add "$d"
		t=$(resolve_dir "$d")
		[[ -d $root/$t ]] && add "$t"
	fi
done
# Parents of the files written below, and /tmp.
add etc
add home
add var/lib/dpkg
add tmp
[[ $(stat -c %a "$root/tmp") == 1777 ]] || die "$root/tmp is not mode 1777"

# As Google distroless (base/base.bzl) writes them.
cat >"$stage/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/sbin/nologin
	nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
	nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$stage/etc/group" <<-'EOF'
	root:x:0:
	nobody:x:65534:
	tty:x:5:
	staff:x:50:
	nonroot:x:65532:
EOF
chmod 0644 "$stage/etc/passwd" "$stage/etc/group" "$stage"/var/lib/dpkg/status.d/*
chmod 0755 "$stage/var/lib/dpkg/status.d"
chmod 0700 "$stage/home/nonroot"
chown 0:0 "$stage/etc/passwd" "$stage/etc/group" "$stage/var/lib/dpkg/status.d" "$stage"/var/lib/dpkg/status.d/*
chown 65532:65532 "$stage/home/nonroot"
staged_paths=(./etc/passwd ./etc/group ./home/nonroot ./var/lib/dpkg/status.d)
for f in "$stage"/var/lib/dpkg/status.d/*; do staged_paths+=("./var/lib/dpkg/status.d/${f##*/}"); done
(cd "$stage" && touch -h -d "@$epoch" "${staged_paths[@]}")

# Parents before children: "." first, then sorted (C order puts a directory
# before everything below it).
{ echo .; printf '%s\n' "${paths[@]}" | LC_ALL=C sort -u; } >"$stage/rootfs.list"
rm -f "$out"
tar -C "$root" --numeric-owner --no-recursion --verbatim-files-from -cf "$out" -T "$stage/rootfs.list"
tar -C "$stage" --numeric-owner --no-recursion -rf "$out" "${staged_paths[@]}"
