# Sourced by hack/harness.sh: the frontend image for every FRONTEND_ARCHES (frontend-image). It uses the settings and helpers
# harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

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
