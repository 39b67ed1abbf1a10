package rpmstep

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/copa/frontend/distros/rpm/rpmdb"
	"github.com/copa/frontend/distros/stepfs"
)

// Kept counts the files given back their metadata.
type Kept = stepfs.Kept

// Changed is one package the patch upgraded (or installed: Old is nil).
type Changed struct {
	Old, New *rpmdb.Header
}

// Diff lists the packages whose version differs between the databases
// before and after the patch, in the order of after. The old record of a
// new one is the record of its name and architecture that the patch
// removed, or else the only removed record of its name (a package that
// moved to or from noarch). Packages installed side by side (kernel,
// gpg-pubkey) keep their old records, so a new one has no old record and
// counts as installed.
func Diff(before, after []rpmdb.Header) []Changed {
	key := func(h *rpmdb.Header) string { return h.Name + "\x00" + h.Arch + "\x00" + h.EVR() }
	inBefore, inAfter := map[string]bool{}, map[string]bool{}
	for i := range before {
		inBefore[key(&before[i])] = true
	}
	for i := range after {
		inAfter[key(&after[i])] = true
	}
	gone := map[string][]*rpmdb.Header{}
	for i := range before {
		if o := &before[i]; !inAfter[key(o)] {
			gone[o.Name] = append(gone[o.Name], o)
		}
	}
	var out []Changed
	for i := range after {
		n := &after[i]
		if inBefore[key(n)] {
			continue
		}
		var sameArch []*rpmdb.Header
		for _, o := range gone[n.Name] {
			if o.Arch == n.Arch {
				sameArch = append(sameArch, o)
			}
		}
		c := Changed{New: n}
		switch {
		case len(sameArch) == 1:
			c.Old = sameArch[0]
		case len(sameArch) == 0 && len(gone[n.Name]) == 1:
			c.Old = gone[n.Name][0]
		}
		out = append(out, c)
	}
	return out
}

// KeepUnchanged makes the files of upgraded packages whose content did
// not change look exactly like the base image's copies: same owner, mode
// and times. rpm rewrites every file of a package it upgrades with the
// new package's mtime, so without this BuildKit's differ puts files into
// the patch layer that every node already has. A file counts as
// unchanged when the old and the new header record it at one path as a
// regular file with the same digest (same algorithm), mode, owner and
// group. BuildKit compares the content again before it leaves a file out,
// so a wrong digest costs layer bytes, never correctness; a header without
// digests (rpm before 4.6) keeps nothing.
func KeepUnchanged(before *Before, target *os.Root, changed []Changed) (Kept, error) {
	var k Kept
	done := map[string]bool{}
	for _, c := range changed {
		if c.Old == nil {
			continue
		}
		old := map[string]*rpmdb.File{}
		for i := range c.Old.Files {
			old[c.Old.Files[i].Path] = &c.Old.Files[i]
		}
		k.Packages++
		for _, nf := range c.New.Files {
			of := old[nf.Path]
			if of == nil || !regular(nf.Mode) || nf.Mode != of.Mode || nf.User != of.User || nf.Group != of.Group || nf.Ghost() {
				continue
			}
			// Without both digests there is nothing to decide by: the
			// content before the patch was not kept.
			if nf.Digest == "" || of.Digest == "" || nf.Digest != of.Digest || c.New.DigestAlgo != c.Old.DigestAlgo {
				continue
			}
			p, ok := stepfs.CleanPath(nf.Path)
			if !ok || done[p] {
				continue
			}
			done[p] = true
			m, ok := before.Files[p]
			if !ok {
				continue
			}
			if err := k.Keep(m, target, p); err != nil {
				return k, fmt.Errorf("%s: /%s: %w", c.New.Name, p, err)
			}
		}
	}
	return k, nil
}

func regular(mode uint32) bool { return mode&0o170000 == 0o100000 }

// leftovers are what the package managers write outside the paths the
// step moves or mounts away (options, tmpfs mounts over the directories
// the image has): a path here that the base image did not have, and that
// no installed package owns, is removed after the patch.
var leftovers = []string{
	"etc/dnf/modules.d", // dnf --installroot makes it, empty
	"var/cache/dnf", "var/cache/yum", "var/cache/tdnf", "var/cache/zypp",
	"var/lib/dnf", "var/lib/yum", "var/lib/tdnf", "var/lib/zypp", "var/lib/YaST2",
	"var/log/dnf.log", "var/log/dnf.librepo.log", "var/log/dnf.rpm.log", "var/log/hawkey.log",
	"var/log/yum.log", "var/log/tdnf.log", "var/log/zypper.log", "var/log/zypp",
	"run/zypp.pid", "var/run/zypp.pid",
}

// Forget removes what the patch left that is not the image's: in the
// database directory, Berkeley DB's environment files (__db.*, this
// build's shared-memory regions and locks), sqlite's -shm index and an
// empty -wal, and rpm's lock file, when the base image did not have them
// (rpm recreates each whenever it opens the database); and the package
// managers' leftovers. A non-empty -wal holds part of the database and
// is kept. Directories that are left empty and are new go too. It returns
// the paths it removed.
func Forget(before *Before, target *os.Root, db *rpmdb.Database) ([]string, error) {
	owned := map[string]bool{}
	for _, h := range db.Headers {
		for _, f := range h.Files {
			if p, ok := stepfs.CleanPath(f.Path); ok {
				owned[p] = true
			}
		}
	}
	isNew := func(p string) bool { return !before.Has(p) && !owned[p] }
	var removed []string
	remove := func(p string) error {
		if err := target.RemoveAll(p); err != nil {
			return err
		}
		removed = append(removed, "/"+p)
		// Parents the patch made, now empty, go too.
		for d := path.Dir(p); d != "." && isNew(d); d = path.Dir(d) {
			if err := target.Remove(d); err != nil {
				break // not empty
			}
			removed = append(removed, "/"+d)
		}
		return nil
	}
	dir := strings.TrimPrefix(path.Clean(db.Dir), "/")
	if d, err := target.Open(dir); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			p := path.Join(dir, n)
			transient := strings.HasPrefix(n, "__db.") || n == ".rpm.lock" || n == ".dbenv.lock" || n == db.File+"-shm"
			if n == db.File+"-wal" {
				fi, err := target.Lstat(p)
				transient = err == nil && fi.Size() == 0
			}
			if transient && isNew(p) {
				if err := remove(p); err != nil {
					return nil, err
				}
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	for _, p := range leftovers {
		if _, err := target.Lstat(p); err != nil || !isNew(p) {
			continue
		}
		if err := remove(p); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// readDB reads the rpm database of an image root.
func readDB(r *os.Root) (*rpmdb.Database, error) {
	return rpmdb.Read(context.Background(), rpmdb.OSFS(r))
}

// leftoverPaths are the leftovers and their parents, which Snapshot
// records the presence of.
func leftoverPaths() []string { return stepfs.WithParents(leftovers) }
