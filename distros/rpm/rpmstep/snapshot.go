package rpmstep

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/copa/frontend/distros/rpm/rpmdb"
	"github.com/copa/frontend/distros/stepfs"
)

// Before is what the end of a patch step knows of the image as it was
// before the package manager ran: its rpm database, and the metadata of
// the files that finishing may give back or remove.
//
// It is recorded by Snapshot at the start of the step rather than read
// from a second, read-only mount of the original image: on BuildKit
// v0.34.2 that mount cost some 0.85 s per patch (measured on the harness's
// dnf image), more than the package manager's whole run.
type Before struct {
	DB *rpmdb.Database
	// Files are the regular files of the database's packages, by path
	// relative to the root.
	Files map[string]stepfs.Meta
	// Present are the other paths finishing asks about (the database
	// directory's entries, the package managers' leftovers) that existed.
	Present map[string]bool
}

// Has reports whether p (relative to the root) existed before the patch.
func (b *Before) Has(p string) bool {
	_, file := b.Files[p]
	return file || b.Present[p]
}

// snapshotFile is where Snapshot writes the record in its directory; the
// database is copied beside it, under db/ at its own path.
const snapshotFile = "before.json"

// maxSnapshot bounds the record read back: one line of JSON per file of
// every installed package.
const maxSnapshot = 512 << 20

// Snapshot records Before of the image at root into dir.
func Snapshot(root *os.Root, dir string) error {
	db, err := readDB(root)
	if err != nil {
		return err
	}
	b := Before{Files: map[string]stepfs.Meta{}, Present: map[string]bool{}}
	for _, h := range db.Headers {
		for _, f := range h.Files {
			p, ok := stepfs.CleanPath(f.Path)
			if !ok || !regular(f.Mode) {
				continue
			}
			fi, err := root.Lstat(p)
			if err != nil {
				continue // a file the image left out (docs, a removed one)
			}
			if m, ok := stepfs.MetaOf(fi); ok {
				b.Files[p] = m
			}
		}
	}
	dbDir := strings.TrimPrefix(path.Clean(db.Dir), "/")
	var probe []string
	if d, err := root.Open(dbDir); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, n := range names {
			probe = append(probe, path.Join(dbDir, n))
		}
	}
	for _, p := range append(probe, leftoverPaths()...) {
		if _, err := root.Lstat(p); err == nil {
			b.Present[p] = true
		}
	}
	// The database file itself, so that the database before the patch
	// can be read again at the end.
	data, err := root.ReadFile(path.Join(dbDir, db.File))
	if err != nil {
		return err
	}
	copyTo := filepath.Join(dir, "db", filepath.FromSlash(dbDir))
	if err := os.MkdirAll(copyTo, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(copyTo, db.File), data, 0o644); err != nil {
		return err
	}
	out, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, snapshotFile), out, 0o644)
}

// LoadSnapshot reads what Snapshot recorded in dir.
func LoadSnapshot(dir string) (*Before, error) {
	var b Before
	if err := stepfs.ReadJSON(filepath.Join(dir, snapshotFile), maxSnapshot, &b); err != nil {
		return nil, err
	}
	dbRoot, err := os.OpenRoot(filepath.Join(dir, "db"))
	if err != nil {
		return nil, err
	}
	defer dbRoot.Close()
	if b.DB, err = readDB(dbRoot); err != nil {
		return nil, fmt.Errorf("the database before the patch: %w", err)
	}
	return &b, nil
}
