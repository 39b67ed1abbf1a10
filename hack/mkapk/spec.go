package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Spec is the JSON description of one repository directory: every package
// in it is built for Arch unless the package names its own (e.g. noarch).
type Spec struct {
	Arch string `json:"arch"`
	// Description, when set, becomes the index's DESCRIPTION entry, which
	// apk update prints next to the repository's URL.
	Description string    `json:"description,omitempty"`
	Packages    []Package `json:"packages"`
}

// Package is one .apk. Name, Version and License are required; Origin
// defaults to Name. Depends, Provides and InstallIf are apk dependency
// strings written as given ("copa-lib>=1.0-r0", "so:libcopa.so.1=1").
type Package struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Arch        string   `json:"arch,omitempty"`
	Origin      string   `json:"origin,omitempty"`
	Description string   `json:"description,omitempty"`
	URL         string   `json:"url,omitempty"`
	License     string   `json:"license"`
	Maintainer  string   `json:"maintainer,omitempty"`
	Commit      string   `json:"commit,omitempty"`
	Depends     []string `json:"depends,omitempty"`
	Provides    []string `json:"provides,omitempty"`
	InstallIf   []string `json:"install_if,omitempty"`
	Files       []File   `json:"files,omitempty"`
	// Epoch, in Unix seconds, overrides -epoch for this package's mtimes and
	// build date: a repository of a later run can then carry a package of
	// an earlier one byte for byte, as a distribution's unchanged packages
	// stay the same between updates.
	Epoch *int64 `json:"epoch,omitempty"`
	// Scripts maps an install script's name (post-upgrade, …) to its text.
	Scripts map[string]string `json:"scripts,omitempty"`
}

// File is one entry of a package's data: a regular file with Content, or
// with Size bytes generated from Seed; a symlink to Symlink; or, with Dir, a
// directory (directories above any entry are added without being listed).
// Mode is octal; it defaults to 0644 for files and 0755 for directories.
type File struct {
	Path    string  `json:"path"`
	Mode    string  `json:"mode,omitempty"`
	Content *string `json:"content,omitempty"`
	Size    int64   `json:"size,omitempty"`
	Seed    string  `json:"seed,omitempty"`
	Symlink string  `json:"symlink,omitempty"`
	Dir     bool    `json:"dir,omitempty"`
}

// scriptNames are the control-tar script names apk 2.14 runs
// (apk_script_types in src/package.c); any other name would be ignored by
// apk, so the spec refuses it rather than let a test rely on a script that
// never runs.
var scriptNames = []string{
	"pre-install", "post-install", "pre-upgrade", "post-upgrade",
	"pre-deinstall", "post-deinstall", "trigger",
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9+_.-]*$`)
	// The version grammar apk_version_validate accepts; apk refuses an index
	// entry with any other version, so a typo fails here instead.
	versionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?` +
		`(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?(-r[0-9]+)?$`)
)

// loadSpec reads and checks a spec file.
func loadSpec(file string) (*Spec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var s Spec
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &s, nil
}

func (s *Spec) validate() error {
	if s.Arch == "" {
		return fmt.Errorf("no arch")
	}
	if len(s.Packages) == 0 {
		return fmt.Errorf("no packages")
	}
	seen := map[string]bool{}
	for i := range s.Packages {
		p := &s.Packages[i]
		if err := p.validate(); err != nil {
			return fmt.Errorf("package %d (%s): %w", i, p.Name, err)
		}
		if seen[p.fileName()] {
			return fmt.Errorf("package %s-%s is listed twice", p.Name, p.Version)
		}
		seen[p.fileName()] = true
	}
	return nil
}

