# Sourced by hack/harness.sh: the RPM test packages, their repository (served
# over loopback HTTP) and the Trivy reports of the RPM test images; the images
# themselves are in rpm-images.sh. It uses the settings and helpers harness.sh
# defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

RPM_RECIPE=2 # bump to rebuild the packages, the repository and the RPM images
RPM_DIR=$COPA_CACHE/rpm
RPM_REPO_DIR=$RPM_DIR/repo
RPM_REPO_LISTEN=127.0.0.1:8089
RPM_REPO_URL=http://$RPM_REPO_LISTEN/
RPM_TESTDATA=$TESTDATA/rpm
RPM_PYTHON=/usr/bin/python3 # Debian's (dnf depends on it), not a pyenv shim
# The packages are built for the host's architecture (and noarch), and the
# arch-specific ones also for $RPM_FOREIGN_ARCH (rpmbuild --target: they hold
# no compiled code), so that the repository offers both, as a distribution's
# mirror of two architectures would: the native-patch test patches an
# aarch64 image from it with an x86_64 dnf --forcearch.
RPM_ARCH=$(uname -m)
RPM_FOREIGN_ARCH=aarch64
[[ $RPM_ARCH != "$RPM_FOREIGN_ARCH" ]] || RPM_FOREIGN_ARCH=x86_64
# Build times (SOURCE_DATE_EPOCH, and every file's mtime) of the old and the
# new versions: 2025-01-01 and 2025-07-01 UTC. Files whose content is the same
# in both versions still differ in mtime, as in real updates.
RPM_EPOCH_OLD=1735689600
RPM_EPOCH_NEW=1751328000

# The packages: NAME EPOCH VERSION-RELEASE ARCH (ARCH "host" = $RPM_ARCH, and
# a second build for $RPM_FOREIGN_ARCH).
# Updatable ones have an old and a new build; the others one build.
RPM_UPDATES=(
	"copa-libcore 1 1.0-1 1.1-1 host"
	"copa-tool 0 2.0-1 2.0-2 host"
	"copa-data 0 3.0-1 3.1-1 noarch"
)
RPM_SINGLE=(
	"copa-nofix 0 1.0-1 host"
	"copa-release 0 9.4-1 noarch"
	"copa-suse-release 0 15.6-1 noarch"
)

need_rpm_tools() {
	local missing=() p
	for p in rpm createrepo-c dnf zypper; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "apt-get install ${missing[*]}"
		run "$LOGS/apt-install-rpm.log" apt-get update
		DEBIAN_FRONTEND=noninteractive run "$LOGS/apt-install-rpm.log" apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	[[ -x $RPM_PYTHON ]] || die "$RPM_PYTHON is missing"
}

# rpm_arch ARCH [HOST]: "host" as HOST (default: the host's rpm architecture).
rpm_arch() { [[ $1 == host ]] && echo "${2:-$RPM_ARCH}" || echo "$1"; }

# rpm_arches ARCH: the architectures a package of ARCH is built for.
rpm_arches() { [[ $1 == host ]] && echo "$RPM_ARCH $RPM_FOREIGN_ARCH" || echo "$1"; }

# rpm_evr EPOCH VR: [epoch:]version-release, the epoch only when not 0.
rpm_evr() { [[ $1 == 0 ]] && echo "$2" || echo "$1:$2"; }

# gen_files SPEC...: write deterministic files; each SPEC is PATH:KIND:SEED:SIZE,
# KIND "bin" (pseudo-random bytes) or "txt" (lines of words).
gen_files() {
	"$RPM_PYTHON" - "$@" <<-'EOF'
		import os, random, sys
		WORDS = ("copa patch layer image package update scriptlet release epoch rpm dnf "
		         "zypper library config vendor noreplace archive manifest digest").split()
		for spec in sys.argv[1:]:
		    path, kind, seed, size = spec.rsplit(":", 3)
		    r, n = random.Random(seed), int(size)
		    if kind == "bin":
		        data = r.randbytes(n)
		    else:
		        lines, total = [], 0
		        while total < n:
		            line = " ".join(r.choice(WORDS) for _ in range(r.randint(4, 12))) + "\n"
		            lines.append(line)
		            total += len(line)
		        data = "".join(lines).encode()
		    os.makedirs(os.path.dirname(path), exist_ok=True)
		    with open(path, "wb") as f:
		        f.write(data)
	EOF
}

