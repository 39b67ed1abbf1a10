package rpmstep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/rpm/rpmdb"
)

func TestKeepManifests(t *testing.T) {
	h := func(name, v, arch string) rpmdb.Header {
		return rpmdb.Header{Name: name, Version: v, Release: "1", Arch: arch, InstallTime: 10, BuildTime: 5, Size: 7, SourceRPM: name + "-" + v + "-1.src.rpm"}
	}
	before := []rpmdb.Header{h("libcore", "1.0", "x86_64"), h("tool", "2.0", "x86_64"), h("obsolete", "1.0", "noarch"), h("same", "1.0", "noarch")}
	after := []rpmdb.Header{h("libcore", "1.1", "x86_64"), h("tool", "2.0", "x86_64"), h("same", "1.0", "noarch"), h("newdep", "1.0", "x86_64")}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "var/lib/rpmmanifest"), 0o755); err != nil {
		t.Fatal(err)
	}
	var m2, m1 []string
	for _, b := range before {
		m2 = append(m2, rpmdb.ManifestLine(b))
		m1 = append(m1, rpmdb.ManifestNEVRA(b))
	}
	// A line the patch has no business with stays, byte for byte.
	m2 = append(m2, "hand-written line")
	write := func(name string, lines []string) {
		if err := os.WriteFile(filepath.Join(dir, "var/lib/rpmmanifest", name), []byte(strings.Join(lines, "\n")+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write("container-manifest-2", m2)
	write("container-manifest-1", m1)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	got, err := KeepManifests(root, before, after, Diff(before, after))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("rewrote %v, want both manifests", got)
	}
	read := func(name string) string {
		dt, err := os.ReadFile(filepath.Join(dir, "var/lib/rpmmanifest", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(dt)
	}
	want2 := strings.Join([]string{
		rpmdb.ManifestLine(after[0]), rpmdb.ManifestLine(before[1]), rpmdb.ManifestLine(before[3]), "hand-written line", rpmdb.ManifestLine(after[3]),
	}, "\n") + "\n"
	if g := read("container-manifest-2"); g != want2 {
		t.Errorf("container-manifest-2:\n%s\nwant:\n%s", g, want2)
	}
	want1 := "libcore-1.1-1.x86_64\ntool-2.0-1.x86_64\nsame-1.0-1.noarch\nnewdep-1.0-1.x86_64\n"
	if g := read("container-manifest-1"); g != want1 {
		t.Errorf("container-manifest-1:\n%s\nwant:\n%s", g, want1)
	}
	if fi, err := os.Stat(filepath.Join(dir, "var/lib/rpmmanifest/container-manifest-2")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v (%v), want 0640 kept", fi.Mode(), err)
	}
	// An image without manifests gets none.
	empty, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if got, err := KeepManifests(empty, before, after, Diff(before, after)); err != nil || len(got) != 0 {
		t.Errorf("an image without manifests: %v, %v", got, err)
	}
}
