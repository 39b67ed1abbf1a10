package rpmdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/copa/frontend/distros"
)

// osFS is a directory tree of this machine as a distros.FS: the image's
// root as helper commands inside a build step see it. os.Root keeps every
// path, symlinks included, inside the tree.
type osFS struct{ root *os.Root }

// OSFS makes root a distros.FS, so that commands running inside a build
// step (with the image's real paths) can call Read.
func OSFS(root *os.Root) distros.FS { return osFS{root} }

func rel(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// ReadFile implements distros.FS.
func (o osFS) ReadFile(_ context.Context, p string, limit int64) ([]byte, error) {
	f, err := o.root.Open(rel(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s has %d bytes; the limit is %d", p, st.Size(), limit)
	}
	// The size may change while it is read: read one byte more than the
	// limit to notice.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return data, nil
}

// ReadDir implements distros.FS.
func (o osFS) ReadDir(_ context.Context, dir string) ([]string, error) {
	f, err := o.root.Open(rel(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Exists implements distros.FS.
func (o osFS) Exists(_ context.Context, p string) (bool, error) {
	_, err := o.root.Lstat(rel(p))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
