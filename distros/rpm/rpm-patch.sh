#!/bin/sh
# rpm-patch.sh patches an rpm image with a package manager, as root: the
# image's own (the step's root is the image), or a tooling image's with
# the image mounted at $COPA_TARGET (then nothing of the image runs,
# except its install scripts where it has a shell: COPA_RPM_SCRIPTS).
#
#   rpm-patch.sh report fail|warn   bring each package of $COPA_IN/plan ("NAME FIXED" lines) to >= FIXED
#   rpm-patch.sh all    fail|warn   upgrade every package that has an update
#
# The package manager's own functions (pm_refresh, pm_available,
# pm_upgrade, pm_upgrade_all) come from $COPA_IN/pm.sh, one of the pm-*.sh
# files. Names and versions were checked against rpm's grammar by the
# frontend, and the plan reaches this script as a file: it only ever
# passes them on as arguments, never evaluates them. Which version to
# install is decided by the helper's COPA_CMD_RESOLVE command from what
# the repositories offer. COPA_CMD_SNAPSHOT records the image before
# anything runs; COPA_CMD_FINISH then writes the notes, removes what the
# package manager left behind and gives the files the upgrade left
# unchanged their original metadata.
#
# Environment (distros/protocol.go and distros/rpm/step.go): COPA_IN,
# COPA_OUT, COPA_WORK, COPA_HELPER, COPA_CMD_*, COPA_PM
# (the manager's binary), COPA_PM_CACHE (its cache mount), COPA_KEEP
# (keep|all: whether to keep unchanged files' metadata), and in a tooling
# step COPA_TARGET, COPA_RELEASEVER, COPA_RPM_DBPATH and COPA_RPM_SCRIPTS
# (run|skip); SOURCE_DATE_EPOCH when the build sets it. COPA_RPM_MACROS_DIR
# (default /etc/rpm) is only for the script's own tests.
set -eu

in=$COPA_IN
out=$COPA_OUT
work=$COPA_WORK
helper=$COPA_HELPER
pm=$COPA_PM
cache=$COPA_PM_CACHE
state=$work/pm-state
logs=$work/pm-logs
installroot=${COPA_TARGET:-}
releasever=${COPA_RELEASEVER:-}
root=${installroot:-/}
mode=$1
policy=$2

export LC_ALL=C
mkdir -p "$work" "$state" "$logs"

# shellcheck source=../step-lib.sh
. "$in/step-lib.sh"
# The image as it is, before anything (rpm included) touches it.
"$helper" "$COPA_CMD_SNAPSHOT" "$root" "$work/before"

if [ -n "$installroot" ]; then
	# rpm in the tooling image must find the target's database where the
	# target keeps it, whatever its own default: a macros file in the
	# tooling image's /etc/rpm, which is not exported.
	macros=${COPA_RPM_MACROS_DIR:-/etc/rpm}
	mkdir -p "$macros"
	printf '%%_dbpath %s\n' "$COPA_RPM_DBPATH" >"$macros/macros.zz-copa-dbpath"
	# $releasever is the image's release package's, as the manager reads
	# it from the image's database (Amazon Linux 2023's is a dated
	# version, not "2023"); the release's own is only for an image
	# without one.
	if command -v rpm >/dev/null && rpm --root "$installroot" -q --whatprovides 'system-release(releasever)' >/dev/null 2>&1; then
		releasever=""
	fi
fi

# The options of the dnf family (dnf, microdnf, tdnf, yum) for a tooling
# step and a native patch; pm.sh may replace them (zypper's differ). The
# frontend asks for a native patch only of dnf. Every request to a
# repository is bounded (distros.Network): timeout is librepo's
# low-speed limit and connection timeout, retries its tries per mirror.
root_opts="--setopt=timeout=${COPA_NET_TIMEOUT:-15} --setopt=retries=${COPA_NET_RETRIES:-1}"
if [ -n "$installroot" ]; then
	root_opts="$root_opts --installroot=$installroot${releasever:+ --releasever=$releasever}"
	# A target without a shell cannot run its install scripts.
	if [ "${COPA_RPM_SCRIPTS:-run}" = skip ]; then
		root_opts="$root_opts --setopt=tsflags=noscripts"
	fi
