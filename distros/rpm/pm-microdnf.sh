# shellcheck shell=sh disable=SC2154 # $pm, $cache, $state, $logs, $root_opts, $arch_opt come from rpm-patch.sh
# pm-microdnf.sh: the pm_* functions of microdnf (UBI minimal), sourced by
# rpm-patch.sh. --best makes an upgrade that cannot reach
# the newest version fail. microdnf has no logdir or persistdir option:
# the step mounts a tmpfs over /var/log and /var/lib/dnf where the image
# has them. Not run on this project's CI (no microdnf in Debian): the
# step's golden tests pin its commands.

pm_format=nevra

microdnf_() {
	# shellcheck disable=SC2086 # $root_opts and $arch_opt are fixed words
	"$pm" -y --best --setopt=install_weak_deps=0 --setopt=keepcache=1 \
		--setopt=cachedir="$cache" $root_opts $arch_opt "$@"
}

pm_refresh() {
	microdnf_ --refresh makecache
}

# pm_available NAME...: one NAME-[EPOCH:]VERSION-RELEASE.ARCH per line.
pm_available() {
	microdnf_ repoquery "$@"
}

pm_upgrade() {
	plan=$1
	set --
	while read -r name evr; do set -- "$@" "$name-$evr"; done <"$plan"
	microdnf_ upgrade "$@"
}

pm_upgrade_all() {
	microdnf_ upgrade
}
