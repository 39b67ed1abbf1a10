# shellcheck shell=sh disable=SC2154 # $in, $out, $work, $policy, $base_sources come from the sourcing script
# apt-lib.sh: the apt logic shared by apt-patch.sh (apt inside the image)
# and tooling-patch.sh (apt in a tooling image). Sourced, not run; the
# sourcing script sets $in, $out and $work first (from the step protocol's
# COPA_IN, COPA_OUT and COPA_WORK). Package names and versions
# arrive as arguments, already checked against Debian's grammar by the
# frontend; they are only ever passed on as arguments, never evaluated.
#
# Notes go to $out for the frontend to read (distros.ReadNotes):
#   added-sources  the release suites added to reach the fixed versions
#   unresolved     "NAME FIXED BEST" for packages that cannot go far enough

export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C
# The failure notes and the step's start ($started, for clamp_times):
# shellcheck source=../step-lib.sh
. "$in/step-lib.sh"
sources_opt=""
# A native patch of another platform (COPA_TARGET_ARCH, a dpkg architecture
# the frontend derived from the platform) makes apt read that
# architecture's lists and download its packages.
arch_opt=""
if [ -n "${COPA_TARGET_ARCH:-}" ]; then
	arch_opt="-o APT::Architecture=$COPA_TARGET_ARCH -o APT::Architectures=$COPA_TARGET_ARCH"
fi

# The build's secrets (distros/sources.go), when it has them: apt's
# credentials (apt_auth.conf(5) form) and a CA bundle for mirrors with a
# private CA. apt reads the CA bundle instead of the system's, so the
# system's roots come first in a bundle of both, on the step's /tmp.
secrets=${COPA_SECRETS:-/nonexistent}
auth_secret=${COPA_AUTH_SECRET:-apt-auth}
auth_opt=""
if [ -s "$secrets/$auth_secret" ]; then
	auth_opt="-o Dir::Etc::netrc=$secrets/$auth_secret"
fi
if [ -s "$secrets/ca" ]; then
	mkdir -p "$work"
	for system in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
		if [ -f "$system" ]; then cat "$system"; break; fi
	done >"$work/ca.pem"
	cat "$secrets/ca" >>"$work/ca.pem"
	auth_opt="$auth_opt -o Acquire::https::CaInfo=$work/ca.pem"
fi

