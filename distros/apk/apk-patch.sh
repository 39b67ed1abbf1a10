#!/bin/sh
# apk-patch.sh patches an apk image with apk, as root: the image's own (the
# step's root is the image), or a tooling image's with the image mounted at
# $COPA_TARGET (apk --root: then nothing of the image runs but its install
# scripts, and those only with "run").
#
#   apk-patch.sh report fail|warn APK CACHE keep|all run|skip
#       bring each package of $COPA_IN/plan ("NAME FIXED" lines) to >= FIXED
#   apk-patch.sh all    fail|warn APK CACHE keep|all run|skip
#       upgrade every package that has an update
#
# APK is apk's path in the root the step runs in; CACHE is apk's cache
# (--cache-dir: indexes and downloads, a cache mount on the step's /tmp);
# keep|all says whether the files the upgrade left unchanged get the
# original's metadata back; run|skip whether the image's install scripts
# run (--no-scripts). POSIX sh, for busybox ash: no awk, no GNU options.
#
# Names and versions were checked against apk's grammar by the frontend;
# the plan reaches this script as a file, each line is checked again, and
# each package reaches apk as one argument ("NAME>=FIXED"), never as
# shell words. COPA_CMD_SNAPSHOT records the image before apk runs;
# COPA_CMD_FINISH then writes the upgrades and install-notes notes, gives
# the image its world file back, and keeps unchanged files' metadata.
#
# Environment (distros/protocol.go, distros/sources.go): COPA_IN, COPA_OUT,
# COPA_WORK, COPA_HELPER, COPA_CMD_*, in a tooling step COPA_TARGET, in a
# native one COPA_TARGET_ARCH; COPA_SECRETS, COPA_AUTH_SECRET,
# COPA_SOURCES_*, COPA_NET_TIMEOUT, COPA_NET_RETRIES; SOURCE_DATE_EPOCH
# when the build sets it.
set -eu

in=$COPA_IN
out=$COPA_OUT
work=$COPA_WORK
helper=$COPA_HELPER
target=${COPA_TARGET:-}
root=${target:-/}
mode=$1
policy=$2
apk=$3
cache=$4
keep=$5
scripts=$6

export LC_ALL=C
mkdir -p "$work" "$cache"

# shellcheck source=../step-lib.sh
. "$in/step-lib.sh"
# The image as it is, before apk touches it (the helper also gives an
# image without a world file, which apk needs, an empty one for the step).
"$helper" "$COPA_CMD_SNAPSHOT" "$root" "$work/before"

# apk's options. The cache is the step's (--cache-dir), so nothing lands
# in the image's /var/cache/apk or /etc/apk/cache; every connection is
# bounded (--timeout, seconds without progress; apk has no retry option:
# update retries itself). A tooling step works on the target (--root: its
# repositories, repositories.d, keys, arch and database); a native one
# names the target's architecture, as nothing of the target runs. apk 3
# logs to the root's /var/log/apk.log unless told not to (apk 2 has no
# log, nor the option).
#
# apk-tools before 2.14 (Alpine 3.17 and older ship 2.10 and 2.12) has
# neither --timeout nor --no-interactive, and refuses options it does not
# know: there the index update is bounded by timeout(1) where the root has
# it (busybox does), and a "y" on apk's stdin answers the question that
# /etc/apk/interactive would make it ask.
apk_version=$("$apk" --version 2>/dev/null || true)
apk_opts="--cache-dir $cache --no-progress"
update_bound=""
case $apk_version in
"apk-tools 2."[0-9].* | "apk-tools 2.1"[0-3].*)
	# Tried rather than looked up: a busybox shell names applets that its
	# binary may not run.
	if timeout 5 true >/dev/null 2>&1; then
		update_bound="timeout $((${COPA_NET_TIMEOUT:-15} * 8))"
	fi
	;;
*) apk_opts="$apk_opts --timeout ${COPA_NET_TIMEOUT:-15} --no-interactive" ;;
esac
if [ -n "$target" ]; then
	apk_opts="$apk_opts --root $target"
fi
if [ -n "${COPA_TARGET_ARCH:-}" ]; then
	apk_opts="$apk_opts --arch $COPA_TARGET_ARCH"
