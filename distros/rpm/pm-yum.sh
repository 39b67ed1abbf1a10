# shellcheck shell=sh disable=SC2154 # $pm, $cache, $state, $logs, $root_opts, $arch_opt come from rpm-patch.sh
# pm-yum.sh: the pm_* functions of yum 3 (RHEL/CentOS 7, Amazon Linux 2),
# sourced by rpm-patch.sh. yum has no best=True: it
# updates to the newest version it can and says nothing of the rest, so
# the step names exact versions and the frontend verifies the result;
# skip_missing_names_on_update=False makes a name it cannot find fail.
# The cache, yum's history and yumdb (persistdir) and its log go to the
# step's mounts. Not run on this project's CI (no yum in Debian): the
# step's golden tests pin its commands.

pm_format=list

yum_() {
	# shellcheck disable=SC2086 # $root_opts and $arch_opt are fixed words
	"$pm" -y --setopt=skip_missing_names_on_install=False \
		--setopt=skip_missing_names_on_update=False \
		--setopt=cachedir="$cache" --setopt=persistdir="$state" \
		--setopt=logfile="$logs/yum.log" --setopt=keepcache=1 $root_opts $arch_opt "$@"
}

pm_refresh() {
	yum_ makecache fast
}

# pm_available NAME...: "NAME.ARCH [EPOCH:]VERSION-RELEASE REPO" lines.
pm_available() {
	yum_ -q list available --showduplicates "$@"
}

pm_upgrade() {
	plan=$1
	set --
	while read -r name evr; do set -- "$@" "$name-$evr"; done <"$plan"
	yum_ update "$@"
}

pm_upgrade_all() {
	yum_ update
}