fi
# A native patch of another platform fetches that architecture's packages.
arch_opt=""
if [ -n "${COPA_TARGET_ARCH:-}" ]; then
	arch_opt="--forcearch=$COPA_TARGET_ARCH"
fi

# Where the manager reads its repository files, how the prepare-repos
# helper writes credentials into them, and how the manager is pointed at
# the step's copies (pm_use_repos DIR): the dnf family's; pm.sh may
# replace them (zypper's differ; tdnf calls the option repodir).
pm_repos_dir=/etc/yum.repos.d
pm_flavour=dnf
pm_use_repos() {
	root_opts="$root_opts --setopt=reposdir=$1"
}
# pm_diagnose: run when a quiet command failed saying nothing
# fetching can read, to hear what the manager says of its repositories.
pm_diagnose() {
	return 0
}

# shellcheck source=pm-dnf.sh
. "$in/pm.sh"

# SOURCES and the build's secrets (distros/sources.go): the manager reads
# copies of the repository files on the step's /tmp, the given .repo file
# in place of the image's or besides them, with the repo-auth credentials
# and the ca bundle (after the system's roots) written into them. The
# image's own files are not touched.
secrets=${COPA_SECRETS:-/nonexistent}
auth_secret=${COPA_AUTH_SECRET:-repo-auth}
auth_file=-
if [ -s "$secrets/$auth_secret" ]; then auth_file=$secrets/$auth_secret; fi
ca_file=-
if [ -s "$secrets/ca" ]; then
	ca_file=$work/ca.pem
	for system in /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem /etc/ssl/certs/ca-certificates.crt; do
		if [ -f "$system" ]; then cat "$system"; break; fi
	done >"$ca_file"
	cat "$secrets/ca" >>"$ca_file"
