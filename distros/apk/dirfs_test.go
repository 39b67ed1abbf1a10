package apk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/copa/frontend/distros"
)

// dirFS is a directory as an image's files (distros.FS), for the tests
// that read what a real step left; DirFS exports it to TestRealAPK's
// package.
type dirFS string

// DirFS is dirFS for the external tests.
func DirFS(dir string) distros.FS { return dirFS(dir) }

func (d dirFS) ReadFile(_ context.Context, p string, limit int64) ([]byte, error) {
	f := filepath.Join(string(d), filepath.FromSlash(p))
	fi, err := os.Stat(f)
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return os.ReadFile(f)
}

func (d dirFS) ReadDir(_ context.Context, dir string) ([]string, error) {
	es, err := os.ReadDir(filepath.Join(string(d), filepath.FromSlash(dir)))
	if os.IsNotExist(err) {
		return nil, nil
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names, err
}

func (d dirFS) Exists(_ context.Context, p string) (bool, error) {
	_, err := os.Lstat(filepath.Join(string(d), filepath.FromSlash(p)))
	if err == nil {
		return true, nil
	}
	if os.IsNotExist(err) {
		return false, nil
	}
	return false, err
}
