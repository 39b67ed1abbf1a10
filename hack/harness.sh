#!/usr/bin/env bash
# Test/dev harness: a local BuildKit, a loopback registry and the test images.
#
#   hack/harness.sh [all]           tools + up + noemu-up + images + frontend-image
#   hack/harness.sh tools           apt deps (incl. qemu-user-static, and python3 for the rpm repository server; registers qemu-aarch64 with
#                                   binfmt_misc); build buildkitd/buildctl, registry, docker-buildx (cached)
#   hack/harness.sh up | down       start/stop buildkitd (or use $BUILDKIT_HOST), the registry, buildx builder
#                                   "copa", the rpm repository server, the private mirror (hack/authmirror); down also stops the noemu buildkitd
#   hack/harness.sh noemu-up | noemu-down
#                                   start/stop the second buildkitd, without arm64 emulation (below)
#   hack/harness.sh images          debootstrap the Debian test images, push them, write the reports;
#                                   then bake-images and rpm-images
#   hack/harness.sh bake-images     the ten images of the bulk-patching test and benchmark (below)
#   hack/harness.sh rpm-images      the RPM test packages and repository, the RPM-family images, their reports
#   hack/harness.sh apk-images      the apk test packages, their repository server (http://127.0.0.1:8093/repo),
#                                   the Alpine- and Wolfi-like images and the apk tooling image
#                                   (hack/harness/apk-images.sh; part of images)
#   hack/harness.sh frontend-image  build and push the frontend image ($COPA_FRONTEND_IMAGE), an index
#                                   of linux/amd64 and linux/arm64
#   eval "$(hack/harness.sh env)"   BUILDKIT_HOST, COPA_TEST_REGISTRY, COPA_TEST_DATA, COPA_FRONTEND_IMAGE,
#                                   COPA_BUILDER, COPA_TEST_NOEMU_BUILDKIT_HOST, COPA_TEST_NOEMU_BUILDER,
#                                   COPA_TEST_RPM_REPO (http://127.0.0.1:8089/), COPA_TEST_RPM_DATA,
#                                   COPA_TEST_AUTH_MIRROR (http://127.0.0.1:8090), COPA_TEST_AUTH_MIRROR_TLS
#                                   (https://127.0.0.1:8091), COPA_TEST_AUTH_DIR (its credentials and ca.pem),
#                                   COPA_TEST_AUTH_LOG (its request log), COPA_TEST_AUTH_RPM_MIRROR
#                                   (http://127.0.0.1:8092, the rpm repository behind the same login),
#                                   COPA_TEST_AUTH_RPM_LOG
#
# Test images ($COPA_TEST_REGISTRY = localhost:5000; each is FROM scratch + one
# rootfs tarball, built from a debootstrapped minbase rootfs without RUN steps;
# a WORKDIR other than / adds BuildKit's empty 32-byte layer after it; all
# are linux/amd64 single-platform images unless said otherwise):
#   copa-test/debian:12-stale             Debian 12 at its point release, sources with the security and
#                                         updates suites (so apt sees upgrades), a config using every field
#   copa-test/debian:12-stale-nosecurity  the same rootfs, sources without security/updates
#   copa-test/debian:12-stale-unreachable the same rootfs, its only source http://127.0.0.1:9/debian, where
#                                         nothing listens: a mirror that is down
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
#   copa-test/debian:12-stale-bake-01 … -10  (harness/bake-images.sh) 12-stale plus one small layer each:
#                                         /srv/bake/image, a line naming the image (after the Dockerfile
#                                         frontend's empty layer for 12-stale's WORKDIR); the ten images of one
#                                         release that a bake patches (docs/bulk.md). Their reports,
#                                         $COPA_TEST_DATA/bake/12-stale-bake-NN.trivy.json, are 12-stale's
#                                         under their own ArtifactName
#   copa-test/distroless:{12,11}-stale    distroless-style images of Debian 12 / 11 package files
#                                         (hack/distroless-rootfs.sh): no shell, apt or dpkg, no
#                                         var/lib/dpkg/status but status.d; USER 65532, CMD ["/app"]
# RPM-family images (harness/rpm*.sh; linux/amd64 unless said otherwise, FROM scratch + one
# rootfs tarball; the test packages copa-libcore, copa-tool, copa-data (old versions) and
# copa-nofix in an rpm database (sqlite), installed without scriptlets; the repository at
# $COPA_TEST_RPM_REPO offers every build for x86_64 and, built with rpmbuild --target, aarch64):
#   copa-test/el:9-dnf                    Debian 12 + Debian's dnf and rpm posing as Rocky 9.4
#                                         (copa-release: os-release, system-release(releasever) = 9),
#                                         EL dnf.conf, %_dbpath /var/lib/rpm, yum.repos.d/copa-test.repo
#   copa-test/el:9-tooling                the same rootfs, only copa-release in its rpm database:
#                                         the tooling image of el:9-rpmdb
#   copa-test/el:9-rpmdb                  only the packages' files, their rpm database and the repo
#                                         file: no shell, rpm, package manager or dpkg database;
#                                         USER 65532, CMD ["/usr/bin/copa-tool"]
#   copa-test/el:9-rpmdb-arm64            linux/arm64: el:9-rpmdb's recipe of the aarch64 builds
#                                         (copa-data, copa-release noarch), installed with the host's
#                                         rpm --ignorearch; built without emulation (nothing runs).
#                                         For the native patch: the noemu builder cannot run it, so
#                                         el:9-tooling's dnf patches it with --forcearch=aarch64
#   copa-test/suse:15-zypper              Debian 12 + Debian's zypper and rpm posing as openSUSE Leap
#                                         15.6 (copa-suse-release: os-release, products.d/baseproduct),
#                                         %_dbpath /usr/lib/sysimage/rpm (/var/lib/rpm a symlink to it)
# and in $COPA_TEST_DATA: debian-{12,11}-stale.{trivy.json,grype.json,upgradable} (amd64) and
# debian-12-stale-arm64.{trivy.json,grype.json,upgradable} (ArtifactName 12-stale-arm64,
# Metadata.ImageConfig.architecture / Grype's source.target.architecture "arm64"); in
# $COPA_TEST_RPM_DATA ($COPA_TEST_DATA/rpm): packages.txt ("NAME OLD_EVR NEW_EVR ARCH" per
# updatable package, the x86_64 builds), packages-aarch64.txt (the same of the aarch64 builds)
# and, per image, {el-9-dnf,el-9-rpmdb,el-9-rpmdb-arm64,suse-15-zypper}.{trivy.json,rpmqa}
# (el-9-rpmdb-arm64's: Metadata.ImageConfig.architecture "arm64", PURLs arch=aarch64).
#   and rpmdb/: rpm
# databases (sqlite, ndb, Berkeley DB, Azure Linux's container-manifest-2) of a few tiny RPMs that
# Debian's rpm builds and installs, with what rpm itself lists of them (hack/harness/rpmdbs.sh).
# The RPM side is fixed by its recipe (harness/rpm*.sh), not by the day: tests may name it.
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
# qemu-aarch64 and the host packages rpm, createrepo-c, dnf and zypper. Every step is idempotent; a second run only checks.
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
	for p in runc debootstrap curl ca-certificates jq qemu-user-static binfmt-support python3; do
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


