# Sourced by hack/harness.sh: the RPM-family test images (rpm-images, also run
# by images), made of the test packages of rpm.sh. It uses the settings and
# helpers harness.sh, images.sh and rpm.sh define.
# shellcheck shell=bash disable=SC2034,SC2154

RPM_IMG_DIR=$COPA_CACHE/images/rpm
EL_DNF_IMAGE=$REGISTRY/copa-test/el:9-dnf
EL_RPMDB_IMAGE=$REGISTRY/copa-test/el:9-rpmdb
EL_TOOLING_IMAGE=$REGISTRY/copa-test/el:9-tooling
EL_RPMDB_ARM64_IMAGE=$REGISTRY/copa-test/el:9-rpmdb-arm64
SUSE_ZYPPER_IMAGE=$REGISTRY/copa-test/suse:15-zypper
EL_BASE_PKGS=(dnf rpm)
SUSE_BASE_PKGS=(zypper rpm)
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------------------
# Base rootfs tarballs: the Debian 12 rootfs of images.sh plus Debian's dnf or
# zypper (apt-get chrooted in a copy of it), apt's lists and archives cleaned.

base_want() { # base_want NAME PKG...
	{
		echo "recipe=$RPM_RECIPE $*"
		cat "$DEB_DIR/rootfs.stamp" 2>/dev/null
		declare -f ensure_base chroot_apt
	} | sha256sum | cut -d' ' -f1
}

# chroot_apt DIR PKG...: apt-get install PKG... chrooted in DIR, with /dev and
# /proc mounted for the maintainer scripts (unmounted after, however it ends)
# and services kept from starting.
chroot_apt() {
	local dir=$1 rc=0 logf=$LOGS/rpm-base-apt.log
	shift
	cp /etc/resolv.conf "$dir/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	mount --bind /dev "$dir/dev"
	mount -t proc proc "$dir/proc"
	chroot "$dir" /usr/bin/env -i PATH=$CHROOT_PATH DEBIAN_FRONTEND=noninteractive \
		sh -c 'apt-get update && apt-get install -y --no-install-recommends "$@"' _ "$@" >"$logf" 2>&1 || rc=$?
	umount "$dir/proc"
	umount "$dir/dev"
	rm -f "$dir/etc/resolv.conf" "$dir/usr/sbin/policy-rc.d"
	if ((rc)); then
		tail -n 20 "$logf" >&2
		die "apt-get install $* in $dir failed (exit $rc; log: $logf)"
	fi
	rm -f "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin
	find "$dir/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial -exec rm -rf {} +
	[[ -z $(find "$dir/dev" "$dir/proc" -mindepth 1 -print -quit) ]] || die "apt-get left files in $dir/dev or $dir/proc"
}

