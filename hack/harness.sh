#!/usr/bin/env bash
# Test/dev harness: a local BuildKit, a loopback registry and the test images.
#
#   hack/harness.sh [all]           tools + up + noemu-up + images + frontend-image
#   hack/harness.sh tools           apt deps (incl. qemu-user-static; registers qemu-aarch64 with
#                                   binfmt_misc); build buildkitd/buildctl, registry, docker-buildx (cached)
#   hack/harness.sh up | down       start/stop buildkitd (or use $BUILDKIT_HOST), the registry, buildx builder
#                                   "copa"; down also stops the noemu buildkitd
#   hack/harness.sh noemu-up | noemu-down
#                                   start/stop the second buildkitd, without arm64 emulation (below)
#   hack/harness.sh images          debootstrap the Debian test images, push them, write the reports
#   hack/harness.sh frontend-image  build and push the frontend image ($COPA_FRONTEND_IMAGE), an index
#                                   of linux/amd64 and linux/arm64
#   eval "$(hack/harness.sh env)"   BUILDKIT_HOST, COPA_TEST_REGISTRY, COPA_TEST_DATA, COPA_FRONTEND_IMAGE,
#                                   COPA_BUILDER, COPA_TEST_NOEMU_BUILDKIT_HOST, COPA_TEST_NOEMU_BUILDER
#
# Test images ($COPA_TEST_REGISTRY = localhost:5000; each is FROM scratch + one
# rootfs tarball, built from a debootstrapped minbase rootfs without RUN steps;
# a WORKDIR other than / adds BuildKit's empty 32-byte layer after it; all
# are linux/amd64 single-platform images unless said otherwise):
#   copa-test/debian:12-stale             Debian 12 at its point release, sources with the security and
#                                         updates suites (so apt sees upgrades), a config using every field
#   copa-test/debian:12-stale-nosecurity  the same rootfs, sources without security/updates
#   copa-test/debian:12-stale-arm64       linux/arm64: 12-stale's recipe (sources, config) on a rootfs
#                                         debootstrapped with --arch=arm64 under qemu-user-static
#   copa-test/debian:12-stale-multi       an OCI index of the very manifests of 12-stale (linux/amd64)
#                                         and 12-stale-arm64 (linux/arm64), same digests, with the
#                                         annotation org.opencontainers.image.description
#   copa-test/debian:12-stale-multi-attested  12-stale-multi plus an attestation manifest per image,
#                                         laid out as buildx attaches provenance (made by hand):
#                                         the frontend reads such an index whole
#   copa-test/debian:other-os-arm64       linux/arm64: an os-release of an OS no method patches
#   copa-test/debian:12-stale-mixed       an OCI index of 12-stale (linux/amd64) and other-os-arm64
#   copa-test/debian:11-stale             Debian 11 like 12-stale (many more pending upgrades)
#   copa-test/debian:11-stale-noapt       11-stale with apt purged (dpkg, sh kept), 11-stale's config
#   copa-test/debian:11-stale-both        11-stale-noapt plus a status.d with the stanzas of tzdata,
#                                         libc6 and liblzma5: both dpkg databases in one image
#   copa-test/debian:bookworm, :bullseye  tooling images: the plain rootfs with full sources and
#                                         CMD ["bash"], like the official debian:<codename> (amd64
#                                         only: patching arm64 without emulation uses the build
#                                         platform's tooling image)
#   copa-test/distroless:{12,11}-stale    distroless-style images of Debian 12 / 11 package files
#                                         (hack/distroless-rootfs.sh): no shell, apt or dpkg, no
#                                         var/lib/dpkg/status but status.d; USER 65532, CMD ["/app"]
# and in $COPA_TEST_DATA: debian-{12,11}-stale.{trivy.json,grype.json,upgradable} (amd64) and
# debian-12-stale-arm64.{trivy.json,grype.json,upgradable} (ArtifactName 12-stale-arm64,
# Metadata.ImageConfig.architecture / Grype's source.target.architecture "arm64").
#
# Two BuildKit daemons, both pulling from and pushing to the same registry:
#   the main one ($BUILDKIT_HOST, builder "copa") emulates linux/arm64 (it lists it among its
#     worker platforms) through the host's binfmt_misc entry qemu-aarch64 (flag F). A buildkitd
#     detects emulators when it starts and, when asked for its workers, rescans at most every 20 s;
#     `up` restarts this harness's daemon only if it still lacks linux/arm64 while qemu-aarch64 is
#     enabled (one started before qemu-user-static was registered), once it runs no build, and says so.
#   the noemu one ($COPA_TEST_NOEMU_BUILDKIT_HOST, builder "copa-noemu", root $COPA_CACHE/buildkit-noemu)
#     lists no linux/arm64, for tests of a builder that cannot emulate arm64 (patching it natively
#     with the build platform's tooling). noemu-up disables qemu-aarch64 (echo 0 >
#     /proc/sys/fs/binfmt_misc/qemu-aarch64) while the daemon starts, which is when it detects
#     emulators, and re-enables it as soon as it answers (in a trap, also on failure): host-wide,
#     for well under a second, during which an arm64 process starting elsewhere fails. Its config
#     sets platformsCacheMaxAge negative, so it never rescans and never gains linux/arm64.
#     Note: that only shapes what it *lists*. An arm64 step it is given still runs, through the
#     host's qemu-aarch64 entry (buildkitd execs the binary and the kernel picks the emulator), so a
#     test cannot rely on an arm64 RUN failing there; it can rely on the worker's platform list.
#
# The images and that data are rebuilt whenever a machine is new (the cache
# dir $COPA_CACHE is empty) or their recipe changes, against whatever the
# Debian archive serves that day: which packages are upgradable, to which
# versions, and so what the reports name, differ from one machine to the next.
# Tests must derive such expectations from $COPA_TEST_DATA and the images
# (their package databases), never name them (see hack/README.md).
#
# Everything it creates lives in $COPA_CACHE (default /var/cache/copa-frontend),
# /run/copa-frontend and ~/.docker, besides the host's binfmt_misc entry for
# qemu-aarch64. Every step is idempotent; a second run only checks.
set -euo pipefail

BUILDKIT_VERSION=v0.34.2
BUILDX_VERSION=v0.38.2
DISTRIBUTION_VERSION=v3.1.2
DEBIAN_MIRROR=http://deb.debian.org/debian
DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security
ROOTFS_RECIPE=1 # bump to force a new debootstrap

COPA_CACHE=${COPA_CACHE:-/var/cache/copa-frontend}
BIN=$COPA_CACHE/bin
LOGS=$COPA_CACHE/logs
TESTDATA=$COPA_CACHE/testdata
RUN_DIR=/run/copa-frontend
BUILDKIT_ADDR=unix://$RUN_DIR/buildkitd.sock
REGISTRY_LISTEN=127.0.0.1:5000
REGISTRY=localhost:5000
BUILDER=copa
NOEMU_NAME=buildkitd-noemu
NOEMU_ADDR=unix://$RUN_DIR/buildkitd-noemu.sock
NOEMU_ROOT=$COPA_CACHE/buildkit-noemu
NOEMU_CONFIG=$COPA_CACHE/buildkitd-noemu.toml
NOEMU_BUILDER=copa-noemu
FRONTEND_IMAGE=${COPA_FRONTEND_IMAGE:-$REGISTRY/copa/frontend:dev}
DOCKER_CONFIG_DIR=${DOCKER_CONFIG:-$HOME/.docker}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILDKITD=$BIN/buildkit-$BUILDKIT_VERSION/buildkitd
BUILDCTL=$BIN/buildkit-$BUILDKIT_VERSION/buildctl
REGISTRY_BIN=$BIN/registry-$DISTRIBUTION_VERSION/registry
BUILDX_BIN=$BIN/buildx-$BUILDX_VERSION/docker-buildx
HOST_ARCH=$(dpkg --print-architecture)
BINFMT_AARCH64=/proc/sys/fs/binfmt_misc/qemu-aarch64
BINFMT_LOCK=$RUN_DIR/binfmt.lock

