package deb

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/copa/frontend/distros"
)

// ParseInstalled returns one record per installed package of a dpkg status
// file: the stanzas whose Status says "installed".
func ParseInstalled(data []byte) (distros.Packages, error) {
	return parseInstalled(data, DBStatus)
}

// ParseInstalledD returns one record per installed package of one file of
// a status.d directory, where a stanza without Status is installed (see
// DBLayout.Installed).
func ParseInstalledD(data []byte) (distros.Packages, error) {
	return parseInstalled(data, DBStatusD)
}

// archPattern is a dpkg architecture name (amd64, arm64, all,
// musl-linux-arm64).
var archPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func parseInstalled(data []byte, l DBLayout) (distros.Packages, error) {
	var out distros.Packages
	for _, s := range ParseControl(data) {
		if !l.Installed(s) {
			continue
		}
		p := Record(s)
		if p.Version == "" {
			return nil, fmt.Errorf("dpkg status line %d: package %s has no Version", s.Line, distros.Clip(p.Name))
		}
		// The database is the image's: its names and versions reach the
		// patch step's package manager as words (upgrading every package
		// of a distroless image passes them all), so they must pass
		// dpkg's grammar like a report's do.
		if err := (Versioning{}).ValidName(p.Name); err != nil {
			return nil, fmt.Errorf("dpkg status line %d: %w", s.Line, err)
		}
		if err := (Versioning{}).ValidVersion(p.Version); err != nil {
			return nil, fmt.Errorf("dpkg status line %d: package %s: %w", s.Line, p.Name, err)
		}
		if p.Arch != "" && !archPattern.MatchString(p.Arch) {
			return nil, fmt.Errorf("dpkg status line %d: package %s: %q is not a dpkg architecture", s.Line, p.Name, distros.Clip(p.Arch))
		}
		out = append(out, p)
	}
	return out, nil
}

// Record is the package a database stanza describes: its Package,
// Architecture and Version, and the source package it was built from,
// which the Source field names, without the "(version)" that follows when
// the source version differs; Source is "" when the field is missing or
// names the package itself.
func Record(s Stanza) distros.Package {
	var p distros.Package
	p.Name, _ = s.FirstLine("Package")
	p.Arch, _ = s.FirstLine("Architecture")
	p.Version, _ = s.FirstLine("Version")
	src, _ := s.FirstLine("Source")
	if f := strings.Fields(src); len(f) > 0 && f[0] != p.Name {
		p.Source = f[0]
	}
	return p
}