# ensure_base NAME PKG...: $RPM_IMG_DIR/NAME.tar.
ensure_base() {
	local name=$1 want tar=$RPM_IMG_DIR/$1.tar t0=$SECONDS
	shift
	use_release 12 bookworm
	if rootfs_current && [[ -f $tar ]] && stamp_ok "$tar.stamp" "$(base_want "$name" "$@")"; then
		return 0
	fi
	ensure_rootfs
	want=$(base_want "$name" "$@")
	local w=$RPM_IMG_DIR/$name.rootfs
	safe_rm "$w"
	mkdir -p "$RPM_IMG_DIR"
	cp -a "$ROOTFS" "$w"
	log "$name: apt-get install $* in a copy of the Debian 12 rootfs ..."
	chroot_apt "$w" "$@"
	tar -C "$w" --numeric-owner --sort=name -cf "$tar.tmp" .
	mv -f "$tar.tmp" "$tar"
	safe_rm "$w"
	echo "$want" >"$tar.stamp"
	log "$name: $(du -h "$tar" | cut -f1) rootfs tarball in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------
# The files the images add.

dnf_conf() { # an EL 9 dnf.conf (Debian's has best=False, skip_if_unavailable=True)
	cat <<-'EOF'
		[main]
		gpgcheck=0
		installonly_limit=3
		clean_requirements_on_remove=True
		best=True
		skip_if_unavailable=False
	EOF
}
dnf_repo() {
	cat <<-EOF
		[copa-test]
		name=copa/frontend test packages
		baseurl=$RPM_REPO_URL
		enabled=1
		gpgcheck=0
	EOF
}
zypp_repo() {
	cat <<-EOF
		[copa-test]
		name=copa/frontend test packages
		enabled=1
		autorefresh=1
		baseurl=$RPM_REPO_URL
		type=rpm-md
		gpgcheck=0
	EOF
}

# rpmdb_install [--ignorearch] ROOT DBPATH RPM...: an rpm database at
# ROOT/DBPATH holding RPM... (their files unpacked in ROOT), made by the
# host's rpm (Debian's, sqlite). No scriptlets run (so no tool-post-ran
# marker) and no dependencies are checked (the Debian base provides none of
# them). --ignorearch installs packages of another architecture.
rpmdb_install() {
	local ignorearch=()
	[[ $1 != --ignorearch ]] || { ignorearch=(--ignorearch); shift; }
	local root=$1 dbpath=$2
	shift 2
	run "$LOGS/rpm-install.log" rpm --root "$root" --dbpath "$dbpath" --initdb
	run "$LOGS/rpm-install.log" rpm --root "$root" --dbpath "$dbpath" -i --nodeps --noscripts --notriggers "${ignorearch[@]}" "$@"
	[[ -f $root$dbpath/rpmdb.sqlite ]] || die "no $dbpath/rpmdb.sqlite in $root"
	# sqlite's shared-memory index and write-ahead log, left by rpm even
	# once it has checkpointed (the log is then empty) and closed the db.
	[[ ! -s $root$dbpath/rpmdb.sqlite-wal ]] || die "rpm left a non-empty $dbpath/rpmdb.sqlite-wal in $root"
	rm -f "$root$dbpath"/rpmdb.sqlite-shm "$root$dbpath"/rpmdb.sqlite-wal
	[[ ! -e $root/var/lib/copa-test/tool-post-ran ]] || die "$root has the tool-post-ran marker"
}

# rootfs_el_dnf ROOT: the EL 9 image with dnf: the Debian base with dnf, an
# EL dnf.conf, rpm's %_dbpath at /var/lib/rpm, the repository, and the old
# test packages plus copa-release.
rootfs_el_dnf() {
	local root=$1
	tar -C "$root" -xf "$RPM_IMG_DIR/el-base.tar"
	el_files "$root"
	# shellcheck disable=SC2046
	rpmdb_install "$root" /var/lib/rpm $(rpm_old_files copa-release)
}
# el_files ROOT: what an EL image with dnf has besides its packages.
el_files() {
	local root=$1
	mkdir -p "$root/etc/rpm" "$root/etc/dnf" "$root/etc/yum.repos.d"
	echo '%_dbpath /var/lib/rpm' >"$root/etc/rpm/macros.dbpath"
	dnf_conf >"$root/etc/dnf/dnf.conf"
	dnf_repo >"$root/etc/yum.repos.d/copa-test.repo"
}
# rootfs_el_tooling ROOT: the same base and files, copa-release the only rpm.
rootfs_el_tooling() {
	local root=$1
	tar -C "$root" -xf "$RPM_IMG_DIR/el-base.tar"
	el_files "$root"
	rpmdb_install "$root" /var/lib/rpm "$(rpm_file copa-release 9.4-1 noarch)"
}
# rootfs_el_rpmdb ROOT: nothing but the old test packages' files (copa-release
# gives os-release), their rpm database and the repository file: no shell,
# rpm, package manager or dpkg database.
rootfs_el_rpmdb() {
	el_rpmdb_files "$1"
}
# rootfs_el_rpmdb_arm64 ROOT: the same of the aarch64 builds, for the
# linux/arm64 image: a platform the noemu builder cannot run, patched with
# the x86_64 tooling image's dnf --forcearch=aarch64.
rootfs_el_rpmdb_arm64() {
	el_rpmdb_files "$1" "$RPM_FOREIGN_ARCH"
}
# el_rpmdb_files ROOT [ARCH]: el_rpmdb's rootfs, of ARCH's builds (default:
# the host's).
el_rpmdb_files() {
	local root=$1 arch=${2:-} bad
	mkdir -p "$root/etc/yum.repos.d"
	dnf_repo >"$root/etc/yum.repos.d/copa-test.repo"
	# shellcheck disable=SC2046
	rpmdb_install ${arch:+--ignorearch} "$root" /var/lib/rpm $(rpm_old_files copa-release "$arch")
	# Azure Linux's distroless manifests beside the database, as images
	# that keep both carry them (the patch must keep them true), written
	# with the very queries Azure Linux's image build runs.
	mkdir -p "$root/var/lib/rpmmanifest"
	rpm --root "$root" --dbpath /var/lib/rpm -qa \
		--qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{BUILDTIME}\t%{VENDOR}\t(none)\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}\n' \
		>"$root/var/lib/rpmmanifest/container-manifest-2"
	rpm --root "$root" --dbpath /var/lib/rpm -qa >"$root/var/lib/rpmmanifest/container-manifest-1"
	rm -f "$root"/var/lib/rpm/rpmdb.sqlite-shm "$root"/var/lib/rpm/rpmdb.sqlite-wal
	bad=$(cd "$root" && find . \( -path ./bin/sh -o -path ./usr/bin/sh -o -path ./usr/bin/bash -o -path ./usr/bin/rpm \
		-o -path ./usr/bin/dnf -o -path ./var/lib/dpkg \) -print)
	[[ -z $bad ]] || die "the rpmdb image would contain $bad"
}
# rootfs_suse_zypper ROOT: the Debian base with zypper, rpm's database at
# /usr/lib/sysimage/rpm (and /var/lib/rpm a symlink to it) as on SUSE, the
# repository, and the old test packages plus copa-suse-release (os-release,
# /etc/products.d/baseproduct).
rootfs_suse_zypper() {
	local root=$1
	tar -C "$root" -xf "$RPM_IMG_DIR/suse-base.tar"
	mkdir -p "$root/etc/rpm" "$root/etc/zypp/repos.d" "$root/usr/lib/sysimage/rpm" "$root/var/lib"
	echo '%_dbpath /usr/lib/sysimage/rpm' >"$root/etc/rpm/macros.dbpath"
	rm -rf "$root/var/lib/rpm"
	ln -s ../../usr/lib/sysimage/rpm "$root/var/lib/rpm"
	zypp_repo >"$root/etc/zypp/repos.d/copa-test.repo"
	# shellcheck disable=SC2046
	rpmdb_install "$root" /usr/lib/sysimage/rpm $(rpm_old_files copa-suse-release)
}

