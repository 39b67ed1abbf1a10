# Sourced by hack/harness.sh: the apk-family test images (apk-images), made
# of the hack/mkapk test packages, since no Alpine or Wolfi mirror or
# registry is reachable here. It uses the helpers harness.sh and images.sh
# define.
#
#   copa-test/alpine:3.21-stale   busybox (Debian's busybox-static) and a static apk-tools 2.14.10
#                                 as /sbin/apk, os-release of Alpine 3.21, the test packages at their
#                                 first versions (copa-base 1.0-r0, copa-lib 2.0-r0), its only
#                                 repository the loopback one below, its key in /etc/apk/keys
#   copa-test/wolfi:stale         the same packages with neither a shell nor apk (installed without
#                                 scripts), os-release of Wolfi, the same repository and key
#   copa-test/wolfi:stale-arm64   the same for linux/arm64 (aarch64 packages), patched natively
#   copa-test/alpine:3.21-tooling busybox and apk, os-release of Alpine 3.21: the tooling image
#   copa-test/alpine:3.23-tooling busybox and a static apk-tools 3.0.6, os-release of Alpine 3.23:
#                                 the tooling image of apk 3's releases
#
# The repository ($APK_REPO_URL, Python's static HTTP server on
# $APK_REPO_LISTEN) offers the next versions (copa-base 1.0-r1, with one
# changed file, a changed /etc file and a post-upgrade script; copa-lib
# 2.0-r1, its library unchanged). The Alpine-like image's /etc/copa/app.conf
# is edited, as a user would, so that apk keeps it and writes .apk-new.
# $COPA_TEST_DATA/apk/alpine-3.21-stale.trivy.json and wolfi-stale.trivy.json
# are Trivy reports of copa-base's fix for the stale images; apk/packages.txt lists every
# package's old and new version.
# shellcheck shell=bash disable=SC2034,SC2154

# apk_tools_static and APK_TOOLS_VERSION.
# shellcheck source=apk-tools.sh
. "$REPO/hack/harness/apk-tools.sh"

APK_DIR=$COPA_CACHE/apk
APK_REPO_LISTEN=127.0.0.1:8093
APK_REPO_URL=http://$APK_REPO_LISTEN/repo
APK_KEYNAME=copa-test.rsa
APK_ALPINE_IMAGE=$REGISTRY/copa-test/alpine:3.21-stale
APK_WOLFI_IMAGE=$REGISTRY/copa-test/wolfi:stale
APK_TOOLING_IMAGE=$REGISTRY/copa-test/alpine:3.21-tooling
APK3_TOOLING_IMAGE=$REGISTRY/copa-test/alpine:3.23-tooling

# apk_want NAME: the stamp of an image: its recipe and its inputs.
apk_want() {
	{
		echo "$1"
		declare -f apk_rootfs apk_image
		cat "$REPO/hack/mkapk/testdata/copa-v1.json" "$REPO/hack/mkapk/testdata/copa-v2.json"
		sha256sum "$APK_STATIC" "$APK3_STATIC" /bin/busybox
	} | sha256sum | cut -d' ' -f1
}

# apk_packages: the key and both repositories ($APK_DIR/repo1: the first
# versions, for the images; $APK_DIR/srv/repo: the next ones, served).
apk_packages() {
	[[ -f $APK_DIR/keys/$APK_KEYNAME ]] || run "$LOGS/apk-genkey.log" go -C "$REPO" run ./hack/mkapk -genkey "$APK_DIR/keys" -keyname "$APK_KEYNAME"
	local mk=(go -C "$REPO" run ./hack/mkapk -key "$APK_DIR/keys/$APK_KEYNAME")
	rm -rf "$APK_DIR/repo1" "$APK_DIR/srv/repo"
	local arch
	# aarch64 too, for the linux/arm64 image patched natively: the test
	# packages hold no machine code, so one spec serves both.
	for arch in x86_64 aarch64; do
		run "$LOGS/apk-mkapk-v1-$arch.log" "${mk[@]}" -spec "$REPO/hack/mkapk/testdata/copa-v1.json" -arch "$arch" -out "$APK_DIR/repo1/$arch"
		run "$LOGS/apk-mkapk-v2-$arch.log" "${mk[@]}" -spec "$REPO/hack/mkapk/testdata/copa-v2.json" -arch "$arch" -out "$APK_DIR/srv/repo/$arch" -epoch 1751328000
	done
}