fi
case $apk_version in
"apk-tools 2."*) ;;
*) apk_opts="$apk_opts --no-logfile" ;;
esac
commit_opts=""
if [ "$scripts" = skip ]; then
	commit_opts="--no-scripts"
fi

# The build's secrets (distros/sources.go): apk's libfetch reads
# credentials from $NETRC and matches a "machine" by host alone, so the
# port and path that the apt-auth form allows are dropped; OpenSSL reads
# $SSL_CERT_FILE instead of the system's roots, so those come first in a
# bundle of both.
secrets=${COPA_SECRETS:-/nonexistent}
auth_secret=${COPA_AUTH_SECRET:-apk-auth}
if [ -s "$secrets/$auth_secret" ]; then
	sed 's#\(machine[[:space:]][[:space:]]*[^[:space:]:/]*\)[^[:space:]]*#\1#g' "$secrets/$auth_secret" >"$work/netrc"
	export NETRC="$work/netrc"
fi
if [ -s "$secrets/ca" ]; then
	for system in /etc/ssl/certs/ca-certificates.crt /etc/ssl/cert.pem; do
		if [ -f "$system" ]; then cat "$system"; break; fi
	done >"$work/ca.pem"
	cat "$secrets/ca" >>"$work/ca.pem"
	export SSL_CERT_FILE="$work/ca.pem"
fi

