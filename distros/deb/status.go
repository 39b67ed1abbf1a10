package deb

import (
	"fmt"
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

func parseInstalled(data []byte, l DBLayout) (distros.Packages, error) {
	var out distros.Packages
	for _, s := range ParseControl(data) {
		if !l.Installed(s) {
			continue
		}
		p := Record(s)
		if p.Version == "" {
			return nil, fmt.Errorf("dpkg status line %d: package %s has no Version", s.Line, p.Name)
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
