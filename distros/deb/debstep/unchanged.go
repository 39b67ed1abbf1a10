package debstep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/stepfs"
)

// Kept counts the files KeepUnchanged gave back their original metadata.
type Kept = stepfs.Kept

// KeepUnchanged makes the files of upgraded packages whose content did not
// change look exactly like the base image's copies: same owner, mode and
// mtime. dpkg rewrites every file of a package it upgrades and gives each
// the new package's mtime, so without this BuildKit's differ puts files
// into the patch layer that every node already has.
//
// base and target are the image's root before and after the upgrade. The
// files considered are those of packages whose version changed: the ones
// dpkg's md5sums list with the same digest in the old and the new package,
// or, for a package without md5sums, every file of its .list whose content
// is equal; and the package's own control files in the dpkg database
// (.list, .md5sums, maintainer scripts) whose content is equal. Only
// regular files of the same size in both are touched, and BuildKit compares
// the content again before leaving a file out, so a wrong md5sums entry
// costs layer bytes, never correctness. Paths come from the image and are
// confined to it by os.Root.
func KeepUnchanged(base, target *os.Root) (Kept, error) {
	var k Kept
	before, err := statusOf(base)
	if err != nil {
		return k, fmt.Errorf("base image: %w", err)
	}
	after, err := statusOf(target)
	if err != nil {
		return k, fmt.Errorf("patched image: %w", err)
	}
	control, err := controlFiles(target)
	if err != nil {
		return k, err
	}
	done := map[string]bool{} // files of a multi-arch package's other copy
	for _, np := range after {
		op, ok := previous(before, np)
		if !ok || op.Version == np.Version {
			continue
		}
		files, err := candidates(base, target, op, np)
		if err != nil {
			return k, err
		}
		for _, f := range control[np.Name] {
			files[f] = true
		}
		k.Packages++
		for p, compare := range files {
			if done[p] {
				continue
			}
			done[p] = true
			n, err := stepfs.KeepMeta(base, target, p, compare)
			if err != nil {
				return k, fmt.Errorf("%s: /%s: %w", np.Name, p, err)
			}
			if n >= 0 {
				k.Files++
				k.Bytes += n
			}
		}
	}
	return k, nil
}

// previous finds the base image's record of the package cur upgraded:
// the one of its name and architecture, or else the only one of its name
// (a package that moved to or from "all").
func previous(before distros.Packages, cur distros.Package) (distros.Package, bool) {
	var same []distros.Package
	for _, p := range before {
		if p.Name == cur.Name {
			if p.Arch == cur.Arch {
				return p, true
			}
			same = append(same, p)
		}
	}
	if len(same) == 1 {
		return same[0], true
	}
	return distros.Package{}, false
}

// candidates returns the files of one upgraded package that may be
// unchanged, each with whether its content still has to be compared.
func candidates(base, target *os.Root, old, cur distros.Package) (map[string]bool, error) {
	oldSums, err := infoFile(base, old, "md5sums")
	if err != nil {
		return nil, err
	}
	newSums, err := infoFile(target, cur, "md5sums")
	if err != nil {
		return nil, err
	}
	files := map[string]bool{}
	if oldSums != nil && newSums != nil {
		o, n := parseMD5Sums(oldSums), parseMD5Sums(newSums)
		for p, sum := range n {
			if o[p] == sum {
				files[p] = false
			}
		}
		return files, nil
	}
	list, err := infoFile(target, cur, "list")
	if err != nil || list == nil {
		return files, err
	}
	for _, line := range strings.Split(string(list), "\n") {
		if p, ok := stepfs.CleanPath(line); ok {
			files[p] = true
		}
	}
	return files, nil
}

// controlFiles lists the dpkg database files of every package, by name.
func controlFiles(r *os.Root) (map[string][]string, error) {
	const dir = "var/lib/dpkg/info"
	d, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		pkg, _, ok := strings.Cut(e.Name(), ".")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pkg, _, _ = strings.Cut(pkg, ":")
		out[pkg] = append(out[pkg], dir+"/"+e.Name())
	}
	return out, nil
}

// statusOf reads the installed packages of an apt image's status file.
func statusOf(r *os.Root) (distros.Packages, error) {
	dt, err := r.ReadFile(strings.TrimPrefix(deb.StatusPath, "/"))
	if err != nil {
		return nil, err
	}
	return deb.ParseInstalled(dt)
}

// infoFile reads one of a package's dpkg database files; packages that are
// Multi-Arch: same keep theirs under "<name>:<arch>". A missing file is nil.
func infoFile(r *os.Root, p distros.Package, ext string) ([]byte, error) {
	for _, n := range []string{p.Name + ":" + p.Arch, p.Name} {
		dt, err := r.ReadFile("var/lib/dpkg/info/" + n + "." + ext)
		if err == nil {
			return dt, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, nil
}

// parseMD5Sums reads "<md5>  <path>" lines.
func parseMD5Sums(dt []byte) map[string]string {
	sums := map[string]string{}
	for _, line := range strings.Split(string(dt), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 32 {
			continue
		}
		if p, ok := stepfs.CleanPath(file); ok {
			sums[p] = sum
		}
	}
	return sums
}