# own_repositories prints the image's repository files as apk reads them.
own_repositories() {
	for f in "$target/etc/apk/repositories" "$target"/etc/apk/repositories.d/*.list "$target"/lib/apk/repositories.d/*.list; do
		if [ -f "$f" ]; then
			cat "$f"
			echo
		fi
	done
}

# SOURCES (COPA_SOURCES_*): apk reads one repositories file on the step's
# /tmp (--repositories-file), the given file alone or after the image's
# own; the image's files are not touched.
repos_file=""
if [ -n "${COPA_SOURCES_NAME:-}" ]; then
	repos_file=$work/repositories
	{
		if [ "$COPA_SOURCES_MODE" = add ]; then own_repositories; fi
		cat "$in/sources-$COPA_SOURCES_NAME"
	} >"$repos_file"
	apk_opts="$apk_opts --repositories-file $repos_file"
fi

# keep_sources: with SOURCES --keep, the result's repositories are those
# the patch used: the given file in /etc/apk/repositories.d, and, when it
# replaced them, an empty /etc/apk/repositories and no other .list file.
keep_sources() {
	if [ -z "${COPA_SOURCES_NAME:-}" ] || [ "${COPA_SOURCES_KEEP:-}" != keep ]; then
		return 0
	fi
	if [ "$COPA_SOURCES_MODE" != add ]; then
		if [ -f "$target/etc/apk/repositories" ]; then : >"$target/etc/apk/repositories"; fi
		rm -f "$target"/etc/apk/repositories.d/*.list
	fi
	mkdir -p "$target/etc/apk/repositories.d"
	cp "$in/sources-$COPA_SOURCES_NAME" "$target/etc/apk/repositories.d/$COPA_SOURCES_NAME"
	chmod 644 "$target/etc/apk/repositories.d/$COPA_SOURCES_NAME"
}

# tried_repos prints the repositories apk was given, for the note of a
# failed patch: every word of a repository line that is a URL or a path.
tried_repos() {
	if [ -n "$repos_file" ]; then cat "$repos_file"; else own_repositories; fi |
		while IFS= read -r line || [ -n "$line" ]; do
			case $line in "" | "#"*) continue ;; esac
			set -f
			for word in $line; do
				case $word in *://* | /*) printf '%s\n' "$word" ;; esac
			done
			set +f
		done | sort -u
}

# logged ARGS...: apk, its output shown as it comes and its error lines
# kept for the failed note (an ERROR line and the indented lines that
# explain it, as for unsatisfiable constraints).
logged() {
	{
		rc=0
		# shellcheck disable=SC2086 # $apk_opts and $commit_opts are fixed words
		echo y | "$apk" $apk_opts "$@" 2>&1 || rc=$?
		echo "$rc" >"$work/apk.rc"
	} | tee "$work/apk.log" >&2
	errors=0
	while IFS= read -r line; do
		case $line in
		ERROR:*) errors=1 ;;
		"  "*) ;;
		*) errors=0 ;;
		esac
		if [ "$errors" = 1 ]; then printf '%s\n' "$line" >>"$work/errors"; fi
	done <"$work/apk.log"
	return "$(cat "$work/apk.rc")"
}

# failed_fetches LOG writes "URL REASON" to $work/fetch-failed for each
# repository apk could not read, once, with the first reason it gave.
# apk 2.14 and 3 say "WARNING: ACTION URL: REASON"; apk 2.12 and older
# say "ERROR: URL: REASON" for a remote one it could not update and
# "WARNING: Ignoring URL: REASON" for any it then leaves out. Both only
# warn, in effect: the install would go on without the repository, and a
# patch must not silently come from other sources than the user's. apk
# 3's "HTTP 401: Unauthorized" becomes "401 Unauthorized", the status
# first, as the frontend reads it.
failed_fetches() {
	{
		sed -n -e 's/^ERROR: \([a-z][a-z0-9+.-]*:\/\/[^ ]*\): \(.*\)$/\1 \2/p' "$1"
		sed -n -e 's/^WARNING: fetching \([^ ]*\): \(.*\)$/\1 \2/p' \
			-e 's/^WARNING: updating and opening \([^ ]*\): \(.*\)$/\1 \2/p' \
			-e 's/^WARNING: updating \([^ ]*\): \(.*\)$/\1 \2/p' \
			-e 's/^WARNING: opening from cache \([^ ]*\): \(.*\)$/\1 \2/p' \
			-e 's/^WARNING: opening \([^ ]*\): \(.*\)$/\1 \2/p' \
			-e 's/^WARNING: Ignoring \([^ ]*\): \(.*\)$/\1 \2/p' "$1"
	} | sed 's/^\([^ ]*\) HTTP \([0-9][0-9]*\): /\1 \2 /' | {
		seen=" "
		while read -r url reason; do
			case $seen in *" $url "*) continue ;; esac
			seen="$seen$url "
			printf '%s %s\n' "$url" "$reason"
		done
	} | sort >"$work/fetch-failed"
}

# update reads every repository's index into the cache, trying again
# COPA_NET_RETRIES times while one cannot be fetched. --force-refresh: the
# cache is a cache mount that outlives the build, and apk 2 takes an index
# cached in the last four hours as it is, even in apk update
# (cache_max_age 0 means its default there); with it apk asks the server
# whether the index changed (If-Modified-Since), so a mirror's new fixes
# are seen and its credentials checked on every patch. A repository that
# still cannot be fetched stops the patch: the step ends without changing
# the image and says why in $out/failed (distros.NoteFailed). apk's
# reason has no HTTP status: 401 and 403 are "Permission denied", 404 is
# "No such file or directory".
update() {
	tries=0
	while :; do
		rc=0
		# shellcheck disable=SC2086 # fixed words
		$update_bound "$apk" $apk_opts --force-refresh update >"$work/update.log" 2>"$work/update.err" || rc=$?
		cat "$work/update.log" "$work/update.err" >&2
		failed_fetches "$work/update.err"
		if [ -n "$update_bound" ] && { [ "$rc" -eq 124 ] || [ "$rc" -eq 143 ]; }; then
			# timeout(1) stopped an apk without --timeout: every
			# repository it was reading is named.
			tried_repos | while read -r url; do
				echo "$url timed out after ${update_bound#timeout }s"
			done >>"$work/fetch-failed"
		fi
		if [ ! -s "$work/fetch-failed" ] || [ "$tries" -ge "${COPA_NET_RETRIES:-1}" ]; then
			break
		fi
		tries=$((tries + 1))
		echo "copa: a repository could not be fetched; trying again ($tries of ${COPA_NET_RETRIES:-1})" >&2
	done
	if [ -s "$work/fetch-failed" ]; then
		while read -r url reason; do
			echo "fetch $auth_secret $url ${reason:-failed}" >>"$out/failed"
			echo "copa: cannot fetch $url: ${reason:-failed}" >&2
		done <"$work/fetch-failed"
		echo "copa: stopping: a repository cannot be fetched (see above); the image is not changed" >&2
		exit 0
	fi
	if [ "$rc" -ne 0 ]; then
		grep '^ERROR' "$work/update.err" >>"$work/errors" || true
		exit "$rc"
	fi
}

# offered NAME prints the versions of NAME that the repositories offer, from
# apk policy's output in $work/policy:
#   NAME policy:
#     VERSION:
#       lib/apk/db/installed     (the installed one)
#       URL                      (a repository that has it)
#       @TAG URL                 (a tagged one: only for NAME@TAG)
offered() {
	cur="" ver=""
	while IFS= read -r line; do
		case $line in
		"    "*)
			repo=${line#    }
			case $repo in
			@* | *lib/apk/db*/installed) ;;
			*) if [ "$cur" = "$1" ] && [ -n "$ver" ]; then printf '%s\n' "$ver"; fi ;;
			esac
			;;
		"  "*:)
			ver=${line#  }
			ver=${ver%:}
			ver=${ver%% *}
			;;
		*" policy:") cur=${line% policy:} ver="" ;;
		esac
	done <"$work/policy" | sort -u
}

