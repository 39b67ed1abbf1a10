package deb

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// StatusPath is dpkg's database of installed packages.
const StatusPath = "/var/lib/dpkg/status"

// Package is one installed package from the dpkg database.
type Package struct {
	Name    string
	Version string
	Arch    string
}

// StatusDir is the distroless form of the dpkg database: one file per
// package (or group of packages), each holding control stanzas, often
// without a Status field, next to optional NAME.md5sums files.
const StatusDir = "/var/lib/dpkg/status.d"

// ParseStatus reads a dpkg status file and returns the packages whose state
// is "installed", by name. A package installed for several architectures
// (multi-arch) keeps its lowest version, so that verification never passes
// on the strength of one architecture while another is still vulnerable.
func ParseStatus(data []byte) (map[string]Package, error) {
	return parseStatus(data, false)
}

// ParseStatusD reads one file of a status.d directory. Image builders that
// write status.d copy a package's control file, which has no Status field:
// a stanza without one counts as installed, as it does for scanners.
func ParseStatusD(data []byte) (map[string]Package, error) {
	return parseStatus(data, true)
}

func parseStatus(data []byte, noStatusInstalled bool) (map[string]Package, error) {
	pkgs := map[string]Package{}
	var cur Package
	var state string
	line := 0
	flush := func() error {
		defer func() { cur, state = Package{}, "" }()
		if cur.Name == "" {
			return nil
		}
		if state == "" && noStatusInstalled {
			state = "install ok installed"
		}
		if !strings.HasSuffix(state, " installed") {
			return nil
		}
		if cur.Version == "" {
			return fmt.Errorf("dpkg status line %d: package %s has no Version", line, cur.Name)
		}
		if old, ok := pkgs[cur.Name]; ok && (Versioning{}).Compare(old.Version, cur.Version) <= 0 {
			return nil
		}
		pkgs[cur.Name] = cur
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			continue // continuation of a multi-line field
		}
		k, v, ok := strings.Cut(text, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Architecture":
			cur.Arch = v
		case "Status":
			state = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading dpkg status: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// Versions maps package names to installed versions.
func Versions(pkgs map[string]Package) map[string]string {
	m := make(map[string]string, len(pkgs))
	for n, p := range pkgs {
		m[n] = p.Version
	}
	return m
}
