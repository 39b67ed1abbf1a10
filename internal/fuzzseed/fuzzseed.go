// Package fuzzseed finds seed inputs for the fuzz targets in the shared
// fixtures, the corpus of real scanner reports (and whatever else is added
// there) that CI checks out beside the repository as ../shared/fixtures.
//
// Outside CI the directory may be missing; the functions then return
// nothing, so a plain `go test` still runs every target on its hand-written
// seeds and its testdata/fuzz regression cases.
package fuzzseed

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxSeed bounds a seed file: the fuzzer mutates whole inputs, and a huge
// one would make each execution slow without exercising more code.
const maxSeed = 4 << 20

// Dir returns the shared fixtures directory, ../shared/fixtures beside the
// repository root (the directory above the working directory that holds
// go.mod), or "" when there is none.
func Dir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			fixtures := filepath.Join(filepath.Dir(dir), "shared", "fixtures")
			if fi, err := os.Stat(fixtures); err == nil && fi.IsDir() {
				return fixtures
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Files returns the contents of the regular files under sub (a slash
// path inside the fixtures directory, "" for all of it) whose names end in
// one of exts (any name when exts is empty), in the lexical order of their
// paths. It returns nil when the fixtures are absent; a file that cannot be
// read fails tb, since the corpus is then broken.
func Files(tb testing.TB, sub string, exts ...string) [][]byte {
	tb.Helper()
	root := Dir()
	if root == "" {
		tb.Logf("fuzzseed: no ../shared/fixtures beside the repository; seeding from the hand-written inputs only")
		return nil
	}
	var out [][]byte
	start := filepath.Join(root, filepath.FromSlash(sub))
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && os.IsNotExist(err) {
				return fs.SkipDir
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(exts) > 0 && !slices.ContainsFunc(exts, func(e string) bool { return strings.HasSuffix(p, e) }) {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() > maxSeed {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, data)
		return nil
	})
	if err != nil {
		tb.Fatalf("fuzzseed: reading %s: %v", start, err)
	}
	return out
}
