package debstep

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A file whose content is right but whose owner or mode is not is
// rewritten; a symlink where a file belongs is replaced.
func TestInstallMetadata(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	build(t, target,
		file("var/lib/dpkg/status", "Package: foo\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"),
		file("usr/share/foo/owner", "x"),
		file("usr/share/foo/mode", "y").perm(0o600),
		symlink("usr/share/foo/was-link", "/etc/passwd"),
	)
	stage(t, staging, "foo", "Package: foo\nVersion: 2\nArchitecture: all\n", nil,
		file("usr/share/foo/owner", "x").owned(1000, 1000).at(newTime),
		file("usr/share/foo/mode", "y").perm(0o640).at(newTime),
		file("usr/share/foo/was-link", "z").at(newTime),
	)
	res, err := install(t, staging, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 3 || res.Unchanged != 0 || res.Bytes != 3 {
		t.Errorf("Installed = %+v", res)
	}
	checkFile(t, filepath.Join(target, "usr/share/foo/owner"), "x", 0o644, 1000, 1000, newTime)
	checkFile(t, filepath.Join(target, "usr/share/foo/mode"), "y", 0o640, 0, 0, newTime)
	checkFile(t, filepath.Join(target, "usr/share/foo/was-link"), "z", 0o644, 0, 0, newTime)
	// The info directory is made for the .list, as dpkg has it.
	if got := read(t, filepath.Join(target, "var/lib/dpkg/info/foo.list")); !strings.HasPrefix(got, "/.\n/usr\n") {
		t.Errorf("foo.list = %q", got)
	}
}

// Symlinks in the image never lead out of it: etc -> / is the image's
// root, and .. at the root stays there.
func TestInstallStaysInside(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	build(t, target,
		file("var/lib/dpkg/status", "Package: foo\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"),
		symlink("etc", "/"),
		symlink("opt", "../../../.."),
	)
	stage(t, staging, "foo", "Package: foo\nVersion: 2\nArchitecture: all\n", nil,
		dir("etc"), dir("opt"),
		file("etc/copa-escape-test", "a"),
		file("opt/copa-escape-test2", "b"),
	)
	if _, err := install(t, staging, target); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(target, "copa-escape-test"), "a", 0o644, 0, 0, oldTime)
	checkFile(t, filepath.Join(target, "copa-escape-test2"), "b", 0o644, 0, 0, oldTime)
	for _, p := range []string{"/copa-escape-test", "/copa-escape-test2", filepath.Dir(target) + "/copa-escape-test2"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written outside the image", p)
		}
	}
}

func TestResolve(t *testing.T) {
	target := t.TempDir()
	build(t, target,
		dir("usr/lib"),
		symlink("lib", "usr/lib"),
		symlink("lib64", "/usr/lib64"),
		symlink("etc", "/"),
		symlink("up", "../../.."),
		symlink("usr/lib/abs", "/lib"),
		symlink("loop", "loop"),
		file("file", ""),
	)
	r, err := os.OpenRoot(target)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		in         string
		followLast bool
		want       string
		err        bool
	}{
		{"lib/x.so", false, "usr/lib/x.so", false},
		{"lib", false, "lib", false},
		{"lib", true, "usr/lib", false},
		{"lib64/ld.so", false, "usr/lib64/ld.so", false},
		{"etc/passwd", false, "passwd", false},
		{"etc", true, ".", false},
		{"up/x", false, "x", false},
		{"usr/lib/abs/abs/x", false, "usr/lib/x", false},
		{"missing/dir/x", false, "missing/dir/x", false},
		{"loop/x", false, "", true},
		{"file/x/y", false, "", true},
	} {
		got, err := resolve(r, tc.in, tc.followLast)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("resolve(%q, %v) = %q, %v; want %q", tc.in, tc.followLast, got, err, tc.want)
		}
	}
}

func TestInstallErrors(t *testing.T) {
	status := "Package: foo\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\nArchitecture: amd64\n"
	for _, tc := range []struct {
		name    string
		db      []ent
		control string
		files   []ent
		want    string
		debian  map[string]string
	}{
		{"no database", nil, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n", nil, "no dpkg database", nil},
		{"not installed", nil, "Package: bar\nVersion: 1.1\nArchitecture: amd64\n", nil, "bar is not installed", nil},
		{"only config files", nil, "Package: gone\nVersion: 1.1\nArchitecture: amd64\n", nil, "gone is not installed", nil},
		{"arch mismatch", nil, "Package: foo\nVersion: 1.1\nArchitecture: arm64\n", nil, "installed for amd64, the new one is for arm64", nil},
		{"downgrade", nil, "Package: foo\nVersion: 0.9\nArchitecture: amd64\n", nil, "would downgrade", nil},
		{"bad name", nil, "Package: Foo\nVersion: 1.1\nArchitecture: amd64\n", nil, "not a Debian package name", nil},
		{"bad version", nil, "Package: foo\nVersion: 1.1 evil\nArchitecture: amd64\n", nil, "not a Debian version", nil},
		{"two stanzas", nil, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n\nPackage: x\n", nil, "2 stanzas", nil},
		{"dir over file", []ent{file("usr/share/x", "")}, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n",
			[]ent{dir("usr/share/x")}, "/usr/share/x exists in the image and is not a directory", nil},
		{"file over dir", []ent{dir("usr/share/x")}, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n",
			[]ent{file("usr/share/x", "")}, "/usr/share/x exists in the image as a directory", nil},
		{"blank in conffile", nil, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n",
			[]ent{file("etc/a b", "")}, "has a blank", map[string]string{"conffiles": "/etc/a b\n"}},
		{"relative conffile", nil, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n",
			nil, "not an absolute path", map[string]string{"conffiles": "etc/x\n"}},
		{"dependency too old", nil, "Package: foo\nVersion: 1.1\nArchitecture: amd64\nDepends: gone (>= 5), foo-data | foo-extra\nPre-Depends: foo (>= 2)\n",
			nil, "packages the image has, which a patch without apt cannot pull in: foo needs foo (>= 2), the image has foo 1.1; a patch", nil},
		{"conffile not shipped", nil, "Package: foo\nVersion: 1.1\nArchitecture: amd64\n",
			nil, "conffile /etc/x is not a regular file", map[string]string{"conffiles": "/etc/x\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			staging, target := t.TempDir(), t.TempDir()
			if tc.name != "no database" {
				build(t, target, file("var/lib/dpkg/status", status))
			}
			build(t, target, tc.db...)
			stage(t, staging, "pkg", tc.control, tc.debian, tc.files...)
			_, err := install(t, staging, target)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.name != "no database" && read(t, filepath.Join(target, "var/lib/dpkg/status")) != status {
				t.Errorf("status changed on error")
			}
		})
	}
}

// A file type no package may ship stops the installation.
func TestInstallRefusesFifo(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	build(t, target, file("var/lib/dpkg/status", "Package: foo\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"))
	stage(t, staging, "foo", "Package: foo\nVersion: 2\nArchitecture: all\n", nil, dir("run"))
	if err := syscall.Mkfifo(filepath.Join(staging, "foo/run/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := install(t, staging, target); err == nil || !strings.Contains(err.Error(), "/run/fifo") {
		t.Fatalf("err = %v", err)
	}
}

// The control file's size is bounded.
func TestInstallBoundsControl(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	build(t, target, file("var/lib/dpkg/status", "Package: foo\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"))
	stage(t, staging, "foo", "Package: foo\nVersion: 2\nArchitecture: all\nDescription: "+strings.Repeat("x", maxControl)+"\n", nil)
	if _, err := install(t, staging, target); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}
