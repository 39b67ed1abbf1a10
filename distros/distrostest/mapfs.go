// Package distrostest holds what tests of formats, methods and the
// frontend's phases share: an image filesystem in memory.
package distrostest

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/copa/frontend/distros"
)

// MapFS is an image filesystem held in memory: absolute path → content.
// Directories exist when a file is below them.
type MapFS map[string]string

var _ distros.FS = MapFS{}

// ReadFile implements distros.FS.
func (m MapFS) ReadFile(_ context.Context, p string, limit int64) ([]byte, error) {
	v, ok := m[path.Clean("/"+p)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	if int64(len(v)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return []byte(v), nil
}

// ReadDir implements distros.FS.
func (m MapFS) ReadDir(_ context.Context, dir string) ([]string, error) {
	dir = path.Clean("/" + dir)
	var names []string
	for p := range m {
		rest, ok := strings.CutPrefix(p, strings.TrimSuffix(dir, "/")+"/")
		if !ok || rest == "" {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Exists implements distros.FS.
func (m MapFS) Exists(_ context.Context, p string) (bool, error) {
	p = path.Clean("/" + p)
	if _, ok := m[p]; ok || p == "/" {
		return true, nil
	}
	for q := range m {
		if strings.HasPrefix(q, p+"/") {
			return true, nil
		}
	}
	return false, nil
}

// Installed makes installed-package records from name → version, one
// record per name, without an architecture.
func Installed(versions map[string]string) distros.Packages {
	var out distros.Packages
	for n, v := range versions {
		out = append(out, distros.Package{Name: n, Version: v})
	}
	return out.Sorted()
}
