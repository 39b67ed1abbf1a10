#!/bin/sh
# apt-patch.sh runs inside the image being patched, as root, and installs the
# plan that copa/frontend made (see apt-lib.sh for how arguments are treated).
#
#   apt-patch.sh report fail|warn NAME=FIXED...   bring each NAME to >= FIXED
#   apt-patch.sh all    fail|warn                 upgrade every upgradable package
#
# Paths and helper command names come from the step protocol's environment
# (distros/protocol.go): COPA_IN, COPA_OUT, COPA_WORK, and, when the
# frontend image and the original image are mounted, COPA_HELPER and
# COPA_ORIGINAL. The helper's COPA_CMD_KEEP_UNCHANGED command then gives
# the files that the upgrade left unchanged their original metadata, so
# that they stay out of the patch layer. SOURCE_DATE_EPOCH, when the build
# sets it, dates what the step changed (clamp_times in apt-lib.sh).
#
# Besides apt-lib.sh's notes it writes to $COPA_OUT:
#   upgrades      "NAME VERSION" for every package an upgrade-all installs
set -eu

in=$COPA_IN
out=$COPA_OUT
work=$COPA_WORK
helper=${COPA_HELPER:-}
original=${COPA_ORIGINAL:-}
base_sources=/etc/apt/sources.list
mode=$1
policy=$2
shift 2

# shellcheck source=apt-lib.sh
. "$in/apt-lib.sh"
# debconf's default configuration backs its databases up to *-old files;
# this copy of it does not, so no backup lands in the patch layer.
export DEBCONF_SYSTEMRC="$in/debconf.conf"

keep_unchanged() {
	if [ -n "$original" ]; then
		"$helper" "$COPA_CMD_KEEP_UNCHANGED" "$original" /
	fi
}

# ldconfig, which libc-bin's trigger runs whenever a package with shared
# libraries is upgraded, rewrites /var/cache/ldconfig/aux-cache: its record
# of the inode number, ctime and size of every library it has read, so that
# its next run can skip the files that did not change. These are facts
# about this build's filesystem, not about the image: two builds of the
# same patch write different bytes (it was the one file in which two cold
# builds of the stale Debian 12 image differed), and no container's
# filesystem matches them, so the copy in an image is never used. ld.so
# reads only /etc/ld.so.cache, which this run also rewrites and which
# depends on the libraries alone; ldconfig takes a missing aux-cache for
# an empty one and writes a new one. So the step removes it, as Debian's
# own image builder (debuerreotype) does: an image that had one gets a
# whiteout in the patch layer, one that had none gets no file.
forget_ldconfig_aux_cache() {
	rm -f /var/cache/ldconfig/aux-cache
}

# finish runs after apt has installed: what reaches the layer is only
# what the upgrade changed, dated reproducibly. Unchanged files get their
# original times back after the clamp.
finish() {
	keep_sources /
	forget_ldconfig_aux_cache
	clamp_times /
	keep_unchanged
}

echo "copa: reading the package lists of the image's apt sources" >&2
update_lists

if [ "$mode" = all ]; then
	# "Inst NAME [OLD] (NEW SUITE [ARCH])": the versions the upgrade installs.
	apt_get -s --with-new-pkgs upgrade |
		sed -n 's/^Inst \([^ ]*\) \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) .*/\1 \3/p' >"$out/upgrades"
	if [ ! -s "$out/upgrades" ]; then
		echo "copa: every package is up to date" >&2
		exit 0
	fi
	fetch_debs --with-new-pkgs upgrade
	# shellcheck disable=SC2086 # $archive_opt is empty or one fixed word pair
	apt_run $archive_opt --with-new-pkgs upgrade
	finish
	exit 0
fi

resolve "$@"
if [ -z "$install" ]; then
	echo "copa: nothing left to install" >&2
	exit 0
fi
# shellcheck disable=SC2086 # one validated package name per word; $archive_opt is empty or one fixed word pair
fetch_debs install --only-upgrade $install
# shellcheck disable=SC2086
apt_run $archive_opt install --only-upgrade $install
finish
