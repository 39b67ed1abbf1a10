package apkstep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copa/frontend/distros/apk"
)

func TestVerifyChecksums(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, dir, "", pkg{"a", "1.0-r0", map[string]string{"usr/a/ok": "ok", "usr/a/changed": "v1", "usr/a/gone": "x", "etc/a.conf": "x=1"}, ""},
		pkg{"b", "1.0-r0", map[string]string{"usr/b": "b"}, ""})
	os.WriteFile(filepath.Join(dir, "usr/a/changed"), []byte("v2"), 0o644)
	os.Remove(filepath.Join(dir, "usr/a/gone"))
	os.WriteFile(filepath.Join(dir, "etc/a.conf"), []byte("x=2"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/a.conf.apk-new"), []byte("x=1"), 0o644)
	os.WriteFile(filepath.Join(dir, "usr/b"), []byte("tampered"), 0o644)
	// A symlink's checksum is of its target's text.
	os.MkdirAll(filepath.Join(dir, "usr/l"), 0o755)
	os.Symlink("../a/ok", filepath.Join(dir, "usr/l/link"))
	dbText := strings.TrimSuffix(database(pkg{"a", "1.0-r0", map[string]string{"usr/a/ok": "ok", "usr/a/changed": "v1", "usr/a/gone": "x", "etc/a.conf": "x=1"}, ""}), "\n") +
		"F:usr/l\nR:link\nZ:" + apk.Sum(apk.SHA1, []byte("../a/ok")).String() + "\n"
	db, err := apk.ParseInstalled([]byte(dbText))
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyChecksums(t.Context(), openRoot(t, dir), db, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"usr/a/changed": "content", "usr/a/gone": "missing", "etc/a.conf": "content"}
	if len(got) != len(want) {
		t.Fatalf("mismatches %v", got)
	}
	for _, m := range got {
		if want[m.Path] != m.Why || m.ConfigKept != (m.Path == "etc/a.conf") {
			t.Errorf("%v", m)
		}
	}
}
