#!/usr/bin/env bash
# make demo: on a fresh machine, bring up BuildKit and a loopback registry
# (unless a builder is reachable), build the frontend image, patch the stale
# Debian 12 example image, the distroless-style Debian 11 image, the
# two-platform Debian 12 index (natively), an RPM image without a shell or
# package manager (from a dnf tooling image) and a Wolfi-like image without
# a shell or apk (from an apk tooling image) with buildx, and print each
# package's version before → after.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/harness.sh all
eval "$(hack/harness.sh env)"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# demo PATCHFILE REPORT REPO SRC_TAG [BUILD ARG...]: patch REPO:SRC_TAG in the
# loopback registry with the frontend image, push it as SRC_TAG-patched and
# print what changed.
demo() {
	local patchfile=$1 report=$2 repo=$3 tag=$4
	shift 4
	local src=localhost:5000/$repo:$tag dst=localhost:5000/$repo:$tag-patched arg args=()
	for arg; do args+=(--build-arg "$arg"); done
	cp "$patchfile" "$ctx/Patchfile"
	cp "$report" "$ctx/report.json"
	echo "==> patching $src with $COPA_FRONTEND_IMAGE" >&2
	docker buildx build --builder "${COPA_BUILDER:-copa}" --progress=plain \
		-f "$ctx/Patchfile" \
		--build-arg BUILDKIT_SYNTAX="$COPA_FRONTEND_IMAGE" \
		--build-arg IMAGE="$src" "${args[@]}" \
		-t "$dst" --push "$ctx"
	echo "==> $src → $dst" >&2
	go run ./hack/pkgdiff localhost:5000 "$repo:$tag" "$repo:$tag-patched"
}

demo examples/Patchfile "$COPA_TEST_DATA/debian-12-stale.trivy.json" copa-test/debian 12-stale

# A distroless image has no shell and no apt: a tooling image of its release
# (the harness's, in place of docker.io/library/debian:bullseye) unpacks the
# fixed packages into it. The report is the full Debian 11 image's, so the
# build warns about the packages the distroless image does not have.
demo examples/distroless.Patchfile "$COPA_TEST_DATA/debian-11-stale.trivy.json" copa-test/distroless 11-stale \
	TOOLING=localhost:5000/copa-test/debian:bullseye

# A two-platform index (linux/amd64 and linux/arm64, with attestation
# manifests as buildx pushes them, so it is read whole), each platform against
# its own report, patched natively: no QEMU runs, the arm64 packages are
# fetched by a tooling image of the build platform.
src=localhost:5000/copa-test/debian:12-stale-multi-attested
dst=localhost:5000/copa-test/debian:12-stale-multi-patched
cp examples/multiplatform.Patchfile "$ctx/Patchfile"
cp "$COPA_TEST_DATA/debian-12-stale.trivy.json" "$ctx/amd64.json"
cp "$COPA_TEST_DATA/debian-12-stale-arm64.trivy.json" "$ctx/arm64.json"
echo "==> patching the index $src natively with $COPA_FRONTEND_IMAGE" >&2
docker buildx build --builder "${COPA_BUILDER:-copa}" --progress=plain -f "$ctx/Patchfile" --platform linux/amd64,linux/arm64 \
	--build-arg BUILDKIT_SYNTAX="$COPA_FRONTEND_IMAGE" --build-arg IMAGE="$src" \
	--build-arg TOOLING=localhost:5000/copa-test/debian:bookworm -t "$dst" --push "$ctx"
for p in linux/amd64 linux/arm64; do
	echo "==> $src → $dst ($p)" >&2
	go run ./hack/pkgdiff -platform "$p" localhost:5000 copa-test/debian:12-stale-multi-attested copa-test/debian:12-stale-multi-patched
done

# An RPM image with only an rpm database (no shell, no rpm, no package
# manager, like ubi-micro), patched from a dnf tooling image of its release
# (the harness's, in place of docker.io/rockylinux/rockylinux:9) against the
# harness's own repository.
demo examples/rpm.Patchfile "$COPA_TEST_DATA/rpm/el-9-rpmdb.trivy.json" copa-test/el 9-rpmdb \
	TOOLING=localhost:5000/copa-test/el:9-tooling

# A Wolfi-like distroless image (no shell, no apk), patched by the apk of an
# Alpine-like tooling image (the harness's, in place of
# cgr.dev/chainguard/wolfi-base) with the image's own repository and key.
demo examples/apk.Patchfile "$COPA_TEST_DATA/apk/wolfi-stale.trivy.json" copa-test/wolfi stale \
	TOOLING=localhost:5000/copa-test/alpine:3.21-tooling