fi
if [ -n "${COPA_SOURCES_NAME:-}" ] || [ "$auth_file" != - ] || [ "$ca_file" != - ]; then
	repos=$work/repos.d
	mkdir -p "$repos"
	if [ -z "${COPA_SOURCES_NAME:-}" ] || [ "$COPA_SOURCES_MODE" = add ]; then
		for f in "$root$pm_repos_dir"/*.repo; do
			if [ -f "$f" ]; then cp -L "$f" "$repos/"; fi
		done
	fi
	if [ -n "${COPA_SOURCES_NAME:-}" ]; then
		cp "$in/sources-$COPA_SOURCES_NAME" "$repos/$COPA_SOURCES_NAME"
	fi
	"$helper" "$COPA_CMD_PREPARE_REPOS" "$repos" "$pm_flavour" "$auth_file" "$ca_file"
	pm_use_repos "$repos"
fi

# logged CMD...: a manager command, its output shown as it comes and its
# error lines kept for the failed note.
logged() {
	{
		rc=0
		("$@") 2>&1 || rc=$?
		echo "$rc" >"$work/logged.rc"
	} | tee "$work/logged.log" >&2
	grep -i '^\(error\|problem\|e:\)' "$work/logged.log" >>"$work/errors" || true
	return "$(cat "$work/logged.rc")"
}

# tried_repos prints the URLs of the enabled repositories the manager was
# given (a section with enabled=0 is not read, so it was not tried). Plain
# sh, as the image may have neither awk nor more than busybox.
tried_repos() {
	dir=${repos:-$root$pm_repos_dir}
	for f in "$dir"/*.repo; do
		[ -f "$f" ] || continue
		enabled=1 urls=""
		while IFS= read -r line || [ -n "$line" ]; do
			line=${line#"${line%%[![:space:]]*}"}
			value=${line#*=}
			value=${value#"${value%%[![:space:]]*}"}
			case $line in
			\[*)
				[ "$enabled" = 0 ] || printf '%s' "$urls"
				enabled=1 urls=""
				;;
			enabled=* | enabled[[:space:]]*=*)
				case $value in 0* | [Ff]alse* | [Nn]o* | [Oo]ff*) enabled=0 ;; esac
				;;
			baseurl=* | baseurl[[:space:]]*=* | mirrorlist=* | mirrorlist[[:space:]]*=* | metalink=* | metalink[[:space:]]*=*)
				[ -z "$value" ] || urls="$urls${value%%[[:space:]]*}
"
				;;
			esac
		done <"$f"
		[ "$enabled" = 0 ] || printf '%s' "$urls"
	done | sort -u
}

# keep_sources: with SOURCES --keep, the result's repositories are those
# the patch used: the given file, and, when it replaced them, none of the
# image's own.
keep_sources() {
	if [ -z "${COPA_SOURCES_NAME:-}" ] || [ "${COPA_SOURCES_KEEP:-}" != keep ]; then
		return 0
	fi
	if [ "$COPA_SOURCES_MODE" != add ]; then
		rm -f "$root$pm_repos_dir"/*.repo
	fi
	mkdir -p "$root$pm_repos_dir"
	cp "$in/sources-$COPA_SOURCES_NAME" "$root$pm_repos_dir/$COPA_SOURCES_NAME"
	chmod 644 "$root$pm_repos_dir/$COPA_SOURCES_NAME"
}

# fetching NAME CMD...: runs a manager command that reads the
# repositories. A repository that cannot be fetched (refused, an HTTP
# error, TLS) stops the patch: the step ends without changing the image
# and says why in $out/failed (distros.NoteFailed), for the frontend to
# name the repository and the secret it wants. The managers' messages:
#   dnf, yum:  "  - Status code: 401 for URL (IP: ...)"
#              "  - Curl error (60): SSL peer certificate ... for URL [detail]"
#   zypper:    "Permission to access 'URL' denied."
fetching() {
	log=$work/$1.log
	shift
	rc=0
	("$@") 2>"$log" || rc=$?
	cat "$log" >&2
	if [ "$rc" -eq 0 ]; then
		return 0
	fi
	failed_fetches "$log"
	if [ ! -s "$work/fetch-failed" ]; then
		(pm_diagnose) >"$log.diagnose" 2>&1 || true
		cat "$log.diagnose" >&2
		failed_fetches "$log.diagnose"
	fi
	if [ ! -s "$work/fetch-failed" ]; then
		exit "$rc"
	fi
	while read -r url reason; do
		echo "fetch $auth_secret $url $reason" >>"$out/failed"
		echo "copa: cannot fetch $url: $reason" >&2
	done <"$work/fetch-failed"
	echo "copa: stopping: a repository cannot be fetched (see above); the image is not changed" >&2
	exit 0
}

# failed_fetches LOG writes "URL REASON" to $work/fetch-failed for each
# repository the manager said it could not fetch.
failed_fetches() {
	sed -n -e 's/^ *- Status code: \([0-9][0-9]*\) for \([^ ]*\).*/\2 \1/p' \
		-e 's/^ *- Curl error (\([0-9]*\)): \(.*\) for \([^ ]*\) \[\(.*\)\]$/\3 \2: \4/p' \
		-e "s/^Permission to access '\\([^']*\\)' denied\\./\\1 permission denied/p" "$1" |
		sort -u >"$work/fetch-failed"
}

finish() {
	# ldconfig, which glibc's and many libraries' scriptlets run, writes
	# /var/cache/ldconfig/aux-cache: inode numbers and ctimes of this
	# build's filesystem, never read in a container (see apt-patch.sh).
	rm -f "$root/var/cache/ldconfig/aux-cache"
	keep_sources
	"$helper" "$COPA_CMD_FINISH" "$work/before" "$root" "$out" "$mode" "$COPA_KEEP"
}

echo "copa: reading the repository metadata ($(basename "$pm"))" >&2
fetching refresh pm_refresh

if [ "$mode" = all ]; then
	logged pm_upgrade_all
	finish
	exit 0
fi

names=""
while read -r name _; do names="$names $name"; done <"$in/plan"
# shellcheck disable=SC2086 # one validated package name per word
fetching available pm_available $names >"$work/available"
# The helper only reports what is unresolved ("warn"): with UNRESOLVED
# fail, the step stops here and says so in its notes.
"$helper" "$COPA_CMD_RESOLVE" "$pm_format" warn "$in/plan" "$work/available" "$work/install" "$out"
if [ "$policy" = fail ] && [ -s "$out/unresolved" ]; then
	tried_repos >"$out/sources-tried"
	echo "unresolved" >>"$out/failed"
	echo "copa: stopping: the fixed versions above are not in the repositories (UNRESOLVED warn lets the build go on without them); the image is not changed" >&2
	exit 0
fi
if [ ! -s "$work/install" ]; then
	echo "copa: nothing left to install" >&2
	exit 0
fi
logged pm_upgrade "$work/install"
finish
