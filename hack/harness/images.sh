# Sourced by hack/harness.sh: the Debian test images (images). It uses the settings and helpers
# harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

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
# sources_unreachable: the image's only source is a loopback port where
# nothing listens (port 9, discard): a mirror that is down.
sources_unreachable() {
	cat <<-EOF
		Types: deb
		URIs: http://127.0.0.1:9/debian
		Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
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

cmd_images() {
	need_up
	local t0=$SECONDS
	use_release 12 bookworm
	build_image "$STALE_IMAGE" sources_full
	build_image "$STALE_IMAGE-nosecurity" sources_nosecurity
	build_image "$STALE_IMAGE-unreachable" sources_unreachable
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
	# The bulk-patching images, of 12-stale (bake-images.sh).
	cmd_bake_images
	# The RPM-family images (rpm-images.sh).
	cmd_rpm_images
	make_rpmdbs
	# The apk-family images (apk-images.sh).
	cmd_apk_images
	log "images: done in $((SECONDS - t0))s"
}
