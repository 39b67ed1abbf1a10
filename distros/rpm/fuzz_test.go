package rpm

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/distrostest"
)

// Fuzz targets of the rpm format: rpmvercmp's order and rpm's name
// grammar, and the SOURCES check of .repo files. The database readers
// have theirs in package rpmdb. `make fuzz` runs each; crashers found
// land in testdata/fuzz/<target>/ and are replayed by every `go test`.

// FuzzVersioning checks that Compare is a total preorder on the versions
// ValidVersion accepts and that accepted versions are safe words
// (distrostest.CheckVersioning).
func FuzzVersioning(f *testing.F) {
	for _, s := range [][3]string{
		{"1.0-1", "1:1.0-1.el8", "0:1.0-1"},
		{"1.0~rc1-1", "1.0-1", "1.0^git1-1"},
		{"2.28-225.el8_8.6", "2.28-225.el8_8.11", "2.28-225.el8"},
		{"1.1.1k-7.el8_6", "1:1.1.1k-9.el8_7", "3.0.7-27.el9"},
		{"1.0", "1.0-0", "1.0a-1"},
		{"1.0~~-1", "1.0~-1", "1.0^-1"},
		{"", ":1", "1.0-1-1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	_, versions := distrostest.ReportSeeds(f, Format{})
	for _, s := range versions {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		distrostest.CheckVersioning(t, Versioning{}, a, b, c)
	})
}

// FuzzValidName checks that every name ValidName accepts is a safe word
// (distrostest.CheckName).
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"openssl-libs", "NetworkManager", "perl-Digest-MD5", "_x", "a..b", "-x", "gpg-pubkey", "libstdc++", "a b", "x86_64"} {
		f.Add(s)
	}
	names, _ := distrostest.ReportSeeds(f, Format{})
	for _, s := range names {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		distrostest.CheckName(t, Versioning{}, name)
	})
}

// FuzzCheckSources checks CheckSources on .repo files: it never panics,
// every error names the file, and what it accepts has a plain name and is
// text with at least one repository section.
func FuzzCheckSources(f *testing.F) {
	f.Add("mirror.repo", []byte("# corp mirror\n[baseos]\nname=BaseOS\nbaseurl=https://mirror.example/el9/BaseOS/$basearch/os/\n  https://mirror2.example/el9/BaseOS/$basearch/os/\ngpgcheck=1\n\n[appstream]\nmetalink=https://mirrors.example/metalink?repo=appstream\n"))
	f.Add("x.repo", []byte("[main]\nbaseurl=http://x\n"))
	f.Add("x.repo", []byte("baseurl=http://x\n[x]\n"))
	f.Add("x.list", []byte("[x]\nmirrorlist=http://x\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		err := Format{}.CheckSources(distros.Sources{Name: name, Data: data})
		if err != nil {
			if !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), strconv.Quote(distros.Clip(name))) {
				t.Fatalf("error %q does not name the file %q", err, name)
			}
			return
		}
		distrostest.CheckSafeWord(t, "sources file name", name)
		if name[0] == '.' || !utf8.Valid(data) || slices.Contains(data, 0) || !strings.Contains(string(data), "[") {
			t.Fatalf("accepted %q with %q", name, data)
		}
	})
}
