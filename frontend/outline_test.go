package frontend

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/copa/frontend/frontend/patchfile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestOutline pins what --call outline answers for a Patchfile with
// documented ARGs: each ARG once, with its value (a build arg's, else its
// default) and the comment above it, and what the build patches.
func TestOutline(t *testing.T) {
	src := []byte(`# syntax=copa/frontend
# The registry to patch from.
ARG REGISTRY=docker.io/library
# The tag of nginx to patch;
# pass --build-arg TAG=<tag>.
ARG TAG=1.21.6
ARG UNDOCUMENTED
PATCH ${REGISTRY}/nginx:${TAG}
REPORT nginx.trivy.json
REPORT --platform=linux/arm64 nginx-arm64.trivy.json
ARG TAG
TOOLING debian:bookworm
`)
	pf, err := patchfile.Parse(src, map[string]string{"TAG": "1.25.0"})
	if err != nil {
		t.Fatal(err)
	}
	o := outlineOf(pf, src)
	o.Sources = nil // the Patchfile itself, above
	got, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "outline.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./frontend -run TestOutline -update writes it)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("outline differs from %s:\n%s", golden, got)
	}
}