if [[ -t 2 ]]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
log() { printf '%s[harness]%s %s\n' "$B" "$N" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# run LOGFILE CMD...: run quietly, show the log tail on failure.
run() {
	local logf=$1; shift
	mkdir -p "$(dirname "$logf")"
	if ! "$@" >"$logf" 2>&1; then
		tail -n 40 "$logf" >&2
		die "failed: $* (full log: $logf)"
	fi
}
buildx() { docker buildx "$@"; }
buildkit_host() { cat "$RUN_DIR/buildkit-host" 2>/dev/null || echo "$BUILDKIT_ADDR"; }
buildkit_ok() { timeout 10 "$BUILDCTL" --addr "$1" debug workers >/dev/null 2>&1; }
registry_ok() { curl -fs -o /dev/null --max-time 5 "http://$REGISTRY_LISTEN/v2/"; }
MANIFEST_TYPES='application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'
# tag_exists localhost:5000/repo:tag
tag_exists() {
	local ref=${1#"$REGISTRY"/}
	curl -fs -o /dev/null --max-time 10 -I -H "Accept: $MANIFEST_TYPES" \
		"http://$REGISTRY_LISTEN/v2/${ref%:*}/manifests/${ref##*:}"
}
stamp_ok() { [[ -f $1 && "$(cat "$1")" == "$2" ]]; }

# safe_rm DIR: unmount anything left mounted below DIR (debootstrap mounts
# proc, sys, dev in its target), then remove it without crossing filesystems.
safe_rm() {
	local d=$1 m
	[[ -e $d ]] || return 0
	d=$(realpath "$d")
	while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
		awk -v d="$d/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf --one-file-system "$d"
}

# ---------------------------------------------------------------------------
cmd_tools() {
	local missing=() p
	for p in runc debootstrap curl ca-certificates jq qemu-user-static binfmt-support; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "apt-get install ${missing[*]}"
		run "$LOGS/apt-install.log" apt-get update
		DEBIAN_FRONTEND=noninteractive run "$LOGS/apt-install.log" apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	command -v go >/dev/null || die "go is not installed"
	ensure_binfmt

	gobuild github.com/moby/buildkit "$BUILDKIT_VERSION" "$(dirname "$BUILDKITD")" \
		"-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION" ./cmd/buildkitd ./cmd/buildctl
	gobuild github.com/distribution/distribution/v3 "$DISTRIBUTION_VERSION" "$(dirname "$REGISTRY_BIN")" \
		"-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION" ./cmd/registry
	gobuild github.com/docker/buildx "$BUILDX_VERSION" "$(dirname "$BUILDX_BIN")" \
		"-X github.com/docker/buildx/version.Version=$BUILDX_VERSION" ./cmd/buildx
	[[ -x $BUILDX_BIN ]] || mv "$(dirname "$BUILDX_BIN")/buildx" "$BUILDX_BIN"
	ln -sfn "$BUILDKITD" "$BIN/buildkitd"
	ln -sfn "$BUILDCTL" "$BIN/buildctl"
	ln -sfn "$REGISTRY_BIN" "$BIN/registry"

	local plugin=$DOCKER_CONFIG_DIR/cli-plugins/docker-buildx
	if ! cmp -s "$BUILDX_BIN" "$plugin"; then
		log "installing $plugin ($BUILDX_VERSION)"
		mkdir -p "$(dirname "$plugin")"
		cp "$BUILDX_BIN" "$plugin.tmp" && mv -f "$plugin.tmp" "$plugin"
	fi
	command -v docker >/dev/null || die "the docker CLI is not installed"
}

# gobuild MODULE VERSION OUTDIR LDFLAGS PKG...: build a pinned module's commands
# into OUTDIR (skipped when OUTDIR/.done exists).
gobuild() {
	local mod=$1 ver=$2 out=$3 ldflags=$4; shift 4
	[[ -f $out/.done ]] && return 0
	local name=${mod#github.com/} t0=$SECONDS src dir
	log "building ${name} ${ver} ($*) ..."
	dir=$(cd / && GOWORK=off GO111MODULE=on go mod download -json "$mod@$ver" |
		sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[[ -d $dir ]] || die "go mod download $mod@$ver gave no Dir"
	src=$COPA_CACHE/src/${name//\//_}@$ver
	safe_rm "$src"
	mkdir -p "$src" "$out"
	cp -a "$dir/." "$src/"
	chmod -R u+w "$src"
	(cd "$src" && GOWORK=off run "$LOGS/build-${name//\//_}.log" \
		go build -trimpath -ldflags "-s -w $ldflags" -o "$out/" "$@")
	rm -rf "$src"
	touch "$out/.done"
	log "built ${name} ${ver} in $((SECONDS - t0))s"
}

need_tools() {
	[[ -x $BUILDKITD && -x $BUILDCTL && -x $REGISTRY_BIN ]] && binfmt_ok &&
		cmp -s "$BUILDX_BIN" "$DOCKER_CONFIG_DIR/cli-plugins/docker-buildx" || cmd_tools
}

# Emulation of linux/arm64: qemu-user-static's binfmt_misc entry for aarch64
# ELF binaries, with flag F (the kernel opens the interpreter when the entry
# is registered, so it also works in chroots and containers, which lack it).
# On a machine without systemd, installing the packages registers nothing
# (policy-rc.d denies the service start and binfmt_misc is not mounted):
# `update-binfmts --enable qemu-aarch64` mounts binfmt_misc and registers it.
# noemu-up disables the entry for a moment; $BINFMT_LOCK serialises that
# with the (re-)enabling here.
binfmt_ok() {
	[[ $HOST_ARCH == arm64 ]] && return 0
	[[ -f $BINFMT_AARCH64 && "$(head -n1 "$BINFMT_AARCH64")" == enabled ]] &&
		grep -Eq '^flags: [A-Z]*F' "$BINFMT_AARCH64"
}
ensure_binfmt() {
	binfmt_ok && return 0
	mkdir -p "$RUN_DIR"
	(
		flock -w 120 9 || die "could not lock $BINFMT_LOCK"
		if [[ -f $BINFMT_AARCH64 ]]; then
			log "enabling the disabled binfmt entry $BINFMT_AARCH64"
			echo 1 >"$BINFMT_AARCH64"
		else
			log "registering qemu-aarch64 with binfmt_misc (update-binfmts --enable qemu-aarch64)"
			run "$LOGS/binfmt.log" update-binfmts --enable qemu-aarch64
		fi
	) 9>"$BINFMT_LOCK"
	binfmt_ok || die "binfmt_misc has no enabled qemu-aarch64 entry with flag F: $(tr '\n' ' ' <"$BINFMT_AARCH64" 2>/dev/null)"
}

# ---------------------------------------------------------------------------
# daemon NAME LOGFILE CMD...: start CMD in its own session, detached from this
# script (it keeps running after the script exits); its pid goes to RUN_DIR/NAME.pid.
daemon() {
	local name=$1 logf=$2; shift 2
	mkdir -p "$RUN_DIR" "$(dirname "$logf")"
	# fd 9 is closed: it may be $BINFMT_LOCK (noemu-up), which the daemon must not keep.
	setsid bash -c 'trap "" HUP; echo $$ >"$1"; shift; exec "$@"' _ "$RUN_DIR/$name.pid" "$@" \
		</dev/null >>"$logf" 2>&1 9>&- &
	disown || true
}

pid_alive() { # pid_alive NAME BINARY
	local pid
	pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) || return 1
	[[ -n $pid && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(realpath "$2")" ]]
}

# start_buildkitd NAME ADDR ROOT [ARG...]: start a buildkitd (pid file
# RUN_DIR/NAME.pid, log LOGS/NAME.log) and wait until it answers on ADDR.
start_buildkitd() {
	local name=$1 addr=$2 root=$3 i
	shift 3
	rm -f "${addr#unix://}"
	mkdir -p "$root"
	log "starting buildkitd $BUILDKIT_VERSION ($name) on $addr (log: $LOGS/$name.log)"
	daemon "$name" "$LOGS/$name.log" "$BUILDKITD" --root "$root" --addr "$addr" \
		--oci-worker=true --containerd-worker=false "$@"
	for ((i = 0; i < 240; i++)); do
		buildkit_ok "$addr" && return 0
		pid_alive "$name" "$BUILDKITD" || { tail -n 20 "$LOGS/$name.log" >&2; die "$name exited"; }
		sleep 0.25
	done
	tail -n 20 "$LOGS/$name.log" >&2
	die "$name not ready after 60s"
}

# stop_daemon NAME BINARY: stop the daemon of RUN_DIR/NAME.pid, if it runs.
stop_daemon() {
	local name=$1 bin=$2 pid i
	if pid_alive "$name" "$bin"; then
		pid=$(cat "$RUN_DIR/$name.pid")
		log "stopping $name (pid $pid)"
		kill "$pid"
		for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$RUN_DIR/$name.pid"
}

# worker_platforms ADDR: the platforms the daemon's workers list, one a line.
worker_platforms() {
	timeout 10 "$BUILDCTL" --addr "$1" debug workers -v 2>/dev/null |
		sed -n 's/^Platforms:[[:space:]]*//p' | tr ',' '\n'
}
lists_arm64() { worker_platforms "$1" | grep -Ex 'linux/arm64(/v8)?' >/dev/null; }

# active_builds ADDR: how many builds the daemon is running.
active_builds() {
	timeout 10 "$BUILDCTL" --addr "$1" debug histories \
		--format '{{if .Record.CompletedAt}}done{{else}}running{{end}}' 2>/dev/null | grep -c '^running' || true
}

# check_emulation HOST: the main daemon lists linux/arm64 whenever the
# qemu-aarch64 binfmt entry is enabled. buildkitd detects emulators when it
# starts and, when asked for its workers, rescans at most every 20 s (its
# platformsCacheMaxAge); one that still lacks linux/arm64 after that (an
# older or differently configured daemon started before qemu-user-static was
# registered) is restarted, once no build runs on it.
check_emulation() {
	local host=$1 i n
	[[ $HOST_ARCH == amd64 ]] && binfmt_ok || return 0
	lists_arm64 "$host" && return 0
	log "buildkitd on $host does not list linux/arm64 though qemu-aarch64 is enabled; waiting 21s for its platform rescan ..."
	sleep 21
	lists_arm64 "$host" && return 0
	if [[ $host != "$BUILDKIT_ADDR" ]] || ! pid_alive buildkitd "$BUILDKITD"; then
		log "WARNING: $host is not this harness's buildkitd and lacks linux/arm64: restart it to get arm64 emulation"
		return 0
	fi
	log "buildkitd on $host was started before qemu-aarch64 was registered: RESTARTING it to get linux/arm64 (its cache stays)"
	for ((i = 0; i < 300; i++)); do
		n=$(active_builds "$host")
		((n == 0)) && break
		((i % 15 == 0)) && log "waiting for $n running build(s) on $host to finish before the restart ..."
		sleep 2
	done
	((n == 0)) || die "builds keep running on $host; restart it when it is idle: $0 down && $0 up"
	stop_daemon buildkitd "$BUILDKITD"
	start_buildkitd buildkitd "$host" "$COPA_CACHE/buildkit"
	lists_arm64 "$host" || die "buildkitd on $host lacks linux/arm64 even after a restart ($(worker_platforms "$host" | tr '\n' ' '))"
	log "buildkitd on $host restarted; it lists linux/arm64"
}

# ensure_builder NAME HOST: a buildx builder NAME (remote driver) pointing at
# HOST; the first one made becomes the current builder.
ensure_builder() {
	local name=$1 host=$2 use=()
	if ! buildx inspect "$name" 2>/dev/null | grep -qE "^Endpoint: +$host\$"; then
		buildx rm "$name" >/dev/null 2>&1 || true
		[[ -s $DOCKER_CONFIG_DIR/buildx/current ]] || use=(--use)
		log "creating buildx builder $name -> $host ${use[*]}"
		run "$LOGS/buildx-create-$name.log" docker buildx create --name "$name" --driver remote "${use[@]}" "$host"
	fi
	run "$LOGS/buildx-inspect-$name.log" docker buildx inspect --builder "$name" --bootstrap
}

cmd_up() {
	need_tools
	mkdir -p "$RUN_DIR" "$LOGS"
	local host i
	if [[ -n ${BUILDKIT_HOST:-} && $BUILDKIT_HOST != "$BUILDKIT_ADDR" ]] && buildkit_ok "$BUILDKIT_HOST"; then
		log "using BUILDKIT_HOST=$BUILDKIT_HOST"
		host=$BUILDKIT_HOST
	else
		host=$BUILDKIT_ADDR
		if ! buildkit_ok "$host"; then
			pid_alive buildkitd "$BUILDKITD" && die "buildkitd (pid $(cat "$RUN_DIR/buildkitd.pid")) runs but does not answer on $host; try '$0 down'"
			start_buildkitd buildkitd "$host" "$COPA_CACHE/buildkit"
		fi
	fi
	echo "$host" >"$RUN_DIR/buildkit-host"
	check_emulation "$host"

	if ! registry_ok; then
		mkdir -p "$COPA_CACHE/registry"
		cat >"$COPA_CACHE/registry.yml" <<-EOF
			version: 0.1
			log:
			  level: warn
			  accesslog:
			    disabled: true
			storage:
			  filesystem:
			    rootdirectory: $COPA_CACHE/registry
			  delete:
			    enabled: true
			http:
			  addr: $REGISTRY_LISTEN
			  secret: copa-frontend-local-registry
		EOF
		log "starting registry $DISTRIBUTION_VERSION on $REGISTRY_LISTEN (data: $COPA_CACHE/registry)"
		OTEL_TRACES_EXPORTER=none daemon registry "$LOGS/registry.log" "$REGISTRY_BIN" serve "$COPA_CACHE/registry.yml"
		for ((i = 0; i < 30; i++)); do
			registry_ok && break
			pid_alive registry "$REGISTRY_BIN" || { tail -n 20 "$LOGS/registry.log" >&2; die "registry exited"; }
			sleep 0.5
		done
		registry_ok || die "registry not ready (log: $LOGS/registry.log)"
	fi

	ensure_builder "$BUILDER" "$host"
	log "up: buildkit $host, registry $REGISTRY, builder $BUILDER"
}

need_up() {
	need_tools
	if ! registry_ok || ! buildkit_ok "$(buildkit_host)" || ! buildx inspect "$BUILDER" >/dev/null 2>&1; then
		cmd_up
	fi
}

cmd_down() {
	stop_daemon "$NOEMU_NAME" "$BUILDKITD"
	stop_daemon buildkitd "$BUILDKITD"
	stop_daemon registry "$REGISTRY_BIN"
	rm -f "$RUN_DIR/buildkit-host"
}

# ---------------------------------------------------------------------------
# The second buildkitd, without arm64 emulation (see the header). Its
# platformsCacheMaxAge is negative: it never rescans, so re-enabling
# qemu-aarch64 right after it started does not give it linux/arm64 later.
cmd_noemu_up() {
	need_tools
	[[ $HOST_ARCH == amd64 ]] || die "noemu-up needs an amd64 host (it leaves linux/arm64 out)"
	mkdir -p "$RUN_DIR" "$LOGS"
	if buildkit_ok "$NOEMU_ADDR" && lists_arm64 "$NOEMU_ADDR"; then
		pid_alive "$NOEMU_NAME" "$BUILDKITD" || die "$NOEMU_ADDR lists linux/arm64 and is not this harness's daemon"
		log "$NOEMU_NAME lists linux/arm64 (started another way): restarting it"
		stop_daemon "$NOEMU_NAME" "$BUILDKITD"
	fi
	if ! buildkit_ok "$NOEMU_ADDR"; then
		pid_alive "$NOEMU_NAME" "$BUILDKITD" && die "$NOEMU_NAME (pid $(cat "$RUN_DIR/$NOEMU_NAME.pid")) runs but does not answer on $NOEMU_ADDR; try '$0 noemu-down'"
		binfmt_ok || ensure_binfmt
		cat >"$NOEMU_CONFIG" <<-EOF
			# $NOEMU_NAME (hack/harness.sh noemu-up): never rescan for emulators.
			[system]
			  platformsCacheMaxAge = "-1s"
		EOF
		# qemu-aarch64 is off host-wide while the daemon starts (well under a
		# second) and back on when this subshell ends, however it ends.
		(
			flock -w 120 9 || die "could not lock $BINFMT_LOCK"
			trap 'echo 1 >"$BINFMT_AARCH64"' EXIT
			trap 'exit 1' INT TERM HUP
			log "disabling qemu-aarch64 while $NOEMU_NAME starts"
			echo 0 >"$BINFMT_AARCH64"
			start_buildkitd "$NOEMU_NAME" "$NOEMU_ADDR" "$NOEMU_ROOT" --config "$NOEMU_CONFIG"
		) 9>"$BINFMT_LOCK"
		binfmt_ok || die "qemu-aarch64 was not re-enabled"
		log "qemu-aarch64 re-enabled"
	fi
	if lists_arm64 "$NOEMU_ADDR"; then
		die "$NOEMU_NAME lists linux/arm64: $(worker_platforms "$NOEMU_ADDR" | tr '\n' ' ')"
	fi
	if buildkit_ok "$(buildkit_host)" && ! lists_arm64 "$(buildkit_host)"; then
		log "WARNING: the main buildkitd $(buildkit_host) does not list linux/arm64"
	fi
	ensure_builder "$NOEMU_BUILDER" "$NOEMU_ADDR"
	log "noemu: buildkit $NOEMU_ADDR ($(worker_platforms "$NOEMU_ADDR" | paste -sd, -)), builder $NOEMU_BUILDER"
}

cmd_noemu_down() {
	stop_daemon "$NOEMU_NAME" "$BUILDKITD"
	rm -f "${NOEMU_ADDR#unix://}"
}

cmd_env() {
	echo "export BUILDKIT_HOST=$(buildkit_host)"
	echo "export COPA_TEST_REGISTRY=$REGISTRY"
	echo "export COPA_TEST_DATA=$TESTDATA"
	echo "export COPA_FRONTEND_IMAGE=$FRONTEND_IMAGE"
	echo "export COPA_BUILDER=$BUILDER"
	echo "export COPA_TEST_NOEMU_BUILDKIT_HOST=$NOEMU_ADDR"
	echo "export COPA_TEST_NOEMU_BUILDER=$NOEMU_BUILDER"
	echo "export PATH=$BIN:\$PATH"
}

# ---------------------------------------------------------------------------
# Debian test images: a stale image per release (packages from the point
# release, sources that include the security and updates suites), its
# Trivy-format report and its list of pending upgrades.

# use_release VERSION SUITE [INCLUDE [ARCH]]: the release the functions
# below work on. INCLUDE is a comma-separated list of packages debootstrap
# adds to minbase. ARCH is a dpkg architecture other than the host's
# (debootstrapped under qemu-user-static): its directory, tags and reports
# get the suffix -ARCH, its images the platform linux/ARCH. The host's own
# architecture gets no suffix and no --platform, so its stamps and images
# are those of a harness without this parameter.
use_release() {
	DEBIAN_VERSION=$1
	DEBIAN_SUITE=$2
	DEBOOTSTRAP_INCLUDE=${3:-}
	DEBIAN_ARCH=${4:-$HOST_ARCH}
	FOREIGN_ARCH= ARCH_SUFFIX=
	if [[ $DEBIAN_ARCH != "$HOST_ARCH" ]]; then
		FOREIGN_ARCH=$DEBIAN_ARCH
		ARCH_SUFFIX=-$DEBIAN_ARCH
	fi
	DEB_DIR=$COPA_CACHE/images/debian-$DEBIAN_VERSION$ARCH_SUFFIX
	ROOTFS=$DEB_DIR/rootfs
	STALE_IMAGE=$REGISTRY/copa-test/debian:$DEBIAN_VERSION-stale$ARCH_SUFFIX
	TOOLING_IMAGE=$REGISTRY/copa-test/debian:$DEBIAN_SUITE$ARCH_SUFFIX
	DISTROLESS_IMAGE=$REGISTRY/copa-test/distroless:$DEBIAN_VERSION-stale$ARCH_SUFFIX
	REPORT_BASE=$TESTDATA/debian-$DEBIAN_VERSION-stale$ARCH_SUFFIX
}

# The packages of the distroless images, a C runtime like distroless/cc's,
# from what each release's minbase has: libssl1.1 is OpenSSL on Debian 11,
# which the Debian 12 minbase lacks. Which of them have upgrades is what the
# archive offers the day the harness runs (on 2026-11-25: liblzma5,
# libpcre2-8-0 and tzdata on Debian 12; libc6, libssl1.1, liblzma5 and tzdata
# on Debian 11). The Debian 12 rootfs gets no extra package for OpenSSL: it
# is also the apt images' rootfs, on which the layer-size benchmarks are
# defined.
DISTROLESS_PKGS_12=(base-files libc6 libgcc-s1 liblzma5 libpcre2-8-0 tzdata zlib1g)
DISTROLESS_PKGS_11=(base-files libc6 libgcc-s1 liblzma5 libssl1.1 tzdata zlib1g)

# sources_full / sources_nosecurity: etc/apt/sources.list.d/debian.sources
sources_full() {
	cat <<-EOF
		Types: deb
		URIs: $DEBIAN_MIRROR
		Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $DEBIAN_SECURITY_MIRROR
		Suites: $DEBIAN_SUITE-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}
sources_nosecurity() {
	cat <<-EOF
		Types: deb
		URIs: $DEBIAN_MIRROR
		Suites: $DEBIAN_SUITE
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

# The image config: everything Docker's config can carry, to check that
# patching preserves it.
image_dockerfile() {
	cat <<-EOF
		FROM scratch
		ADD rootfs.tar /
		ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		ENV APP_MODE=production LANG=C.UTF-8
		LABEL org.opencontainers.image.title=copa-test-debian \\
		      org.opencontainers.image.description="Stale Debian $DEBIAN_VERSION test image for copa/frontend" \\
		      com.example.copa-test.kind=stale
		WORKDIR /srv
		EXPOSE 8080/tcp
		VOLUME /data
		STOPSIGNAL SIGTERM
		HEALTHCHECK --interval=30s --timeout=5s --start-period=2s --retries=3 CMD ["true"]
		ONBUILD RUN true
		USER 1000:1000
		ENTRYPOINT ["/bin/sh", "-c"]
		CMD ["echo ok"]
	EOF
}

# The tooling images' config: the official debian:<codename> image's.
tooling_dockerfile() {
	cat <<-EOF
		FROM scratch
		ADD rootfs.tar /
		ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		CMD ["bash"]
	EOF
}

# The distroless image's config, after gcr.io/distroless (:nonroot). No
# ENTRYPOINT: the image has no program to name.
distroless_dockerfile() {
	cat <<-EOF
		FROM scratch
		ADD rootfs.tar /
		ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
		LABEL org.opencontainers.image.title=copa-test-distroless \\
		      com.example.copa-test.kind=distroless
		WORKDIR /home/nonroot
		USER 65532:65532
		CMD ["/app"]
	EOF
}

# rootfs_noapt DIR: DIR (a copy of a rootfs) with apt purged, as
# `RUN dpkg --purge apt` would leave it; dpkg and sh stay.
# The image's own dpkg runs chrooted in DIR. `dpkg --root=DIR` (the host's
# dpkg) also works without /proc, but it runs the maintainer scripts
# chrooted with the image's empty /dev, so their `>/dev/null` leaves a
# regular file dev/null in the image, and it logs to the host's
# /var/log/dpkg.log. So /dev is bind-mounted (not recursively) for the purge
# and unmounted right after, leaving DIR/dev untouched; /proc is not needed
# (apt's prerm/postrm only run dpkg-maintscript-helper and rm, the libc-bin
# trigger runs ldconfig). A mount left by a killed run is cleared by safe_rm.
# --force-script-chrootless is not used: the scripts would act on the host.
rootfs_noapt() {
	local dir=$1 rc=0 logf=$LOGS/noapt-dpkg-purge-$DEBIAN_SUITE.log
	mount --bind /dev "$dir/dev"
	chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		dpkg --purge apt >"$logf" 2>&1 || rc=$?
	umount "$dir/dev"
	if ((rc)); then
		tail -n 20 "$logf" >&2
		die "dpkg --purge apt in $dir failed (exit $rc; log: $logf)"
	fi
	[[ -e $dir/usr/bin/apt-get || -L $dir/usr/bin/apt-get ]] && die "$dir/usr/bin/apt-get is still there after the purge"
	grep -qx 'Package: apt' "$dir/var/lib/dpkg/status" && die "$dir/var/lib/dpkg/status still has an apt stanza"
	[[ -x $dir/usr/bin/dpkg && -x $dir/usr/bin/sh ]] || die "$dir lost dpkg or sh in the purge"
	[[ -z $(find "$dir/dev" -mindepth 1 -print -quit) ]] || die "the purge left files in $dir/dev"
	return 0
}

# rootfs_both DIR: rootfs_noapt, plus a status.d holding the stanzas of
# a few packages (without Status, as distroless image builders write
# them) beside the full status file: an image that keeps both databases,
# which must be read and written in the same one.
rootfs_both() {
	local dir=$1 pkg
	rootfs_noapt "$dir"
	mkdir -p "$dir/var/lib/dpkg/status.d"
	for pkg in "${BOTH_STATUSD_PKGS[@]}"; do
		awk -v p="$pkg" '$0 == "Package: " p { on = 1 } on && /^$/ { exit } on && !/^Status:/ { print }' \
			"$dir/var/lib/dpkg/status" >"$dir/var/lib/dpkg/status.d/$pkg"
		[[ -s $dir/var/lib/dpkg/status.d/$pkg ]] || die "rootfs_both: $pkg is not in $dir's status"
		cp "$dir/var/lib/dpkg/info/$pkg.md5sums" "$dir/var/lib/dpkg/status.d/$pkg.md5sums" 2>/dev/null ||
			cp "$dir/var/lib/dpkg/info/$pkg:"*.md5sums "$dir/var/lib/dpkg/status.d/$pkg.md5sums"
	done
}

# BOTH_STATUSD_PKGS are the packages rootfs_both also lists in status.d:
# present in every Debian rootfs, and often upgraded.
BOTH_STATUSD_PKGS=(tzdata libc6 liblzma5)

# rootfs_want: the first line of the rootfs stamp for the current recipe.
rootfs_want() {
	echo "recipe=$ROOTFS_RECIPE suite=$DEBIAN_SUITE mirror=$DEBIAN_MIRROR variant=minbase${DEBOOTSTRAP_INCLUDE:+ include=$DEBOOTSTRAP_INCLUDE}${FOREIGN_ARCH:+ arch=$FOREIGN_ARCH}"
}

# rootfs_current: whether the rootfs stamp is of the current recipe. The
# images' and reports' quick "up to date" checks need it: their stamps hash
# the rootfs stamp, which is only rewritten once the rootfs is rebuilt.
rootfs_current() {
	[[ -f $DEB_DIR/rootfs.stamp ]] && [[ "$(head -n1 "$DEB_DIR/rootfs.stamp")" == "$(rootfs_want)" ]]
}

# ensure_rootfs: a debootstrapped, image-ready rootfs of the release in $ROOTFS.
ensure_rootfs() {
	local want
	want=$(rootfs_want)
	if [[ -d $ROOTFS ]] && rootfs_current; then
		return 0
	fi
	local tmp=$DEB_DIR/rootfs.tmp t0=$SECONDS dlog=$LOGS/debootstrap-$DEBIAN_SUITE$ARCH_SUFFIX.log
	safe_rm "$tmp"
	safe_rm "$ROOTFS"
	rm -f "$DEB_DIR"/*.stamp
	mkdir -p "$DEB_DIR"
	# A foreign rootfs: debootstrap runs its second stage chrooted, the
	# rootfs's own binaries under qemu-user-static (binfmt flag F).
	[[ -z $FOREIGN_ARCH ]] || ensure_binfmt
	log "debootstrap --variant=minbase ${FOREIGN_ARCH:+--arch=$FOREIGN_ARCH }${DEBOOTSTRAP_INCLUDE:+--include=$DEBOOTSTRAP_INCLUDE }$DEBIAN_SUITE (log: $dlog) ..."
	if ! debootstrap --variant=minbase ${FOREIGN_ARCH:+"--arch=$FOREIGN_ARCH"} ${DEBOOTSTRAP_INCLUDE:+"--include=$DEBOOTSTRAP_INCLUDE"} \
		"$DEBIAN_SUITE" "$tmp" "$DEBIAN_MIRROR" >"$dlog" 2>&1; then
		tail -n 20 "$dlog" >&2
		safe_rm "$tmp"
		die "debootstrap failed"
	fi
	[[ "$(chroot "$tmp" dpkg --print-architecture)" == "$DEBIAN_ARCH" ]] || die "the rootfs in $tmp is not $DEBIAN_ARCH"
	# Make it look like the official debian image.
	findmnt -rn -o TARGET | grep -q "^$tmp/" && die "mounts left below $tmp"
	rm -f "$tmp/etc/apt/sources.list"
	mkdir -p "$tmp/etc/apt/sources.list.d"
	sources_full >"$tmp/etc/apt/sources.list.d/debian.sources"
	rm -f "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/cache/apt/*.bin
	find "$tmp/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial -exec rm -rf {} +
	mkdir -p "$tmp/var/lib/apt/lists/partial" "$tmp/var/cache/apt/archives/partial"
	# Device nodes, the host's resolv.conf/hostname and debootstrap's log do not
	# belong in an image; dev, proc and sys stay as empty directories.
	find "$tmp/dev" "$tmp/proc" "$tmp/sys" -mindepth 1 -delete
	rm -f "$tmp/etc/resolv.conf" "$tmp/etc/hostname" "$tmp/var/log/bootstrap.log"
	mv "$tmp" "$ROOTFS"
	{ echo "$want"; echo "debian_version=$(cat "$ROOTFS/etc/debian_version") epoch=$(date +%s)"; } >"$DEB_DIR/rootfs.stamp"
	log "rootfs ready: Debian $(cat "$ROOTFS/etc/debian_version") $DEBIAN_ARCH in $((SECONDS - t0))s"
}

# rootfs_epoch: the rootfs's creation time, the images' SOURCE_DATE_EPOCH.
rootfs_epoch() {
	local e
	e=$(sed -n 's/.*epoch=\([0-9]*\).*/\1/p' "$DEB_DIR/rootfs.stamp")
	[[ -n $e ]] || die "no epoch in $DEB_DIR/rootfs.stamp"
	echo "$e"
}

# image_want SOURCES_FN DOCKERFILE_FN [ROOTFS_FN]: the stamp of an image built
# by build_image (rootfs stamp, Dockerfile, sources, ROOTFS_FN's code).
image_want() {
	{
		cat "$DEB_DIR/rootfs.stamp" 2>/dev/null
		"$2"
		"$1"
		[[ -z ${3:-} ]] || declare -f "$3"
	} | sha256sum | cut -d' ' -f1
}

# push_context REF CTX LOGNAME: build the Dockerfile in CTX and push it as REF.
push_context() {
	local ref=$1 ctx=$2 logname=$3 epoch
	epoch=$(rootfs_epoch)
	log "building and pushing $ref ..."
	run "$LOGS/image-$logname$ARCH_SUFFIX.log" docker buildx build --builder "$BUILDER" --progress=plain \
		${FOREIGN_ARCH:+--platform "linux/$FOREIGN_ARCH"} \
		--provenance=false --sbom=false --build-arg "SOURCE_DATE_EPOCH=$epoch" \
		--output "type=image,name=$ref,push=true" "$ctx"
}

# build_image REF SOURCES_FN [DOCKERFILE_FN [ROOTFS_FN]]: push a FROM-scratch
# image of $ROOTFS with the given apt sources and Dockerfile (default
# image_dockerfile), unless the tag exists and was built from the current
# rootfs and recipe. ROOTFS_FN DIR, if given, first changes DIR, a copy of
# $ROOTFS; its code is part of the stamp.
build_image() {
	local ref=$1 sources_fn=$2 dockerfile_fn=${3:-image_dockerfile} rootfs_fn=${4:-}
	local name want ctx src t0=$SECONDS
	name=${ref##*:}
	want=$(image_want "$sources_fn" "$dockerfile_fn" "$rootfs_fn")
	if rootfs_current && stamp_ok "$DEB_DIR/$name.stamp" "$want" && tag_exists "$ref"; then
		log "$ref: up to date"
		return 0
	fi
	ensure_rootfs
	want=$(image_want "$sources_fn" "$dockerfile_fn" "$rootfs_fn")
	ctx=$DEB_DIR/ctx-$name
	safe_rm "$ctx"
	mkdir -p "$ctx/stage/etc/apt/sources.list.d"
	src=$ROOTFS
	if [[ -n $rootfs_fn ]]; then
		# Outside $ctx, which buildx sends to the daemon whole.
		src=$DEB_DIR/rootfs-$name
		safe_rm "$src"
		cp -a "$ROOTFS" "$src"
		log "$ref: $rootfs_fn on a copy of the Debian $DEBIAN_VERSION rootfs ..."
		"$rootfs_fn" "$src"
	fi
	"$dockerfile_fn" >"$ctx/Dockerfile"
	"$sources_fn" >"$ctx/stage/etc/apt/sources.list.d/debian.sources"
	touch -r "$src/etc/apt/sources.list.d/debian.sources" "$ctx/stage/etc/apt/sources.list.d/debian.sources"
	# A tarball (as the official images use) rather than COPY rootfs/: COPY from
	# a local context resets every file to root:root, ADD of a tar keeps owners.
	tar -C "$src" --numeric-owner --sort=name -cf "$ctx/rootfs.tar" \
		--exclude=./etc/apt/sources.list.d/debian.sources .
	tar -C "$ctx/stage" --numeric-owner --owner=0 --group=0 -rf "$ctx/rootfs.tar" ./etc/apt/sources.list.d/debian.sources
	push_context "$ref" "$ctx" "$name"
	safe_rm "$ctx"
	[[ $src == "$ROOTFS" ]] || safe_rm "$src"
	echo "$want" >"$DEB_DIR/$name.stamp"
	log "pushed $ref in $((SECONDS - t0))s"
}

# distroless_want REF PKG...: the stamp of the distroless image.
distroless_want() {
	{
		cat "$DEB_DIR/rootfs.stamp" 2>/dev/null
		distroless_dockerfile
		cat "$REPO/hack/distroless-rootfs.sh"
		echo "$* arch=$(dpkg --print-architecture)"
	} | sha256sum | cut -d' ' -f1
}

# build_distroless REF PKG...: push a distroless-style image made of the files
# of PKG... in $ROOTFS (hack/distroless-rootfs.sh; nothing runs), unless the
# tag exists and was built from the current rootfs and recipe.
build_distroless() {
	local ref=$1 name want ctx files bad pkg t0=$SECONDS
	shift
	name=distroless-${ref##*:}
	want=$(distroless_want "$ref" "$@")
	if rootfs_current && stamp_ok "$DEB_DIR/$name.stamp" "$want" && tag_exists "$ref"; then
		log "$ref: up to date"
		return 0
	fi
	ensure_rootfs
	want=$(distroless_want "$ref" "$@")
	ctx=$DEB_DIR/ctx-$name
	safe_rm "$ctx"
	mkdir -p "$ctx"
	distroless_dockerfile >"$ctx/Dockerfile"
	log "$ref: assembling the files of $* from the Debian $DEBIAN_VERSION rootfs ..."
	run "$LOGS/$name-rootfs.log" bash "$REPO/hack/distroless-rootfs.sh" "$ROOTFS" "$ctx/rootfs.tar" "$(rootfs_epoch)" "$@"
	# What the layer holds (kept for inspection): no shell, no package
	# manager, no dpkg status file; a status.d stanza per package.
	files=$LOGS/$name.files
	tar -tf "$ctx/rootfs.tar" | sed 's#/$##' >"$files"
	if bad=$(grep -xE '\./(usr/)?s?bin/(sh|bash|dash|dpkg|apt|apt-get)|\./var/lib/dpkg/(status|available)' "$files"); then
		die "$ref would contain $(echo "$bad" | tr '\n' ' ')(file list: $files)"
	fi
	for pkg in "$@"; do
		grep -qxF "./var/lib/dpkg/status.d/$pkg" "$files" || die "$ref: no var/lib/dpkg/status.d/$pkg (file list: $files)"
	done
	push_context "$ref" "$ctx" "$name"
	safe_rm "$ctx"
	echo "$want" >"$DEB_DIR/$name.stamp"
	log "pushed $ref ($(wc -l <"$files") paths) in $((SECONDS - t0))s"
}

# make_report: Trivy- and Grype-shaped reports and the upgradable list of the
# release's stale image.
make_report() {
	local base=$REPORT_BASE want
	local out=$base.trivy.json upg=$base.upgradable
	want=$({ cat "$DEB_DIR/rootfs.stamp" 2>/dev/null; cat "$REPO/hack/mkreport/main.go"; sources_full; } | sha256sum | cut -d' ' -f1)
	if rootfs_current && [[ -s $out && -s $base.grype.json && -f $upg ]] && stamp_ok "$base.stamp" "$want"; then
		log "$out: up to date"
		return 0
	fi
	ensure_rootfs
	want=$({ cat "$DEB_DIR/rootfs.stamp"; cat "$REPO/hack/mkreport/main.go"; sources_full; } | sha256sum | cut -d' ' -f1)
	local w=$COPA_CACHE/work/report-${base##*/} deb pkg src f
	rm -rf "$w"
	mkdir -p "$w"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,debs,x,changelogs} "$TESTDATA"
	: >"$w/etc/sources.list"
	# The image's own sources, with the keyring taken from the rootfs.
	sed "s#^Signed-By: /#Signed-By: $ROOTFS/#" "$ROOTFS/etc/apt/sources.list.d/debian.sources" \
		>"$w/etc/sources.list.d/debian.sources"
	# Host apt, but the rootfs's dpkg status and config, and a scratch apt state.
	local apt_opts=(-o "Dir::Etc=$ROOTFS/etc/apt" -o "Dir::Etc::sourcelist=$w/etc/sources.list"
		-o "Dir::Etc::sourceparts=$w/etc/sources.list.d" -o "Dir::State=$w/state"
		-o "Dir::State::status=$ROOTFS/var/lib/dpkg/status" -o "Dir::Cache=$w/cache"
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Languages=none
		-o "APT::Architecture=$DEBIAN_ARCH" -o "APT::Architectures=$DEBIAN_ARCH")
	log "report: apt-get update against the image's sources ($DEBIAN_ARCH) ..."
	run "$LOGS/report-apt${ARCH_SUFFIX}.log" apt-get "${apt_opts[@]}" update
	apt "${apt_opts[@]}" list --upgradable 2>/dev/null |
		sed -n 's#^\([^/ ]*\)/[^ ]* \([^ ]*\) [^ ]* \[upgradable from: \([^]]*\)\]$#\1 \3 \2#p' |
		sort >"$w/upgradable"
	[[ -s $w/upgradable ]] || log "WARNING: no upgradable packages (the rootfs is current)"
	log "report: $(wc -l <"$w/upgradable") upgradable package(s), downloading candidates ..."
	if [[ -s $w/upgradable ]]; then
		(cd "$w/debs" && run "$LOGS/report-download${ARCH_SUFFIX}.log" apt-get "${apt_opts[@]}" download \
			$(awk '{print $1 "=" $3}' "$w/upgradable"))
	fi
	# Changelog of each candidate deb; a package whose doc dir is a symlink
	# into a sibling's takes the changelog of another deb of the same source.
	declare -A src_of=() cl_of_src=()
	for deb in "$w"/debs/*.deb; do
		[[ -e $deb ]] || continue
		pkg=$(dpkg-deb -f "$deb" Package)
		src=$(dpkg-deb -f "$deb" Source | cut -d' ' -f1)
		src_of[$pkg]=${src:-$pkg}
		dpkg-deb -x "$deb" "$w/x/$pkg"
		for f in changelog.Debian.gz changelog.gz; do
			if [[ -f $w/x/$pkg/usr/share/doc/$pkg/$f ]]; then
				cp "$w/x/$pkg/usr/share/doc/$pkg/$f" "$w/changelogs/$pkg.gz"
				cl_of_src[${src_of[$pkg]}]=$w/changelogs/$pkg.gz
				break
			fi
		done
	done
	for pkg in "${!src_of[@]}"; do
		[[ -f $w/changelogs/$pkg.gz || -z ${cl_of_src[${src_of[$pkg]}]:-} ]] ||
			cp "${cl_of_src[${src_of[$pkg]}]}" "$w/changelogs/$pkg.gz"
	done
	(cd "$REPO" && go run ./hack/mkreport -rootfs "$ROOTFS" -upgradable "$w/upgradable" \
		-changelogs "$w/changelogs" -artifact "$STALE_IMAGE" -arch "$DEBIAN_ARCH" \
		-o "$out.tmp" -grype "$base.grype.json.tmp")
	mv -f "$out.tmp" "$out"
	mv -f "$base.grype.json.tmp" "$base.grype.json"
	cp "$w/upgradable" "$upg"
	rm -rf "$w"
	echo "$want" >"$base.stamp"
	log "wrote $out and $upg"
}

# manifest_digest REF: the digest of the manifest (or index) the tag names.
manifest_digest() {
	local ref=${1#"$REGISTRY"/} d
	d=$(curl -fsI --max-time 10 -H "Accept: $MANIFEST_TYPES" "http://$REGISTRY_LISTEN/v2/${ref%:*}/manifests/${ref##*:}" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
	[[ $d == sha256:* ]] || return 1
	echo "$d"
}

# get_index REF: the OCI index REF names.
get_index() {
	local ref=${1#"$REGISTRY"/}
	curl -fs --max-time 10 -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REGISTRY_LISTEN/v2/${ref%:*}/manifests/${ref##*:}"
}

# index_ok REF DESCRIPTION DIGEST...: whether REF is an OCI index of exactly
# these manifests, in this order, whose description annotation is DESCRIPTION.
index_ok() {
	local ref=$1 desc=$2 got
	shift 2
	got=$(get_index "$ref" 2>/dev/null | jq -r --arg d "$desc" \
		'select(.mediaType == "application/vnd.oci.image.index.v1+json" and
			.annotations["org.opencontainers.image.description"] == $d) | .manifests[].digest' 2>/dev/null) || return 1
	[[ $got == "$(printf '%s\n' "$@")" ]]
}

# build_index REF DESCRIPTION MEMBER...: push an OCI index of the MEMBER tags'
# manifests, by digest (so the index holds the very manifests the tags
# name), with DESCRIPTION as its org.opencontainers.image.description
# annotation, unless REF already is that index.
build_index() {
	local ref=$1 desc=$2 m d t0=$SECONDS
	shift 2
	local digests=() srcs=()
	for m in "$@"; do
		d=$(manifest_digest "$m") || die "$ref: its member $m is not in the registry"
		digests+=("$d")
		srcs+=("${m%:*}@$d")
	done
	local stampf=$COPA_CACHE/images/index-${ref##*:}.stamp want
	want=$({ printf '%s\n' "$desc" "${srcs[@]}"; declare -f build_index; } | sha256sum | cut -d' ' -f1)
	if stamp_ok "$stampf" "$want" && index_ok "$ref" "$desc" "${digests[@]}"; then
		log "$ref: up to date"
		return 0
	fi
	log "creating the index $ref of ${*#"$REGISTRY"/} ..."
	run "$LOGS/index-${ref##*:}.log" docker buildx imagetools create --builder "$BUILDER" \
		--annotation "index:org.opencontainers.image.description=$desc" -t "$ref" "${srcs[@]}"
	index_ok "$ref" "$desc" "${digests[@]}" ||
		die "$ref is not an OCI index of ${digests[*]} with the description annotation: $(get_index "$ref" | head -c 2000)"
	mkdir -p "$(dirname "$stampf")"
	echo "$want" >"$stampf"
	log "pushed $ref ($(get_index "$ref" | jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(", ")')) in $((SECONDS - t0))s"
}

# put_blob REPO FILE: upload FILE as a blob of REPO unless it is there, and
# print its digest.
put_blob() {
	local repo=$1 f=$2 d loc sep='?'
	d=sha256:$(sha256sum "$f" | cut -d' ' -f1)
	if ! curl -fsI -o /dev/null --max-time 10 "http://$REGISTRY_LISTEN/v2/$repo/blobs/$d"; then
		loc=$(curl -fsi -X POST --max-time 10 "http://$REGISTRY_LISTEN/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
		[[ $loc == http* ]] || loc="http://$REGISTRY_LISTEN$loc"
		[[ $loc != *\?* ]] || sep='&'
		curl -fs -X PUT --max-time 60 -H 'Content-Type: application/octet-stream' --data-binary "@$f" "$loc${sep}digest=$d" >/dev/null ||
			die "uploading $f to $repo failed"
	fi
	echo "$d"
}

# put_manifest REPO REF MEDIATYPE FILE: push FILE as manifest REF of REPO.
put_manifest() {
	curl -fs -X PUT --max-time 30 -H "Content-Type: $3" --data-binary "@$4" \
		"http://$REGISTRY_LISTEN/v2/$1/manifests/$2" >/dev/null || die "pushing the manifest $1:$2 failed"
}

# attest_index SRC DST: push DST, the index SRC plus, for each of its
# images, an attestation manifest laid out as buildx attaches provenance
# (platform unknown/unknown, the vnd.docker.reference.* annotations, the OCI
# empty config, one in-toto statement). Only an index known to hold
# attestations is read whole, annotations included, by the frontend (see
# docs/multiplatform.md); the statements here are minimal, made by hand.
attest_index() {
	local src=$1 dst=$2 repo w m d st att stampf want
	repo=${dst#"$REGISTRY"/}
	repo=${repo%:*}
	stampf=$COPA_CACHE/images/index-${dst##*:}.stamp
	want=$({ manifest_digest "$src"; declare -f attest_index; } | sha256sum | cut -d' ' -f1)
	if stamp_ok "$stampf" "$want" && tag_exists "$dst"; then
		log "$dst: up to date"
		return 0
	fi
	w=$COPA_CACHE/work/attest
	rm -rf "$w"
	mkdir -p "$w"
	get_index "$src" >"$w/index.json" || die "$src is not an index"
	printf '{}' >"$w/empty.json"
	put_blob "$repo" "$w/empty.json" >/dev/null
	: >"$w/atts"
	while read -r m; do
		d=$(jq -r .digest <<<"$m")
		jq -cn --arg d "${d#sha256:}" --arg name "pkg:docker/${dst#"$REGISTRY"/}" \
			'{_type: "https://in-toto.io/Statement/v0.1", predicateType: "https://slsa.dev/provenance/v0.2",
			  subject: [{name: $name, digest: {sha256: $d}}],
			  predicate: {builder: {id: "hack/harness.sh"}, buildType: "https://github.com/copa/frontend/hack/harness.sh"}}' >"$w/stmt.json"
		st=$(put_blob "$repo" "$w/stmt.json")
		jq -cn --arg st "$st" --argjson sz "$(stat -c %s "$w/stmt.json")" \
			'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
			  artifactType: "application/vnd.docker.attestation.manifest.v1+json",
			  config: {mediaType: "application/vnd.oci.empty.v1+json", digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2, data: "e30="},
			  layers: [{mediaType: "application/vnd.in-toto+json", digest: $st, size: $sz,
			            annotations: {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}]}' >"$w/att.json"
		att=sha256:$(sha256sum "$w/att.json" | cut -d' ' -f1)
		put_manifest "$repo" "$att" application/vnd.oci.image.manifest.v1+json "$w/att.json"
		jq -cn --arg a "$att" --arg d "$d" --argjson sz "$(stat -c %s "$w/att.json")" \
			'{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $sz,
			  annotations: {"vnd.docker.reference.digest": $d, "vnd.docker.reference.type": "attestation-manifest"},
			  platform: {architecture: "unknown", os: "unknown"}}' >>"$w/atts"
	done < <(jq -c '.manifests[] | select(.platform.os != "unknown")' "$w/index.json")
	jq -c --slurpfile atts "$w/atts" '.manifests += $atts' "$w/index.json" >"$w/attested.json"
	put_manifest "$repo" "${dst##*:}" application/vnd.oci.image.index.v1+json "$w/attested.json"
	mkdir -p "$(dirname "$stampf")"
	echo "$want" >"$stampf"
	rm -rf "$w"
	log "pushed $dst: $src with an attestation manifest per image"
}

# other_os_image REF: a linux/arm64 image of an OS no method patches (an
# os-release and nothing else), for an index with a platform that is
# carried over unpatched.
other_os_image() {
	local ref=$1 w=$COPA_CACHE/work/other-os want stampf=$COPA_CACHE/images/other-os.stamp
	want=$(declare -f other_os_image | sha256sum | cut -d' ' -f1)
	if stamp_ok "$stampf" "$want" && tag_exists "$ref"; then
		log "$ref: up to date"
		return 0
	fi
	rm -rf "$w"
	mkdir -p "$w/rootfs/etc"
	printf 'ID=copa-test-os\nNAME="An OS copa/frontend does not patch"\nVERSION_ID=1\n' >"$w/rootfs/etc/os-release"
	printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["/nothing"]\n' >"$w/Dockerfile"
	run "$LOGS/image-other-os.log" docker buildx build --builder "$BUILDER" --progress=plain --platform linux/arm64 \
		--provenance=false --sbom=false --build-arg SOURCE_DATE_EPOCH=0 --output "type=image,name=$ref,push=true" "$w"
	mkdir -p "$(dirname "$stampf")"
	echo "$want" >"$stampf"
	rm -rf "$w"
	log "pushed $ref"
}

# The two-platform Debian 12 index: the host's (amd64) 12-stale and the
# arm64 12-stale-arm64, both single-platform images of the same recipe.
MULTI_IMAGE=$REGISTRY/copa-test/debian:12-stale-multi
MULTI_DESCRIPTION="Stale Debian 12 test index for copa/frontend: copa-test/debian:12-stale (linux/amd64) and copa-test/debian:12-stale-arm64 (linux/arm64)"

cmd_images() {
	need_up
	local t0=$SECONDS
	use_release 12 bookworm
	build_image "$STALE_IMAGE" sources_full
	build_image "$STALE_IMAGE-nosecurity" sources_nosecurity
	build_image "$TOOLING_IMAGE" sources_full tooling_dockerfile
	build_distroless "$DISTROLESS_IMAGE" "${DISTROLESS_PKGS_12[@]}"
	make_report
	# The same Debian 12 stale image for linux/arm64 (debootstrapped under
	# emulation; no other image of it: patching arm64 natively uses the
	# build platform's tooling image), and the index of both.
	if [[ $HOST_ARCH == amd64 ]]; then
		use_release 12 bookworm "" arm64
		build_image "$STALE_IMAGE" sources_full
		make_report
		build_index "$MULTI_IMAGE" "$MULTI_DESCRIPTION" "$REGISTRY/copa-test/debian:12-stale" "$STALE_IMAGE"
		attest_index "$MULTI_IMAGE" "$MULTI_IMAGE-attested"
		other_os_image "$REGISTRY/copa-test/debian:other-os-arm64"
		build_index "$REGISTRY/copa-test/debian:12-stale-mixed" "Test index for copa/frontend: copa-test/debian:12-stale (linux/amd64) and an OS no method patches (linux/arm64)" \
			"$REGISTRY/copa-test/debian:12-stale" "$REGISTRY/copa-test/debian:other-os-arm64"
	else
		log "WARNING: not an amd64 host: no copa-test/debian:12-stale-arm64 or :12-stale-multi"
	fi
	# Debian 11 has many more pending updates (libc6, libssl1.1, an epoch in
	# login's version): the larger case for layer sizes.
	use_release 11 bullseye
	build_image "$STALE_IMAGE" sources_full
	build_image "$TOOLING_IMAGE" sources_full tooling_dockerfile
	build_image "$STALE_IMAGE-noapt" sources_full image_dockerfile rootfs_noapt
	build_image "$STALE_IMAGE-both" sources_full image_dockerfile rootfs_both
	build_distroless "$DISTROLESS_IMAGE" "${DISTROLESS_PKGS_11[@]}"
	make_report
	log "images: done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------
# The frontend image's platforms (dpkg/GOARCH names), and the ELF e_machine
# of each one's binary.
FRONTEND_ARCHES=(amd64 arm64)
declare -A ELF_MACHINE=([amd64]=62 [arm64]=183)

# elf_machine FILE: the e_machine field of a little-endian ELF file.
elf_machine() {
	[[ "$(head -c4 "$1" | od -An -c | tr -d ' ')" == '177ELF' ]] || return 1
	od -An -tu2 -j18 -N2 "$1" | tr -d ' '
}

# cmd_frontend_image: host-build the frontend for every FRONTEND_ARCHES
# (CGO_ENABLED=0, out/linux-<arch>/frontend), build the Dockerfile with them
# standing in for its build stage, and push the index of all platforms;
# rebuilt only when a binary, the Dockerfile or the tag changes.
cmd_frontend_image() {
	need_up
	local w=$COPA_CACHE/work/frontend-image/${FRONTEND_IMAGE//[^A-Za-z0-9._-]/_} want a plats=() sums=()
	for a in "${FRONTEND_ARCHES[@]}"; do
		mkdir -p "$w/out/linux-$a"
		(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=$a run "$LOGS/frontend-go-build-$a.log" \
			go build -trimpath -ldflags='-s -w' -o "$w/out/linux-$a/frontend" ./cmd/frontend)
		[[ "$(elf_machine "$w/out/linux-$a/frontend")" == "${ELF_MACHINE[$a]}" ]] ||
			die "$w/out/linux-$a/frontend is not a $a ELF binary"
		plats+=("linux/$a")
		sums+=("$a $(sha256sum <"$w/out/linux-$a/frontend")")
	done
	want=$({ printf '%s\n' "${sums[@]}"; cat "$REPO/Dockerfile"; echo "$FRONTEND_IMAGE ${plats[*]}"; } | sha256sum | cut -d' ' -f1)
	if stamp_ok "$w/image.stamp" "$want" && tag_exists "$FRONTEND_IMAGE"; then
		log "$FRONTEND_IMAGE: up to date"
		return 0
	fi
	local t0=$SECONDS platforms
	platforms=$(IFS=,; echo "${plats[*]}")
	log "building and pushing $FRONTEND_IMAGE ($platforms) ..."
	rm -f "$w/image.stamp"
	(cd "$REPO" && run "$LOGS/frontend-image.log" docker buildx build --builder "$BUILDER" --progress=plain \
		--platform "$platforms" --provenance=false --sbom=false --build-context "build=$w" \
		-t "$FRONTEND_IMAGE" --push .)
	# The tag is an index of exactly these platforms, each with its binary.
	local got
	got=$(docker buildx imagetools inspect --builder "$BUILDER" --raw "$FRONTEND_IMAGE" |
		jq -r '.manifests[].platform | .os + "/" + .architecture' | sort | paste -sd, -)
	[[ $got == "$(printf '%s\n' "${plats[@]}" | sort | paste -sd, -)" ]] ||
		die "$FRONTEND_IMAGE has the platforms '$got', not $platforms"
	rm -rf "$w/check"
	mkdir -p "$w/check"
	printf 'FROM scratch\nCOPY --from=%s /bin/frontend /frontend\n' "$FRONTEND_IMAGE" >"$w/check/Dockerfile"
	run "$LOGS/frontend-image-check.log" docker buildx build --builder "$BUILDER" --progress=plain \
		--platform "$platforms" --output "type=local,dest=$w/check/out" "$w/check"
	for a in "${FRONTEND_ARCHES[@]}"; do
		cmp -s "$w/check/out/linux_$a/frontend" "$w/out/linux-$a/frontend" ||
			die "$FRONTEND_IMAGE's linux/$a /bin/frontend is not $w/out/linux-$a/frontend"
	done
	rm -rf "$w/check"
	echo "$want" >"$w/image.stamp"
	log "pushed $FRONTEND_IMAGE ($platforms) in $((SECONDS - t0))s"
}

cmd_all() {
	local t0=$SECONDS
	cmd_tools
	cmd_up
	cmd_noemu_up
	cmd_images
	cmd_frontend_image
	log "all done in $((SECONDS - t0))s; eval \"\$($0 env)\""
}

case ${1:-all} in
tools) cmd_tools ;;
up) cmd_up ;;
down) cmd_down ;;
noemu-up) cmd_noemu_up ;;
noemu-down) cmd_noemu_down ;;
images) cmd_images ;;
frontend-image) cmd_frontend_image ;;
env) cmd_env ;;
all) cmd_all ;;
-h | --help | help) sed -n '2,/^[^#]/{/^#/p}' "$0" ;;
*) die "unknown command '$1' (tools|up|down|noemu-up|noemu-down|images|frontend-image|env|all)" ;;
esac
