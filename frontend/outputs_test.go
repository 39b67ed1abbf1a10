package frontend

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/copa/frontend/frontend/summary"
	"github.com/copa/frontend/frontend/vex"
)

// TestStepInputGzipped checks what the steps that end a platform read:
// the gzipped summary is the same bytes for the same summary (so those
// steps are cached), and write-vex reads it into the very document the
// frontend would write itself.
func TestStepInputGzipped(t *testing.T) {
	s := &summary.Summary{Image: "registry.example/debian:12", Platform: "linux/amd64", OS: summary.OS{ID: "debian", Version: "12", Manager: "apt"},
		Entries: []summary.Entry{
			{Vulnerability: "CVE-2025-1", Package: "libc6", Status: summary.Patched, Installed: "2.36-9", Fixed: "2.36-9+deb12u1", After: "2.36-9+deb12u1"},
			{Vulnerability: "CVE-2025-2", Package: "bash", Status: summary.NotFixable, Installed: "5.2.15-2", After: "5.2.15-2"},
		}}
	a, err := gzipJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := gzipJSON(s); !bytes.Equal(a, b) {
		t.Fatal("gzipJSON is not deterministic")
	}
	opts := vex.Options{Product: "pkg:oci/debian", Timestamp: time.Unix(1764633600, 0),
		PackageURL: func(name, version string) string { return "pkg:deb/debian/" + name + "@" + version }}
	doc, err := vex.Document(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := vex.NewRequest(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	rj, _ := json.Marshal(req)
	dir := t.TempDir()
	in, reqFile, out := filepath.Join(dir, stepSummaryFile), filepath.Join(dir, vexRequestFile), filepath.Join(dir, VEXFile)
	if err := os.WriteFile(in, a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reqFile, rj, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeVEX([]string{in, reqFile, out}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("write-vex wrote\n%s\nwant\n%s", got, want)
	}
	// Not gzip, though named so: a named error, not a document.
	if err := os.WriteFile(in, []byte(`{"entries":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeVEX([]string{in, reqFile, out}); err == nil {
		t.Error("write-vex read a .gz file that is not gzip")
	}
}
