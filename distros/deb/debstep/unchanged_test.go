package debstep

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKeepUnchanged(t *testing.T) {
	base, target := t.TempDir(), t.TempDir()
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	fresh := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	write := func(root, p, content string, mode os.FileMode, mtime time.Time) {
		t.Helper()
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	status := func(v string) string {
		return "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nVersion: " + v + "\n\n" +
			"Package: nosums\nStatus: install ok installed\nArchitecture: all\nVersion: " + v + "\n\n" +
			"Package: other\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0\n"
	}
	write(base, "var/lib/dpkg/status", status("1.0-1"), 0o644, old)
	write(target, "var/lib/dpkg/status", status("1.0-2"), 0o644, fresh)
	// Multi-Arch: same packages keep their lists under name:arch.
	write(base, "var/lib/dpkg/info/libfoo1:amd64.md5sums",
		"11111111111111111111111111111111  usr/lib/libfoo.so.1\n"+
			"22222222222222222222222222222222  usr/share/doc/libfoo1/README\n"+
			"33333333333333333333333333333333  usr/share/doc/libfoo1/gone\n"+
			"44444444444444444444444444444444  ../../escape\n", 0o644, old)
	write(target, "var/lib/dpkg/info/libfoo1:amd64.md5sums",
		"99999999999999999999999999999999  usr/lib/libfoo.so.1\n"+
			"22222222222222222222222222222222  usr/share/doc/libfoo1/README\n"+
			"44444444444444444444444444444444  ../../escape\n", 0o644, fresh)
	write(base, "usr/lib/libfoo.so.1", "old code", 0o644, old)
	write(target, "usr/lib/libfoo.so.1", "new code", 0o755, fresh)
	write(base, "usr/share/doc/libfoo1/README", "same text", 0o644, old)
	write(target, "usr/share/doc/libfoo1/README", "same text", 0o600, fresh)
	// A control file whose content did not change is kept too.
	write(base, "var/lib/dpkg/info/libfoo1:amd64.list", "/usr/lib/libfoo.so.1\n", 0o644, old)
	write(target, "var/lib/dpkg/info/libfoo1:amd64.list", "/usr/lib/libfoo.so.1\n", 0o644, fresh)
	// Without md5sums the content decides: same-size files, one equal.
	write(target, "var/lib/dpkg/info/nosums.list", "/usr/share/nosums/a\n/usr/share/nosums/b\n/../../x\n", 0o644, fresh)
	write(base, "usr/share/nosums/a", "aaaa", 0o644, old)
	write(target, "usr/share/nosums/a", "aaaa", 0o644, fresh)
	write(base, "usr/share/nosums/b", "bbbb", 0o644, old)
	write(target, "usr/share/nosums/b", "BBBB", 0o644, fresh)
	// An untouched package is never looked at.
	write(base, "usr/share/other", "x", 0o644, old)
	write(target, "usr/share/other", "x", 0o600, fresh)

	k := keepUnchanged(t, base, target)
	want := Kept{Packages: 2, Files: 3, Bytes: int64(len("same text") + len("/usr/lib/libfoo.so.1\n") + len("aaaa"))}
	if k != want {
		t.Errorf("Kept = %+v", k)
	}
	check := func(p string, mode os.FileMode, mtime time.Time) {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(target, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode || !fi.ModTime().Equal(mtime) {
			t.Errorf("%s: mode %v mtime %v, want %v %v", p, fi.Mode().Perm(), fi.ModTime(), mode, mtime)
		}
	}
	check("usr/share/doc/libfoo1/README", 0o644, old) // unchanged content: original metadata
	check("usr/lib/libfoo.so.1", 0o755, fresh)        // changed content: left alone
	check("usr/share/other", 0o600, fresh)            // not an upgraded package: left alone
	check("var/lib/dpkg/info/libfoo1:amd64.list", 0o644, old)
	check("usr/share/nosums/a", 0o644, old)   // equal content
	check("usr/share/nosums/b", 0o644, fresh) // same size, other content
}

// Every architecture of a multi-arch package counts, each with its own
// info files.
func TestKeepUnchangedMultiArch(t *testing.T) {
	base, target := t.TempDir(), t.TempDir()
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	fresh := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	status := func(v string) string {
		return "Package: libbar1\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: " + v + "\n\n" +
			"Package: libbar1\nStatus: install ok installed\nArchitecture: i386\nMulti-Arch: same\nVersion: " + v + "\n"
	}
	files := map[string][2]string{ // path: base, target content
		"var/lib/dpkg/status": {status("1-1"), status("1-2")},
		"var/lib/dpkg/info/libbar1:amd64.md5sums": {"11111111111111111111111111111111  usr/lib/x86_64-linux-gnu/libbar.so.1\n",
			"11111111111111111111111111111111  usr/lib/x86_64-linux-gnu/libbar.so.1\n"},
		"var/lib/dpkg/info/libbar1:i386.md5sums": {"22222222222222222222222222222222  usr/lib/i386-linux-gnu/libbar.so.1\n",
			"22222222222222222222222222222222  usr/lib/i386-linux-gnu/libbar.so.1\n"},
		"usr/lib/x86_64-linux-gnu/libbar.so.1": {"amd64", "amd64"},
		"usr/lib/i386-linux-gnu/libbar.so.1":   {"i386", "i386"},
	}
	for p, c := range files {
		for i, root := range []string{base, target} {
			full := filepath.Join(root, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(c[i]), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(full, old, []time.Time{old, fresh}[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	k := keepUnchanged(t, base, target)
	// Both libraries, and both md5sums (equal content), once each.
	if want := (Kept{Packages: 2, Files: 4, Bytes: int64(len("amd64") + len("i386") + len(files["var/lib/dpkg/info/libbar1:amd64.md5sums"][0]) + len(files["var/lib/dpkg/info/libbar1:i386.md5sums"][0]))}); k != want {
		t.Errorf("Kept = %+v, want %+v", k, want)
	}
	for _, p := range []string{"usr/lib/x86_64-linux-gnu/libbar.so.1", "usr/lib/i386-linux-gnu/libbar.so.1"} {
		if fi, err := os.Lstat(filepath.Join(target, p)); err != nil || !fi.ModTime().Equal(old) {
			t.Errorf("%s: %v %v, want the base mtime", p, fi.ModTime(), err)
		}
	}
}

// keepUnchanged runs KeepUnchanged on two directories.
func keepUnchanged(t *testing.T, base, target string) Kept {
	t.Helper()
	br, err := os.OpenRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := os.OpenRoot(target)
	if err != nil {
		t.Fatal(err)
	}
	k, err := KeepUnchanged(br, tr)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
