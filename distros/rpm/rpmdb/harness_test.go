package rpmdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/distrostest"
)

// harnessData is $COPA_TEST_DATA/rpmdb, the databases hack/harness.sh
// makes (hack/harness/rpmdbs.sh). Without it the test skips, unless
// COPA_REQUIRE_HARNESS or CI says a skip would prove nothing.
func harnessData(t *testing.T) string {
	t.Helper()
	d := os.Getenv("COPA_TEST_DATA")
	if d != "" {
		d = filepath.Join(d, "rpmdb")
		if _, err := os.Stat(filepath.Join(d, "expected.txt")); err == nil {
			return d
		}
	}
	msg := "needs $COPA_TEST_DATA/rpmdb: run `hack/harness.sh images` and `eval \"$(hack/harness.sh env)\"`"
	if os.Getenv("CI") != "" || os.Getenv("COPA_REQUIRE_HARNESS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	dt, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(dt), "\n"), "\n")
}

// orNone is how rpm --qf prints a tag the header lacks.
func orNone(s string) string {
	if s == "" {
		return rpmNone
	}
	return s
}

func epochField(h Header) string {
	if !h.HasEpoch {
		return rpmNone
	}
	return strconv.Itoa(h.Epoch)
}

// pkgLines and fileLines print headers as the harness's rpm queries do
// (RPMDB_QF_PKG, RPMDB_QF_FILES), sorted.
func pkgLines(hs []Header) []string {
	var out []string
	for _, h := range hs {
		algo := strconv.Itoa(h.DigestAlgo)
		// A header without FILEDIGESTALGO reads as md5 (1); rpm prints (none).
		if h.DigestAlgo == DigestMD5 {
			algo = rpmNone
		}
		out = append(out, strings.Join([]string{h.Name, epochField(h), h.Version, h.Release, orNone(h.Arch), orNone(h.SourceRPM), algo}, " "))
	}
	slices.Sort(out)
	return out
}

func fileLines(hs []Header) []string {
	var out []string
	for _, h := range hs {
		for _, f := range h.Files {
			out = append(out, strings.Join([]string{h.Name, epochField(h), h.Version, h.Release, orNone(h.Arch),
				f.Path, f.Digest, fmt.Sprint(f.Mode), fmt.Sprint(f.Flags), fmt.Sprint(f.Size), f.User, f.Group, fmt.Sprint(f.Mtime), f.Link}, "\t"))
		}
	}
	slices.Sort(out)
	return out
}

// TestHarnessDatabases reads each backend's database the way the frontend
// does (Read, here through OSFS) and compares it with what rpm itself
// listed: every header (multilib and side-by-side versions each their
// own), and every file's digest, mode, flags, size, owner, mtime, link.
func TestHarnessDatabases(t *testing.T) {
	data := harnessData(t)
	wantPkgs := readLines(t, filepath.Join(data, "expected.txt"))
	wantFiles := readLines(t, filepath.Join(data, "files.txt"))
	for _, tt := range []struct {
		dir, backend, dbDir, file string
	}{
		{"sqlite", BackendSQLite, "/usr/lib/sysimage/rpm", "rpmdb.sqlite"},
		{"ndb", BackendNDB, "/var/lib/rpm", "Packages.db"},
		{"bdb", BackendBDB, "/var/lib/rpm", "Packages"},
		{"bdb-inline", BackendBDB, "/var/lib/rpm", "Packages"},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			root, err := os.OpenRoot(filepath.Join(data, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			db, err := Read(context.Background(), OSFS(root))
			if err != nil {
				t.Fatal(err)
			}
			if db.Backend != tt.backend || db.Dir != tt.dbDir || db.File != tt.file {
				t.Errorf("Read found %s (%s), want %s/%s (%s)", db.Path(), db.Backend, tt.dbDir, tt.file, tt.backend)
			}
			if got := pkgLines(db.Headers); !slices.Equal(got, wantPkgs) {
				t.Errorf("headers:\n%s\nrpm lists:\n%s", strings.Join(got, "\n"), strings.Join(wantPkgs, "\n"))
			}
			if got := fileLines(db.Headers); !slices.Equal(got, wantFiles) {
				t.Errorf("files:\n%s\nrpm lists:\n%s", strings.Join(got, "\n"), strings.Join(wantFiles, "\n"))
			}
			// The manifests of the same packages, as rpm's queries wrote
			// them, line for line (in rpm's order, which is the database's).
			var m2, m1 []string
			for _, h := range db.Headers {
				m2 = append(m2, ManifestLine(h))
				m1 = append(m1, ManifestNEVRA(h))
			}
			for name, got := range map[string][]string{"container-manifest-2": m2, "container-manifest-1": m1} {
				want := readLines(t, filepath.Join(data, "manifest/var/lib/rpmmanifest", name))
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s:\n%s\nrpm wrote:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
	t.Run("manifest", func(t *testing.T) {
		root, err := os.OpenRoot(filepath.Join(data, "manifest"))
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		db, err := Read(context.Background(), OSFS(root))
		if err != nil {
			t.Fatal(err)
		}
		if db.Backend != BackendManifest || db.Path() != "/var/lib/rpmmanifest/container-manifest-2" {
			t.Errorf("Read found %s (%s)", db.Path(), db.Backend)
		}
		// The manifest has no FILEDIGESTALGO and prints a missing epoch as 0.
		var want, got []string
		for _, l := range wantPkgs {
			f := strings.Fields(l)
			if f[1] == rpmNone {
				f[1] = "0"
			}
			want = append(want, strings.Join(f[:6], " "))
		}
		for _, h := range db.Headers {
			if len(h.Files) != 0 || h.HasEpoch != (h.Epoch != 0) {
				t.Errorf("%s: files or epoch from a manifest: %+v", h.Name, h)
			}
			got = append(got, strings.Join([]string{h.Name, strconv.Itoa(h.Epoch), h.Version, h.Release, orNone(h.Arch), orNone(h.SourceRPM)}, " "))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("manifest:\n%s\nrpm lists:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestReadPrefersNewestFormat: a BDB Packages left behind next to the
// rpmdb.sqlite a conversion wrote is not the database.
func TestReadPrefersNewestFormat(t *testing.T) {
	data := harnessData(t)
	file := func(p string) string {
		dt, err := os.ReadFile(filepath.Join(data, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(dt)
	}
	fsys := distrostest.MapFS{
		"/var/lib/rpm/Packages":                     file("bdb/var/lib/rpm/Packages"),
		"/var/lib/rpm/rpmdb.sqlite":                 file("sqlite/usr/lib/sysimage/rpm/rpmdb.sqlite"),
		"/var/lib/rpmmanifest/container-manifest-2": file("manifest/var/lib/rpmmanifest/container-manifest-2"),
	}
	db, err := Read(context.Background(), fsys)
	if err != nil || db.Backend != BackendSQLite || db.Path() != "/var/lib/rpm/rpmdb.sqlite" {
		t.Fatalf("Read: %+v, %v; want the sqlite database", db, err)
	}
	delete(fsys, "/var/lib/rpm/rpmdb.sqlite")
	fsys["/usr/lib/sysimage/rpm/Packages.db"] = file("ndb/var/lib/rpm/Packages.db")
	if db, err := Read(context.Background(), fsys); err != nil || db.Backend != BackendNDB {
		t.Fatalf("Read: %+v, %v; want the ndb database", db, err)
	}
}

// TestHarnessCorrupted damages the harness databases byte by byte and cut
// by cut: every backend must return an error or headers, never panic.
func TestHarnessCorrupted(t *testing.T) {
	data := harnessData(t)
	for _, tt := range []struct {
		file string
		read func([]byte) ([]Header, error)
	}{
		{"ndb/var/lib/rpm/Packages.db", ReadNDB},
		{"bdb/var/lib/rpm/Packages", ReadBDB},
		{"bdb-inline/var/lib/rpm/Packages", ReadBDB},
		{"sqlite/usr/lib/sysimage/rpm/rpmdb.sqlite", ReadSQLite},
	} {
		t.Run(tt.file, func(t *testing.T) {
			dt, err := os.ReadFile(filepath.Join(data, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			step := max(1, len(dt)/3000)
			if tt.file == "sqlite/usr/lib/sysimage/rpm/rpmdb.sqlite" {
				step = max(1, len(dt)/300) // each read loads a database
			}
			for i := 0; i < len(dt); i += step {
				_, _ = tt.read(dt[:i])
				c := slices.Clone(dt)
				c[i] ^= 0xff
				_, _ = tt.read(c)
			}
		})
	}
}

// fuzzSeeds adds the harness's database file, when there is one.
func fuzzSeeds(f *testing.F, file string) {
	if d := os.Getenv("COPA_TEST_DATA"); d != "" {
		if dt, err := os.ReadFile(filepath.Join(d, "rpmdb", file)); err == nil {
			f.Add(dt)
		}
	}
	f.Add([]byte("RpmP"))
}

func FuzzReadBDB(f *testing.F) {
	fuzzSeeds(f, "bdb/var/lib/rpm/Packages")
	fuzzSeeds(f, "bdb-inline/var/lib/rpm/Packages")
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = ReadBDB(data) })
}

func FuzzReadNDB(f *testing.F) {
	fuzzSeeds(f, "ndb/var/lib/rpm/Packages.db")
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = ReadNDB(data) })
}
