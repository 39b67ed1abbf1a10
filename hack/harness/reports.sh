# Sourced by hack/harness.sh: the reports of the stale images (Trivy, Grype, the upgradable list). It uses the settings and helpers
# harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

# make_report: Trivy- and Grype-shaped reports and the upgradable list of the
# release's stale image.
make_report() {
	local base=$REPORT_BASE want
	local out=$base.trivy.json upg=$base.upgradable
	want=$({ cat "$DEB_DIR/rootfs.stamp" 2>/dev/null; cat "$REPO/hack/mkreport/main.go" "$REPO/internal/trivyjson/trivyjson.go"; sources_full; } | sha256sum | cut -d' ' -f1)
	if rootfs_current && [[ -s $out && -s $base.grype.json && -f $upg ]] && stamp_ok "$base.stamp" "$want"; then
		log "$out: up to date"
		return 0
	fi
	ensure_rootfs
	want=$({ cat "$DEB_DIR/rootfs.stamp"; cat "$REPO/hack/mkreport/main.go" "$REPO/internal/trivyjson/trivyjson.go"; sources_full; } | sha256sum | cut -d' ' -f1)
	local w=$COPA_CACHE/work/report-${base##*/} deb pkg src f
	rm -rf "$w"
	mkdir -p "$w"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,debs,x,changelogs} "$TESTDATA"
	: >"$w/etc/sources.list"
	# The image's own sources, with the keyring taken from the rootfs.
	sed "s#^Signed-By: /#Signed-By: $ROOTFS/#" "$ROOTFS/etc/apt/sources.list.d/debian.sources" \
		>"$w/etc/sources.list.d/debian.sources"
	# Host apt, but the rootfs's dpkg status and config, and a scratch apt state.
	local apt_opts=(-o "Dir::Etc=$ROOTFS/etc/apt" -o "Dir::Etc::sourcelist=$w/etc/sources.list"
		-o "Dir::Etc::sourceparts=$w/etc/sources.list.d" -o "Dir::State=$w/state"
		-o "Dir::State::status=$ROOTFS/var/lib/dpkg/status" -o "Dir::Cache=$w/cache"
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Languages=none
		-o "APT::Architecture=$DEBIAN_ARCH" -o "APT::Architectures=$DEBIAN_ARCH")
	log "report: apt-get update against the image's sources ($DEBIAN_ARCH) ..."
	run "$LOGS/report-apt${ARCH_SUFFIX}.log" apt-get "${apt_opts[@]}" update
	apt "${apt_opts[@]}" list --upgradable 2>/dev/null |
		sed -n 's#^\([^/ ]*\)/[^ ]* \([^ ]*\) [^ ]* \[upgradable from: \([^]]*\)\]$#\1 \3 \2#p' |
		sort >"$w/upgradable"
	[[ -s $w/upgradable ]] || log "WARNING: no upgradable packages (the rootfs is current)"
	log "report: $(wc -l <"$w/upgradable") upgradable package(s), downloading candidates ..."
	if [[ -s $w/upgradable ]]; then
		(cd "$w/debs" && run "$LOGS/report-download${ARCH_SUFFIX}.log" apt-get "${apt_opts[@]}" download \
			$(awk '{print $1 "=" $3}' "$w/upgradable"))
	fi
	# Changelog of each candidate deb; a package whose doc dir is a symlink
	# into a sibling's takes the changelog of another deb of the same source.
	declare -A src_of=() cl_of_src=()
	for deb in "$w"/debs/*.deb; do
		[[ -e $deb ]] || continue
		pkg=$(dpkg-deb -f "$deb" Package)
		src=$(dpkg-deb -f "$deb" Source | cut -d' ' -f1)
		src_of[$pkg]=${src:-$pkg}
		dpkg-deb -x "$deb" "$w/x/$pkg"
		for f in changelog.Debian.gz changelog.gz; do
			if [[ -f $w/x/$pkg/usr/share/doc/$pkg/$f ]]; then
				cp "$w/x/$pkg/usr/share/doc/$pkg/$f" "$w/changelogs/$pkg.gz"
				cl_of_src[${src_of[$pkg]}]=$w/changelogs/$pkg.gz
				break
			fi
		done
	done
	for pkg in "${!src_of[@]}"; do
		[[ -f $w/changelogs/$pkg.gz || -z ${cl_of_src[${src_of[$pkg]}]:-} ]] ||
			cp "${cl_of_src[${src_of[$pkg]}]}" "$w/changelogs/$pkg.gz"
	done
	(cd "$REPO" && go run ./hack/mkreport -rootfs "$ROOTFS" -upgradable "$w/upgradable" \
		-changelogs "$w/changelogs" -artifact "$STALE_IMAGE" -arch "$DEBIAN_ARCH" \
		-o "$out.tmp" -grype "$base.grype.json.tmp")
	mv -f "$out.tmp" "$out"
	mv -f "$base.grype.json.tmp" "$base.grype.json"
	cp "$w/upgradable" "$upg"
	rm -rf "$w"
	echo "$want" >"$base.stamp"
	log "wrote $out and $upg"
}
