package apkstep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/stepfs"
)

// Before is what the end of a patch step knows of the image as it was
// before apk ran: its database, the metadata of its packages' files and
// of apk's own state files, and which of the paths finishing asks about
// existed.
//
// It is recorded by Snapshot at the start of the step rather than read
// from a second, read-only mount of the original image, as rpm's is: the
// mount cost rpm's step more than its package manager's whole run
// (rpmstep.Before), and the step's root is the original until apk runs.
type Before struct {
	// DB is the installed database before the patch.
	DB *apk.Installed `json:"-"`
	// Files are the regular files of the database's packages, by path
	// relative to the root.
	Files map[string]stepfs.Meta
	// State are apk's own files that a patch rewrites (stateFiles) as
	// they were; their content is copied beside the record, under
	// state/.
	State map[string]stepfs.Meta
	// Present are the other paths finishing asks about that existed: the
	// leftovers and their parents, and the .apk-new beside every file of
	// a package.
	Present map[string]bool
}

// Has reports whether p (relative to the root) existed before the patch.
func (b *Before) Has(p string) bool {
	_, file := b.Files[p]
	_, state := b.State[p]
	return file || state || b.Present[p]
}

// Paths of apk's database, relative to the root.
const (
	installedPath = "lib/apk/db/installed"
	worldPath     = "etc/apk/world"
	scriptsPath   = "lib/apk/db/scripts.tar"
	scriptsGzPath = "lib/apk/db/scripts.tar.gz" // apk 3's, where there is no scripts.tar
)

// stateFiles are what apk rewrites on every commit, whether their content
// changes or not: given back their metadata when it does not, they stay
// out of the layer.
var stateFiles = []string{installedPath, worldPath, scriptsPath, scriptsGzPath, "lib/apk/db/triggers"}

// leftovers are what apk makes for its own use: a path here that the image
// did not have is removed after the patch when it is empty (the
// directory apk 2 runs install scripts from, the lock file, an unused
// default cache directory), and so are its new parents that are left
// empty.
var leftovers = []string{"lib/apk/exec", "lib/apk/db/lock", "var/cache/apk", "etc/apk/cache", "var/log/apk.log"}

// Bounds on what Snapshot copies and LoadSnapshot reads back.
const (
	maxStateFile = 64 << 20
	maxSnapshot  = 512 << 20
	maxDatabase  = 64 << 20
)

// snapshotFile is the record in Snapshot's directory; the database and
// the state files are copied beside it.
const snapshotFile = "before.json"

// Snapshot records Before of the image at root into dir, and gives an
// image without a world file an empty one.
func Snapshot(root *os.Root, dir string) error {
	db, raw, err := readInstalled(root)
	if err != nil {
		return err
	}
	// The database itself, so that the one before the patch can be read
	// again at the end, whatever becomes of its file.
	if err := os.WriteFile(filepath.Join(dir, "installed"), raw, 0o644); err != nil {
		return err
	}
	b := Before{Files: map[string]stepfs.Meta{}, State: map[string]stepfs.Meta{}, Present: map[string]bool{}}
	var probe []string
	for _, r := range db.Records {
		for _, f := range r.Files {
			p, ok := stepfs.CleanPath(f.Path)
			if !ok {
				continue
			}
			probe = append(probe, p+".apk-new")
			fi, err := root.Lstat(p)
			if err != nil {
				continue // a file the image left out
			}
			if m, ok := stepfs.MetaOf(fi); ok {
				b.Files[p] = m
			}
		}
	}
	for _, p := range append(append(probe, worldPath), leftoverPaths()...) {
		if _, err := root.Lstat(p); err == nil {
			b.Present[p] = true
		}
	}
	for _, p := range stateFiles {
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		m, ok := stepfs.MetaOf(fi)
		if !ok || m.Size > maxStateFile {
			continue // not a file apk wrote; nothing to give back
		}
		data, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		if err := writeUnder(filepath.Join(dir, "state"), p, data); err != nil {
			return err
		}
		b.State[p] = m
	}
	out, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), out, 0o644); err != nil {
		return err
	}
	// apk does not open a database without a world file, which images
	// made without apk (apko's, distroless ones) may lack: the step gets
	// an empty one, and GiveBackWorld removes it again.
	if _, had := b.State[worldPath]; !had && !b.Present[worldPath] {
		if err := root.MkdirAll(path.Dir(worldPath), 0o755); err != nil {
			return err
		}
		return root.WriteFile(worldPath, nil, 0o644)
	}
	return nil
}

// LoadSnapshot reads what Snapshot recorded in dir.
func LoadSnapshot(dir string) (*Before, error) {
	var b Before
	if err := stepfs.ReadJSON(filepath.Join(dir, snapshotFile), maxSnapshot, &b); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "installed"))
	if err != nil {
		return nil, err
	}
	if b.DB, err = apk.ParseInstalled(raw); err != nil {
		return nil, fmt.Errorf("the database before the patch: %w", err)
	}
	return &b, nil
}

// stateContent is the copy Snapshot made of the state file p.
func (b *Before) stateContent(dir, p string) ([]byte, error) {
	return os.ReadFile(filepath.Join(dir, "state", filepath.FromSlash(p)))
}

func writeUnder(dir, p string, data []byte) error {
	f := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		return err
	}
	return os.WriteFile(f, data, 0o644)
}

// readInstalled reads the installed database of an image root, parsed
// and as it is.
func readInstalled(r *os.Root) (*apk.Installed, []byte, error) {
	fi, err := r.Stat(installedPath)
	if err != nil {
		return nil, nil, fmt.Errorf("the image's apk database: %w", err)
	}
	if fi.Size() > maxDatabase {
		return nil, nil, fmt.Errorf("/%s holds more than %d MiB", installedPath, maxDatabase>>20)
	}
	data, err := r.ReadFile(installedPath)
	if err != nil {
		return nil, nil, err
	}
	db, err := apk.ParseInstalled(data)
	if err != nil {
		return nil, nil, fmt.Errorf("/%s: %w", installedPath, err)
	}
	return db, data, nil
}

// leftoverPaths are the leftovers and their parents, which Snapshot
// records the presence of.
func leftoverPaths() []string { return stepfs.WithParents(leftovers) }