# SOURCES (COPA_SOURCES_*): a sources file of the build context, at
# $in/sources-NAME, replaces the sources apt reads for the patch, or is
# added to them. apt reads a copy of the parts directory and an empty
# main list on the step's /tmp: the image's own files are not touched.
# $list_file is the main list that resolve adds the release's suites to.
list_file=$base_sources
parts_opt=""
given=""
if [ -n "${COPA_SOURCES_NAME:-}" ]; then
	given=$in/sources-$COPA_SOURCES_NAME
	mkdir -p "$work/sources.d"
	parts_dir=$(dirname "$base_sources")/sources.list.d
	if [ "$COPA_SOURCES_MODE" = add ]; then
		for f in "$parts_dir"/*.list "$parts_dir"/*.sources; do
			if [ -f "$f" ]; then cp -L "$f" "$work/sources.d/"; fi
		done
	else
		list_file=$work/empty.list
		: >"$list_file"
	fi
	cp "$given" "$work/sources.d/$COPA_SOURCES_NAME"
	parts_opt="-o Dir::Etc::SourceParts=$work/sources.d"
	sources_opt="-o Dir::Etc::SourceList=$list_file $parts_opt"
fi

# keep_sources ROOT: with SOURCES --keep, the result's apt sources are
# those the patch used: the given file in sources.list.d, and, when it
# replaced them, none of the image's own.
keep_sources() {
	if [ -z "$given" ] || [ "${COPA_SOURCES_KEEP:-}" != keep ]; then
		return 0
	fi
	if [ "$COPA_SOURCES_MODE" != add ]; then
		rm -f "$1/etc/apt/sources.list" "$1"/etc/apt/sources.list.d/*.list "$1"/etc/apt/sources.list.d/*.sources
	fi
	mkdir -p "$1/etc/apt/sources.list.d"
	cp "$given" "$1/etc/apt/sources.list.d/$COPA_SOURCES_NAME"
	chmod 644 "$1/etc/apt/sources.list.d/$COPA_SOURCES_NAME"
}

# Every request to a package source is bounded (distros.Network): a dead
# or hung mirror fails the step in well under two minutes.
net_opt="-o Acquire::http::Timeout=${COPA_NET_TIMEOUT:-15} -o Acquire::https::Timeout=${COPA_NET_TIMEOUT:-15}"
net_opt="$net_opt -o Acquire::ftp::Timeout=${COPA_NET_TIMEOUT:-15} -o Acquire::Retries=${COPA_NET_RETRIES:-1}"


# apt_run ARGS...: apt_get, its output shown as it comes and its errors
# kept for the failed note.
apt_run() {
	{
		rc=0
		apt_get "$@" 2>&1 || rc=$?
		echo "$rc" >"$work/apt.rc"
	} | tee "$work/apt.log" >&2
	grep '^E: ' "$work/apt.log" >>"$work/errors" || true
	return "$(cat "$work/apt.rc")"
}

# Translations only describe packages: a patch never reads them, so
# apt-get update does not download them (the lists live in a cache mount,
# the image's own apt configuration is unchanged).
apt_get() {
	# shellcheck disable=SC2086 # $net_opt, $sources_opt and $arch_opt are empty or fixed word pairs
	apt-get -q -y -o Acquire::Languages=none \
		-o APT::Install-Recommends=false -o APT::Install-Suggests=false \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		-o Dpkg::Use-Pty=false $net_opt $arch_opt $auth_opt $sources_opt "$@"
}

# apt_update [OPTION...] reads the package lists. A source that cannot be fetched
# (refused, unknown host, TLS, an HTTP error) stops the patch: apt itself
# only warns and goes on with the other sources, and a patch must not
# silently come from elsewhere than the sources the user named. The step
# then ends without changing the image and says why in $out/failed
# (distros.NoteFailed), which the frontend turns into the build's error;
# the exit code alone would tell the user nothing.
apt_update() {
	rc=0
	apt_get "$@" update >"$work/update.log" 2>&1 || rc=$?
	cat "$work/update.log" >&2
	# "E: Failed to fetch URL  REASON [IP: ADDR PORT]"
	sed -n 's/^[WE]: Failed to fetch \([^ ]*\)  *\(.*\)$/\1 \2/p' "$work/update.log" |
		sed 's/ *\[IP: [^]]*\]$//' >"$work/fetch-failed"
	if [ -s "$work/fetch-failed" ]; then
		while read -r url reason; do
			echo "fetch $auth_secret $url ${reason:-failed}" >>"$out/failed"
			echo "copa: cannot fetch $url: ${reason:-failed}" >&2
		done <"$work/fetch-failed"
		echo "copa: stopping: a package source cannot be fetched (see above); the image is not changed" >&2
		exit 0
	fi
	return "$rc"
}

candidate() {
	# shellcheck disable=SC2086
	apt-cache $arch_opt $auth_opt $sources_opt policy "$1" | sed -n 's/^  Candidate: //p'
}

# candidates prints "NAME CANDIDATE" for every NAME apt knows, in one run.
candidates() {
	# shellcheck disable=SC2086
	apt-cache $arch_opt $auth_opt $sources_opt policy "$@" 2>/dev/null |
		awk '/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) } /^  Candidate: / { print name, $2 }'
}

# candidate_of NAME: the candidate from the output of candidates in $cands.
candidate_of() {
	printf '%s\n' "$cands" | awk -v n="$1" '$1 == n { print $2; exit }'
}

# shortfalls prints each NAME=FIXED whose apt candidate is below FIXED.
shortfalls() {
	names=""
	for spec; do names="$names ${spec%%=*}"; done
	# shellcheck disable=SC2086 # one validated package name per word
	cands=$(candidates $names)
	for spec; do
		cand=$(candidate_of "${spec%%=*}")
		if [ -z "$cand" ] || [ "$cand" = "(none)" ] || ! dpkg --compare-versions "$cand" ge "${spec#*=}"; then
			echo "$spec"
		fi
	done
}

# resolve NAME=FIXED...: checks that apt offers every fixed version, adding
# the release suites the sources lack when it does not, and sets $install
# to the names whose fixed versions are on offer. Packages that stay below
# their fixed version are written to $out/unresolved; with policy "fail"
# the step then fails.
#
# $base_sources is the sources.list that extra suites are appended to.
resolve() {
	missing=$(shortfalls "$@")
	if [ -n "$missing" ] && [ -s "$in/extra.list" ]; then
		mkdir -p "$work"
		{
			if [ -f "$list_file" ]; then cat "$list_file"; fi
			cat "$in/extra.list"
		} >"$work/sources.list"
		sources_opt="-o Dir::Etc::SourceList=$work/sources.list $parts_opt"
		cp "$in/extra.suites" "$out/added-sources"
		echo "copa: the apt sources lack fixed versions; adding the release's suites: $(tr '\n' ' ' <"$in/extra.suites")" >&2
		update_lists
		missing=$(shortfalls "$@")
	fi

	install=""
	for spec; do
		case "
$missing
" in
		*"
$spec
"*) ;;
		*) install="$install ${spec%%=*}" ;;
		esac
	done

	if [ -n "$missing" ]; then
		for spec in $missing; do
			name=${spec%%=*}
			cand=$(candidate "$name")
			echo "$name ${spec#*=} ${cand:-(none)}" >>"$out/unresolved"
			echo "copa: $name: fixed version ${spec#*=} is not available (best candidate: ${cand:-none})" >&2
		done
		if [ "${COPA_SOURCES_ONLY:-}" = only ]; then
			echo "copa: SOURCES --only: the given sources are the only ones, so the release's official suites were not added" >&2
		fi
		if [ "$policy" = fail ]; then
			tried_sources
			echo "unresolved" >>"$out/failed"
			echo "copa: stopping: the fixed versions above cannot be installed (UNRESOLVED warn lets the build go on without them); the image is not changed" >&2
			exit 0
		fi
	fi
}

# tried_sources writes the sources apt read to $out/sources-tried, one
# "URI SUITE/COMPONENT" per line, from apt-cache policy's list of package
# files ("500 http://deb.debian.org/debian bookworm/main amd64 Packages").
tried_sources() {
	# shellcheck disable=SC2086
	apt-cache $arch_opt $sources_opt policy 2>/dev/null |
		sed -n 's/^ *-\{0,1\}[0-9][0-9]* \([a-z+]*:[^ ]*\) \([^ ]*\) .* Packages$/\1 \2/p' |
		sort -u >"$out/sources-tried"
}

# clamp_times DIR: with SOURCE_DATE_EPOCH set (the build arg, which the
# frontend passes to the step), whatever under DIR the step dated by the
# clock (modified after $started) gets the epoch as its mtime, if that is
# earlier: dpkg's database, what maintainer scripts and the helper write,
# the directories that gained or lost entries; files, directories and
# symlinks. The patch layer is then the same whenever it is built,
# without the image exporter's rewrite-timestamp=true. Files keep the
# mtime their package gives them, as dpkg sets it, which the exporter's
# option would also clamp. Nothing else is touched: a file whose status
# alone changed (apt's lock files, a chmod to the same mode) has the
# original's metadata, so BuildKit leaves it out of the layer, and a new
# time would put it in. -xdev keeps out the step's other mounts (/tmp,
# /var/log, apt's caches, /proc).
clamp_times() {
	epoch=${SOURCE_DATE_EPOCH:-}
	if [ -z "$epoch" ]; then
		return 0
	fi
	find "$1" -xdev -newer "$started" -newermt "@$epoch" -exec touch --no-dereference --date="@$epoch" {} +
}

# Shared caches. With COPA_SHARED set (apt's cache directory), apt's
# lists and cache directory are cache mounts that concurrent steps mount
# at once: the steps of the images of one bake with the same release,
# architecture and sources. apt locks its lists and archive itself and
# fails when another holds the lock, so a step takes the lock
# $shared/copa-lock (the helper's COPA_CMD_LOCK, on descriptor 9) around
# what writes them, and only then. The downloads are in
# $shared/copa-archives, not in apt's archives directory, which the
# cleanup hook of the official images empties after each dpkg run.
# Without COPA_SHARED, BuildKit locks the mounts to one step at a time,
# and these functions run apt as it is.
shared=${COPA_SHARED:-}
archive_opt=""

shared_lock() {
	exec 9>>"$shared/copa-lock"
	"$COPA_HELPER" "$COPA_CMD_LOCK" 9
}

shared_unlock() {
	exec 9>&-
}

# update_lists: apt_update. In shared lists it is left out when an
# update of the same sources ended after this step started: that update
# was under way or began later, so its lists are as new as this step's
# own would be, and the builds of a bake that start together fetch the
# lists once. A step with credentials or a CA of its own (the build's
# secrets, $auth_opt) always updates: whether the sources let it in is
# for its own fetch to say, not for another build's. In shared lists apt
# never deletes lists (List-Cleanup): the suites that resolve adds have
# lists of their own, which steps that do not add them must leave to
# those that read them.
update_lists() {
	if [ -z "$shared" ]; then
		apt_update
		return
	fi
	# One stamp per set of sources apt reads: the image's (or SOURCES'),
	# and those with the suites resolve adds.
	stamp=$shared/copa-lists-updated-$(printf '%s' "$sources_opt" | cksum | cut -d' ' -f1)
	shared_lock
	if [ -z "$auth_opt" ] && [ -n "$(find "$stamp" -newer "$started" 2>/dev/null)" ]; then
		echo "copa: the package lists are as a concurrent build sharing them updated them after this step started" >&2
	else
		apt_update -o APT::Get::List-Cleanup=false
		touch "$stamp"
	fi
	shared_unlock
}

# fetch_debs ARGS...: in shared caches, makes the shared archive hold
# what `apt-get ARGS` installs, downloading only what it lacks (each
# package is fetched once), and copies that to the step's own archive on
# the tmpfs, which the install then reads ($archive_opt): apt locks the
# archive it installs from until dpkg is done. apt runs under the lock
# only when a file is missing; the install checks each file's hash.
fetch_debs() {
	if [ -z "$shared" ]; then
		return 0
	fi
	mkdir -p "$work/archives/partial" "$shared/copa-archives/partial"
	archive_opt="-o Dir::Cache::Archives=$work/archives/"
	# What apt would download into the empty archive: every file the
	# install reads, as "'URI' FILE SIZE HASH".
	# shellcheck disable=SC2086 # $archive_opt is one fixed word pair
	apt_get -q $archive_opt --print-uris "$@" | sed -n "/^'/p" >"$work/fetch"
	shared_lock
	while read -r _ deb size _; do
		if [ ! -f "$shared/copa-archives/$deb" ] || [ "$(wc -c <"$shared/copa-archives/$deb")" -ne "$size" ]; then
			apt_get -o Dir::Cache::Archives="$shared/copa-archives/" --download-only "$@"
			break
		fi
	done <"$work/fetch"
	shared_unlock
	while read -r _ deb _; do
		cp "$shared/copa-archives/$deb" "$work/archives/"
	done <"$work/fetch"
}

# download_debs NAME=VERSION...: apt-get download into the current
# directory. In shared caches a file the shared archive holds with the
# size and hash apt's lists give is copied from there, and what apt
# downloads is added to it (apt-get download does not look there itself).
download_debs() {
	if [ -z "$shared" ]; then
		apt_get -o APT::Sandbox::User=root download "$@"
		return
	fi
	mkdir -p "$shared/copa-archives/partial"
	apt_get -o APT::Sandbox::User=root --print-uris download "$@" | sed -n "/^'/p" >"$work/fetch"
	shared_lock
	missing=""
	while read -r _ deb size hash; do
		if cached "$shared/copa-archives/$deb" "$size" "$hash"; then
			cp "$shared/copa-archives/$deb" .
		else
			missing="$missing ${deb%%_*}"
		fi
	done <"$work/fetch"
	pins=""
	for spec; do
		case " $missing " in *" ${spec%%=*} "*) pins="$pins $spec" ;; esac
	done
	if [ -n "$pins" ]; then
		# shellcheck disable=SC2086 # NAME=VERSION words, validated or from apt
		apt_get -o APT::Sandbox::User=root download $pins
		for deb in *.deb; do
			if [ ! -e "$shared/copa-archives/$deb" ]; then
				cp "$deb" "$shared/copa-archives/partial/$deb"
				mv "$shared/copa-archives/partial/$deb" "$shared/copa-archives/$deb"
			fi
		done
	fi
	shared_unlock
}

# cached FILE SIZE HASH: whether FILE is the package apt's lists describe
# (HASH is "SHA256:..." or another of apt's hash names).
cached() {
	[ -f "$1" ] && [ "$(wc -c <"$1")" -eq "$2" ] || return 1
	case $3 in
	SHA256:*) [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "${3#SHA256:}" ] ;;
	SHA512:*) [ "$(sha512sum <"$1" | cut -d' ' -f1)" = "${3#SHA512:}" ] ;;
	*) return 1 ;;
	esac
}