# os-release of the EL and SUSE images (owned by their release packages).
el_os_release() {
	cat <<-'EOF'
		NAME="Rocky Linux"
		VERSION="9.4 (Blue Onyx)"
		ID="rocky"
		ID_LIKE="rhel centos fedora"
		VERSION_ID="9.4"
		PLATFORM_ID="platform:el9"
		PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
		ANSI_COLOR="0;32"
		LOGO="fedora-logo-icon"
		CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
		HOME_URL="https://rockylinux.org/"
		BUG_REPORT_URL="https://bugs.rockylinux.org/"
		SUPPORT_END="2032-05-31"
		ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
		ROCKY_SUPPORT_PRODUCT_VERSION="9.4"
		REDHAT_SUPPORT_PRODUCT="Rocky Linux"
		REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
	EOF
}
suse_os_release() {
	cat <<-'EOF'
		NAME="openSUSE Leap"
		VERSION="15.6"
		ID="opensuse-leap"
		ID_LIKE="suse opensuse"
		VERSION_ID="15.6"
		PRETTY_NAME="openSUSE Leap 15.6"
		ANSI_COLOR="0;32"
		CPE_NAME="cpe:/o:opensuse:leap:15.6"
		BUG_REPORT_URL="https://bugs.opensuse.org"
		HOME_URL="https://www.opensuse.org/"
		DOCUMENTATION_URL="https://en.opensuse.org/Portal:Leap"
		LOGO="distributor-logo-Leap"
	EOF
}
suse_product() {
	cat <<-EOF
		<?xml version="1.0" encoding="UTF-8"?>
		<product schemeversion="0">
		  <vendor>openSUSE</vendor>
		  <name>Leap</name>
		  <version>15.6</version>
		  <release>1</release>
		  <endoflife>2025-12-31</endoflife>
		  <arch>$RPM_ARCH</arch>
		  <cpeid>cpe:/o:opensuse:leap:15.6</cpeid>
		  <productline>Leap</productline>
		  <summary>openSUSE Leap 15.6 (copa test)</summary>
		  <shortsummary>openSUSE Leap</shortsummary>
		  <description>The release package of the copa-test/suse images.</description>
		</product>
	EOF
}

# rpm_spec NAME EPOCH VERSION RELEASE ARCH STAGE WHEN: stage the package's
# files in STAGE and print its spec; WHEN is the build time.
rpm_spec() {
	local name=$1 epoch=$2 ver=$3 rel=$4 arch=$5 st=$6 when=$7 i files extra=""
	local vr=$ver-$rel
	case $name in
	copa-libcore)
		# A library whose content changes, a %config(noreplace) file that
		# gains a line, a doc file, 24 blobs equal in both versions, and
		# legacy.dat only in 1.0.
		local blobs=()
		for i in $(seq -w 0 23); do blobs+=("$st/usr/share/copa-libcore/blobs/blob-$i.bin:bin:libcore-blob-$i:8192"); done
		gen_files "$st/usr/lib64/libcopacore.so.1:bin:libcore-$vr:98304" "${blobs[@]}" \
			"$st/usr/share/doc/copa-libcore/README:txt:libcore-readme-$vr:3000"
		ln -s libcopacore.so.1 "$st/usr/lib64/libcopacore-compat.so.1"
		chmod 0755 "$st/usr/lib64/libcopacore.so.1"
		mkdir -p "$st/etc"
		{ echo "# copa-libcore configuration"; echo "level = 1"; [[ $ver == 1.0 ]] || echo "strict = true"; } >"$st/etc/copa-libcore.conf"
		echo "$ver" >"$st/usr/share/copa-libcore/VERSION"
		[[ $ver != 1.0 ]] || gen_files "$st/usr/share/copa-libcore/legacy.dat:bin:libcore-legacy:4096"
		extra="Provides: libcopacore.so.1()(64bit)"
		files="%config(noreplace) /etc/copa-libcore.conf
