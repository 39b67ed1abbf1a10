package deb

import (
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
	for _, s := range ParseControl(data) {
		var cur Package
		cur.Name, _ = s.FirstLine("Package")
		cur.Version, _ = s.FirstLine("Version")
		cur.Arch, _ = s.FirstLine("Architecture")
		state, _ := s.FirstLine("Status")
		if cur.Name == "" {
			continue
		}
		if state == "" && noStatusInstalled {
			state = "install ok installed"
		}
		if !strings.HasSuffix(state, " installed") {
			continue
		}
		if cur.Version == "" {
			return nil, fmt.Errorf("dpkg status line %d: package %s has no Version", s.Line, cur.Name)
		}
		if old, ok := pkgs[cur.Name]; ok && (Versioning{}).Compare(old.Version, cur.Version) <= 0 {
			continue
		}
		pkgs[cur.Name] = cur
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