# apk_rootfs DIR KIND: the root of a test image; KIND alpine, wolfi,
# wolfi-arm64 (aarch64 packages), tooling or tooling3 (apk 3).
apk_rootfs() {
	local r=$1 kind=$2 tool version=3.21.0 arch=x86_64
	[[ $kind == wolfi-arm64 ]] && arch=aarch64
	safe_rm "$r"
	# The mount points a container root has (Alpine's and apko's images
	# have them), so that a RUN step creates none in its layer.
	mkdir -p "$r/etc/apk/keys" "$r/tmp" "$r/var/cache/apk" "$r/dev" "$r/proc" "$r/sys" "$r/run"
	cp "$APK_DIR/keys/$APK_KEYNAME.pub" "$r/etc/apk/keys/"
	if [[ $kind != wolfi* ]]; then
		mkdir -p "$r/bin" "$r/sbin"
		cp /bin/busybox "$r/bin/busybox"
		for tool in sh ash ls cat cp mv rm mkdir ln chmod grep sed tr sort head tail wc date env find awk sleep touch stat readlink; do
			ln -s busybox "$r/bin/$tool"
		done
		cp "$APK_STATIC" "$r/sbin/apk"
	fi
	if [[ $kind == tooling3 ]]; then
		cp "$APK3_STATIC" "$r/sbin/apk"
		version=3.23.0
	fi
	if [[ $kind == wolfi* ]]; then
		printf 'ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID="20230201"\nHOME_URL="https://wolfi.dev"\n' >"$r/etc/os-release"
	else
		printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=%s\nPRETTY_NAME="Alpine Linux v%s"\nHOME_URL="https://alpinelinux.org/"\n' "$version" "${version%.*}" >"$r/etc/os-release"
		echo "$version" >"$r/etc/alpine-release"
	fi
	echo "$APK_REPO_URL" >"$r/etc/apk/repositories"
	[[ $kind == tooling* ]] && return 0
	local noscripts=()
	[[ $kind == wolfi* ]] && noscripts=(--no-scripts)
	run "$LOGS/apk-rootfs-$kind.log" "$APK_STATIC" --root "$r" --initdb --arch "$arch" --no-cache \
		--keys-dir "$r/etc/apk/keys" --repositories-file /dev/null --repository "$APK_DIR/repo1" "${noscripts[@]}" add copa-base
	rm -rf "$r/var/cache/apk"/* "$r/lib/apk/db/lock"
	# A configuration file the user changed: apk keeps it on upgrade.
	[[ $kind == alpine ]] && echo "local=1" >>"$r/etc/copa/app.conf"
	return 0
}

# apk_image REF KIND: build and push the image of apk_rootfs KIND.
apk_image() {
	local ref=$1 kind=$2 name ctx want t0=$SECONDS
	name=apk-$kind
	want=$(apk_want "$ref $kind")
	if stamp_ok "$APK_DIR/$name.stamp" "$want" && tag_exists "$ref"; then
		log "$ref: up to date"
		return 0
	fi
	ctx=$APK_DIR/ctx-$name
	safe_rm "$ctx"
	mkdir -p "$ctx"
	apk_rootfs "$APK_DIR/rootfs-$kind" "$kind"
	tar -C "$APK_DIR/rootfs-$kind" --numeric-owner --owner=0 --group=0 --sort=name --mtime=@1735689600 -cf "$ctx/rootfs.tar" .
	{
		echo "FROM scratch"
		echo "ADD rootfs.tar /"
		[[ $kind == wolfi* ]] || echo 'CMD ["/bin/sh"]'
		echo 'LABEL org.opencontainers.image.description="copa/frontend apk test image"'
	} >"$ctx/Dockerfile"
	local platform=linux/amd64
	[[ $kind == *-arm64 ]] && platform=linux/arm64
	run "$LOGS/image-$name.log" docker buildx build --builder "$BUILDER" --progress=plain --platform "$platform" \
		--provenance=false --sbom=false --build-arg SOURCE_DATE_EPOCH=1735689600 \
		--output "type=image,name=$ref,push=true" "$ctx"
	safe_rm "$ctx"
	echo "$want" >"$APK_DIR/$name.stamp"
	log "pushed $ref in $((SECONDS - t0))s"
}

# apk_report: a Trivy report of the stale images' fix (copa-base 1.0-r1),
# and apk/packages.txt, "NAME OLD NEW" for each test package that the
# repository offers at a new version (what an upgrade of all must reach).
apk_report() {
	mkdir -p "$TESTDATA/apk"
	python3 - "$REPO/hack/mkapk/testdata/copa-v1.json" "$REPO/hack/mkapk/testdata/copa-v2.json" >"$TESTDATA/apk/packages.txt" <<'PY'
import json, sys
old = {p["name"]: p["version"] for p in json.load(open(sys.argv[1]))["packages"]}
print("# NAME OLD NEW: the test packages the apk repository offers at a new version")
for p in json.load(open(sys.argv[2]))["packages"]:
    if p["name"] in old and old[p["name"]] != p["version"]:
        print(p["name"], old[p["name"]], p["version"])
PY
	# trivy_apk FAMILY VERSION IMAGE [ARCH]: the report of IMAGE.
	trivy_apk() {
		cat <<EOF
{"SchemaVersion": 2, "ArtifactName": "$3", "ArtifactType": "container_image",
 "Metadata": {"OS": {"Family": "$1", "Name": "$2"}, "ImageConfig": {"architecture": "${4:-amd64}"}},
 "Results": [{"Target": "$3 ($1 $2)", "Class": "os-pkgs", "Type": "$1",
  "Vulnerabilities": [{"VulnerabilityID": "CVE-2099-20001", "PkgName": "copa-base", "InstalledVersion": "1.0-r0",
   "FixedVersion": "1.0-r1", "Status": "fixed", "Severity": "HIGH", "Title": "copa-base: made-up vulnerability for the copa/frontend tests"}]}]}
EOF
	}
	trivy_apk alpine 3.21.0 "$APK_ALPINE_IMAGE" >"$TESTDATA/apk/alpine-3.21-stale.trivy.json"
	trivy_apk wolfi 20230201 "$APK_WOLFI_IMAGE" >"$TESTDATA/apk/wolfi-stale.trivy.json"
	trivy_apk wolfi 20230201 "$APK_WOLFI_IMAGE-arm64" arm64 >"$TESTDATA/apk/wolfi-stale-arm64.trivy.json"
}

apk_repo_ok() { [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$APK_REPO_URL/x86_64/APKINDEX.tar.gz")" == 200 ]]; }
apk_repo_up() {
	apk_repo_ok && return 0
	mkdir -p "$APK_DIR/srv"
	log "starting the apk repository server on $APK_REPO_URL (serving $APK_DIR/srv)"
	daemon apkrepo "$LOGS/apkrepo.log" python3 -m http.server --bind "${APK_REPO_LISTEN%:*}" \
		--directory "$APK_DIR/srv" "${APK_REPO_LISTEN##*:}"
	local i
	for ((i = 0; i < 40; i++)); do
		apk_repo_ok && return 0
		sleep 0.25
	done
	die "the apk repository server is not ready (log: $LOGS/apkrepo.log)"
}

cmd_apk_images() {
	local t0=$SECONDS
	need_up
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
		run "$LOGS/apt-install-busybox.log" apt-get install -y busybox-static
	APK_STATIC=$(apk_tools_static)
	APK3_STATIC=$(apk3_tools_static)
	mkdir -p "$APK_DIR"
	apk_packages
	apk_repo_up
	apk_image "$APK_ALPINE_IMAGE" alpine
	apk_image "$APK_WOLFI_IMAGE" wolfi
	apk_image "$APK_WOLFI_IMAGE-arm64" wolfi-arm64
	apk_image "$APK_TOOLING_IMAGE" tooling
	apk_image "$APK3_TOOLING_IMAGE" tooling3
	apk_report
	log "apk images ready in $((SECONDS - t0))s"
}
