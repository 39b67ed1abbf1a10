package rpmstep

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/copa/frontend/distros/rpm/rpmdb"
)

// Azure Linux's manifests of its distroless images, relative to the root.
var (
	manifest2 = strings.TrimPrefix(path.Join(rpmdb.ManifestDir, rpmdb.ManifestFile), "/")
	manifest1 = strings.TrimPrefix(path.Join(rpmdb.ManifestDir, "container-manifest-1"), "/")
)

// maxManifest bounds a manifest read from the image.
const maxManifest = 64 << 20

// KeepManifests rewrites the Azure Linux manifests that an image carries
// beside its rpm database (container-manifest-2, and -1 if it has it),
// so that they list what the database does after the patch: the lines of
// upgraded packages get their new versions, the lines of removed ones go,
// new ones are added; every other line is left as it was. Scanners read
// the manifest where it is present. It returns the files it rewrote.
func KeepManifests(target *os.Root, before, after []rpmdb.Header, changed []Changed) ([]string, error) {
	key := func(name, vr, arch string) string { return name + "\x00" + vr + "\x00" + arch }
	hkey := func(h *rpmdb.Header) string { return key(h.Name, h.Version+"-"+h.Release, h.Arch) }
	inAfter := map[string]bool{}
	for i := range after {
		inAfter[hkey(&after[i])] = true
	}
	type edit struct{ line2, line1 string }
	replace := map[string]edit{} // old record's key → its new lines
	var added []*rpmdb.Header
	for _, c := range changed {
		if c.Old == nil {
			added = append(added, c.New)
			continue
		}
		replace[hkey(c.Old)] = edit{rpmdb.ManifestLine(*c.New), rpmdb.ManifestNEVRA(*c.New)}
	}
	gone := map[string]bool{} // NEVRA and key of records the patch removed
	byNEVRA := map[string]string{}
	for i := range before {
		h := &before[i]
		byNEVRA[rpmdb.ManifestNEVRA(*h)] = hkey(h)
		if !inAfter[hkey(h)] {
			gone[hkey(h)] = true
		}
	}

	var rewrote []string
	for _, m := range []struct {
		file string
		key  func(line string) string
		line func(e edit) string
		new  func(h *rpmdb.Header) string
	}{
		{manifest2, func(l string) string {
			f := strings.Split(l, "\t")
			if len(f) < 8 {
				return ""
			}
			arch := f[7]
			if arch == "(none)" {
				arch = ""
			}
			return key(f[0], f[1], arch)
		}, func(e edit) string { return e.line2 }, func(h *rpmdb.Header) string { return rpmdb.ManifestLine(*h) }},
		{manifest1, func(l string) string { return byNEVRA[l] },
			func(e edit) string { return e.line1 }, func(h *rpmdb.Header) string { return rpmdb.ManifestNEVRA(*h) }},
	} {
		fi, err := target.Lstat(m.file)
		if err != nil || !fi.Mode().IsRegular() {
			continue // none, or not a file the patch should write through
		}
		if fi.Size() > maxManifest {
			return nil, fmt.Errorf("/%s: %d bytes, more than %d", m.file, fi.Size(), maxManifest)
		}
		data, err := target.ReadFile(m.file)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			k := m.key(l)
			if e, ok := replace[k]; ok && k != "" {
				out.WriteString(m.line(e) + "\n")
				continue
			}
			if gone[k] && k != "" {
				continue
			}
			if l != "" {
				out.WriteString(l + "\n")
			}
		}
		for _, h := range added {
			out.WriteString(m.new(h) + "\n")
		}
		if bytes.Equal(out.Bytes(), data) {
			continue
		}
		if err := writeKeepingMode(target, m.file, out.Bytes(), fi.Mode()); err != nil {
			return nil, err
		}
		rewrote = append(rewrote, "/"+m.file)
	}
	return rewrote, nil
}

// writeKeepingMode replaces a file's content through a temporary file
// beside it, with the old file's permissions.
func writeKeepingMode(r *os.Root, name string, data []byte, mode fs.FileMode) error {
	tmp := name + ".copa-tmp"
	if err := r.WriteFile(tmp, data, mode.Perm()); err != nil {
		return err
	}
	if err := r.Chmod(tmp, mode.Perm()); err != nil {
		return err
	}
	return r.Rename(tmp, name)
}
