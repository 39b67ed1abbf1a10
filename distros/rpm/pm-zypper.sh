# shellcheck shell=sh disable=SC2154 # $pm, $cache, $installroot come from rpm-patch.sh
# pm-zypper.sh: the pm_* functions of zypper (SUSE), sourced by
# rpm-patch.sh. zypper's cache goes to the step's cache
# mount (--cache-dir); its logs, history (/var/log/zypp) and pid file
# (/run) go to tmpfs mounts. Its exit codes 104 (nothing provides a
# package) and 106 (a repository could not be refreshed) become errors
# that name the cause.

# The image to patch, when it is not the step's root (a tooling step).
root_opts=""
if [ -n "$installroot" ]; then
	root_opts="--root $installroot"
fi
# zypper has no way to leave install scripts out, and rpm would run
# them in a target that has no shell to run them with.
if [ "${COPA_RPM_SCRIPTS:-run}" = skip ]; then
	echo "copa: zypper cannot patch an image without a shell: it always runs the packages' install scripts; use a tooling image with dnf (TOOLING)" >&2
	exit 1
fi

pm_format=table

# The repository files, and how the step's copies replace them: zypper
# takes the credentials in the URL, and reads its own CA store only.
pm_repos_dir=/etc/zypp/repos.d
pm_flavour=zypper
pm_use_repos() {
	if [ -n "$installroot" ]; then
		echo "copa: zypper in a tooling image reads only the target's repository files: SOURCES and the repo-auth and ca secrets need zypper in the image itself" >&2
		exit 1
	fi
	root_opts="$root_opts --reposd-dir $1"
}

zypper_() {
	rc=0
	# shellcheck disable=SC2086 # $root_opts is fixed words
	"$pm" --non-interactive --no-color --cache-dir "$cache" $root_opts "$@" || rc=$?
	case $rc in
	0 | 100 | 101 | 102 | 103) return 0 ;; # 10x: done, with information (updates, patches, reboot)
	104)
		echo "copa: zypper: no repository provides a requested package or version (exit 104); see the lines above" >&2
		exit 1
		;;
	4 | 106)
		echo "copa: zypper: a repository could not be refreshed (exit $rc): check the repository named above (its URL, or credentials)" >&2
		exit 1
		;;
	*)
		echo "copa: zypper failed (exit $rc)" >&2
		exit 1
		;;
	esac
}

pm_refresh() {
	zypper_ --gpg-auto-import-keys refresh
}

# pm_available NAME...: zypper's table "S | Name | Type | Version | Arch | Repository".
# A name no repository has is exit 104 here, which is not an error: the
# resolve-rpm helper reports it as unresolved.
pm_available() {
	rc=0
	# shellcheck disable=SC2086 # $root_opts is fixed words
	"$pm" --non-interactive --no-color --cache-dir "$cache" $root_opts --quiet \
		search --details --match-exact --type package "$@" || rc=$?
	case $rc in
	0 | 104) return 0 ;;
	*)
		echo "copa: zypper search failed (exit $rc)" >&2
		exit 1
		;;
	esac
}

pm_upgrade() {
	plan=$1
	set --
	while read -r name evr; do set -- "$@" "$name=$evr"; done <"$plan"
	zypper_ install --no-recommends "$@"
}

pm_upgrade_all() {
	zypper_ update --no-recommends
}
