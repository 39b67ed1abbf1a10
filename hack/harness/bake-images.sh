# Sourced by hack/harness.sh: the images of the bulk-patching tests and benchmark (bake-images). It uses the
# settings and helpers harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

# ---------------------------------------------------------------------------
# Ten images of one release, as a bake patches them (docs/bulk.md): each is
# copa-test/debian:12-stale plus one small layer of its own (a file naming
# the image), so they share the release, the sources, the packages and
# their upgrades, and the registry holds their common layers once. Each
# has the 12-stale report under its own name.
BAKE_COUNT=10

# bake_tag N: the tag of the Nth image (01..10).
bake_tag() { printf '12-stale-bake-%02d' "$1"; }

# bake_dockerfile: the derived images' Dockerfile; BASE is 12-stale by digest.
bake_dockerfile() {
	cat <<-'EOF2'
		ARG BASE
		FROM ${BASE}
		ADD layer.tar /
	EOF2
}

# bake_image BASE_DIGEST_REF N: push image N unless its tag exists and was
# built from this base and recipe.
bake_image() {
	local base=$1 n=$2 tag ref want ctx stampf t0=$SECONDS
	tag=$(bake_tag "$n")
	ref=$REGISTRY/copa-test/debian:$tag
	stampf=$DEB_DIR/$tag.stamp
	want=$({ echo "$base $n"; bake_dockerfile; declare -f bake_image; } | sha256sum | cut -d' ' -f1)
	if stamp_ok "$stampf" "$want" && tag_exists "$ref"; then
		log "$ref: up to date"
		return 0
	fi
	ctx=$COPA_CACHE/work/bake-$tag
	safe_rm "$ctx"
	mkdir -p "$ctx/layer/srv/bake"
	bake_dockerfile >"$ctx/Dockerfile"
	echo "copa-test bulk-patching image $n of $BAKE_COUNT ($tag)" >"$ctx/layer/srv/bake/image"
	touch -d "@$(rootfs_epoch)" "$ctx/layer/srv/bake/image" "$ctx/layer/srv/bake" "$ctx/layer/srv"
	tar -C "$ctx/layer" --numeric-owner --owner=0 --group=0 --sort=name -cf "$ctx/layer.tar" ./srv
	rm -rf "$ctx/layer"
	log "building and pushing $ref ..."
	run "$LOGS/image-$tag.log" docker buildx build --builder "$BUILDER" --progress=plain \
		--provenance=false --sbom=false --build-arg "BASE=$base" --build-arg "SOURCE_DATE_EPOCH=$(rootfs_epoch)" \
		--output "type=image,name=$ref,push=true" "$ctx"
	safe_rm "$ctx"
	echo "$want" >"$stampf"
	log "pushed $ref in $((SECONDS - t0))s"
}

# bake_report N: 12-stale's Trivy report under image N's name, in
# $TESTDATA/bake/.
bake_report() {
	local n=$1 tag src=$TESTDATA/debian-12-stale.trivy.json out
	tag=$(bake_tag "$n")
	out=$TESTDATA/bake/$tag.trivy.json
	[[ -s $src ]] || die "no $src: run hack/harness.sh images first"
	mkdir -p "$TESTDATA/bake"
	jq --arg name "$REGISTRY/copa-test/debian:$tag" '.ArtifactName = $name' "$src" >"$out.tmp"
	if cmp -s "$out.tmp" "$out"; then
		rm -f "$out.tmp"
		log "$out: up to date"
		return 0
	fi
	mv -f "$out.tmp" "$out"
	log "wrote $out"
}

cmd_bake_images() {
	need_up
	local t0=$SECONDS n digest
	use_release 12 bookworm
	rootfs_current || die "the Debian 12 rootfs is missing or out of date: run hack/harness.sh images first"
	digest=$(manifest_digest "$STALE_IMAGE") || die "$STALE_IMAGE is not in the registry: run hack/harness.sh images first"
	for ((n = 1; n <= BAKE_COUNT; n++)); do
		bake_image "${STALE_IMAGE%:*}@$digest" "$n"
		bake_report "$n"
	done
	log "bake-images: done in $((SECONDS - t0))s"
}
