#!/bin/sh
# tooling-patch.sh runs in the tooling image (a Debian or Ubuntu image of
# the target's release, with apt), as root, and patches the target image
# mounted at $COPA_TARGET without running anything of it: apt
# downloads the fixed packages, dpkg-deb unpacks them here, and the
# frontend's helper binary copies their files into the target and updates
# the target's own dpkg database (status or status.d). Maintainer scripts
# are not run; the helper lists the packages that have them.
#
#   tooling-patch.sh report fail|warn NAME=FIXED...     bring each NAME to >= FIXED
#   tooling-patch.sh all    fail|warn NAME=INSTALLED... update each NAME that has a newer version
#
# Paths and helper command names come from the step protocol's environment
# (distros/protocol.go): COPA_IN, COPA_OUT, COPA_WORK, COPA_TARGET,
# COPA_HELPER and COPA_CMD_INSTALL; SOURCE_DATE_EPOCH, when the build
# sets it, dates what the step changed in the target (clamp_times in
# apt-lib.sh).
#
# Besides apt-lib.sh's notes it writes to $COPA_OUT:
#   upgrades       "NAME VERSION" for every package an upgrade-all installs
#   install-notes  the helper's notes (see distros.NoteInstall)
set -eu

in=$COPA_IN
out=$COPA_OUT
helper=$COPA_HELPER
target=$COPA_TARGET
work=$COPA_WORK
base_sources=/etc/apt/sources.list
mode=$1
policy=$2
shift 2

# shellcheck source=apt-lib.sh
. "$in/apt-lib.sh"

for tool in apt-get apt-cache dpkg-deb; do
	if ! command -v "$tool" >/dev/null; then
		echo "copa: the tooling image has no $tool: use a Debian or Ubuntu image of the target's release" >&2
		exit 1
	fi
done

echo "copa: reading the package lists of the tooling image's apt sources" >&2
update_lists

if [ "$mode" = all ]; then
	names=""
	for spec; do names="$names ${spec%%=*}"; done
	# shellcheck disable=SC2086 # one validated package name per word
	cands=$(candidates $names)
	install=""
	for spec; do
		name=${spec%%=*}
		cand=$(candidate_of "$name")
		if [ -n "$cand" ] && [ "$cand" != "(none)" ] && dpkg --compare-versions "$cand" gt "${spec#*=}"; then
			echo "$name $cand" >>"$out/upgrades"
			install="$install $name"
		fi
	done
	if [ -z "$install" ]; then
		echo "copa: every package is up to date" >&2
		exit 0
	fi
else
	resolve "$@"
	if [ -z "$install" ]; then
		echo "copa: nothing left to install" >&2
		exit 0
	fi
fi

# Download exactly the candidate versions that were checked above.
names=""
for name in $install; do names="$names $name"; done
# shellcheck disable=SC2086 # one validated package name per word
cands=$(candidates $names)
pins=""
for name in $install; do pins="$pins $name=$(candidate_of "$name")"; done
mkdir -p "$work/debs" "$work/staging"
cd "$work/debs"
echo "copa: downloading$pins" >&2
# shellcheck disable=SC2086 # NAME=VERSION words, both validated or from apt
download_debs $pins
for deb in "$work"/debs/*.deb; do
	pkg=$(dpkg-deb -f "$deb" Package)
	dpkg-deb -R "$deb" "$work/staging/$pkg"
done
cd /
if ! "$helper" "$COPA_CMD_INSTALL" "$work/staging" "$target" "$out/install-notes" 2>"$work/helper.err"; then
	cat "$work/helper.err" >&2
	cat "$work/helper.err" >>"$work/errors"
	exit 1
fi
cat "$work/helper.err" >&2
keep_sources "$target"
clamp_times "$target"
