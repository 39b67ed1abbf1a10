#!/usr/bin/env bash
# make demo: on a fresh machine, bring up BuildKit and a loopback registry
# (unless a builder is reachable), build the frontend image, patch the stale
# Debian 12 example image with buildx, and print each package's version
# before → after.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/harness.sh all
eval "$(hack/harness.sh env)"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp examples/Patchfile "$ctx/Patchfile"
cp "$COPA_TEST_DATA/debian-12-stale.trivy.json" "$ctx/report.json"

src=localhost:5000/copa-test/debian:12-stale
dst=localhost:5000/copa-test/debian:12-stale-patched
echo "==> patching $src with $COPA_FRONTEND_IMAGE" >&2
docker buildx build --builder "${COPA_BUILDER:-copa}" --progress=plain \
	-f "$ctx/Patchfile" \
	--build-arg BUILDKIT_SYNTAX="$COPA_FRONTEND_IMAGE" \
	--build-arg IMAGE="$src" \
	-t "$dst" --push "$ctx"

echo "==> $src → $dst" >&2
go run ./hack/pkgdiff localhost:5000 copa-test/debian:12-stale copa-test/debian:12-stale-patched
