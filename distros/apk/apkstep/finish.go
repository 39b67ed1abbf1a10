package apkstep

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/stepfs"
)

// Changed is one package the patch upgraded (or installed: Old is nil).
type Changed struct {
	Old, New *apk.Record
}

// Diff lists the packages whose version or build (C:) differs between
// the databases before and after the patch, by name. apk
// installs one version of a name, so a package's old record is the one of
// its name.
func Diff(before, after *apk.Installed) []Changed {
	old := map[string]*apk.Record{}
	for i := range before.Records {
		old[before.Records[i].Name] = &before.Records[i]
	}
	var out []Changed
	for i := range after.Records {
		n := &after.Records[i]
		o := old[n.Name]
		if o != nil && o.Version == n.Version && o.Checksum == n.Checksum {
			continue
		}
		out = append(out, Changed{Old: o, New: n})
	}
	// By name: apk 2.12 and 2.14 order their databases differently.
	slices.SortFunc(out, func(a, b Changed) int { return strings.Compare(a.New.Name, b.New.Name) })
	return out
}

// Kept counts the files given back their metadata.
type Kept = stepfs.Kept

// KeepUnchanged makes the files of upgraded packages whose content did
// not change look exactly like the base image's copies: same owner, mode
// and times. apk writes every file of a package it upgrades anew, with the
// new package's mtime, so without this BuildKit's differ puts files into
// the patch layer that every node already has. A file counts as unchanged
// when the old and the new database record it at one path with the same
// Z: checksum (same algorithm) and the same owner, mode and extended
// attributes; only regular files of the recorded size are touched.
// BuildKit compares the content again before it leaves a file out, so a
// wrong checksum costs layer bytes, never correctness.
func KeepUnchanged(before *Before, target *os.Root, changed []Changed) (Kept, error) {
	var k Kept
	for _, c := range changed {
		if c.Old == nil {
			continue
		}
		old := map[string]*apk.File{}
		for i := range c.Old.Files {
			old[c.Old.Files[i].Path] = &c.Old.Files[i]
		}
		k.Packages++
		for _, nf := range c.New.Files {
			of := old[nf.Path]
			if of == nil || nf.Checksum.IsZero() || nf.Checksum != of.Checksum || nf.Attrs != of.Attrs {
				continue
			}
			p, ok := stepfs.CleanPath(nf.Path)
			if !ok {
				continue
			}
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

// KeepState gives apk's state files (the database, world, triggers,
// scripts) that the patch rewrote with the same content their original
// metadata. It returns the paths it gave back.
func KeepState(before *Before, snapshot string, target *os.Root) ([]string, error) {
	var kept []string
	for _, p := range stateFiles {
		m, ok := before.State[p]
		if !ok {
			continue
		}
		fi, err := target.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != m.Size {
			continue
		}
		want, err := before.stateContent(snapshot, p)
		if err != nil {
			return nil, err
		}
		got, err := target.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if string(got) != string(want) {
			continue
		}
		if n, err := stepfs.KeepMetaAs(m, target, p); err != nil {
			return nil, fmt.Errorf("/%s: %w", p, err)
		} else if n >= 0 {
			kept = append(kept, "/"+p)
		}
	}
	return kept, nil
}

// GiveBackWorld writes the world RestoreWorld returns into the target,
// with the original's metadata when it is the original. An image without
// a world before the patch has none after it.
func GiveBackWorld(before *Before, snapshot string, target *os.Root, changed []Changed) error {
	m, had := before.State[worldPath]
	if !had {
		if before.Present[worldPath] {
			return nil // not a regular file: left as apk made it
		}
		err := target.Remove(worldPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	original, err := before.stateContent(snapshot, worldPath)
	if err != nil {
		return err
	}
	patched, err := target.ReadFile(worldPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	installed := map[string]string{}
	for _, c := range changed {
		installed[c.New.Name] = c.New.Version
	}
	world := RestoreWorld(original, patched, installed)
	if string(world) == string(patched) && err == nil {
		if string(world) == string(original) {
			// Rewritten as it was (apk upgrade): the original's metadata.
			_, err = stepfs.KeepMetaAs(m, target, worldPath)
		}
		return err
	}
	// A new file, renamed over the old one, as apk writes it.
	tmp := worldPath + ".copa-new"
	if err := target.WriteFile(tmp, world, m.Mode.Perm()); err != nil {
		return err
	}
	if err := target.Rename(tmp, worldPath); err != nil {
		return err
	}
	if string(world) == string(original) {
		_, err = stepfs.KeepMetaAs(m, target, worldPath)
	}
	return err
}

// Forget removes the leftovers the patch made: each path of leftovers
// that the image did not have and that is an empty directory or file,
// then its new parents that are left empty. It returns the paths it
// removed.
func Forget(before *Before, target *os.Root) ([]string, error) {
	var removed []string
	for _, p := range leftovers {
		fi, err := target.Lstat(p)
		if err != nil || before.Has(p) {
			continue
		}
		if fi.Mode().IsRegular() && fi.Size() > 0 {
			continue
		}
		if err := target.Remove(p); err != nil {
			continue // a directory that is not empty: something apk keeps
		}
		removed = append(removed, "/"+p)
		for d := path.Dir(p); d != "." && !before.Has(d); d = path.Dir(d) {
			if err := target.Remove(d); err != nil {
				break
			}
			removed = append(removed, "/"+d)
		}
	}
	return removed, nil
}

// ConfigKept lists, per upgraded package, the configuration files apk kept
// as the image had them: those beside which the patch left a new
// PATH.apk-new (the package's version), which the image did not have.
// Paths with blanks are left out: a note's fields are blank-separated.
func ConfigKept(before *Before, target *os.Root, changed []Changed) [][2]string {
	var out [][2]string
	for _, c := range changed {
		for _, f := range c.New.Files {
			p, ok := stepfs.CleanPath(f.Path)
			if !ok || strings.ContainsAny(p, " \t") {
				continue
			}
			n := p + ".apk-new"
			if fi, err := target.Lstat(n); err != nil || !fi.Mode().IsRegular() || before.Present[n] {
				continue
			}
			out = append(out, [2]string{c.New.Name, "/" + p})
		}
	}
	return out
}

// scriptTypes are apk's install scripts that an upgrade runs, and that an
// install runs; a trigger runs in both.
var (
	upgradeScripts = []string{"pre-upgrade", "post-upgrade", "trigger"}
	installScripts = []string{"pre-install", "post-install", "trigger"}
)

// maxScripts and maxScriptsBytes bound what is read of scripts.tar.
const (
	maxScripts      = 100_000
	maxScriptsBytes = 512 << 20
)

// SkippedScripts lists, per changed package, the install scripts that
// would have run had apk not been told --no-scripts: its new version's
// entries in lib/apk/db/scripts.tar, or apk 3's scripts.tar.gz
// ("NAME-VERSION.CHECKSUM.TYPE"), where apk keeps them whether it ran
// them or not.
func SkippedScripts(target *os.Root, changed []Changed) ([][2]string, error) {
	name := scriptsPath
	f, err := target.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		// apk 3 writes scripts.tar.gz where the image has no scripts.tar.
		name = scriptsGzPath
		f, err = target.Open(name)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if name == scriptsGzPath {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("/%s: %w", name, err)
		}
		defer zr.Close()
		r = zr
	}
	have := map[string][]string{} // NAME-VERSION → script types
	tr := tar.NewReader(io.LimitReader(r, maxScriptsBytes))
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("/%s: %w", name, err)
		}
		if n >= maxScripts {
			return nil, fmt.Errorf("/%s: more than %d scripts", name, maxScripts)
		}
		i := strings.LastIndexByte(h.Name, '.')
		if i < 0 {
			continue
		}
		rest, typ := h.Name[:i], h.Name[i+1:]
		if j := strings.LastIndexByte(rest, '.'); j >= 0 {
			have[rest[:j]] = append(have[rest[:j]], typ)
		}
	}
	var out [][2]string
	for _, c := range changed {
		want := installScripts
		if c.Old != nil {
			want = upgradeScripts
		}
		var names []string
		for _, typ := range want {
			if slices.Contains(have[c.New.Name+"-"+c.New.Version], typ) {
				names = append(names, typ)
			}
		}
		if len(names) > 0 {
			out = append(out, [2]string{c.New.Name, strings.Join(names, ",")})
		}
	}
	return out, nil
}
