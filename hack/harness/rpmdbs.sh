# Sourced by hack/harness.sh: rpm databases made here, for distros/rpm/rpmdb's tests (make_rpmdbs). It uses
# the settings and helpers harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154
#
# No RPM distribution is reachable, so Debian's rpm builds a few tiny packages and installs them into empty
# roots, once per database backend. $TESTDATA/rpmdb/ then holds, each laid out as in an image:
#   sqlite/usr/lib/sysimage/rpm/rpmdb.sqlite, with var/lib/rpm a symlink ../../usr/lib/sysimage/rpm (SUSE's,
#           newer Fedora's layout)
#   ndb/var/lib/rpm/Packages.db         written by rpm's own ndb code (Debian's rpm lacks the backend:
#           hack/harness/ndbput compiles lib/backend/ndb/rpmpkg.c of Debian's rpm source), no Index.db
#   bdb/var/lib/rpm/Packages            Berkeley DB hash, 4 KiB pages: every header on overflow pages
#   bdb-inline/var/lib/rpm/Packages     64 KiB pages: the headers sit on the hash pages themselves
#   manifest/var/lib/rpmmanifest/container-manifest-2   Azure Linux's distroless manifest of the same packages
# and what rpm itself says of them (read from the sqlite database; when Debian's rpm has its read-only
# bdb_ro backend, the BDB databases are checked to say the same):
#   expected.txt  one line per installed header, sorted:
#                 NAME EPOCH VERSION RELEASE ARCH SOURCERPM FILEDIGESTALGO   ("(none)" where the header has none)
#   files.txt     one line per file, sorted, tab-separated:
#                 NAME EPOCH VERSION RELEASE ARCH PATH DIGEST MODE FLAGS SIZE USER GROUP MTIME LINKTO
# Debian's rpm writes neither BDB nor ndb: the headers are copied from the sqlite database, with their
# numbers. BDB: in db_load's printable format (key: the header number, 4 bytes little-endian; key 0 holds
# the next header number, as rpm's BDB Packages did).
#
# The packages: copa-alpha (epoch 3, noarch; a %config file, a symlink, a directory, a %doc, a %ghost),
# copa-multi for x86_64 and i686 (multilib: same name, two arches, no shared file), copa-kernel 5.14.0 and
# 5.15.1 installed side by side, copa-empty (no files), and two gpg-pubkey headers (rpm --import of two keys
# made with gpg: no files, no arch).

RPMDB_RECIPE=1 # bump to force a rebuild
RPM_SOURCE=rpm_4.18.0+dfsg.orig.tar.xz # Debian 12's rpm, for its ndb code
RPM_SOURCE_SHA256=d0d9c58c036bc6308de6e195e898c10bf53eaef6f962c48b403e7cd262f4eb4d

