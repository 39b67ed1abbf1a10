#!/bin/sh
# apt-patch.sh runs inside the image being patched, as root, and installs the
# plan that copa/frontend made (see apt-lib.sh for how arguments are treated).
#
#   apt-patch.sh report fail|warn NAME=FIXED...   bring each NAME to >= FIXED
#   apt-patch.sh all    fail|warn                 upgrade every upgradable package
#
# When the frontend image is mounted at /tmp/copa-helper (and the original
# image at /tmp/copa-original), its binary then gives the files that the
# upgrade left unchanged their original metadata, so that they stay out of
# the patch layer.
#
# Besides apt-lib.sh's findings it writes to /tmp/copa-out:
#   upgrades      "NAME VERSION" for every package an upgrade-all installs
set -eu

in=/tmp/copa-in
out=/tmp/copa-out
helper=/tmp/copa-helper/bin/frontend
original=/tmp/copa-original
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

resolve "$@"
if [ -z "$install" ]; then
	echo "copa: nothing left to install" >&2
	exit 0
fi
# shellcheck disable=SC2086 # one validated package name per word
apt_get install --only-upgrade $install
keep_unchanged
