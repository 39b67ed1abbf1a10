package apkstep

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/copa/frontend/distros/apk"
)

func TestRestoreWorld(t *testing.T) {
	tests := []struct {
		name, original, patched string
		installed               map[string]string
		want                    string
	}{
		{"the plan's pins go", "busybox\nalpine-baselayout\n", "alpine-baselayout\nbusybox>=1.37.0-r14\nlibcrypto3>=3.3.3-r0\n",
			map[string]string{"busybox": "1.37.0-r14", "libcrypto3": "3.3.3-r0"}, "busybox\nalpine-baselayout\n"},
		{"an entry the new version satisfies stays", "busybox>=1.36\nzlib~1.3\n", "busybox>=1.37.0-r14\nzlib>=1.3.1-r2\n",
			map[string]string{"busybox": "1.37.0-r14", "zlib": "1.3.1-r2"}, "busybox>=1.36\nzlib~1.3\n"},
		{"a pin of the vulnerable version is replaced", "busybox=1.36.1-r15 musl\n", "busybox>=1.36.1-r19 musl\n",
			map[string]string{"busybox": "1.36.1-r19"}, "busybox>=1.36.1-r19\nmusl\n"},
		{"a tagged pin", "curl@edge<8.0\n", "curl>=8.11.1-r0\n", map[string]string{"curl": "8.11.1-r0"}, "curl>=8.11.1-r0\n"},
		{"nothing upgraded", "a b\n", "a b c\n", nil, "a b\n"},
		{"no trailing newline kept", "busybox", "busybox>=1.37.0-r14\n", map[string]string{"busybox": "1.37.0-r14"}, "busybox"},
	}
	for _, tt := range tests {
		if got := string(RestoreWorld([]byte(tt.original), []byte(tt.patched), tt.installed)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	for e, want := range map[string]bool{"x": true, "x=1.0-r1": true, "x<1.0-r1": false, "x<=1.0-r1": true, "x>1.0": true, "x~1.0": true, "x~1.1": false, "!x": false, "x><Q1abc=": false} {
		if got := admits(e, "1.0-r1"); got != want {
			t.Errorf("admits(%q, 1.0-r1) = %v, want %v", e, got, want)
		}
	}
}

// image writes an apk root: the database of pkgs (name → version →
// files: path → content), the world, and the files themselves.
type pkg struct {
	name, version string
	files         map[string]string
	mode          string // a: of every file, "" for the default
}

func database(pkgs ...pkg) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\n", p.name, p.version)
		dirs := map[string][]string{}
		var order []string
		for f := range p.files {
			d, n := filepath.Dir(f), filepath.Base(f)
			if _, ok := dirs[d]; !ok {
				order = append(order, d)
			}
			dirs[d] = append(dirs[d], n)
		}
		for _, d := range order {
			fmt.Fprintf(&b, "F:%s\n", d)
			for _, n := range dirs[d] {
				fmt.Fprintf(&b, "R:%s\n", n)
				if p.mode != "" {
					fmt.Fprintf(&b, "a:0:0:%s\n", p.mode)
				}
				fmt.Fprintf(&b, "Z:%s\n", apk.Sum(apk.SHA1, []byte(p.files[d+"/"+n])))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeImage(t *testing.T, dir, world string, pkgs ...pkg) {
	t.Helper()
	files := map[string]string{installedPath: database(pkgs...), worldPath: world, "lib/apk/db/triggers": ""}
	for _, p := range pkgs {
		for f, c := range p.files {
			files[f] = c
		}
	}
	for f, c := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestFinish runs the helper's snapshot and finish on a root that an
// "upgrade" changed as apk would: the unchanged file gets its time back,
// the changed one keeps its new one, the world is the image's again, the
// .apk-new is noted, apk's leftovers go.
func TestFinish(t *testing.T) {
	dir := t.TempDir()
	root, snap, notes := filepath.Join(dir, "root"), filepath.Join(dir, "snap"), filepath.Join(dir, "notes")
	for _, d := range []string{snap, notes} {
		os.MkdirAll(d, 0o755)
	}
	old := pkg{"copa-base", "1.0-r0", map[string]string{"usr/share/copa/blob": "same", "usr/bin/copa-tool": "v1", "etc/copa/app.conf": "setting=1\n"}, ""}
	writeImage(t, root, "copa-base\n", old)
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	filepathWalkChtimes(t, root, past)
	if err := runSnapshot([]string{root, snap}); err != nil {
		t.Fatal(err)
	}

	// What apk does: new files, a new database and world, a kept config.
	upgraded := pkg{"copa-base", "1.0-r1", map[string]string{"usr/share/copa/blob": "same", "usr/bin/copa-tool": "v2", "etc/copa/app.conf": "setting=1\nnew=2\n"}, ""}
	writeImage(t, root, "copa-base>=1.0-r1\n", upgraded)
	os.WriteFile(filepath.Join(root, "etc/copa/app.conf"), []byte("setting=1\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/copa/app.conf.apk-new"), []byte("setting=1\nnew=2\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "lib/apk/exec"), 0o700)
	os.WriteFile(filepath.Join(root, "lib/apk/db/lock"), nil, 0o600)

	if err := runFinish([]string{snap, root, notes, "all", "keep", "run"}); err != nil {
		t.Fatal(err)
	}
	mtime := func(p string) time.Time {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	if !mtime("usr/share/copa/blob").Equal(past) {
		t.Error("the unchanged file has a new time")
	}
	if mtime("usr/bin/copa-tool").Equal(past) {
		t.Error("the changed file has the original's time")
	}
	if w, _ := os.ReadFile(filepath.Join(root, worldPath)); string(w) != "copa-base\n" || !mtime(worldPath).Equal(past) {
		t.Errorf("world %q, %v", w, mtime(worldPath))
	}
	if !mtime("lib/apk/db/triggers").Equal(past) {
		t.Error("the triggers file, rewritten the same, has a new time")
	}
	for _, p := range []string{"lib/apk/exec", "lib/apk/db/lock"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	for n, want := range map[string]string{"upgrades": "copa-base 1.0-r1\n", "install-notes": "config-kept copa-base /etc/copa/app.conf\n"} {
		if got, _ := os.ReadFile(filepath.Join(notes, n)); string(got) != want {
			t.Errorf("%s note %q, want %q", n, got, want)
		}
	}
}

// TestSnapshotMakesWorld: apk opens no database without a world file;
// the snapshot makes an empty one, and finishing removes it again.
func TestSnapshotMakesWorld(t *testing.T) {
	dir := t.TempDir()
	root, snap := filepath.Join(dir, "root"), filepath.Join(dir, "snap")
	writeImage(t, root, "", pkg{"a", "1.0-r0", map[string]string{"usr/a": "a"}, ""})
	os.Remove(filepath.Join(root, worldPath))
	if err := runSnapshot([]string{root, snap}); err != nil {
		t.Fatal(err)
	}
	if dt, err := os.ReadFile(filepath.Join(root, worldPath)); err != nil || len(dt) != 0 {
		t.Fatalf("world %q, %v", dt, err)
	}
	os.WriteFile(filepath.Join(root, worldPath), []byte("a>=1.0-r1\n"), 0o644)
	b, err := LoadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := GiveBackWorld(b, snap, openRoot(t, root), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, worldPath)); err == nil {
		t.Error("the image had no world, and has one after the patch")
	}
}

func TestKeepUnchangedNeedsSameAttrs(t *testing.T) {
	dir := t.TempDir()
	root, snap := filepath.Join(dir, "root"), filepath.Join(dir, "snap")
	writeImage(t, root, "x\n", pkg{"x", "1.0-r0", map[string]string{"usr/x": "x"}, ""})
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	filepathWalkChtimes(t, root, past)
	if err := runSnapshot([]string{root, snap}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "usr/x"), []byte("x"), 0o755)
	newer := pkg{"x", "1.0-r1", map[string]string{"usr/x": "x"}, "0755"}
	db, err := apk.ParseInstalled([]byte(database(newer)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := KeepUnchanged(b, openRoot(t, root), Diff(b.DB, db))
	if err != nil || k.Files != 0 || k.Packages != 1 {
		t.Errorf("a file whose mode changed was kept: %+v, %v", k, err)
	}
}

func TestDiff(t *testing.T) {
	parse := func(pkgs ...pkg) *apk.Installed {
		db, err := apk.ParseInstalled([]byte(database(pkgs...)))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	before := parse(pkg{"a", "1.0-r0", nil, ""}, pkg{"b", "2.0-r0", nil, ""})
	after := parse(pkg{"a", "1.0-r0", nil, ""}, pkg{"b", "2.0-r1", nil, ""}, pkg{"c", "1.0-r0", nil, ""})
	var got []string
	for _, c := range Diff(before, after) {
		from := "new"
		if c.Old != nil {
			from = c.Old.Version
		}
		got = append(got, c.New.Name+" "+from+" "+c.New.Version)
	}
	if want := []string{"b 2.0-r0 2.0-r1", "c new 1.0-r0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %q, want %q", got, want)
	}
}

func TestSkippedScripts(t *testing.T) {
	archive := func(names ...string) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, n := range names {
			tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: 2})
			tw.Write([]byte("#!"))
		}
		tw.Close()
		return b.Bytes()
	}
	entries := []string{"copa-base-1.0-r1.Q1ijjkUmfPMkgOb7ywWuf+5XxkuSo=.post-install", "copa-base-1.0-r1.Q1ijjkUmfPMkgOb7ywWuf+5XxkuSo=.post-upgrade",
		"copa-new-2.0-r0.Q1abc/def=.post-install", "copa-base-1.0-r0.Q1old=.pre-upgrade"}
	changed := []Changed{
		{Old: &apk.Record{Name: "copa-base", Version: "1.0-r0"}, New: &apk.Record{Name: "copa-base", Version: "1.0-r1"}},
		{New: &apk.Record{Name: "copa-new", Version: "2.0-r0"}},
	}
	want := [][2]string{{"copa-base", "post-upgrade"}, {"copa-new", "post-install"}}
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "lib/apk/db"), 0o755)
		data, name := archive(entries...), scriptsPath
		if gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			data, name = b.Bytes(), scriptsGzPath
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
		got, err := SkippedScripts(openRoot(t, dir), changed)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
}

func filepathWalkChtimes(t *testing.T, root string, at time.Time) {
	t.Helper()
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, at, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}
