package debstep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/stepfs"
)

// Bounds on a staging tree: the tooling image unpacked it, but the .debs
// came from a mirror.
const (
	maxPackages = 1000
	// maxControl bounds the DEBIAN files that are parsed (control,
	// conffiles); maxControlCopy the ones only copied into the database
	// (md5sums of large packages and translated debconf templates exceed
	// 1 MiB).
	maxControl     = 1 << 20
	maxControlCopy = 16 << 20
	// maxHops is Linux's limit on symlinks followed in one lookup.
	maxHops = 40
	// maxField bounds the name of a DEBIAN file, as package deb bounds
	// names and versions.
	maxField = 256
)

// maintainerScripts are the DEBIAN files dpkg would have run.
var maintainerScripts = []string{"preinst", "postinst", "prerm", "postrm", "config"}

var (
	archPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	// dpkg stores control files as info/<package>.<name>: a dot or slash in
	// the name would collide with other packages' files.
	controlNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// Installed reports what Install did.
type Installed struct {
	// Layout is the target's dpkg database: "status.d" (distroless) or
	// "status".
	Layout string
	// Packages lists name=version of every package installed.
	Packages []string
	// Written and Unchanged count regular files; Bytes is what was written.
	Written, Unchanged int
	Bytes              int64
	// KeptConffiles are conffiles whose target copy was kept because it
	// may have been changed locally (dpkg --force-confold).
	KeptConffiles []string
	// Scripts maps a package to the maintainer scripts it has, which were
	// not run.
	Scripts map[string][]string
	// Details has the same per package, in installation order.
	Details []InstalledPackage
}

// InstalledPackage reports what Install did for one package.
type InstalledPackage struct {
	Name, Arch          string
	OldVersion, Version string
	Written, Unchanged  int
	Bytes               int64
	KeptConffiles       []string
	Scripts             []string
}

// Install upgrades packages of the Debian image root target to those
// unpacked under staging, without running anything of the image: it serves
// images without apt or a shell. Each staging/<dir> is what
// "dpkg-deb -R pkg.deb staging/<dir>" gives, and must upgrade (or
// reinstall) a package that target's dpkg database lists as installed, for
// the same architecture.
//
// Files are copied with chroot semantics: symlinks on the way, absolute or
// not, resolve inside target, as on a merged-/usr system. Files whose
// content, mode and owner are already right are not touched, so that they
// stay out of the layer BuildKit diffs from target. Conffiles that may
// have been changed locally are kept. Files the old version had and the new
// one does not are left in place. Maintainer scripts are not run; the
// result names them so that the caller can warn.
//
// The database is updated in the form target has: the package's stanza in
// status.d (and its .md5sums), or its stanza in the status file and its
// files in info/.
func Install(staging, target *os.Root) (*Installed, error) {
	db, err := loadDB(target)
	if err != nil {
		return nil, err
	}
	pkgs, err := readStaging(staging)
	if err != nil {
		return nil, err
	}
	// Everything is checked before the first file changes.
	for _, p := range pkgs {
		if err := db.match(p); err != nil {
			return nil, err
		}
	}
	if err := checkDepends(db, pkgs); err != nil {
		return nil, err
	}
	res := &Installed{Layout: db.layout.String(), Scripts: map[string][]string{}}
	in := &installer{staging: staging, target: target}
	for _, p := range pkgs {
		d := InstalledPackage{Name: p.name, Arch: p.arch, OldVersion: p.old.version, Version: p.version}
		list, sums, err := in.files(p, &d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		if err := db.update(p, list, sums); err != nil {
			return nil, fmt.Errorf("%s: dpkg database: %w", p.name, err)
		}
		for _, s := range maintainerScripts {
			if _, ok := p.debian[s]; ok {
				d.Scripts = append(d.Scripts, s)
			}
		}
		if len(d.Scripts) > 0 {
			res.Scripts[p.name] = d.Scripts
		}
		res.Packages = append(res.Packages, p.name+"="+p.version)
		res.Written += d.Written
		res.Unchanged += d.Unchanged
		res.Bytes += d.Bytes
		res.KeptConffiles = append(res.KeptConffiles, d.KeptConffiles...)
		res.Details = append(res.Details, d)
	}
	if err := db.flush(); err != nil {
		return nil, fmt.Errorf("dpkg database: %w", err)
	}
	if err := in.finish(); err != nil {
		return nil, err
	}
	return res, nil
}

// staged is one unpacked package.
type staged struct {
	dir                 string
	name, version, arch string
	control             []deb.Field
	// conffiles are absolute paths, without remove-on-upgrade entries.
	conffiles []string
	// debian holds the DEBIAN files other than control, by name.
	debian map[string]controlFile
	old    *dbEntry
}

type controlFile struct {
	data []byte
	mode fs.FileMode
}

func readStaging(staging *os.Root) ([]*staged, error) {
	names, err := dirNames(staging, ".")
	if err != nil {
		return nil, err
	}
	if len(names) > maxPackages {
		return nil, fmt.Errorf("staging holds %d entries, more than %d packages", len(names), maxPackages)
	}
	var pkgs []*staged
	for _, n := range names {
		p, err := readStaged(staging, n)
		if err != nil {
			return nil, fmt.Errorf("staging %s: %w", distros.Clip(n), err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func readStaged(staging *os.Root, dir string) (*staged, error) {
	if fi, err := staging.Lstat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, errors.New("not a directory")
	}
	names, err := dirNames(staging, dir+"/DEBIAN")
	if err != nil {
		return nil, err
	}
	p := &staged{dir: dir, debian: map[string]controlFile{}}
	for _, n := range names {
		if !controlNamePattern.MatchString(n) || len(n) > maxField {
			return nil, fmt.Errorf("DEBIAN/%s: not a control file name", distros.Clip(n))
		}
		limit := int64(maxControlCopy)
		if n == "control" || n == "conffiles" {
			limit = maxControl
		}
		data, fi, err := readBounded(staging, dir+"/DEBIAN/"+n, limit)
		if err != nil {
			return nil, err
		}
		p.debian[n] = controlFile{data: data, mode: fi.Mode().Perm()}
	}
	control, ok := p.debian["control"]
	if !ok {
		return nil, errors.New("no DEBIAN/control")
	}
	delete(p.debian, "control")
	stanzas := deb.ParseControl(control.data)
	if len(stanzas) != 1 {
		return nil, fmt.Errorf("DEBIAN/control holds %d stanzas, not one", len(stanzas))
	}
	p.control = stanzas[0].Fields
	p.name, _ = stanzas[0].FirstLine("Package")
	p.version, _ = stanzas[0].FirstLine("Version")
	p.arch, _ = stanzas[0].FirstLine("Architecture")
	v := deb.Versioning{}
	if err := v.ValidName(p.name); err != nil {
		return nil, err
	}
	if err := v.ValidVersion(p.version); err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	if len(p.arch) > maxField || !archPattern.MatchString(p.arch) {
		return nil, fmt.Errorf("%s: %q is not a Debian architecture", p.name, distros.Clip(p.arch))
	}
	if cf, ok := p.debian["conffiles"]; ok {
		for _, line := range strings.Split(string(cf.data), "\n") {
			line = strings.TrimSpace(line)
			// dpkg removes these on upgrade; keeping them is harmless.
			if line == "" || strings.HasPrefix(line, "remove-on-upgrade ") {
				continue
			}
			rel, ok := stepfs.CleanPath(line)
			if !ok || !strings.HasPrefix(line, "/") {
				return nil, fmt.Errorf("%s: conffile %q is not an absolute path in the image", p.name, distros.Clip(line))
			}
			// The Conffiles field and the helper's notes separate fields
			// by blanks.
			if strings.ContainsAny(rel, " \t") {
				return nil, fmt.Errorf("%s: conffile %q has a blank in its name", p.name, distros.Clip(line))
			}
			p.conffiles = append(p.conffiles, "/"+rel)
		}
	}
	return p, nil
}

// dirNames lists the names in dir, sorted.
func dirNames(r *os.Root, dir string) ([]string, error) {
	d, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	slices.Sort(names)
	return names, err
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(r *os.Root, name string, limit int64) ([]byte, fs.FileInfo, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", name)
	}
	if fi.Size() > limit {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	f, err := r.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, fi, nil
}

// stagingPath checks a path from the staging tree, relative to the
// package's root: one that leaves it, or has a newline (which would break
// the .list), is refused.
func stagingPath(rel string) error {
	if rel == "" || path.Clean(rel) != rel || path.IsAbs(rel) || rel == ".." ||
		strings.HasPrefix(rel, "../") || strings.ContainsAny(rel, "\n\x00") {
		return fmt.Errorf("%q: not a path inside the image", distros.Clip(rel))
	}
	return nil
}

// resolve turns p, relative to the root of r, into a path that has no
// symlinks but possibly its last component (with followLast, not even
// that), following symlinks as a process chrooted to r would: absolute
// targets and ".." stay inside r. Components from the first missing one
// on are kept as they are. os.Root would refuse absolute symlinks and
// symlinks leaving the root, which images have (/lib64 -> /usr/lib64).
func resolve(r *os.Root, p string, followLast bool) (string, error) {
	todo := strings.Split(p, "/")
	var done []string
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		if len(todo) == 0 && !followLast {
			done = append(done, c)
			break
		}
		cur := path.Join(strings.Join(done, "/"), c)
		fi, err := r.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			done = append(done, c)
			continue
		} else if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if hops++; hops > maxHops {
			return "", fmt.Errorf("/%s: too many levels of symbolic links", p)
		}
		link, err := r.Readlink(cur)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(link, "/") {
			done = done[:0]
		}
		todo = append(strings.Split(link, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return strings.Join(done, "/"), nil
}

// createTemp makes a new entry next to where it will be renamed to, so that
// the rename is atomic and replaces files and symlinks alike.
func createTemp(dir string, create func(name string) error) (string, error) {
	for i := 0; ; i++ {
		name := path.Join(dir, fmt.Sprintf(".copa-%d-%d", time.Now().UnixNano(), i))
		err := create(name)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) || i >= 100 {
			return "", err
		}
	}
}

// replace makes name in r anew: create makes the new entry under a
// temporary name beside it, meta gives that entry its metadata, and a
// rename puts it in place, so name is never seen half-written. The
// temporary entry is removed on failure.
func replace(r *os.Root, name string, create, meta func(tmp string) error) error {
	tmp, err := createTemp(path.Dir(name), create)
	if err != nil {
		return err
	}
	err = meta(tmp)
	if err == nil {
		err = r.Rename(tmp, name)
	}
	if err != nil {
		r.Remove(tmp)
	}
	return err
}

// writeNew creates the file name in r, which must not exist, with the
// content of src; a file it could not fill is removed.
func writeNew(r *os.Root, name string, src io.Reader) (int64, error) {
	f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Remove(name)
	}
	return n, err
}

// writeAtomic replaces name in r with data, with the given permissions and
// owner.
func writeAtomic(r *os.Root, name string, data []byte, perm fs.FileMode, uid, gid int) error {
	return replace(r, name, func(tmp string) error {
		_, err := writeNew(r, tmp, bytes.NewReader(data))
		return err
	}, func(tmp string) error {
		if err := r.Lchown(tmp, uid, gid); err != nil {
			return err
		}
		return r.Chmod(tmp, perm)
	})
}

// owner returns a file's uid and gid.
func owner(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// modeBits are the permission bits Install copies, setuid included.
const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// checkDepends refuses a set of packages that would leave one of them
// with a dependency the image has in too old a version (see UnmetDepends):
// without apt, nothing would pull the newer dependency in.
func checkDepends(db *dpkgDB, pkgs []*staged) error {
	after := map[string]string{}
	for _, e := range db.entries {
		after[e.name] = e.version
	}
	depends := map[string][]string{}
	for _, p := range pkgs {
		after[p.name] = p.version
		for _, f := range p.control {
			if f.Name == "Depends" || f.Name == "Pre-Depends" {
				depends[p.name] = append(depends[p.name], fieldValue(f))
			}
		}
	}
	unmet, err := UnmetDepends(depends, after)
	if err != nil {
		return err
	}
	if len(unmet) > 0 {
		return fmt.Errorf("the fixed packages need newer versions of packages the image has, which a patch without apt cannot pull in: %s; a patch without apt does not upgrade dependencies: patch without REPORT to update every package that has an update", strings.Join(unmet, "; "))
	}
	return nil
}

// fieldValue is a field's value with its continuation lines joined.
func fieldValue(f deb.Field) string {
	return strings.Join(strings.Fields(f.Value()), " ")
}