func (p *Package) validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("bad name %q", p.Name)
	}
	if !versionRE.MatchString(p.Version) {
		return fmt.Errorf("bad version %q", p.Version)
	}
	// apk-tools dereferences the license unconditionally when it writes an
	// index or its installed database, so a package without one crashes it.
	if p.License == "" {
		return fmt.Errorf("no license")
	}
	for _, v := range []string{p.Description, p.URL, p.License, p.Maintainer, p.Origin, p.Commit} {
		if strings.ContainsAny(v, "\n") {
			return fmt.Errorf("a field holds a newline: %q", v)
		}
	}
	for _, list := range [][]string{p.Depends, p.Provides, p.InstallIf} {
		for _, d := range list {
			if d == "" || strings.ContainsAny(d, " \t\n") {
				return fmt.Errorf("bad dependency %q", d)
			}
		}
	}
	for name := range p.Scripts {
		if !isScriptName(name) {
			return fmt.Errorf("unknown script %q (apk runs %s)", name, strings.Join(scriptNames, ", "))
		}
	}
	paths := map[string]bool{}
	for _, f := range p.Files {
		if err := f.validate(); err != nil {
			return err
		}
		if paths[f.cleanPath()] {
			return fmt.Errorf("%s is listed twice", f.Path)
		}
		paths[f.cleanPath()] = true
	}
	for _, f := range p.Files {
		for dir := path.Dir(f.cleanPath()); dir != "."; dir = path.Dir(dir) {
			if paths[dir] && !p.isDir(dir) {
				return fmt.Errorf("%s is below %s, which is not a directory", f.Path, dir)
			}
		}
	}
	return nil
}

func (p *Package) isDir(clean string) bool {
	for _, f := range p.Files {
		if f.cleanPath() == clean {
			return f.Dir
		}
	}
	return false
}

func isScriptName(name string) bool {
	for _, n := range scriptNames {
		if n == name {
			return true
		}
	}
	return false
}

func (f *File) validate() error {
	c := f.cleanPath()
	if f.Path == "" || strings.HasPrefix(f.Path, "/") || c == "." || c == ".." ||
		strings.HasPrefix(c, "../") || c != strings.TrimSuffix(f.Path, "/") {
		return fmt.Errorf("bad path %q (relative, clean, without ..)", f.Path)
	}
	// apk takes a top-level name starting with a dot for a control entry.
	if strings.HasPrefix(c, ".") {
		return fmt.Errorf("path %q starts with a dot", f.Path)
	}
	kinds := 0
	if f.Content != nil {
		kinds++
	}
	if f.Seed != "" || f.Size != 0 {
		kinds++
	}
	if f.Symlink != "" {
		kinds++
	}
	if f.Dir {
		kinds++
	}
	if kinds != 1 {
		return fmt.Errorf("%s: give exactly one of content, size+seed, symlink, dir", f.Path)
	}
	if (f.Seed != "" || f.Size != 0) && f.Size < 0 {
		return fmt.Errorf("%s: negative size", f.Path)
	}
	if f.Mode != "" {
		if _, err := f.mode(); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) cleanPath() string { return path.Clean(f.Path) }

// mode is the entry's permission bits, from the octal Mode or the default
// for its kind.
func (f *File) mode() (int64, error) {
	switch {
	case f.Symlink != "":
		return 0o777, nil
	case f.Mode == "" && f.Dir:
		return 0o755, nil
	case f.Mode == "":
		return 0o644, nil
	}
	m, err := strconv.ParseUint(f.Mode, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("%s: bad mode %q (octal, e.g. 0755)", f.Path, f.Mode)
	}
	return int64(m), nil
}

// data is a regular file's content. Seeded content is SHA-256 in counter
// mode over the seed: the same seed gives the same bytes on every machine,
// and different seeds give incompressible, distinct blobs, as real binaries
// would be.
func (f *File) data() []byte {
	if f.Content != nil {
		return []byte(*f.Content)
	}
	out := make([]byte, 0, f.Size+sha256.Size)
	var ctr [8]byte
	for i := uint64(0); int64(len(out)) < f.Size; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.New()
		h.Write([]byte(f.Seed))
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	return out[:f.Size]
}

// arch is the package's A: field.
func (p *Package) arch(def string) string {
	if p.Arch != "" {
		return p.Arch
	}
	return def
}

func (p *Package) origin() string {
	if p.Origin != "" {
		return p.Origin
	}
	return p.Name
}

// fileName is the name apk fetches the package by: <name>-<version>.apk in
// the index's directory.
func (p *Package) fileName() string { return p.Name + "-" + p.Version + ".apk" }
