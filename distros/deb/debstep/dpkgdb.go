package debstep

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/stepfs"
)

// maxDBFile bounds a file of the target's dpkg database: a status file of
// thousands of packages is a few MiB.
const maxDBFile = 256 << 20

// oldConffile is an entry of a Conffiles field: " /path md5 [flags]".
type oldConffile struct {
	path, md5, flags string
}

func conffiles(s deb.Stanza) []oldConffile {
	var out []oldConffile
	for _, f := range s.Fields {
		if !f.Is("Conffiles") {
			continue
		}
		for _, l := range f.Continuation() {
			w := strings.Fields(l)
			if len(w) >= 2 {
				out = append(out, oldConffile{w[0], w[1], strings.Join(w[2:], " ")})
			}
		}
	}
	return out
}

// dbFile is a file holding stanzas: the status file or one of status.d.
type dbFile struct {
	path    string
	data    []byte
	stanzas []deb.Stanza
	repl    map[int]string
	// status.d only: the file's .md5sums, if it has one.
	hasSums    bool
	sums       []byte
	sumsChange bool
}

// dbEntry is an installed package's stanza.
type dbEntry struct {
	file                *dbFile
	idx                 int
	name, version, arch string
	status              string
	hasStatus           bool
	hasConffiles        bool
	conffiles           []oldConffile
	taken               bool
}

type dpkgDB struct {
	root    *os.Root
	layout  deb.DBLayout
	files   []*dbFile
	entries []*dbEntry
	info    string // the info directory, for the status layout
}

