# Sourced by hack/harness.sh: checks of the RPM test images, run once after
# each is pushed (rpm-images.sh), in a build step on the image itself against
# the loopback repository (--output type=cacheonly: nothing is kept). They
# re-check the facts hack/README.md records about dnf and zypper.
# shellcheck shell=bash disable=SC2034,SC2154

# rpm_new_vr NAME: the new version-release of an updatable package;
# rpm_new NAME: NAME-VERSION-RELEASE, as rpm -q takes it.
rpm_new_vr() {
	local l n e o v a
	for l in "${RPM_UPDATES[@]}"; do
		read -r n e o v a <<<"$l"
		[[ $n == "$1" ]] && echo "$v" && return 0
	done
	die "rpm_new_vr: $1 is not updatable"
}
rpm_new() { echo "$1-$(rpm_new_vr "$1")"; }

# verify_build KIND DOCKERFILE_TEXT: build it, or fail with its log.
verify_build() {
	local kind=$1 ctx=$RPM_IMG_DIR/verify-$1
	safe_rm "$ctx"
	mkdir -p "$ctx"
	printf '%s\n' "$2" >"$ctx/Dockerfile"
	log "checking $kind (log: $LOGS/verify-$kind.log) ..."
	run "$LOGS/verify-$kind.log" docker buildx build --builder "$BUILDER" --progress=plain --no-cache \
		--output type=cacheonly "$ctx"
	safe_rm "$ctx"
}

# el:9-dnf: upgrading copa-tool upgrades copa-libcore too (copa-tool's new
# version requires it), runs the %post scriptlet, and leaves copa-data; a
# version the repository lacks fails (best=True).
verify_el_dnf() {
	verify_build el_dnf "FROM $1
RUN <<'EOF' bash
set -euxo pipefail
test ! -e /var/lib/copa-test/tool-post-ran
dnf -y --refresh upgrade copa-tool
rpm -q $(rpm_new copa-tool) $(rpm_new copa-libcore) copa-data-3.0-1 copa-nofix-1.0-1
grep -qx '$(rpm_new copa-tool) 2' /var/lib/copa-test/tool-post-ran
test ! -e /usr/share/copa-libcore/legacy.dat
if dnf -y install copa-tool-0:2.0-999; then exit 1; fi
EOF"
}

# el:9-tooling: its own rpm database holds copa-release only, and dnf reads
# the repository.
verify_el_tooling() {
	verify_build el_tooling "FROM $1
RUN <<'EOF' bash
set -euxo pipefail
test \"\$(rpm -qa)\" = copa-release-9.4-1.noarch
dnf -q --refresh list --available copa-tool | grep -F 2.0-2
EOF"
}

# el:9-rpmdb, patched from el:9-tooling with dnf --installroot: the upgrade
# works ($releasever and the repository come from the target), the
# scriptlet runs (Lua, no shell needed), and with these options dnf leaves
# in the target only the empty etc/dnf/modules.d and rpmdb.sqlite's -shm and
# (empty) -wal files (see hack/README.md).
verify_el_rpmdb() {
	verify_build el_rpmdb "FROM $1 AS target
FROM $EL_TOOLING_IMAGE
RUN --mount=type=bind,from=target,target=/target,rw <<'EOF' bash
set -euxo pipefail
test ! -e /target/bin/sh -a ! -e /target/usr/bin/sh -a ! -e /target/var/lib/dpkg
find /target | sort >/tmp/before
dnf -y --installroot=/target --setopt=cachedir=/../var/cache/dnf --setopt=logdir=/../var/log \\
	--setopt=persistdir=/var/lib/dnf upgrade copa-tool
rpm --root /target -q $(rpm_new copa-tool) $(rpm_new copa-libcore) copa-data-3.0-1
grep -qx '$(rpm_new copa-tool) 2' /target/var/lib/copa-test/tool-post-ran
find /target | sort >/tmp/after
comm -13 /tmp/before /tmp/after >/tmp/added
cat /tmp/added
diff /tmp/added - <<'LIST'
/target/etc/dnf
/target/etc/dnf/modules.d
/target/var/lib/copa-test/tool-post-ran
/target/var/lib/rpm/rpmdb.sqlite-shm
/target/var/lib/rpm/rpmdb.sqlite-wal
LIST
test ! -s /target/var/lib/rpm/rpmdb.sqlite-wal
EOF"
}

# el:9-rpmdb-arm64 (linux/arm64), patched as a builder that cannot run
# arm64 does: the (x86_64) tooling image's dnf --installroot with
# --forcearch=aarch64 and install scripts skipped. Nothing of the target
# runs, so the check needs no emulation. The aarch64 builds are upgraded
# (noarch copa-data is left), the scriptlet does not run, and the target
# gains what it gains on el:9-rpmdb, less the scriptlet's marker.
verify_el_rpmdb_arm64() {
	verify_build el_rpmdb_arm64 "FROM --platform=linux/arm64 $1 AS target
FROM $EL_TOOLING_IMAGE
RUN --mount=type=bind,from=target,target=/target,rw <<'EOF' bash
set -euxo pipefail
test ! -e /target/bin/sh -a ! -e /target/usr/bin/sh -a ! -e /target/var/lib/dpkg
find /target | sort >/tmp/before
dnf -y --installroot=/target --forcearch=$RPM_FOREIGN_ARCH --setopt=tsflags=noscripts \\
	--setopt=cachedir=/../var/cache/dnf --setopt=logdir=/../var/log --setopt=persistdir=/var/lib/dnf upgrade copa-tool
rpm --root /target -q $(rpm_new copa-tool).$RPM_FOREIGN_ARCH $(rpm_new copa-libcore).$RPM_FOREIGN_ARCH copa-data-3.0-1.noarch
test ! -e /target/var/lib/copa-test/tool-post-ran
find /target | sort >/tmp/after
comm -13 /tmp/before /tmp/after >/tmp/added
cat /tmp/added
diff /tmp/added - <<'LIST'
/target/etc/dnf
/target/etc/dnf/modules.d
/target/var/lib/rpm/rpmdb.sqlite-shm
/target/var/lib/rpm/rpmdb.sqlite-wal
LIST
EOF"
}

# suse:15-zypper: installing the new copa-tool upgrades copa-libcore too;
# exit 104 for a package (or version) no repository has, 106 when a
# repository cannot be refreshed.
verify_suse_zypper() {
	verify_build suse_zypper "FROM $1
RUN <<'EOF' bash
set -euxo pipefail
test \"\$(rpm --eval %_dbpath)\" = /usr/lib/sysimage/rpm
zypper --non-interactive install copa-tool=$(rpm_new_vr copa-tool)
rpm -q $(rpm_new copa-tool) $(rpm_new copa-libcore) copa-data-3.0-1
grep -qx '$(rpm_new copa-tool) 2' /var/lib/copa-test/tool-post-ran
rc=0; zypper --non-interactive install copa-nothere || rc=\$?; test \$rc = 104
sed -i 's#^baseurl=.*#baseurl=http://127.0.0.1:9/#' /etc/zypp/repos.d/copa-test.repo
rc=0; zypper --non-interactive install copa-data || rc=\$?; test \$rc = 106
EOF"
}
