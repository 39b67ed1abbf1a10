package apk

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/copa/frontend/distros"
)

// InstalledPath is apk's database of the installed packages.
const InstalledPath = "/lib/apk/db/installed"

// Bounds on the database, which comes from the image. Real databases are
// far inside them: a few MiB, lines of a few hundred bytes (the longest
// are D: and p: lists), a few thousand packages and some 100,000 files.
const (
	maxDatabaseSize = 64 << 20
	maxLine         = 64 << 10
	maxPackages     = 50_000
	maxEntries      = 1_000_000 // F: and R: lines of all packages together
	maxPath         = 4096      // PATH_MAX
)

// Default attributes of what the database lists without M: or a:, as
// apk-tools takes them.
var (
	defaultDir  = Attrs{Mode: 0o755}
	defaultFile = Attrs{Mode: 0o644}
)

// archPattern is an apk architecture: x86_64, aarch64, armv7, armhf, x86,
// ppc64le, s390x, riscv64, loongarch64, noarch.
var archPattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// Installed is apk's database of the installed packages
// (/lib/apk/db/installed), in the order it lists them.
type Installed struct {
	Records []Record
}

// Record is one installed package: its index fields, and the directories
// and files it owns.
type Record struct {
	Name, Version string
	Arch          string // A:; "" when the database does not say
	Origin        string // o:, the source package; "" when the database does not say
	// Checksum is C:, the digest of the package's control data, which
	// names one build of the package; zero when the database has none.
	Checksum Checksum
	// BrokenFiles, BrokenScript and BrokenXattrs are apk's f: flags:
	// some file, the install script or some extended attributes did not
	// install as packaged.
	BrokenFiles, BrokenScript, BrokenXattrs bool
	// Dirs are the F: directories, Files the R: files in them, in the
	// database's order.
	Dirs  []Dir
	Files []File
	// Line is where the package's stanza starts, for messages.
	Line int
}

// Attrs are the owner, permission bits and extended attributes of a
// directory (M:) or file (a:): uid:gid:mode[:xattrs]. The database leaves
// out root's 0755 directories and 0644 files.
type Attrs struct {
	UID, GID uint32
	Mode     uint32   // the permission bits, 07777 at most
	Xattrs   Checksum // the digest of the extended attributes; zero for none
}

// Owner is "uid:gid".
func (a Attrs) Owner() string { return fmt.Sprintf("%d:%d", a.UID, a.GID) }

// Dir is a directory a package owns.
type Dir struct {
	Path string // relative to the root, without a leading '/'; "" is the root
	Attrs
}

// File is a file a package owns.
type File struct {
	Path string // relative to the root: the F: directory joined with the R: name
	// Checksum is Z:, of the file's content or, for a symbolic link, of
	// its target (Sum); zero when the database has none.
	Checksum Checksum
	Attrs
}

// Package is the record as a distros.Package: the origin is the source
// when it is not the package itself.
func (r Record) Package() distros.Package {
	p := distros.Package{Name: r.Name, Version: r.Version, Arch: r.Arch}
	if r.Origin != r.Name {
		p.Source = r.Origin
	}
	return p
}

// Packages are the installed packages, in the database's order.
func (db *Installed) Packages() distros.Packages {
	out := make(distros.Packages, len(db.Records))
	for i, r := range db.Records {
		out[i] = r.Package()
	}
	return out
}

// Lookup returns the record of the installed package name.
func (db *Installed) Lookup(name string) (Record, bool) {
	for _, r := range db.Records {
		if r.Name == name {
			return r, true
		}
	}
	return Record{}, false
}

// Installed is distros.PatchFormat's Installed: the records of the
// image's apk database (ReadInstalled).
func (Format) Installed(ctx context.Context, root distros.FS) (distros.Packages, error) {
	db, err := ReadInstalled(ctx, root)
	if err != nil {
		return nil, err
	}
	return db.Packages(), nil
}

