package patchfile

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/copa/frontend/internal/fuzzseed"
)

// FuzzParse fuzzes Parse with one build arg, seeded with the repository's
// example Patchfiles, any Patchfile among the shared fixtures, and inputs
// for each instruction, flag and error. It checks what Parse promises of
// any input: an error or a Patchfile, never both, and the same on a second
// parse; every error but the file-level ones (too large, no PATCH) located
// on lines of the file; and a Patchfile whose values are all valid: a
// PATCH reference that parses, clean relative REPORT and SOURCES paths,
// normalised platforms, a known policy, and the declared ARGs recorded.
// `make fuzz` runs it; crashers found land in testdata/fuzz/FuzzParse/ and
// are replayed by every `go test`.
func FuzzParse(f *testing.F) {
	examples, err := filepath.Glob("../../examples/*Patchfile")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range examples {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "IMAGE", "docker.io/library/nginx:1.21.6")
	}
	for _, data := range fuzzseed.Files(f, "", "Patchfile") {
		f.Add(data, "", "")
	}
	for _, s := range []string{
		"PATCH nginx:1.21.6\n",
		"# syntax=copa/frontend\n# escape=`\nARG TAG=1.21 \\\n  OTHER=${TAG:-x}\nPATCH --native=false nginx:${TAG}\nREPORT --platform=linux/arm/v7 ./reports/../arm.json\nREPORT `\n  amd64.json\nUNRESOLVED Warn\n",
		"ARG A\nARG A=1 B=$A\nPATCH x:$B\nSOURCES --add --keep mirror.list\nTOOLING debian:bookworm\n",
		"PATCH x\nPATCH y\n",
		"PATCH x\nREPORT /etc/passwd\nREPORT ../x\nREPORT .\n",
		"PATCH x\nSOURCES --add --only a.list\n",
		"patch x\nreport a.json\nreport ./a.json\n",
		"PATCH ${X:?no}\n",
		"PATCH -- --x\nRUN true\n",
		"ARG =x\nPATCH x\n",
		"PATCH x \"a b\"\nREPORT --platform=$P a\n",
		"PATCH x\nREPORT <<EOF\na\nEOF\n",
		"# only a comment\n\n",
		"\\\n",
	} {
		f.Add([]byte(s), "TAG", "1.25")
	}
	f.Fuzz(func(t *testing.T, data []byte, argName, argValue string) {
		var args map[string]string
		if argName != "" {
			args = map[string]string{argName: argValue}
		}
		pf, err := Parse(data, args)
		pf2, err2 := Parse(data, args)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(pf, pf2) {
			t.Fatalf("two parses differ: %v / %v", err, err2)
		}
		if err != nil {
			if pf != nil {
				t.Fatalf("Parse returned a Patchfile and the error %v", err)
			}
			checkLocated(t, data, err)
			return
		}
		checkPatchfile(t, pf)
	})
}

// checkLocated fails t when err, an error of Parse, is neither one of the
// errors about the whole file nor located on lines the file has.
func checkLocated(t *testing.T, data []byte, err error) {
	t.Helper()
	if errors.Is(err, errNoPatch) || len(data) > MaxSize {
		return
	}
	var le *parser.LocationError
	if !errors.As(err, &le) || len(le.Locations) == 0 {
		t.Fatalf("error %q carries no location", err)
	}
	lines := strings.Count(string(data), "\n") + 1
	for _, loc := range le.Locations {
		for _, r := range loc {
			if r.Start.Line < 1 || r.Start.Line > lines || r.End.Line < r.Start.Line {
				t.Fatalf("error %q at lines %d-%d of a %d-line file", err, r.Start.Line, r.End.Line, lines)
			}
		}
	}
}

// checkPatchfile fails t when a parsed Patchfile holds a value Parse
// should have refused or normalised.
func checkPatchfile(t *testing.T, pf *Patchfile) {
	t.Helper()
	if pf.Image.Location == nil || pf.Image.Value == "" {
		t.Fatalf("no PATCH but no error: %+v", pf)
	}
	for _, ref := range []Instruction[string]{pf.Image, pf.Tooling} {
		if ref.Location == nil {
			continue
		}
		if _, err := reference.ParseNormalizedNamed(ref.Value); err != nil {
			t.Fatalf("image reference %q accepted: %v", ref.Value, err)
		}
	}
	seen := map[string]bool{}
	for _, r := range pf.Reports {
		checkContextPath(t, "REPORT", r.Value)
		if seen[r.Value] {
			t.Fatalf("REPORT %q accepted twice", r.Value)
		}
		seen[r.Value] = true
		if p, ok := r.Flags[FlagPlatform]; ok {
			plat, err := platforms.Parse(p)
			if err != nil || platforms.Format(platforms.Normalize(plat)) != p {
				t.Fatalf("REPORT --platform=%q is not normalised (%v)", p, err)
			}
		}
	}
	if pf.Sources.Location != nil {
		checkContextPath(t, "SOURCES", pf.Sources.Value)
	} else if pf.SourcesAdd || pf.SourcesOnly || pf.SourcesKeep {
		t.Fatalf("SOURCES flags without SOURCES: %+v", pf)
	}
	if pf.SourcesAdd && pf.SourcesOnly {
		t.Fatalf("SOURCES --add --only accepted")
	}
	if p := pf.Unresolved.Value; p != PolicyFail && p != PolicyWarn {
		t.Fatalf("UNRESOLVED %q accepted", p)
	}
	if len(pf.Declared) != len(pf.Args) {
		t.Fatalf("%d ARGs declared but %d recorded", len(pf.Declared), len(pf.Args))
	}
	for _, d := range pf.Declared {
		if _, ok := pf.Args[d.Name]; !ok || d.Name == "" || d.Location == nil {
			t.Fatalf("declared ARG %+v not recorded", d)
		}
	}
}

// checkContextPath fails t when p is not a clean path inside the build
// context.
func checkContextPath(t *testing.T, inst, p string) {
	t.Helper()
	if p == "" || p == "." || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		t.Fatalf("%s path %q accepted", inst, p)
	}
}
