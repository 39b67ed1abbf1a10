package rpmdb

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/distrostest"
)

func TestParseManifest(t *testing.T) {
	// Lines as Azure Linux's image build writes them (and as Trivy's tests
	// show them).
	data := "mariner-release\t2.0-12.cm2\t1653816591\t1653753130\tMicrosoft Corporation\t(none)\t580\tnoarch\t0\tmariner-release-2.0-12.cm2.src.rpm\n" +
		"ca-certificates-base\t3.0.0-8.azl3\t1748892790\t1735838940\tMicrosoft Corporation\t(none)\t130628\tnoarch\t1\tca-certificates-3.0.0-8.azl3.src.rpm\n" +
		"gpg-pubkey\t3135ce90-5e6fda74\t1653816591\t1585436276\t(none)\t(none)\t0\t(none)\t0\t(none)\n\n"
	got, err := ParseManifest([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Header{
		{Name: "mariner-release", Version: "2.0", Release: "12.cm2", Arch: "noarch", SourceRPM: "mariner-release-2.0-12.cm2.src.rpm"},
		{Name: "ca-certificates-base", Version: "3.0.0", Release: "8.azl3", Arch: "noarch", Epoch: 1, HasEpoch: true, SourceRPM: "ca-certificates-3.0.0-8.azl3.src.rpm"},
		{Name: "gpg-pubkey", Version: "3135ce90", Release: "5e6fda74"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got[1].EVR() != "1:3.0.0-8.azl3" {
		t.Errorf("EVR %q", got[1].EVR())
	}

	for _, tt := range []struct{ name, line, want string }{
		{"too few fields", "filesystem\t1.1-7.cm1\t1653164283\t1599428094", "4 tab-separated fields"},
		{"no release", "a\t1.0\t1\t1\tv\t(none)\t1\tx86_64\t0\ta.src.rpm", "not VERSION-RELEASE"},
		{"two dashes", "a\t1.0-1-2\t1\t1\tv\t(none)\t1\tx86_64\t0\ta.src.rpm", "not VERSION-RELEASE"},
		{"bad epoch", "a\t1.0-1\t1\t1\tv\t(none)\t1\tx86_64\t-1\ta.src.rpm", "epoch"},
		{"epoch too large", "a\t1.0-1\t1\t1\tv\t(none)\t1\tx86_64\t4294967296\ta.src.rpm", "epoch"},
		{"no name", "\t1.0-1\t1\t1\tv\t(none)\t1\tx86_64\t0\ta.src.rpm", "no package name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseManifest([]byte(tt.line + "\n")); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseManifest: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestReadNotADatabase(t *testing.T) {
	for _, tt := range []struct {
		name string
		read func([]byte) ([]Header, error)
		want string
	}{
		{"sqlite", ReadSQLite, "not an sqlite database"},
		{"ndb", ReadNDB, "not an rpm ndb database"},
		{"bdb", ReadBDB, "not a Berkeley DB"},
	} {
		for _, data := range []string{"", "garbage", strings.Repeat("\x00", 8192)} {
			if _, err := tt.read([]byte(data)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s of %d bytes: %v, want an error with %q", tt.name, len(data), err, tt.want)
			}
		}
	}
}

func TestRead(t *testing.T) {
	ctx := context.Background()
	_, err := Read(ctx, distrostest.MapFS{"/etc/os-release": "ID=fedora\n"})
	if err == nil || !strings.Contains(err.Error(), "looked for rpmdb.sqlite, Packages.db and Packages in /usr/lib/sysimage/rpm and /var/lib/rpm, and for /var/lib/rpmmanifest/container-manifest-2") {
		t.Errorf("Read without a database: %v", err)
	}
	manifest := "bash\t5.2.15-1.azl3\t1\t1\tMicrosoft Corporation\t(none)\t1\tx86_64\t0\tbash-5.2.15-1.azl3.src.rpm\n"
	db, err := Read(ctx, distrostest.MapFS{"/var/lib/rpmmanifest/container-manifest-2": manifest})
	if err != nil || db.Backend != BackendManifest || len(db.Headers) != 1 || db.Headers[0].Name != "bash" {
		t.Errorf("Read of a manifest: %+v, %v", db, err)
	}
	// A damaged database is an error that names it, not a fall-back to
	// another.
	_, err = Read(ctx, distrostest.MapFS{"/var/lib/rpm/Packages.db": "RpmP garbage", "/var/lib/rpmmanifest/container-manifest-2": manifest})
	if err == nil || !strings.Contains(err.Error(), "/var/lib/rpm/Packages.db") {
		t.Errorf("Read of a damaged database: %v", err)
	}
}