// loadDB reads the target's dpkg database in the layout ChooseLayout
// picks, the one the frontend read the installed packages from.
func loadDB(r *os.Root) (*dpkgDB, error) {
	db := &dpkgDB{root: r}
	status, err := resolve(r, strings.TrimPrefix(deb.StatusPath, "/"), true)
	if err != nil {
		return nil, err
	}
	statusData, _, err := readBounded(r, status, maxDBFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	nonEmpty := deb.StatusNonEmpty(statusData)
	var files []string
	if !nonEmpty {
		if files, err = listStatusD(r); err != nil {
			return nil, err
		}
	}
	db.layout = deb.ChooseLayout(nonEmpty, len(files))
	switch db.layout {
	case deb.DBStatus:
		db.addFile(status, statusData)
		db.info, err = resolve(r, "var/lib/dpkg/info", true)
		return db, err
	case deb.DBStatusD:
		for _, p := range files {
			data, _, err := readBounded(r, p, maxDBFile)
			if err != nil {
				return nil, err
			}
			f := db.addFile(p, data)
			if sums, _, err := readBounded(r, p+".md5sums", maxDBFile); err == nil {
				f.hasSums, f.sums = true, sums
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		return db, nil
	}
	return nil, errors.New("the target has no dpkg database (neither a non-empty " + deb.StatusPath + " nor files in " + deb.StatusDir + ")")
}

// listStatusD lists the regular database files of status.d
// (IsStatusDFile), sorted, resolved in r.
func listStatusD(r *os.Root) ([]string, error) {
	dir, err := resolve(r, strings.TrimPrefix(deb.StatusDir, "/"), true)
	if err != nil {
		return nil, err
	}
	names, err := dirNames(r, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var files []string
	for _, n := range names {
		p := path.Join(dir, n)
		if fi, err := r.Lstat(p); err != nil {
			return nil, err
		} else if deb.IsStatusDFile(n) && fi.Mode().IsRegular() {
			files = append(files, p)
		}
	}
	return files, nil
}

// addFile notes a database file of stanzas and its installed packages
// (DBLayout.Installed).
func (db *dpkgDB) addFile(p string, data []byte) *dbFile {
	f := &dbFile{path: p, data: data, stanzas: deb.ParseControl(data), repl: map[int]string{}}
	db.files = append(db.files, f)
	for i, s := range f.stanzas {
		if !db.layout.Installed(s) {
			continue
		}
		e := &dbEntry{file: f, idx: i, conffiles: conffiles(s)}
		rec := deb.Record(s)
		e.name, e.version, e.arch = rec.Name, rec.Version, rec.Arch
		e.status, e.hasStatus = s.FirstLine("Status")
		_, e.hasConffiles = s.Field("Conffiles")
		db.entries = append(db.entries, e)
	}
	return f
}

// match finds the installed package p upgrades.
func (db *dpkgDB) match(p *staged) error {
	var cands []*dbEntry
	var archs []string
	for _, e := range db.entries {
		if e.name == p.name {
			cands = append(cands, e)
			archs = append(archs, e.arch)
		}
	}
	if len(cands) == 0 {
		return fmt.Errorf("package %s is not installed in the image: only installed packages can be upgraded", p.name)
	}
	for _, e := range cands {
		if e.arch == p.arch {
			p.old = e
		}
	}
	if p.old == nil && len(cands) == 1 && (p.arch == "all" || cands[0].arch == "all") {
		p.old = cands[0]
	}
	if p.old == nil {
		return fmt.Errorf("package %s is installed for %s, the new one is for %s", p.name, strings.Join(archs, ", "), p.arch)
	}
	if p.old.taken {
		return fmt.Errorf("package %s:%s is staged twice", p.name, p.old.arch)
	}
	p.old.taken = true
	if (deb.Versioning{}).Compare(p.version, p.old.version) < 0 {
		return fmt.Errorf("package %s: %s would downgrade %s", p.name, p.version, p.old.version)
	}
	return nil
}

// update records p's new stanza, and in the status layout writes its
// info files.
func (db *dpkgDB) update(p *staged, list []string, sums map[string]string) error {
	e := p.old
	conffiles := ""
	if db.layout == deb.DBStatus || e.hasConffiles {
		conffiles = conffilesField(p, sums)
	}
	e.file.repl[e.idx] = stanzaText(p.control, e.status, e.hasStatus, conffiles)
	if db.layout == deb.DBStatus {
		return db.writeInfo(p, list)
	}
	f := e.file
	if !f.hasSums {
		return nil
	}
	f.sumsChange = true
	newSums := p.debian["md5sums"].data
	if len(f.stanzas) == 1 {
		f.sums = newSums // nil removes the file
		return nil
	}
	if newSums == nil {
		return nil
	}
	// The file's .md5sums covers several packages: replace the lines of
	// the paths p ships, keep the others.
	shipped := parseMD5Sums(newSums)
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(f.sums), "\n") {
		_, file, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "  ")
		if q, okp := stepfs.CleanPath(file); ok && okp && shipped[q] != "" {
			continue
		}
		b.WriteString(line)
	}
	if b.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteByte('\n')
	}
	b.Write(newSums)
	f.sums = b.Bytes()
	return nil
}

// conffilesField lists p's conffiles with the md5 of the version shipped,
// as dpkg records them. Conffiles of the old version that the new one
// lacks stay on disk, so they stay listed, as obsolete, as dpkg does.
func conffilesField(p *staged, sums map[string]string) string {
	if len(p.conffiles) == 0 && len(p.old.conffiles) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Conffiles:\n")
	for _, c := range p.conffiles {
		fmt.Fprintf(&b, " %s %s\n", c, sums[c])
	}
	for _, c := range p.old.conffiles {
		if slices.Contains(p.conffiles, c.path) {
			continue
		}
		flags := c.flags
		if flags == "" {
			flags = "obsolete"
		}
		fmt.Fprintf(&b, " %s %s %s\n", c.path, c.md5, flags)
	}
	return b.String()
}

// stanzaText is the control file as a database stanza: Status after
// Package and Conffiles before Description, where dpkg puts them.
func stanzaText(control []deb.Field, status string, withStatus bool, conffiles string) string {
	var b strings.Builder
	for _, f := range control {
		if f.Is("Status") || f.Is("Conffiles") {
			continue
		}
		if conffiles != "" && f.Is("Description") {
			b.WriteString(conffiles)
			conffiles = ""
		}
		b.WriteString(f.Raw)
		if withStatus && f.Is("Package") {
			b.WriteString("Status: " + status + "\n")
		}
	}
	b.WriteString(conffiles)
	return b.String()
}

// writeInfo writes p's files in the info directory: the .list, and every
// DEBIAN file but control; it removes those of the old version the new
// one lacks.
func (db *dpkgDB) writeInfo(p *staged, list []string) error {
	// dpkg never lacks info/, but an image builder may have pruned it.
	if err := db.root.MkdirAll(db.info, 0o755); err != nil {
		return err
	}
	prefix := db.infoPrefix(p)
	want := map[string]controlFile{
		"list": {data: []byte("/.\n" + strings.Join(append(list, ""), "\n")), mode: 0o644},
	}
	for n, f := range p.debian {
		want[n] = f
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if err := writeIfChanged(db.root, path.Join(db.info, prefix+"."+n), want[n].data, want[n].mode, false); err != nil {
			return err
		}
	}
	names, err := dirNames(db.root, db.info)
	if err != nil {
		return err
	}
	for _, n := range names {
		ext, ok := strings.CutPrefix(n, prefix+".")
		if !ok || ext == "" || strings.Contains(ext, ".") {
			continue
		}
		if _, keep := want[ext]; !keep {
			if err := db.root.Remove(path.Join(db.info, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// infoPrefix is how p's info files are named: "<name>:<arch>" for
// Multi-Arch: same packages, which the existing files tell.
func (db *dpkgDB) infoPrefix(p *staged) string {
	byArch := p.name + ":" + p.old.arch
	for _, pre := range []string{byArch, p.name} {
		for _, ext := range []string{"list", "md5sums"} {
			if _, err := db.root.Lstat(path.Join(db.info, pre+"."+ext)); err == nil {
				return pre
			}
		}
	}
	if ma, _ := (deb.Stanza{Fields: p.control}).FirstLine("Multi-Arch"); ma == "same" {
		return byArch
	}
	return p.name
}

// flush writes the database files that changed.
func (db *dpkgDB) flush() error {
	for _, f := range db.files {
		if len(f.repl) > 0 {
			var b bytes.Buffer
			prev := 0
			for i, s := range f.stanzas {
				b.Write(f.data[prev:s.Start])
				if t, ok := f.repl[i]; ok {
					b.WriteString(t)
				} else {
					b.Write(f.data[s.Start:s.End])
				}
				prev = s.End
			}
			b.Write(f.data[prev:])
			if err := writeIfChanged(db.root, f.path, b.Bytes(), 0, true); err != nil {
				return err
			}
		}
		if !f.sumsChange {
			continue
		}
		sums := f.path + ".md5sums"
		if f.sums == nil {
			if err := db.root.Remove(sums); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		} else if err := writeIfChanged(db.root, sums, f.sums, 0, true); err != nil {
			return err
		}
	}
	return nil
}

// writeIfChanged replaces name with data unless it holds data already. A
// new file is root's with perm; with keepMeta an existing file keeps its
// mode and owner.
func writeIfChanged(r *os.Root, name string, data []byte, perm fs.FileMode, keepMeta bool) error {
	uid, gid := 0, 0
	perm &= fs.ModePerm
	if fi, err := r.Lstat(name); err == nil && fi.Mode().IsRegular() {
		if old, err := r.ReadFile(name); err != nil {
			return err
		} else if bytes.Equal(old, data) {
			return nil
		}
		if keepMeta {
			perm = fi.Mode() & modeBits
			uid, gid = owner(fi)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if perm == 0 {
		perm = 0o644
	}
	return writeAtomic(r, name, data, perm, uid, gid)
}
