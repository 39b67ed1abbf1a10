# shellcheck shell=sh disable=SC2154 # $pm, $cache, $state, $logs, $installroot, $root_opts, $arch_opt come from rpm-patch.sh
# pm-dnf.sh: the pm_* functions of dnf (4), sourced by rpm-patch.sh. best=True makes an upgrade that cannot reach the newest
# version fail instead of being skipped; skip_if_unavailable=False makes a
# repository that cannot be read fail; weak dependencies are not pulled
# in. The cache, the history database (persistdir) and the logs go to the
# step's mounts, not the image.

# In a tooling step dnf 4 puts its installroot before cachedir and logdir
# even when they are given as options (and opens its logs there before it
# reads them), so they climb out of it again: the installroot, one /.. per
# level of it, then the step's own directory. persistdir is taken as it
# is given.
up=""
if [ -n "$installroot" ]; then
	up=$(printf '%s' "$installroot" | sed 's#[^/][^/]*#..#g')
fi

pm_format=qf

dnf_() {
	# shellcheck disable=SC2086 # $root_opts and $arch_opt are fixed words
	"$pm" -y --setopt=install_weak_deps=False --setopt=best=True \
		--setopt=skip_if_unavailable=False --setopt=keepcache=True \
		--setopt=cachedir="$up$cache" --setopt=persistdir="$state" \
		--setopt=logdir="$up$logs" $root_opts $arch_opt "$@"
}

# The metadata is refreshed by the first command that reads it (each dnf
# run costs a start of dnf and a load of the metadata: a makecache of its
# own would be one more).
pm_refresh() {
	:
}

# pm_available NAME...: "NAME EPOCH:VERSION-RELEASE ARCH" for the newest
# version of each NAME (per architecture) that the repositories offer.
pm_available() {
	dnf_ -q --refresh repoquery --available --latest-limit=1 \
		--qf '%{name} %{epoch}:%{version}-%{release} %{arch}\n' "$@"
}

# pm_diagnose: the metadata again, not quiet: -q leaves out which
# repository failed and how.
pm_diagnose() {
	dnf_ makecache
}

# pm_upgrade FILE: upgrade to the "NAME EVR" lines of FILE, exactly.
pm_upgrade() {
	plan=$1
	set --
	while read -r name evr; do set -- "$@" "$name-$evr"; done <"$plan"
	dnf_ upgrade "$@"
}

pm_upgrade_all() {
	dnf_ --refresh upgrade
}
