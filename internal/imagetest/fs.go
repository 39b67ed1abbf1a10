package imagetest

import (
	"archive/tar"
	"context"
	"fmt"
	iofs "io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/copa/frontend/distros"
)

// FS is the filesystem of a stack of layers: later layers win, whiteouts
// delete, and lookups follow symlinks and hard links as the kernel would.
type FS struct {
	entries map[string]entry
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

// Merge stacks layers, lowest first.
func Merge(layers ...*Layer) *FS {
	fs := &FS{entries: map[string]entry{}}
	for _, l := range layers {
		for _, h := range l.Headers {
			name := strings.TrimSuffix(h.Name, "/")
			dir, base := path.Split(name)
			switch {
			case base == ".wh..wh..opq":
				fs.removeUnder(strings.TrimSuffix(dir, "/"))
				continue
			case strings.HasPrefix(base, ".wh."):
				target := dir + strings.TrimPrefix(base, ".wh.")
				delete(fs.entries, target)
				fs.removeUnder(target)
				continue
			}
			fs.entries[name] = entry{hdr: h, data: l.Files[h.Name]}
		}
	}
	return fs
}

func (fs *FS) removeUnder(dir string) {
	for p := range fs.entries {
		if strings.HasPrefix(p, dir+"/") {
			delete(fs.entries, p)
		}
	}
}

// Resolve follows symlinks in every component of p and returns the path
// of the entry it names, or false when there is none.
func (fs *FS) Resolve(p string) (string, bool) {
	return fs.resolve(strings.Trim(path.Clean("/"+p), "/"), 0)
}

func (fs *FS) resolve(p string, depth int) (string, bool) {
	if depth > 40 {
		return "", false
	}
	parts := strings.Split(p, "/")
	cur := ""
	for i, part := range parts {
		next := path.Join(cur, part)
		e, ok := fs.entries[next]
		if !ok {
			return "", false
		}
		if e.hdr.Typeflag == tar.TypeSymlink {
			target := e.hdr.Linkname
			if !strings.HasPrefix(target, "/") {
				target = path.Join("/", cur, target)
			}
			rest := strings.Join(parts[i+1:], "/")
			return fs.resolve(strings.Trim(path.Clean(path.Join(target, rest)), "/"), depth+1)
		}
		cur = next
	}
	return cur, true
}

// ReadFile returns the content of the regular file p names, following
// symlinks and hard links.
func (fs *FS) ReadFile(p string) ([]byte, bool) {
	r, ok := fs.Resolve(p)
	if !ok {
		return nil, false
	}
	e := fs.entries[r]
	if e.hdr.Typeflag == tar.TypeLink {
		return fs.ReadFile(CleanName(e.hdr.Linkname))
	}
	if e.hdr.Typeflag != tar.TypeReg {
		return nil, false
	}
	return e.data, true
}

// Layers reads every layer of the image, lowest first.
func (img *Image) Layers() ([]*Layer, error) {
	var out []*Layer
	for i := range img.Manifest.Layers {
		l, err := img.Layer(i)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// FS reads every layer and returns the image's filesystem.
func (img *Image) FS() (*FS, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	return Merge(layers...), nil
}

// List returns the names of the entries directly in dir (after following
// symlinks to dir itself), sorted.
func (fs *FS) List(dir string) []string {
	d, ok := fs.Resolve(dir)
	if !ok {
		return nil
	}
	var names []string
	for p := range fs.entries {
		if path.Dir(p) == d && p != d {
			names = append(names, path.Base(p))
		}
	}
	slices.Sort(names)
	return names
}

// Root returns the filesystem as a distros.FS, for code that reads images
// through BuildKit in the frontend.
func (fs *FS) Root() distros.FS { return rootFS{fs} }

type rootFS struct{ fs *FS }

func (r rootFS) ReadFile(_ context.Context, p string, limit int64) ([]byte, error) {
	dt, ok := r.fs.ReadFile(strings.TrimPrefix(p, "/"))
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, iofs.ErrNotExist)
	}
	if int64(len(dt)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return dt, nil
}

func (r rootFS) ReadDir(_ context.Context, dir string) ([]string, error) {
	return r.fs.List(strings.TrimPrefix(dir, "/")), nil
}

func (r rootFS) Exists(_ context.Context, p string) (bool, error) {
	dir, base := path.Split(strings.Trim(path.Clean("/"+p), "/"))
	d := ""
	if dir != "" {
		var ok bool
		if d, ok = r.fs.Resolve(dir); !ok {
			return false, nil
		}
	}
	_, ok := r.fs.entries[path.Join(d, base)]
	return ok, nil
}

// Extract writes the filesystem under dir: directories, regular files
// (hard links as copies) and symlinks, with their modes but not their
// owners, for checks that need a real root (os.Root).
func (fs *FS) Extract(dir string) error {
	names := slices.Sorted(maps.Keys(fs.entries))
	for _, n := range names {
		e := fs.entries[n]
		dst := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := iofs.FileMode(e.hdr.Mode) & iofs.ModePerm
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, mode|0o700); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(e.hdr.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeLink:
			data, ok := fs.ReadFile(n)
			if !ok {
				return fmt.Errorf("/%s: a link to nothing", n)
			}
			if err := os.WriteFile(dst, data, mode|0o600); err != nil {
				return err
			}
		}
	}
	return nil
}