# rpmdb_spec NAME: the spec of a test package; rpmbuild's --define gives kver for copa-kernel.
rpmdb_spec() {
	cat <<-'EOF'
		%global debug_package %{nil}
		%global __os_install_post %{nil}
		%global _build_id_links none
		Summary: copa/frontend rpmdb test package
		License: MIT
		AutoReq: no
		AutoProv: no
	EOF
	case $1 in
	copa-alpha)
		cat <<-'EOF'
			Name: copa-alpha
			Epoch: 3
			Version: 1.2.3
			Release: 4.el9
			BuildArch: noarch
			%description
			Test package with an epoch.
			%install
			mkdir -p %{buildroot}/usr/share/copa-alpha/empty %{buildroot}/etc %{buildroot}/usr/share/doc/copa-alpha %{buildroot}/var/log
			printf 'alpha data\n' >%{buildroot}/usr/share/copa-alpha/data.txt
			printf 'key=value\n' >%{buildroot}/etc/copa-alpha.conf
			printf 'read me\n' >%{buildroot}/usr/share/doc/copa-alpha/README
			ln -s data.txt %{buildroot}/usr/share/copa-alpha/link
			touch %{buildroot}/var/log/copa-alpha.log
			%files
			%config(noreplace) /etc/copa-alpha.conf
			%dir /usr/share/copa-alpha
			%dir /usr/share/copa-alpha/empty
			/usr/share/copa-alpha/data.txt
			/usr/share/copa-alpha/link
			%attr(0750,root,root) %dir /usr/share/doc/copa-alpha
			%doc /usr/share/doc/copa-alpha/README
			%ghost /var/log/copa-alpha.log
		EOF
		;;
	copa-multi)
		cat <<-'EOF'
			Name: copa-multi
			Version: 2.0
			Release: 1
			%description
			Test package built for two arches.
			%install
			mkdir -p %{buildroot}/usr/lib/copa-multi
			printf 'multi for %s\n' %{_target_cpu} >%{buildroot}/usr/lib/copa-multi/%{_target_cpu}.txt
			%files
			/usr/lib/copa-multi/%{_target_cpu}.txt
		EOF
		;;
	copa-kernel)
		cat <<-'EOF'
			Name: copa-kernel
			Version: %{kver}
			Release: 1
			BuildArch: noarch
			%description
			Test package installed in two versions side by side.
			%install
			mkdir -p %{buildroot}/boot
			printf 'kernel %s\n' %{version} >%{buildroot}/boot/copa-kernel-%{version}
			%files
			%attr(0600,root,root) /boot/copa-kernel-%{version}
		EOF
		;;
	copa-empty)
		cat <<-'EOF'
			Name: copa-empty
			Version: 0.1
			Release: 0
			BuildArch: noarch
			%description
			Test package without files.
			%files
		EOF
		;;
	esac
}

# rpmdb_query DIR BACKEND FORMAT: rpm -qa on the database of root DIR, sorted.
rpmdb_query() {
	rpm --root "$1" --dbpath /var/lib/rpm --define "_db_backend $2" -qa --qf "$3" | LC_ALL=C sort
}

RPMDB_QF_PKG='%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{SOURCERPM} %{FILEDIGESTALGO}\n'
RPMDB_QF_FILES='[%{=NAME}\t%{=EPOCH}\t%{=VERSION}\t%{=RELEASE}\t%{=ARCH}\t%{FILENAMES}\t%{FILEDIGESTS}\t%{FILEMODES}\t%{FILEFLAGS}\t%{FILESIZES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEMTIMES}\t%{FILELINKTOS}\n]'

