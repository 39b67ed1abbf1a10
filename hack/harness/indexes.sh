# Sourced by hack/harness.sh: the test indexes: multi-platform, attested, mixed. It uses the settings and helpers
# harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

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
