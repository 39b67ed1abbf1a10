package debstep

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	oldTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	newTime = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
)

// ent is a file to create in a test tree.
type ent struct {
	path     string
	content  string
	link     string // a symlink when set
	dir      bool
	mode     os.FileMode // 0644 or 0755 when 0
	uid, gid int
	mtime    time.Time // oldTime when zero
}

func file(p, content string) ent       { return ent{path: p, content: content} }
func dir(p string) ent                 { return ent{path: p, dir: true} }
func symlink(p, link string) ent       { return ent{path: p, link: link} }
func (e ent) at(t time.Time) ent       { e.mtime = t; return e }
func (e ent) perm(m os.FileMode) ent   { e.mode = m; return e }
func (e ent) owned(uid, gid int) ent   { e.uid, e.gid = uid, gid; return e }
func md5hex(s string) string           { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func md5line(p, content string) string { return md5hex(content) + "  " + p + "\n" }

func build(t *testing.T, root string, ents ...ent) {
	t.Helper()
	// Directories' times are set last: filling them changes them.
	var dirs []ent
	defer func() {
		for _, e := range slices.Backward(dirs) {
			if err := os.Chtimes(filepath.Join(root, e.path), e.mtime, e.mtime); err != nil {
				t.Fatal(err)
			}
		}
	}()
	for _, e := range ents {
		full := filepath.Join(root, e.path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mtime := e.mtime
		if mtime.IsZero() {
			mtime = oldTime
		}
		switch {
		case e.link != "":
			if err := os.Symlink(e.link, full); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(full, e.uid, e.gid); err != nil {
				t.Fatal(err)
			}
			r, err := os.OpenRoot(filepath.Dir(full))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := lutimes(r, ".", filepath.Base(full), mtime); err != nil {
				t.Fatal(err)
			}
			continue
		case e.dir:
			dirs = append(dirs, ent{path: e.path, mtime: mtime})
			if e.mode == 0 {
				e.mode = 0o755
			}
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			if e.mode == 0 {
				e.mode = 0o644
			}
			if err := os.WriteFile(full, []byte(e.content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Lchown(full, e.uid, e.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, e.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// stage unpacks a package as dpkg-deb -R would.
func stage(t *testing.T, staging, name, control string, debian map[string]string, ents ...ent) {
	t.Helper()
	d := filepath.Join(staging, name)
	build(t, d, file("DEBIAN/control", control))
	for n, c := range debian {
		mode := os.FileMode(0o644)
		if slices.Contains(maintainerScripts, n) {
			mode = 0o755
		}
		build(t, d, file("DEBIAN/"+n, c).perm(mode))
	}
	build(t, d, ents...)
}

func install(t *testing.T, staging, target string) (*Installed, error) {
	t.Helper()
	sr, err := os.OpenRoot(staging)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	tr, err := os.OpenRoot(target)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	return Install(sr, tr)
}

func read(t *testing.T, p string) string {
	t.Helper()
	dt, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}

func lstat(t *testing.T, p string) (os.FileInfo, *syscall.Stat_t) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi, fi.Sys().(*syscall.Stat_t)
}

// checkFile asserts a regular file's content and metadata.
func checkFile(t *testing.T, p, content string, mode os.FileMode, uid, gid int, mtime time.Time) {
	t.Helper()
	if got := read(t, p); got != content {
		t.Errorf("%s: content %q, want %q", p, got, content)
	}
	fi, st := lstat(t, p)
	if !fi.Mode().IsRegular() || fi.Mode()&modeBits != mode || int(st.Uid) != uid || int(st.Gid) != gid || !fi.ModTime().Equal(mtime) {
		t.Errorf("%s: %v %d:%d %v, want %v %d:%d %v", p, fi.Mode(), st.Uid, st.Gid, fi.ModTime(), mode, uid, gid, mtime)
	}
}

func checkLink(t *testing.T, p, link string) {
	t.Helper()
	got, err := os.Readlink(p)
	if err != nil || got != link {
		t.Errorf("%s: link %q (%v), want %q", p, got, err, link)
	}
}

const libcControl = `Package: libc6
Source: glibc
Version: 2.36-9+deb12u13
Architecture: amd64
Multi-Arch: same
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: GNU C Library: Shared libraries
 Contains the standard libraries.
 .
 More text.
`

// A distroless image: status.d, merged /usr with relative and absolute
// symlinks, files that are already right.
func TestInstallStatusD(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	build(t, target,
		symlink("lib", "usr/lib"),
		symlink("lib64", "/usr/lib64"),
		dir("usr/lib/x86_64-linux-gnu"),
		dir("usr/lib64"),
		file("usr/lib/x86_64-linux-gnu/libc.so.6", "old libc").perm(0o755),
		file("usr/lib/x86_64-linux-gnu/libm.so.6", "libm").perm(0o755),
		symlink("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-2.36.so"),
		symlink("usr/lib/x86_64-linux-gnu/libpthread.so.0", "libc.so.6"),
		file("usr/share/doc/libc6/copyright", "(c)"),
		file("etc/ld.so.conf.d/libc.conf", "# edited"),
		file("var/lib/dpkg/status.d/libc6", strings.Replace(libcControl, "deb12u13", "deb12u4", 1)),
		file("var/lib/dpkg/status.d/libc6.md5sums", "old sums\n"),
		file("var/lib/dpkg/status.d/base", "Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n\n"+
			"Package: netbase\nStatus: install ok installed\nVersion: 6.4\nArchitecture: all\nDescription: x\n\n\n"),
		file("var/lib/dpkg/status.d/base.md5sums", md5line("usr/share/zoneinfo/UTC", "utc")+md5line("etc/protocols", "p")),
	)
	stage(t, staging, "libc6", libcControl, map[string]string{
		"md5sums":   md5line("lib/x86_64-linux-gnu/libc.so.6", "new libc"),
		"conffiles": "/etc/ld.so.conf.d/libc.conf\n",
		"postinst":  "#!/bin/sh\n",
		"shlibs":    "libc 6 libc6\n",
	},
		dir("lib"), dir("lib/x86_64-linux-gnu"), dir("lib64"),
		file("lib/x86_64-linux-gnu/libc.so.6", "new libc").perm(0o755).at(newTime),
		file("lib/x86_64-linux-gnu/libm.so.6", "libm").perm(0o755).at(newTime),
		symlink("lib/x86_64-linux-gnu/libpthread.so.0", "libc.so.6"),
		symlink("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		dir("usr/share/doc/libc6/examples").at(newTime),
		file("usr/share/doc/libc6/examples/hello.c", "main(){}").at(newTime),
		file("usr/share/doc/libc6/copyright", "(c)").at(newTime),
		file("etc/ld.so.conf.d/libc.conf", "# default").at(newTime),
	)
	stage(t, staging, "netbase", "Package: netbase\nVersion: 6.5\nArchitecture: all\nDescription: y\n", map[string]string{
		"md5sums": md5line("etc/protocols", "p2"),
	}, file("etc/protocols", "p2").at(newTime))

	libm, libmSt := lstat(t, filepath.Join(target, "usr/lib/x86_64-linux-gnu/libm.so.6"))
	_, pthreadSt := lstat(t, filepath.Join(target, "usr/lib/x86_64-linux-gnu/libpthread.so.0"))
	res, err := install(t, staging, target)
	if err != nil {
		t.Fatal(err)
	}

	want := &Installed{
		Layout:        "status.d",
		Packages:      []string{"libc6=2.36-9+deb12u13", "netbase=6.5"},
		Written:       3,
		Unchanged:     2,
		Bytes:         int64(len("new libc") + len("main(){}") + len("p2")),
		KeptConffiles: []string{"/etc/ld.so.conf.d/libc.conf"},
		Scripts:       map[string][]string{"libc6": {"postinst"}},
	}
	got := *res
	got.Details = nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("Installed = %+v, want %+v", got, want)
	}
	if d := res.Details[0]; d.OldVersion != "2.36-9+deb12u4" || d.Version != "2.36-9+deb12u13" || d.Written != 2 || d.Unchanged != 2 {
		t.Errorf("Details[0] = %+v", d)
	}

	// Through lib -> usr/lib: the symlink stays, the file behind it changes.
	checkLink(t, filepath.Join(target, "lib"), "usr/lib")
	checkLink(t, filepath.Join(target, "lib64"), "/usr/lib64")
	checkFile(t, filepath.Join(target, "usr/lib/x86_64-linux-gnu/libc.so.6"), "new libc", 0o755, 0, 0, newTime)
	// Identical content and metadata: not touched, whatever its mtime.
	fi, st := lstat(t, filepath.Join(target, "usr/lib/x86_64-linux-gnu/libm.so.6"))
	if st.Ino != libmSt.Ino || !fi.ModTime().Equal(libm.ModTime()) {
		t.Errorf("libm.so.6 was rewritten")
	}
	if _, st := lstat(t, filepath.Join(target, "usr/lib/x86_64-linux-gnu/libpthread.so.0")); st.Ino != pthreadSt.Ino {
		t.Errorf("identical symlink was replaced")
	}
	// Through the absolute lib64 -> /usr/lib64.
	link := filepath.Join(target, "usr/lib64/ld-linux-x86-64.so.2")
	checkLink(t, link, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	if fi, _ := lstat(t, link); !fi.ModTime().Equal(oldTime) {
		t.Errorf("replaced symlink has mtime %v, want the staged %v", fi.ModTime(), oldTime)
	}
	if _, err := os.Lstat(filepath.Join(target, "usr/lib64/lib64")); err == nil {
		t.Errorf("lib64 was created inside /usr/lib64")
	}
	// A new directory gets the staged mtime although files were put in it.
	if fi, _ := lstat(t, filepath.Join(target, "usr/share/doc/libc6/examples")); !fi.IsDir() || !fi.ModTime().Equal(newTime) {
		t.Errorf("examples/: %v %v", fi.Mode(), fi.ModTime())
	}
	// status.d has no recorded md5: the conffile is kept.
	checkFile(t, filepath.Join(target, "etc/ld.so.conf.d/libc.conf"), "# edited", 0o644, 0, 0, oldTime)

	// One stanza in the file: it becomes the control file, still without
	// Status. Its md5sums are the package's.
	if got := read(t, filepath.Join(target, "var/lib/dpkg/status.d/libc6")); got != libcControl {
		t.Errorf("status.d/libc6 =\n%s", got)
	}
	if got := read(t, filepath.Join(target, "var/lib/dpkg/status.d/libc6.md5sums")); got != md5line("lib/x86_64-linux-gnu/libc.so.6", "new libc") {
		t.Errorf("status.d/libc6.md5sums = %q", got)
	}
	// Several stanzas: only netbase's changes, keeping its Status; the
	// md5sums keep tzdata's lines.
	wantBase := "Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n\n" +
		"Package: netbase\nStatus: install ok installed\nVersion: 6.5\nArchitecture: all\nDescription: y\n\n\n"
	if got := read(t, filepath.Join(target, "var/lib/dpkg/status.d/base")); got != wantBase {
		t.Errorf("status.d/base =\n%q\nwant\n%q", got, wantBase)
	}
	if got, want := read(t, filepath.Join(target, "var/lib/dpkg/status.d/base.md5sums")), md5line("usr/share/zoneinfo/UTC", "utc")+md5line("etc/protocols", "p2"); got != want {
		t.Errorf("status.d/base.md5sums = %q, want %q", got, want)
	}
	// No info directory appears in a status.d image.
	if _, err := os.Lstat(filepath.Join(target, "var/lib/dpkg/info")); err == nil {
		t.Errorf("var/lib/dpkg/info was created")
	}
}

// A status.d package whose new version has no md5sums loses its old ones.
func TestInstallStatusDRemovesMD5Sums(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	build(t, target,
		file("var/lib/dpkg/status.d/foo", "Package: foo\nVersion: 1\nArchitecture: all\n"),
		file("var/lib/dpkg/status.d/foo.md5sums", "x\n"),
		file("var/lib/dpkg/status.d/bar", "Package: bar\nVersion: 1\nArchitecture: all\n"),
	)
	stage(t, staging, "foo", "Package: foo\nVersion: 2\nArchitecture: all\n", nil)
	if _, err := install(t, staging, target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(target, "var/lib/dpkg/status.d/foo.md5sums")); err == nil {
		t.Errorf("foo.md5sums is still there")
	}
	if _, err := os.Lstat(filepath.Join(target, "var/lib/dpkg/status.d/bar.md5sums")); err == nil {
		t.Errorf("bar.md5sums was created")
	}
}

const fooControl = `Package: libfoo1
Version: 1.2-1
Architecture: amd64
Multi-Arch: same
Depends: libc6
Description: foo library
 Long text.
`

// A full dpkg database: the status file and info/.
func TestInstallStatus(t *testing.T) {
	staging, target := t.TempDir(), t.TempDir()
	other := "Package: aaa\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nDescription: a\n a\n\n"
	old := "Package: libfoo1\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1.1-1\n" +
		"Conffiles:\n /etc/foo/a.conf " + md5hex("a default") + "\n /etc/foo/b.conf " + md5hex("b default") + "\n /etc/foo/gone.conf " + md5hex("gone") + "\n" +
		"Description: foo library\n Long text.\n"
	last := "\nPackage: zzz\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n"
	info := "var/lib/dpkg/info/libfoo1:amd64."
	build(t, target,
		file("var/lib/dpkg/status", other+old+last).perm(0o640).owned(0, 42),
		file("var/lib/dpkg/status-old", "untouched"),
		file(info+"list", "/.\n/usr\n"),
		file(info+"md5sums", "old\n"),
		file(info+"postinst", "#!/bin/sh\n").perm(0o755),
		file(info+"prerm", "#!/bin/sh\n").perm(0o755),
		file(info+"conffiles", "/etc/foo/a.conf\n"),
		file("var/lib/dpkg/info/libfoo1.list", "another package's"),
		file("etc/foo/a.conf", "a default"),
		file("etc/foo/b.conf", "b edited"),
		file("usr/bin/foo", "old foo").perm(0o755),
		file("usr/lib/libfoo.so.1.2", "same").owned(0, 0),
		symlink("usr/lib/libfoo.so.1", "libfoo.so.1.1"),
	)
	postinstInfo, _ := lstat(t, filepath.Join(target, info+"postinst"))
	stage(t, staging, "libfoo1", fooControl, map[string]string{
		"md5sums":   md5line("usr/bin/foo", "new foo"),
		"conffiles": "/etc/foo/a.conf\n/etc/foo/b.conf\nremove-on-upgrade /etc/foo/old.conf\n",
		"postinst":  "#!/bin/sh\n",
		"triggers":  "activate-noawait ldconfig\n",
	},
		dir("etc"), dir("etc/foo"), dir("usr"), dir("usr/bin"), dir("usr/lib"),
		file("etc/foo/a.conf", "a new").at(newTime),
		file("etc/foo/b.conf", "b new").at(newTime),
		file("usr/bin/foo", "new foo").perm(os.ModeSetuid|0o755).owned(0, 50).at(newTime),
		file("usr/lib/libfoo.so.1.2", "same").at(newTime),
		symlink("usr/lib/libfoo.so.1", "libfoo.so.1.2"),
	)
	res, err := install(t, staging, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Layout != "status" || res.Written != 2 || res.Unchanged != 1 ||
		!reflect.DeepEqual(res.KeptConffiles, []string{"/etc/foo/b.conf"}) ||
		!reflect.DeepEqual(res.Scripts, map[string][]string{"libfoo1": {"postinst"}}) {
		t.Errorf("Installed = %+v", res)
	}

	// Unmodified conffile replaced, modified one kept.
	checkFile(t, filepath.Join(target, "etc/foo/a.conf"), "a new", 0o644, 0, 0, newTime)
	checkFile(t, filepath.Join(target, "etc/foo/b.conf"), "b edited", 0o644, 0, 0, oldTime)
	// setuid survives the chown.
	checkFile(t, filepath.Join(target, "usr/bin/foo"), "new foo", os.ModeSetuid|0o755, 0, 50, newTime)
	checkLink(t, filepath.Join(target, "usr/lib/libfoo.so.1"), "libfoo.so.1.2")

	wantStanza := "Package: libfoo1\nStatus: install ok installed\nVersion: 1.2-1\nArchitecture: amd64\nMulti-Arch: same\nDepends: libc6\n" +
		"Conffiles:\n /etc/foo/a.conf " + md5hex("a new") + "\n /etc/foo/b.conf " + md5hex("b new") +
		"\n /etc/foo/gone.conf " + md5hex("gone") + " obsolete\n" +
		"Description: foo library\n Long text.\n"
	status := filepath.Join(target, "var/lib/dpkg/status")
	if got := read(t, status); got != other+wantStanza+last {
		t.Errorf("status =\n%s\nwant\n%s", got, other+wantStanza+last)
	}
	if fi, st := lstat(t, status); fi.Mode().Perm() != 0o640 || st.Gid != 42 {
		t.Errorf("status lost its metadata: %v gid %d", fi.Mode(), st.Gid)
	}
	if got := read(t, filepath.Join(target, "var/lib/dpkg/status-old")); got != "untouched" {
		t.Errorf("status-old = %q", got)
	}

	wantInfo := map[string]string{
		"list":      "/.\n/etc\n/etc/foo\n/etc/foo/a.conf\n/etc/foo/b.conf\n/usr\n/usr/bin\n/usr/bin/foo\n/usr/lib\n/usr/lib/libfoo.so.1\n/usr/lib/libfoo.so.1.2\n",
		"md5sums":   md5line("usr/bin/foo", "new foo"),
		"conffiles": "/etc/foo/a.conf\n/etc/foo/b.conf\nremove-on-upgrade /etc/foo/old.conf\n",
		"postinst":  "#!/bin/sh\n",
		"triggers":  "activate-noawait ldconfig\n",
	}
	for ext, want := range wantInfo {
		if got := read(t, filepath.Join(target, info+ext)); got != want {
			t.Errorf("%s%s = %q, want %q", info, ext, got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(target, info+"prerm")); err == nil {
		t.Errorf("the old version's prerm is still there")
	}
	if got := read(t, filepath.Join(target, "var/lib/dpkg/info/libfoo1.list")); got != "another package's" {
		t.Errorf("libfoo1.list = %q", got)
	}
	if fi, st := lstat(t, filepath.Join(target, info+"postinst")); st.Ino != postinstInfo.Sys().(*syscall.Stat_t).Ino || !fi.ModTime().Equal(oldTime) {
		t.Errorf("identical postinst was rewritten")
	}
}

// The install step reads and writes the database the frontend read
// (ChooseLayout): a non-empty status wins over status.d, status.d counts
// when status is missing or blank.
func TestInstallLayoutRule(t *testing.T) {
	const stanza = "Package: foo\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"
	const stale = "Package: foo\nVersion: 0.9\nArchitecture: all\n"
	tests := []struct {
		name   string
		tree   []ent
		layout string
		err    string
	}{
		{name: "status and status.d", layout: "status", tree: []ent{
			file("var/lib/dpkg/status", stanza), file("var/lib/dpkg/status.d/foo", stale),
		}},
		{name: "blank status and status.d", layout: "status.d", tree: []ent{
			file("var/lib/dpkg/status", "\n \n"), file("var/lib/dpkg/status.d/foo", stale),
		}},
		{name: "status.d only", layout: "status.d", tree: []ent{file("var/lib/dpkg/status.d/foo", stale)}},
		{name: "empty status, status.d without database files", err: "the target has no dpkg database", tree: []ent{
			file("var/lib/dpkg/status", ""), file("var/lib/dpkg/status.d/foo.md5sums", ""), dir("var/lib/dpkg/status.d/sub"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			staging, target := t.TempDir(), t.TempDir()
			build(t, target, tt.tree...)
			stage(t, staging, "foo", "Package: foo\nVersion: 2\nArchitecture: all\n", nil)
			res, err := install(t, staging, target)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Layout != tt.layout || !slices.Equal(res.Packages, []string{"foo=2"}) {
				t.Errorf("Installed = %+v, want layout %s", res, tt.layout)
			}
			// The chosen file has the new version; the other is left alone.
			status, statusD := filepath.Join(target, "var/lib/dpkg/status"), filepath.Join(target, "var/lib/dpkg/status.d/foo")
			chosen, other := status, statusD
			if tt.layout == "status.d" {
				chosen, other = statusD, status
			}
			if got := read(t, chosen); !strings.Contains(got, "Version: 2\n") {
				t.Errorf("%s =\n%s", chosen, got)
			}
			for _, e := range tt.tree {
				if filepath.Join(target, e.path) == other {
					if got := read(t, other); got != e.content {
						t.Errorf("%s changed: %q", other, got)
					}
				}
			}
		})
	}
}
