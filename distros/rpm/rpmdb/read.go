package rpmdb

import (
	"context"
	"fmt"
	"path"

	"github.com/copa/frontend/distros"
)

// Bounds on a database, which comes from the image. Real images hold a
// few hundred packages and some 10–100 MiB of rpm database; a full RHEL
// with development tools stays under 300 MiB.
const (
	// MaxDatabaseSize bounds each database file read.
	MaxDatabaseSize = 512 << 20
	maxPackages     = 100000
	// maxTotalFiles bounds the Files of all headers together (memory:
	// some 150 bytes each).
	maxTotalFiles = 1 << 21
)

// FS is what Read needs of an image's files; distros.FS is one.
type FS interface {
	ReadFile(ctx context.Context, path string, limit int64) ([]byte, error)
	Exists(ctx context.Context, path string) (bool, error)
}

var _ FS = distros.FS(nil)

// The backends, as Database.Backend names them.
const (
	BackendSQLite   = "sqlite"
	BackendBDB      = "bdb"
	BackendNDB      = "ndb"
	BackendManifest = "manifest"
)

// Database is an image's package database: where it is, which backend
// wrote it, and its headers.
type Database struct {
	Dir     string // e.g. /var/lib/rpm
	File    string // e.g. rpmdb.sqlite
	Backend string // BackendSQLite, BackendNDB, BackendBDB or BackendManifest
	Headers []Header
}

// Path is the database file's absolute path.
func (d *Database) Path() string { return path.Join(d.Dir, d.File) }

// Where rpm keeps its database: rpm ≥ 4.16 distros (Fedora 36+, SUSE) in
// /usr/lib/sysimage/rpm, with /var/lib/rpm a symlink to it; all others in
// /var/lib/rpm.
var dbDirs = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"}

// The database files, newest format first. When an image has several,
// the newer is the one rpm uses: converting a database (Fedora 33's and
// RHEL 9's move from BDB to sqlite, SUSE's to ndb) writes the new file
// and can leave the old one behind, never the other way round.
var dbFiles = []struct {
	name, backend string
	read          func([]byte) ([]Header, error)
}{
	{"rpmdb.sqlite", BackendSQLite, ReadSQLite},
	{"Packages.db", BackendNDB, ReadNDB},
	{"Packages", BackendBDB, ReadBDB},
}

// Azure Linux and CBL-Mariner distroless images have no rpm database but
// this listing of it, which their image build writes with rpm -qa.
const (
	ManifestDir  = "/var/lib/rpmmanifest"
	ManifestFile = "container-manifest-2"
)

// Read finds the image's rpm database (dbDirs, dbFiles; else the
// distroless manifest) and reads its headers.
func Read(ctx context.Context, fsys FS) (*Database, error) {
	for _, f := range dbFiles {
		for _, dir := range dbDirs {
			p := path.Join(dir, f.name)
			db, err := readOne(ctx, fsys, dir, f.name, f.backend, f.read)
			if err != nil || db != nil {
				if err != nil {
					err = fmt.Errorf("reading the rpm database %s: %w", p, err)
				}
				return db, err
			}
		}
	}
	db, err := readOne(ctx, fsys, ManifestDir, ManifestFile, BackendManifest, ParseManifest)
	if err != nil {
		return nil, fmt.Errorf("reading the rpm manifest %s: %w", path.Join(ManifestDir, ManifestFile), err)
	}
	if db == nil {
		return nil, fmt.Errorf("it has no rpm database (looked for rpmdb.sqlite, Packages.db and Packages in %s and %s, and for %s)",
			dbDirs[0], dbDirs[1], path.Join(ManifestDir, ManifestFile))
	}
	return db, nil
}

// Locate says where the image's rpm database is and which backend wrote
// it, as Read would find it, without reading it (Headers is nil); nil
// when the image has none.
func Locate(ctx context.Context, fsys FS) (*Database, error) {
	for _, f := range dbFiles {
		for _, dir := range dbDirs {
			ok, err := fsys.Exists(ctx, path.Join(dir, f.name))
			if err != nil || ok {
				if !ok {
					return nil, err
				}
				return &Database{Dir: dir, File: f.name, Backend: f.backend}, nil
			}
		}
	}
	ok, err := fsys.Exists(ctx, path.Join(ManifestDir, ManifestFile))
	if err != nil || !ok {
		return nil, err
	}
	return &Database{Dir: ManifestDir, File: ManifestFile, Backend: BackendManifest}, nil
}

// readOne reads one database file; nil when it is not there.
func readOne(ctx context.Context, fsys FS, dir, name, backend string, read func([]byte) ([]Header, error)) (*Database, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := path.Join(dir, name)
	ok, err := fsys.Exists(ctx, p)
	if err != nil || !ok {
		return nil, err
	}
	data, err := fsys.ReadFile(ctx, p, MaxDatabaseSize)
	if err != nil {
		return nil, err
	}
	hs, err := read(data)
	if err != nil {
		return nil, err
	}
	files := 0
	for _, h := range hs {
		if files += len(h.Files); files > maxTotalFiles {
			return nil, fmt.Errorf("the packages list more than %d files", maxTotalFiles)
		}
	}
	return &Database{Dir: dir, File: name, Backend: backend, Headers: hs}, nil
}