/usr/lib64/libcopacore.so.1
/usr/lib64/libcopacore-compat.so.1
%dir /usr/share/copa-libcore
%dir /usr/share/copa-libcore/blobs
/usr/share/copa-libcore/blobs/*.bin
/usr/share/copa-libcore/VERSION
%dir /usr/share/doc/copa-libcore
%doc /usr/share/doc/copa-libcore/README"
		[[ $ver != 1.0 ]] || files+=$'\n/usr/share/copa-libcore/legacy.dat'
		;;
	copa-tool)
		# A program (a shell script), a payload that changes, a help text
		# that does not, and a %post scriptlet in Lua (rpm's built-in
		# interpreter: no Requires(post) on /bin/sh, which no package of the
		# test images provides) writing the marker file.
		mkdir -p "$st/usr/bin"
		printf '#!/bin/sh\necho "copa-tool %s"\n' "$vr" >"$st/usr/bin/copa-tool"
		chmod 0755 "$st/usr/bin/copa-tool"
		gen_files "$st/usr/share/copa-tool/payload.bin:bin:tool-$vr:32768" "$st/usr/share/copa-tool/help.txt:txt:tool-help:2000"
		mkdir -p "$st/var/lib/copa-test"
		if [[ $rel == 1 ]]; then extra="Requires: copa-libcore >= 1:1.0"; else extra="Requires: copa-libcore >= 1:1.1"; fi
		files="/usr/bin/copa-tool
%dir /usr/share/copa-tool
/usr/share/copa-tool/payload.bin
/usr/share/copa-tool/help.txt
%dir /var/lib/copa-test

%post -p <lua>
posix.mkdir(\"/var/lib/copa-test\")
local f = assert(io.open(\"/var/lib/copa-test/tool-post-ran\", \"w\"))
f:write(\"%{name}-%{version}-%{release} \" .. arg[2] .. \"\\n\")
f:close()"
		;;
	copa-data)
		# 40 text files; 3.1 changes two and adds one.
		local specs=() seed
		for i in $(seq -w 0 39); do
			seed=data-$i
			[[ $ver == 3.0 || ($i != 07 && $i != 23) ]] || seed=data-$i-$vr
			specs+=("$st/usr/share/copa-data/file-0$i.txt:txt:$seed:4096")
		done
		[[ $ver == 3.0 ]] || specs+=("$st/usr/share/copa-data/file-040.txt:txt:data-40:4096")
		gen_files "${specs[@]}"
		echo "$ver" >"$st/usr/share/copa-data/VERSION"
		files="%dir /usr/share/copa-data
/usr/share/copa-data/*"
		;;
	copa-nofix)
		mkdir -p "$st/usr/bin"
		printf '#!/bin/sh\necho "copa-nofix %s"\n' "$vr" >"$st/usr/bin/copa-nofix"
		chmod 0755 "$st/usr/bin/copa-nofix"
		gen_files "$st/usr/share/copa-nofix/data.bin:bin:nofix:16384"
		files="/usr/bin/copa-nofix
%dir /usr/share/copa-nofix
/usr/share/copa-nofix/data.bin"
		;;
	copa-release)
		# What dnf takes $releasever from (system-release(releasever)), and
		# the os-release, as rocky-release does.
		mkdir -p "$st/usr/lib" "$st/etc"
		el_os_release >"$st/usr/lib/os-release"
		ln -s ../usr/lib/os-release "$st/etc/os-release"
		echo "Rocky Linux release 9.4 (Blue Onyx)" >"$st/etc/rocky-release"
		ln -s rocky-release "$st/etc/redhat-release"
		ln -s rocky-release "$st/etc/system-release"
		echo "cpe:/o:rocky:rocky:9::baseos" >"$st/etc/system-release-cpe"
		extra="Provides: system-release = $vr
Provides: system-release(releasever) = 9
Provides: redhat-release = $vr
Provides: rocky-release = $vr
Provides: base-module(platform:el9)"
		files="/usr/lib/os-release
/etc/os-release
/etc/rocky-release
/etc/redhat-release
/etc/system-release
/etc/system-release-cpe"
		;;
	copa-suse-release)
		# os-release and the base product zypper needs, as openSUSE-release.
		mkdir -p "$st/usr/lib" "$st/etc/products.d"
		suse_os_release >"$st/usr/lib/os-release"
		ln -s ../usr/lib/os-release "$st/etc/os-release"
		suse_product >"$st/etc/products.d/Leap.prod"
		ln -s Leap.prod "$st/etc/products.d/baseproduct"
		extra="Provides: distribution-release = $vr
Provides: openSUSE-release = $vr
Provides: product(Leap) = 15.6-1"
		files="/usr/lib/os-release
/etc/os-release
%dir /etc/products.d
/etc/products.d/Leap.prod
/etc/products.d/baseproduct"
		;;
	*) die "rpm_spec: unknown package $name" ;;
	esac
	find "$st" -type f ! -perm -0100 -exec chmod 0644 {} +
	cat <<-EOF
		Name: $name
		$([[ $epoch == 0 ]] || echo "Epoch: $epoch")
		Version: $ver
		Release: $rel
		Summary: $name, a test package of copa/frontend
		License: MIT
		URL: https://example.invalid/copa-test
		$([[ $arch != noarch ]] || echo "BuildArch: noarch")
		AutoReq: no
		$extra

		%description
		$name $vr: a package made by hack/harness.sh for the copa/frontend tests.

		%prep
		%build
		%install
		cp -a "$st/." %{buildroot}/

		%files
		%defattr(-,root,root,-)
		$files

		%changelog
		* $(LC_ALL=C date -u -d "@$when" '+%a %b %d %Y') copa test <copa-test@example.invalid> - $vr
		- $name $vr
	EOF
}

# rpm_builds: every build, "NAME EPOCH VERSION-RELEASE ARCH WHEN" a line.
rpm_builds() {
	local l n e o v a x
	for l in "${RPM_UPDATES[@]}"; do
		read -r n e o v a <<<"$l"
		for x in $(rpm_arches "$a"); do
			echo "$n $e $o $x $RPM_EPOCH_OLD"
			echo "$n $e $v $x $RPM_EPOCH_NEW"
		done
	done
	for l in "${RPM_SINGLE[@]}"; do
		read -r n e v a <<<"$l"
		for x in $(rpm_arches "$a"); do echo "$n $e $v $x $RPM_EPOCH_OLD"; done
	done
}

# rpm_file NAME VERSION-RELEASE ARCH: the path of a built package.
rpm_file() { echo "$RPM_REPO_DIR/$1-$2.$3.rpm"; }

# rpm_old_files RELEASE_PKG [ARCH]: the packages the stale images hold: the
# old version of each test package, and RELEASE_PKG; the builds for ARCH
# (default the host's) of the arch-specific ones.
rpm_old_files() {
	local l n e o v a
	for l in "${RPM_UPDATES[@]}"; do
		read -r n e o v a <<<"$l"
		rpm_file "$n" "$o" "$(rpm_arch "$a" "${2:-}")"
	done
	for l in "${RPM_SINGLE[@]}"; do
		read -r n e v a <<<"$l"
		[[ $n != copa-nofix && $n != "$1" ]] || rpm_file "$n" "$v" "$(rpm_arch "$a" "${2:-}")"
	done
}

# rpm_packages_txt [ARCH]: packages.txt's lines, of ARCH's builds (default
# the host's).
rpm_packages_txt() {
	local l n e o v a
	for l in "${RPM_UPDATES[@]}"; do
		read -r n e o v a <<<"$l"
		echo "$n $(rpm_evr "$e" "$o") $(rpm_evr "$e" "$v") $(rpm_arch "$a" "${1:-}")"
	done
}

rpm_want() {
	{
		echo "recipe=$RPM_RECIPE arch=$RPM_ARCH foreign=$RPM_FOREIGN_ARCH"
		rpm_builds
		declare -f gen_files el_os_release suse_os_release suse_product rpm_spec build_rpms rpm_packages_txt
		rpm --version 2>/dev/null
	} | sha256sum | cut -d' ' -f1
}
rpm_current() { stamp_ok "$RPM_DIR/repo.stamp" "$(rpm_want)" && [[ -f $RPM_REPO_DIR/repodata/repomd.xml ]]; }

# build_rpms: the test packages (every version, both architectures) and
# their repository in $RPM_REPO_DIR, and $RPM_TESTDATA/packages.txt (the
# host's builds) and packages-$RPM_FOREIGN_ARCH.txt (the foreign ones).
build_rpms() {
	need_rpm_tools
	if rpm_current && [[ -s $RPM_TESTDATA/packages.txt && -s $RPM_TESTDATA/packages-$RPM_FOREIGN_ARCH.txt ]]; then
		log "$RPM_REPO_DIR: up to date"
		return 0
	fi
	local t0=$SECONDS w=$RPM_DIR/build want n e vr a when ver rel st l o v
	want=$(rpm_want)
	rm -rf "$w" "$RPM_DIR/repo.tmp"
	mkdir -p "$w" "$RPM_DIR/repo.tmp" "$RPM_TESTDATA"
	log "rpmbuild: the test packages ($(rpm_builds | wc -l) builds) ..."
	while read -r n e vr a when; do
		ver=${vr%-*} rel=${vr##*-} st=$w/stage/$n-$vr.$a
		mkdir -p "$st"
		rpm_spec "$n" "$e" "$ver" "$rel" "$a" "$st" "$when" >"$w/$n-$vr.$a.spec"
		# Reproducible: build time, file mtimes (clamped), host; no
		# debuginfo, no brp scripts (stripping, compressing).
		SOURCE_DATE_EPOCH=$when run "$LOGS/rpmbuild-$n-$vr.$a.log" rpmbuild -bb --target "$a" \
			--define "_topdir $w/top" --define "_rpmdir $RPM_DIR/repo.tmp" \
			--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
			--define "_buildhost copa-test.example.invalid" --define "use_source_date_epoch_as_buildtime 1" \
			--define "clamp_mtime_to_source_date_epoch 1" --define "__os_install_post %{nil}" \
			--define "debug_package %{nil}" --define "_binary_payload w9.gzdio" \
			"$w/$n-$vr.$a.spec"
		[[ -f $RPM_DIR/repo.tmp/$n-$vr.$a.rpm ]] || die "rpmbuild made no $n-$vr.$a.rpm (log: $LOGS/rpmbuild-$n-$vr.$a.log)"
	done < <(rpm_builds)
	# The repository keeps every version, as a distribution's does.
	run "$LOGS/createrepo.log" createrepo_c --general-compress-type=gz --revision "$RPM_EPOCH_NEW" \
		--set-timestamp-to-revision "$RPM_DIR/repo.tmp"
	safe_rm "$RPM_REPO_DIR"
	mv "$RPM_DIR/repo.tmp" "$RPM_REPO_DIR"
	rpm_packages_txt >"$RPM_TESTDATA/packages.txt"
	rpm_packages_txt "$RPM_FOREIGN_ARCH" >"$RPM_TESTDATA/packages-$RPM_FOREIGN_ARCH.txt"
	rm -rf "$w"
	echo "$want" >"$RPM_DIR/repo.stamp"
	log "built $(find "$RPM_REPO_DIR" -name '*.rpm' | wc -l) packages and their repository in $((SECONDS - t0))s"
}

# The repository server: Python's static HTTP server on $RPM_REPO_LISTEN,
# serving $RPM_REPO_DIR (replaced whole by build_rpms; the server resolves
# the path on each request). BuildKit's build steps use the host network, so
# they reach it at the same address.
# Any HTTP answer will do: the directory may not exist yet (a 404).
rpm_repo_ok() { [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RPM_REPO_URL")" =~ ^[1-5][0-9][0-9]$ ]]; }
rpm_repo_up() {
	rpm_repo_ok && return 0
	pid_alive rpmrepo "$RPM_PYTHON" && die "the rpm repository server (pid $(cat "$RUN_DIR/rpmrepo.pid")) runs but does not answer on $RPM_REPO_URL"
	need_rpm_tools
	mkdir -p "$RPM_REPO_DIR"
	log "starting the rpm repository server on $RPM_REPO_URL (serving $RPM_REPO_DIR)"
	daemon rpmrepo "$LOGS/rpmrepo.log" "$RPM_PYTHON" -m http.server --bind "${RPM_REPO_LISTEN%:*}" \
		--directory "$RPM_REPO_DIR" "${RPM_REPO_LISTEN##*:}"
	local i
	for ((i = 0; i < 40; i++)); do
		rpm_repo_ok && return 0
		pid_alive rpmrepo "$RPM_PYTHON" || { tail -n 20 "$LOGS/rpmrepo.log" >&2; die "the rpm repository server exited"; }
		sleep 0.25
	done
	die "the rpm repository server is not ready (log: $LOGS/rpmrepo.log)"
}
rpm_repo_down() { stop_daemon rpmrepo "$RPM_PYTHON"; }
