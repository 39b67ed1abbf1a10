# shellcheck shell=sh disable=SC2154 # $pm, $cache, $state, $logs, $root_opts, $arch_opt come from rpm-patch.sh
# pm-tdnf.sh: the pm_* functions of tdnf (Azure Linux, CBL-Mariner,
# Photon), sourced by rpm-patch.sh. tdnf keeps its
# history database in persistdir and logs to /var/log (a tmpfs in the
# step). Not run on this project's CI (no tdnf in Debian): the step's
# golden tests pin its commands.

pm_format=list

# tdnf's name for the repository directory option is repodir.
pm_use_repos() {
	root_opts="$root_opts --setopt=repodir=$1"
}

tdnf_() {
	# shellcheck disable=SC2086 # $root_opts and $arch_opt are fixed words
	"$pm" -y --setopt=install_weak_deps=0 --setopt=keepcache=1 \
		--setopt=cachedir="$cache" --setopt=persistdir="$state" \
		$root_opts $arch_opt "$@"
}

pm_refresh() {
	tdnf_ --refresh makecache
}

# pm_available NAME...: "NAME.ARCH VERSION-RELEASE REPO" lines.
pm_available() {
	tdnf_ -q list available "$@"
}

pm_upgrade() {
	plan=$1
	set --
	while read -r name evr; do set -- "$@" "$name-$evr"; done <"$plan"
	tdnf_ upgrade "$@"
}

pm_upgrade_all() {
	tdnf_ upgrade
}