// ReadInstalled reads and parses the image's apk database. An image
// without one is an error that says so.
func ReadInstalled(ctx context.Context, root distros.FS) (*Installed, error) {
	ok, err := root.Exists(ctx, InstalledPath)
	if err != nil {
		return nil, fmt.Errorf("looking for the apk database %s: %w", InstalledPath, err)
	}
	if !ok {
		return nil, fmt.Errorf("it has no apk database (no %s)", InstalledPath)
	}
	data, err := root.ReadFile(ctx, InstalledPath, maxDatabaseSize)
	if err != nil {
		return nil, fmt.Errorf("reading the apk database %s: %w", InstalledPath, err)
	}
	db, err := ParseInstalled(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", InstalledPath, err)
	}
	return db, nil
}

// ParseInstalled parses apk's installed database, the text format of
// apk-tools 2 that apk-tools 3 keeps writing: stanzas of "X:value" lines
// separated by blank lines. Of the index fields it keeps P: (name), V:
// (version), A: (arch), o: (origin) and C: (checksum); of the installed
// ones f: (flags) and the file list, F: directories, each followed by its
// M: attributes and R: files, each followed by its a: attributes and Z:
// checksum. Other fields (D:, p:, i:, r:, q:, s:, g:, T:, …) are skipped.
//
// The database is the image's, so it is read as hostile: it is bounded in
// size, line length, packages and files; names and versions must pass
// apk's grammar, as a report's do, since they reach the patch step's
// package manager as words; paths must stay below the root; and each
// package is listed once. Errors name the line. A last stanza without the
// blank line that ends it is read too.
func ParseInstalled(data []byte) (*Installed, error) {
	if len(data) > maxDatabaseSize {
		return nil, fmt.Errorf("the apk database holds more than %d MiB; the limit protects the build", maxDatabaseSize>>20)
	}
	p := parser{db: &Installed{}, names: map[string]int{}}
	lineNo := 0
	for rest := data; len(rest) > 0; {
		lineNo++
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if err := p.line(lineNo, line); err != nil {
			return nil, fmt.Errorf("apk database line %d: %w", lineNo, err)
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return p.db, nil
}

// parser is ParseInstalled's state: the stanza being read, the directory
// and file its last F: and R: opened.
type parser struct {
	db      *Installed
	names   map[string]int // package name → line of its P:
	entries int

	cur      *Record
	fields   map[byte]int // single-valued fields of the stanza → their line
	paths    map[string]int
	sha256   bool // f: holds S: Q1 checksums are SHA-256/160
	dir      int  // index in cur.Dirs of the last F:, -1 before it
	dirAttrs bool // the directory has its M:
	file     int  // index in cur.Files of the last R: of the directory, -1 before it
	fileSum  bool // the file has its Z:
	fileAttr bool // the file has its a:
}

func (p *parser) line(n int, line []byte) error {
	if len(line) > maxLine {
		return fmt.Errorf("longer than %d KiB", maxLine>>10)
	}
	if len(line) == 0 {
		return p.end()
	}
	if line[len(line)-1] == '\r' {
		return fmt.Errorf("ends in a carriage return; apk writes LF line ends")
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return fmt.Errorf("holds a NUL byte")
	}
	field := line[0]
	if len(line) < 2 || line[1] != ':' || !isLetter(field) {
		return fmt.Errorf("%q is not a FIELD:value line", distros.Clip(string(line)))
	}
	value := string(line[2:])
	if p.cur == nil {
		p.cur = &Record{Line: n}
		p.fields = map[byte]int{}
		p.paths = map[string]int{}
		p.sha256, p.dir, p.file = false, -1, -1
	}
	r := p.cur
	switch field {
	case 'P', 'V', 'A', 'o', 'C', 'f':
		if prev, dup := p.fields[field]; dup {
			return fmt.Errorf("a second %c: in the stanza (the first is on line %d)", field, prev)
		}
		p.fields[field] = n
	case 'F', 'M', 'R', 'a', 'Z':
		if _, ok := p.fields['P']; !ok {
			return fmt.Errorf("%c: before the package's P: line", field)
		}
	}
	switch field {
	case 'P':
		if err := (Versioning{}).ValidName(value); err != nil {
			return err
		}
		if prev, dup := p.names[value]; dup {
			return fmt.Errorf("package %s is listed twice (also on line %d)", value, prev)
		}
		p.names[value] = n
		r.Name = value
	case 'V':
		if err := (Versioning{}).ValidVersion(value); err != nil {
			if r.Name != "" {
				return fmt.Errorf("package %s: %w", r.Name, err)
			}
			return err
		}
		r.Version = value
	case 'A':
		if !archPattern.MatchString(value) {
			return fmt.Errorf("%q is not an apk architecture", distros.Clip(value))
		}
		r.Arch = value
	case 'o':
		if err := (Versioning{}).ValidName(value); err != nil {
			return fmt.Errorf("origin: %w", err)
		}
		r.Origin = value
	case 'C':
		c, err := ParseChecksum(value)
		if err != nil {
			return fmt.Errorf("package checksum: %w", err)
		}
		r.Checksum = c
	case 'f':
		for _, fl := range []byte(value) {
			switch fl {
			case 'f':
				r.BrokenFiles = true
			case 's':
				r.BrokenScript = true
			case 'x':
				r.BrokenXattrs = true
			case 'S':
				p.sha256 = true
			default:
				return fmt.Errorf("unknown flag %q in f:%s", fl, distros.Clip(value))
			}
		}
	case 'F':
		if err := p.count(); err != nil {
			return err
		}
		if err := checkDir(value); err != nil {
			return err
		}
		if prev, dup := p.paths[value+"/"]; dup {
			return fmt.Errorf("directory %q is listed twice (also on line %d)", distros.Clip(value), prev)
		}
		p.paths[value+"/"] = n
		r.Dirs = append(r.Dirs, Dir{Path: value, Attrs: defaultDir})
		p.dir, p.dirAttrs, p.file = len(r.Dirs)-1, false, -1
	case 'M':
		if p.dir < 0 {
			return fmt.Errorf("M: before any F: directory")
		}
		if p.dirAttrs {
			return fmt.Errorf("a second M: for directory %q", distros.Clip(r.Dirs[p.dir].Path))
		}
		a, err := parseAttrs(value)
		if err != nil {
			return err
		}
		r.Dirs[p.dir].Attrs, p.dirAttrs = a, true
	case 'R':
		if p.dir < 0 {
			return fmt.Errorf("R: before any F: directory")
		}
		if err := p.count(); err != nil {
			return err
		}
		if err := checkName(value); err != nil {
			return err
		}
		path := value
		if d := r.Dirs[p.dir].Path; d != "" {
			path = d + "/" + value
		}
		if len(path) > maxPath {
			return fmt.Errorf("the path %q is longer than %d bytes", distros.Clip(path), maxPath)
		}
		if prev, dup := p.paths[path]; dup {
			return fmt.Errorf("file %q is listed twice (also on line %d)", distros.Clip(path), prev)
		}
		p.paths[path] = n
		r.Files = append(r.Files, File{Path: path, Attrs: defaultFile})
		p.file, p.fileSum, p.fileAttr = len(r.Files)-1, false, false
	case 'a':
		if p.file < 0 {
			return fmt.Errorf("a: before any R: file of the directory")
		}
		if p.fileAttr {
			return fmt.Errorf("a second a: for file %q", distros.Clip(r.Files[p.file].Path))
		}
		a, err := parseAttrs(value)
		if err != nil {
			return err
		}
		r.Files[p.file].Attrs, p.fileAttr = a, true
	case 'Z':
		if p.file < 0 {
			return fmt.Errorf("Z: before any R: file of the directory")
		}
		if p.fileSum {
			return fmt.Errorf("a second Z: for file %q", distros.Clip(r.Files[p.file].Path))
		}
		c, err := ParseChecksum(value)
		if err != nil {
			return fmt.Errorf("file %q: %w", distros.Clip(r.Files[p.file].Path), err)
		}
		r.Files[p.file].Checksum, p.fileSum = c, true
	}
	return nil
}

// end ends the stanza being read, if any: it must have a name and a
// version.
func (p *parser) end() error {
	r := p.cur
	if r == nil {
		return nil
	}
	p.cur = nil
	if r.Name == "" {
		return fmt.Errorf("apk database line %d: the stanza has no P: (package name)", r.Line)
	}
	if r.Version == "" {
		return fmt.Errorf("apk database line %d: package %s has no V: (version)", r.Line, r.Name)
	}
	if len(p.db.Records) >= maxPackages {
		return fmt.Errorf("apk database line %d: more than %d packages", r.Line, maxPackages)
	}
	if p.sha256 {
		// apk-tools 3 installed it from a v3 package: its Q1 digests are
		// SHA-256 cut to 160 bits. f: comes before the file list, but
		// the flag is the package's wherever it stands.
		if r.Checksum.Alg == SHA1 {
			r.Checksum.Alg = SHA256_160
		}
		for i := range r.Files {
			if r.Files[i].Checksum.Alg == SHA1 {
				r.Files[i].Checksum.Alg = SHA256_160
			}
		}
	}
	p.db.Records = append(p.db.Records, *r)
	return nil
}

func (p *parser) count() error {
	if p.entries++; p.entries > maxEntries {
		return fmt.Errorf("more than %d directories and files", maxEntries)
	}
	return nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// checkDir accepts an F: directory: relative to the root, "" for the
// root itself, no "." or ".." or empty components, no control characters.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	if len(dir) > maxPath {
		return fmt.Errorf("the directory %q is longer than %d bytes", distros.Clip(dir), maxPath)
	}
	if dir[0] == '/' {
		return fmt.Errorf("the directory %q is absolute; the database's paths are relative to the root", distros.Clip(dir))
	}
	for _, c := range strings.Split(dir, "/") {
		if err := checkName(c); err != nil {
			return fmt.Errorf("the directory %q: %w", distros.Clip(dir), err)
		}
	}
	return nil
}

// checkName accepts one path component: an R: file name or a part of an
// F: directory.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("an empty path component")
	case name == "." || name == "..":
		return fmt.Errorf("%q leaves its directory", name)
	case strings.Contains(name, "/"):
		return fmt.Errorf("the file name %q holds a '/'", distros.Clip(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] < ' ' || name[i] == 0x7f {
			return fmt.Errorf("the path component %q holds a control character", distros.Clip(name))
		}
	}
	return nil
}

// parseAttrs reads M: and a: values, uid:gid:mode[:xattrs], the mode in
// octal.
func parseAttrs(s string) (Attrs, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 {
		return Attrs{}, fmt.Errorf("%q is not uid:gid:mode", distros.Clip(s))
	}
	uid, err1 := strconv.ParseUint(parts[0], 10, 32)
	gid, err2 := strconv.ParseUint(parts[1], 10, 32)
	mode, err3 := strconv.ParseUint(parts[2], 8, 32)
	if err1 != nil || err2 != nil || err3 != nil || mode > 0o7777 {
		return Attrs{}, fmt.Errorf("%q is not uid:gid:mode (decimal ids, octal permission bits)", distros.Clip(s))
	}
	a := Attrs{UID: uint32(uid), GID: uint32(gid), Mode: uint32(mode)}
	if len(parts) == 4 {
		if a.Xattrs, err1 = ParseChecksum(parts[3]); err1 != nil {
			return Attrs{}, fmt.Errorf("extended attributes: %w", err1)
		}
	}
	return a, nil
}