# ---------------------------------------------------------------------------
# Image configs.

rpm_dockerfile() { # rpm_dockerfile TITLE [CONFIG_LINE...]
	local title=$1 l
	shift
	cat <<-EOF
		FROM scratch
		ADD rootfs.tar /
		ENV PATH=$CHROOT_PATH
		LABEL org.opencontainers.image.title=$title \\
		      com.example.copa-test.kind=rpm
	EOF
	for l in "$@"; do echo "$l"; done
}
dockerfile_el_dnf() { rpm_dockerfile copa-test-el-dnf 'CMD ["/bin/bash"]'; }
dockerfile_el_tooling() { rpm_dockerfile copa-test-el-tooling 'CMD ["/bin/bash"]'; }
dockerfile_el_rpmdb() { rpm_dockerfile copa-test-el-rpmdb 'USER 65532' 'CMD ["/usr/bin/copa-tool"]'; }
dockerfile_el_rpmdb_arm64() { dockerfile_el_rpmdb; }
dockerfile_suse_zypper() { rpm_dockerfile copa-test-suse-zypper 'CMD ["/bin/bash"]'; }

# rpm_image_want KIND BASE: the stamp of an image (its base's stamp, the
# packages' stamp, its code and config).
rpm_image_want() {
	{
		[[ -z $2 ]] || cat "$RPM_IMG_DIR/$2.tar.stamp" 2>/dev/null
		cat "$RPM_DIR/repo.stamp" 2>/dev/null
		declare -f "rootfs_$1" "dockerfile_$1" el_files el_rpmdb_files dockerfile_el_rpmdb rpmdb_install rpm_old_files dnf_conf dnf_repo zypp_repo "verify_$1" verify_build
		echo "arch=${3:-}"
	} | sha256sum | cut -d' ' -f1
}