# rpmdb_bdb SQLITE OUT PAGESIZE: a BDB hash Packages of the sqlite database's headers.
rpmdb_bdb() {
	local sqlite=$1 out=$2 pagesize=$3 next
	mkdir -p "$(dirname "$out")"
	rm -f "$out"
	next=$(sqlite3 "$sqlite" 'SELECT max(hnum) + 1 FROM Packages')
	{
		printf 'VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=%s\nHEADER=END\n' "$pagesize"
		# The key of a header is its number in the writer's byte order (x86: little-endian).
		le32() { printf '%08x' "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/'; }
		printf ' %s\n %s\n' "$(le32 0)" "$(le32 "$next")"
		sqlite3 -separator ' ' "$sqlite" 'SELECT hnum, lower(hex(blob)) FROM Packages ORDER BY hnum' |
			while read -r hnum hex; do printf ' %s\n %s\n' "$(le32 "$hnum")" "$hex"; done
		echo DATA=END
	} | db5.3_load -t hash "$out"
}

# rpmdb_ndbput: build hack/harness/ndbput with rpm's ndb code into $BIN/ndbput (cached by source and shim).
rpmdb_ndbput() {
	local src=$COPA_CACHE/src/$RPM_SOURCE dir=$REPO/hack/harness/ndbput want
	want=$({ echo "$RPM_SOURCE_SHA256"; cat "$dir"/main.c "$dir"/system.h "$dir"/rpm/*.h; } | sha256sum | cut -d' ' -f1)
	[[ -x $BIN/ndbput ]] && stamp_ok "$BIN/ndbput.stamp" "$want" && return 0
	if ! echo "$RPM_SOURCE_SHA256  $src" | sha256sum -c --status 2>/dev/null; then
		mkdir -p "$(dirname "$src")"
		run "$LOGS/rpmdb-ndbput.log" curl -fsSL -o "$src.tmp" "$DEBIAN_MIRROR/pool/main/r/rpm/$RPM_SOURCE"
		echo "$RPM_SOURCE_SHA256  $src.tmp" | sha256sum -c --status || die "$src: not the sha256 $RPM_SOURCE_SHA256"
		mv "$src.tmp" "$src"
	fi
	local tmp=$COPA_CACHE/src/ndbput
	safe_rm "$tmp"
	mkdir -p "$tmp" "$BIN"
	run "$LOGS/rpmdb-ndbput.log" tar -xJf "$src" -C "$tmp" --strip-components=4 rpm-4.18.0/lib/backend/ndb
	run "$LOGS/rpmdb-ndbput.log" gcc -O2 -Wall -I"$dir" -I"$tmp" -o "$BIN/ndbput" "$dir/main.c" "$tmp/rpmpkg.c"
	safe_rm "$tmp"
	echo "$want" >"$BIN/ndbput.stamp"
}

# rpmdb_records SQLITE: the sqlite database's headers as ndbput reads them.
rpmdb_records() {
	sqlite3 -separator ' ' "$1" 'SELECT hnum, hex(blob) FROM Packages ORDER BY hnum' |
		perl -ne 'my ($n, $h) = split; my $b = pack("H*", $h); print pack("VV", $n, length $b), $b'
}

make_rpmdbs() {
	local out=$TESTDATA/rpmdb work=$COPA_CACHE/rpmdb stampf=$COPA_CACHE/rpmdb/rpmdb.stamp want t0=$SECONDS
	want=$({ echo "$RPMDB_RECIPE $RPMDB_QF_PKG $RPMDB_QF_FILES"; declare -f make_rpmdbs rpmdb_spec rpmdb_query rpmdb_bdb rpmdb_ndbput rpmdb_records; } | sha256sum | cut -d' ' -f1)
	if stamp_ok "$stampf" "$want" && [[ -s $out/expected.txt && -s $out/files.txt ]]; then
		log "rpmdb test databases: up to date"
		return 0
	fi
	local missing=() p
	for p in rpm db5.3-util sqlite3 gpg gcc libc6-dev xz-utils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "apt-get install ${missing[*]}"
		run "$LOGS/apt-install.log" apt-get update
		DEBIAN_FRONTEND=noninteractive run "$LOGS/apt-install.log" apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	log "making the rpm test databases ..."
	safe_rm "$work"
	safe_rm "$out"
	mkdir -p "$work/specs" "$work/gnupg" "$out"
	chmod 700 "$work/gnupg"

	# Packages.
	local top=$work/rpmbuild n
	for n in copa-alpha copa-multi copa-kernel copa-empty; do rpmdb_spec "$n" >"$work/specs/$n.spec"; done
	rb() { run "$LOGS/rpmdb-rpmbuild.log" rpmbuild --define "_topdir $top" --define '_binary_payload w9.gzdio' -bb "$@"; }
	rb "$work/specs/copa-alpha.spec"
	rb --target x86_64 "$work/specs/copa-multi.spec"
	rb --target i686 "$work/specs/copa-multi.spec"
	rb --define 'kver 5.14.0' "$work/specs/copa-kernel.spec"
	rb --define 'kver 5.15.1' "$work/specs/copa-kernel.spec"
	rb "$work/specs/copa-empty.spec"
	local rpms=()
	mapfile -t rpms < <(find "$top/RPMS" -name '*.rpm' | sort)
	((${#rpms[@]} == 6)) || die "rpmbuild made ${#rpms[@]} packages, not 6: ${rpms[*]}"

	# Two signing keys, for two gpg-pubkey headers.
	local k
	for k in 1 2; do
		GNUPGHOME=$work/gnupg run "$LOGS/rpmdb-gpg.log" gpg --batch --passphrase '' \
			--quick-gen-key "copa test key $k <copa-$k@example.invalid>" rsa2048 sign never
		GNUPGHOME=$work/gnupg gpg --batch --armor --export "copa-$k@example.invalid" >"$work/key$k.asc"
	done

	# rpm installs them (sqlite, Debian's default backend).
	local root=$work/root-sqlite
	mkdir -p "$root"
	run "$LOGS/rpmdb-install.log" rpm --root "$root" --dbpath /var/lib/rpm --initdb
	run "$LOGS/rpmdb-install.log" rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --ignorearch "${rpms[@]}"
	for k in 1 2; do
		run "$LOGS/rpmdb-install.log" rpm --root "$root" --dbpath /var/lib/rpm --import "$work/key$k.asc"
	done
	rpmdb_query "$root" sqlite "$RPMDB_QF_PKG" >"$out/expected.txt"
	rpmdb_query "$root" sqlite "$RPMDB_QF_FILES" >"$out/files.txt"
	[[ $(wc -l <"$out/expected.txt") == 8 ]] || die "rpm lists $(wc -l <"$out/expected.txt") headers, not 8: $(cat "$out/expected.txt")"

	local sqlitedb=$root/var/lib/rpm/rpmdb.sqlite
	[[ -f $sqlitedb ]] || die "rpm wrote no $sqlitedb: $(ls -la "$root/var/lib/rpm")"
	[[ ! -s $sqlitedb-wal ]] || die "$sqlitedb-wal is not empty: rpm did not checkpoint"
	mkdir -p "$out/sqlite/usr/lib/sysimage" "$out/sqlite/var/lib" "$out/ndb/var/lib/rpm"
	cp -a "$root/var/lib/rpm" "$out/sqlite/usr/lib/sysimage/rpm"
	ln -s ../../usr/lib/sysimage/rpm "$out/sqlite/var/lib/rpm"

	rpmdb_ndbput
	rpmdb_records "$sqlitedb" | "$BIN/ndbput" "$out/ndb/var/lib/rpm/Packages.db" 2>>"$LOGS/rpmdb-ndbput.log" ||
		die "ndbput failed (log: $LOGS/rpmdb-ndbput.log)"

	rpmdb_bdb "$sqlitedb" "$out/bdb/var/lib/rpm/Packages" 4096
	rpmdb_bdb "$sqlitedb" "$out/bdb-inline/var/lib/rpm/Packages" 65536
	if rpm --define '_db_backend bdb_ro' --showrc >/dev/null 2>&1 &&
		rpmdb_query "$out/bdb" bdb_ro "$RPMDB_QF_PKG" >"$work/bdb-check.txt" 2>"$LOGS/rpmdb-bdb-check.log" &&
		[[ -s $work/bdb-check.txt ]]; then
		local d
		for d in bdb bdb-inline; do
			# (bdb_ro warns of the index databases, which only rpm's queries by name or file need)
			cmp -s "$out/expected.txt" <(rpmdb_query "$out/$d" bdb_ro "$RPMDB_QF_PKG" 2>/dev/null) &&
				cmp -s "$out/files.txt" <(rpmdb_query "$out/$d" bdb_ro "$RPMDB_QF_FILES" 2>/dev/null) ||
				die "rpm's bdb_ro lists other packages or files in $out/$d than in the sqlite database"
		done
		log "rpm's bdb_ro backend reads the BDB databases as the sqlite one"
	else
		log "WARNING: Debian's rpm could not read the BDB databases back (no bdb_ro?): they are checked by the Go tests only"
	fi

	# Azure Linux's distroless manifest, with the very query its image build runs.
	mkdir -p "$out/manifest/var/lib/rpmmanifest"
	rpm --root "$root" --dbpath /var/lib/rpm -qa \
		--qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{BUILDTIME}\t%{VENDOR}\t(none)\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}\n' \
		>"$out/manifest/var/lib/rpmmanifest/container-manifest-2"
	rpm --root "$root" --dbpath /var/lib/rpm -qa >"$out/manifest/var/lib/rpmmanifest/container-manifest-1"

	safe_rm "$root"
	mkdir -p "$(dirname "$stampf")"
	echo "$want" >"$stampf"
	log "rpm test databases in $out ($(wc -l <"$out/expected.txt") headers) in $((SECONDS - t0))s"
}