# The commands live in hack/harness/, one file per job.
for f in daemons images reports indexes bake-images frontend-image rpm rpm-images rpm-verify rpmdbs authmirror apk-images; do
	# shellcheck source=/dev/null
	. "$REPO/hack/harness/$f.sh"
done


cmd_env() {
	echo "export BUILDKIT_HOST=$(buildkit_host)"
	echo "export COPA_TEST_REGISTRY=$REGISTRY"
	echo "export COPA_TEST_DATA=$TESTDATA"
	echo "export COPA_FRONTEND_IMAGE=$FRONTEND_IMAGE"
	echo "export COPA_BUILDER=$BUILDER"
	echo "export COPA_TEST_NOEMU_BUILDKIT_HOST=$NOEMU_ADDR"
	echo "export COPA_TEST_NOEMU_BUILDER=$NOEMU_BUILDER"
	echo "export COPA_TEST_RPM_REPO=$RPM_REPO_URL"
	echo "export COPA_TEST_RPM_DATA=$RPM_TESTDATA"
	echo "export COPA_TEST_AUTH_MIRROR=http://$AUTH_LISTEN"
	echo "export COPA_TEST_AUTH_MIRROR_TLS=https://$AUTH_TLS_LISTEN"
	echo "export COPA_TEST_AUTH_DIR=$AUTH_DIR"
	echo "export COPA_TEST_AUTH_LOG=$LOGS/authmirror.log"
	echo "export COPA_TEST_AUTH_RPM_MIRROR=http://$AUTH_RPM_LISTEN"
	echo "export COPA_TEST_AUTH_RPM_LOG=$LOGS/authmirror-rpm.log"
	echo "export COPA_TEST_AUTH_APK_MIRROR=http://$AUTH_APK_LISTEN"
	echo "export COPA_TEST_AUTH_APK_LOG=$LOGS/authmirror-apk.log"
	echo "export COPA_TEST_APK_REPO=$APK_REPO_URL"
	echo "export COPA_APK_STATIC=$COPA_CACHE/apk-tools/$APK_TOOLS_VERSION/apk.static"
	echo "export COPA_APK3_STATIC=$COPA_CACHE/apk-tools/$APK3_TOOLS_VERSION/apk.static"
	echo "export PATH=$BIN:\$PATH"
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
rpm-images) cmd_rpm_images ;;
apk-images) cmd_apk_images ;;
bake-images) cmd_bake_images ;;
frontend-image) cmd_frontend_image ;;
env) cmd_env ;;
all) cmd_all ;;
-h | --help | help) sed -n '2,/^[^#]/{/^#/p}' "$0" ;;
*) die "unknown command '$1' (tools|up|down|noemu-up|noemu-down|images|rpm-images|apk-images|bake-images|frontend-image|env|all)" ;;
esac