# newer A B: whether version A is above B, in apk's own order.
newer() {
	[ "$("$apk" version -t "$1" "$2" </dev/null)" = ">" ]
}

# resolve writes $work/install ("NAME FIXED" lines, the packages whose fixed
# version is on offer) and, for the others, the unresolved note ("NAME
# FIXED BEST"); with policy fail, an unresolved package stops the patch.
resolve() {
	names=""
	while read -r name fixed extra; do
		case $name in "" | [!a-z0-9]* | *[!a-z0-9._+-]*) bad=1 ;; *) bad="" ;; esac
		case $fixed in "" | [!0-9]* | *[!a-z0-9._-]*) bad=1 ;; esac
		if [ -n "$bad" ] || [ -n "$extra" ]; then
			echo "copa: the plan has a malformed line: $name $fixed $extra" >&2
			exit 1
		fi
		names="$names $name"
	done <"$in/plan"
	# shellcheck disable=SC2086 # fixed words; one checked package name per word
	"$apk" $apk_opts policy $names >"$work/policy"
	: >"$work/install"
	while read -r name fixed; do
		best=""
		set -f
		for v in $(offered "$name"); do
			if [ -z "$best" ] || newer "$v" "$best"; then best=$v; fi
		done
		set +f
		if [ -n "$best" ] && ! newer "$fixed" "$best"; then
			echo "$name $fixed" >>"$work/install"
			echo "copa: $name: installing $fixed or later (on offer: $best)" >&2
		else
			echo "$name $fixed ${best:-(none)}" >>"$out/unresolved"
			echo "copa: $name: fixed version $fixed is not available (best candidate: ${best:-none})" >&2
		fi
	done <"$in/plan"
	if [ "$policy" = fail ] && [ -s "$out/unresolved" ]; then
		tried_repos >"$out/sources-tried"
		echo "unresolved" >>"$out/failed"
		echo "copa: stopping: the fixed versions above are not in the repositories (UNRESOLVED warn lets the build go on without them); the image is not changed" >&2
		exit 0
	fi
}

finish() {
	keep_sources
	"$helper" "$COPA_CMD_FINISH" "$work/before" "$root" "$out" "$mode" "$keep" "$scripts"
}

echo "copa: reading the repository indexes (${apk_version:-apk})" >&2
update

if [ "$mode" = all ]; then
	# shellcheck disable=SC2086 # fixed words
	logged upgrade $commit_opts
	finish
	exit 0
fi

resolve
if [ ! -s "$work/install" ]; then
	echo "copa: nothing left to install" >&2
	finish
	exit 0
fi
# One argument per package, pinned to its fixed version or later: apk
# fails rather than installing less, and of the versions that satisfy a
# pin its solver takes the newest. Without --upgrade: apk add passes that
# flag on to every dependency of the named packages (app_add.c), which
# would upgrade packages no report named; without it a dependency changes
# only where the new version needs it to.
set --
while read -r name fixed; do set -- "$@" "$name>=$fixed"; done <"$work/install"
# shellcheck disable=SC2086 # fixed words
logged add $commit_opts "$@"
finish
