# shellcheck shell=sh disable=SC2154 # $pm, $cache, $state, $logs, $installroot, $releasever come from rpm-patch.sh
# pm-microdnf.sh: the pm_* functions of microdnf (UBI minimal), sourced by
# rpm-patch.sh. --best makes an upgrade that cannot reach
# the newest version fail. microdnf has no logdir or persistdir option:
# the step mounts a tmpfs over /var/log and /var/lib/dnf where the image
# has them. Not run on this project's CI (no microdnf in Debian): the
# step's golden tests pin its commands.

# The image to patch, when it is not the step's root (a tooling step).
root_opts=""
if [ -n "$installroot" ]; then
	root_opts="--installroot=$installroot${releasever:+ --releasever=$releasever}"
fi
# A target without a shell cannot run its install scripts.
if [ "${COPA_RPM_SCRIPTS:-run}" = skip ]; then
	root_opts="$root_opts --setopt=tsflags=noscripts"
fi
arch_opt=""
if [ -n "${COPA_TARGET_ARCH:-}" ]; then
	echo "copa: microdnf cannot fetch the packages of another architecture: patch this platform on a builder that can run it" >&2
	exit 1
fi

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
