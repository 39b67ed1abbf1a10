#!/bin/sh
# apt-patch.sh runs inside the image being patched, as root, and installs the
# plan that copa/frontend made. Package names and versions arrive as
# arguments, already checked against Debian's grammar by the frontend; they
# are only ever passed on as arguments, never evaluated.
#
#   apt-patch.sh report fail|warn NAME=FIXED...   bring each NAME to >= FIXED
#   apt-patch.sh all    fail|warn                 upgrade every upgradable package
#
# When the frontend image is mounted at /tmp/copa-helper (and the original
# image at /tmp/copa-original), its binary then gives the files that the
# upgrade left unchanged their original metadata, so that they stay out of
# the patch layer.
#
# It leaves its findings in /tmp/copa-out for the frontend to read:
#   added-suites  the release suites it had to add to reach the fixed versions
#   unresolved    "NAME FIXED BEST" for packages it could not bring far enough
#   upgrades      "NAME VERSION" for every package an upgrade-all installs
set -eu

in=/tmp/copa-in
out=/tmp/copa-out
helper=/tmp/copa-helper/bin/frontend
original=/tmp/copa-original
work=/tmp/copa-work
mode=$1
policy=$2
shift 2

export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C
# debconf's default configuration backs its databases up to *-old files;
# this copy of it does not, so no backup lands in the patch layer.
export DEBCONF_SYSTEMRC="$in/debconf.conf"
sources_opt=""

# Translations only describe packages: a patch never reads them, so
# apt-get update does not download them (the lists live in a cache mount,
# the image's own apt configuration is unchanged).
apt_get() {
	# shellcheck disable=SC2086 # $sources_opt is empty or one fixed word pair
	apt-get -q -y -o Acquire::Languages=none \
		-o APT::Install-Recommends=false -o APT::Install-Suggests=false \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		-o Dpkg::Use-Pty=false $sources_opt "$@"
}

candidate() {
	# shellcheck disable=SC2086
	apt-cache $sources_opt policy "$1" | sed -n 's/^  Candidate: //p'
}

# candidates prints "NAME CANDIDATE" for every NAME apt knows, in one run.
candidates() {
	# shellcheck disable=SC2086
	apt-cache $sources_opt policy "$@" 2>/dev/null |
		awk '/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) } /^  Candidate: / { print name, $2 }'
}

# shortfalls prints each NAME=FIXED whose apt candidate is below FIXED.
shortfalls() {
	names=""
	for spec; do names="$names ${spec%%=*}"; done
	# shellcheck disable=SC2086 # one validated package name per word
	cands=$(candidates $names)
	for spec; do
		name=${spec%%=*}
		fixed=${spec#*=}
		cand=$(printf '%s\n' "$cands" | awk -v n="$name" '$1 == n { print $2; exit }')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ] || ! dpkg --compare-versions "$cand" ge "$fixed"; then
			echo "$spec"
		fi
	done
}

keep_unchanged() {
	if [ -x "$helper" ]; then
		"$helper" keep-unchanged-deb "$original" /
	fi
}

echo "copa: reading the package lists of the image's apt sources" >&2
apt_get update

if [ "$mode" = all ]; then
	# "Inst NAME [OLD] (NEW SUITE [ARCH])": the versions the upgrade installs.
	apt_get -s --with-new-pkgs upgrade |
		sed -n 's/^Inst \([^ ]*\) \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) .*/\1 \3/p' >"$out/upgrades"
	if [ ! -s "$out/upgrades" ]; then
		echo "copa: every package is up to date" >&2
		exit 0
	fi
	apt_get --with-new-pkgs upgrade
	keep_unchanged
	exit 0
fi

missing=$(shortfalls "$@")
if [ -n "$missing" ] && [ -s "$in/extra.list" ]; then
	mkdir -p "$work"
	{
		if [ -f /etc/apt/sources.list ]; then cat /etc/apt/sources.list; fi
		cat "$in/extra.list"
	} >"$work/sources.list"
	sources_opt="-o Dir::Etc::SourceList=$work/sources.list"
	cp "$in/extra.suites" "$out/added-suites"
	echo "copa: the image's apt sources lack fixed versions; adding the release's suites: $(tr '\n' ' ' <"$in/extra.suites")" >&2
	apt_get update
	missing=$(shortfalls "$@")
fi

install=""
for spec; do
	case "
$missing
" in
	*"
$spec
"*) ;;
	*) install="$install ${spec%%=*}" ;;
	esac
done

if [ -n "$missing" ]; then
	for spec in $missing; do
		name=${spec%%=*}
		cand=$(candidate "$name")
		echo "$name ${spec#*=} ${cand:-(none)}" >>"$out/unresolved"
		echo "copa: $name: fixed version ${spec#*=} is not available (best candidate: ${cand:-none})" >&2
	done
	if [ "$policy" = fail ]; then
		echo "copa: failing: the fixed versions above cannot be installed (UNRESOLVED warn lets the build go on without them)" >&2
		exit 1
	fi
fi

if [ -z "$install" ]; then
	echo "copa: nothing left to install" >&2
	exit 0
fi
# shellcheck disable=SC2086 # one validated package name per word
apt_get install --only-upgrade $install
keep_unchanged