# build_rpm_image REF KIND BASE [ARCH]: push the image made by rootfs_KIND
# and dockerfile_KIND, then check it with verify_KIND (rpm-verify.sh), unless
# the tag exists and was built from the current recipe. BASE (el-base,
# suse-base or "") names the base rootfs tarball. ARCH, a Go architecture
# (arm64), makes it an image of linux/ARCH (FROM scratch + ADD: built
# without emulation); the default is the host's platform.
build_rpm_image() {
	local ref=$1 kind=$2 base=$3 arch=${4:-} t0=$SECONDS want ctx root
	# push_context builds for linux/$FOREIGN_ARCH when it is set.
	local FOREIGN_ARCH=$arch ARCH_SUFFIX=${arch:+-$arch}
	want=$(rpm_image_want "$kind" "$base" "$arch")
	if rpm_current && stamp_ok "$RPM_IMG_DIR/$kind.stamp" "$want" && tag_exists "$ref"; then
		log "$ref: up to date"
		return 0
	fi
	ctx=$RPM_IMG_DIR/ctx-$kind root=$RPM_IMG_DIR/root-$kind
	safe_rm "$ctx"
	safe_rm "$root"
	mkdir -p "$ctx" "$root"
	log "$ref: assembling its rootfs (rootfs_$kind) ..."
	"rootfs_$kind" "$root"
	"dockerfile_$kind" >"$ctx/Dockerfile"
	tar -C "$root" --numeric-owner --sort=name -cf "$ctx/rootfs.tar" .
	# What the image's rpm database holds, for its report.
	rpm --root "$root" --dbpath "$(rpm_dbpath "$kind")" -qa \
		--qf '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH} %{SOURCERPM} %{LICENSE}\n' | sort >"$RPM_IMG_DIR/$kind.rpmqa"
	push_context "$ref" "$ctx" "$kind"
	safe_rm "$ctx"
	safe_rm "$root"
	"verify_$kind" "$ref"
	echo "$want" >"$RPM_IMG_DIR/$kind.stamp"
	log "pushed $ref in $((SECONDS - t0))s"
}
rpm_dbpath() { [[ $1 == suse_* ]] && echo /usr/lib/sysimage/rpm || echo /var/lib/rpm; }

# rpm_report KIND REF NAME FAMILY OS_NAME PURL_NAMESPACE [ARCH PACKAGES]: the
# Trivy-shaped report $RPM_TESTDATA/NAME.trivy.json of the image REF built as
# KIND, from its rpm -qa list and $RPM_TESTDATA/PACKAGES (default
# packages.txt; hack/rpmreport), and that list as $RPM_TESTDATA/NAME.rpmqa.
# ARCH is the image's Go architecture (default the host's), its
# Metadata.ImageConfig.architecture.
rpm_report() {
	local kind=$1 ref=$2 out=$RPM_TESTDATA/$3.trivy.json stamp=$RPM_IMG_DIR/report-$3.stamp want
	local arch=${7:-$HOST_ARCH} pkgs=$RPM_TESTDATA/${8:-packages.txt}
	want=$({ cat "$RPM_IMG_DIR/$kind.rpmqa" "$pkgs" "$REPO/hack/rpmreport/main.go" "$REPO/internal/trivyjson/trivyjson.go"; echo "$*"; } |
		sha256sum | cut -d' ' -f1)
	if [[ -s $out && -s $RPM_TESTDATA/$3.rpmqa ]] && stamp_ok "$stamp" "$want"; then
		log "$out: up to date"
		return 0
	fi
	(cd "$REPO" && GOWORK=off run "$LOGS/rpmreport-$3.log" go run ./hack/rpmreport -packages "$pkgs" \
		-rpmqa "$RPM_IMG_DIR/$kind.rpmqa" -artifact "$ref" -family "$4" -os-name "$5" -purl-namespace "$6" \
		-unfixed copa-nofix -arch "$arch" -o "$out.tmp")
	mv -f "$out.tmp" "$out"
	cp "$RPM_IMG_DIR/$kind.rpmqa" "$RPM_TESTDATA/$3.rpmqa"
	echo "$want" >"$stamp"
	log "wrote $out"
}

cmd_rpm_images() {
	need_up
	local t0=$SECONDS
	build_rpms
	ensure_base el-base "${EL_BASE_PKGS[@]}"
	ensure_base suse-base "${SUSE_BASE_PKGS[@]}"
	build_rpm_image "$EL_DNF_IMAGE" el_dnf el-base
	build_rpm_image "$EL_TOOLING_IMAGE" el_tooling el-base
	build_rpm_image "$EL_RPMDB_IMAGE" el_rpmdb ""
	build_rpm_image "$EL_RPMDB_ARM64_IMAGE" el_rpmdb_arm64 "" arm64
	build_rpm_image "$SUSE_ZYPPER_IMAGE" suse_zypper suse-base
	rpm_report el_dnf "$EL_DNF_IMAGE" el-9-dnf rocky 9.4 rocky
	rpm_report el_rpmdb "$EL_RPMDB_IMAGE" el-9-rpmdb rocky 9.4 rocky
	rpm_report el_rpmdb_arm64 "$EL_RPMDB_ARM64_IMAGE" el-9-rpmdb-arm64 rocky 9.4 rocky arm64 "packages-$RPM_FOREIGN_ARCH.txt"
	rpm_report suse_zypper "$SUSE_ZYPPER_IMAGE" suse-15-zypper opensuse-leap 15.6 opensuse
	log "rpm images: done in $((SECONDS - t0))s"
}
