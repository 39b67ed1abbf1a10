package deb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/copa/frontend/distros"
)

// Package is an installed package by name, as ParseStatus returns it: the
// version that decides (see distros.Packages.Version) and that record's
// architecture. New code reads records (ParseInstalled, ReadInstalled).
type Package struct {
	Name    string
	Version string
	Arch    string
}

// ParseStatus reads a dpkg status file and returns the packages whose state
// is "installed", by name. A package installed for several architectures
// (multi-arch) keeps its lowest version, so that verification never passes
// on the strength of one architecture while another is still vulnerable.
func ParseStatus(data []byte) (map[string]Package, error) {
	ps, err := ParseInstalled(data)
	return byName(ps), err
}

// ParseStatusD reads one file of a status.d directory, by name as
// ParseStatus does (see ParseInstalledD).
func ParseStatusD(data []byte) (map[string]Package, error) {
	ps, err := ParseInstalledD(data)
	return byName(ps), err
}

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

// byName keeps, for each name, the version that decides and its
// architecture.
func byName(ps distros.Packages) map[string]Package {
	out := map[string]Package{}
	for _, p := range ps {
		if _, done := out[p.Name]; done {
			continue
		}
		v, _ := ps.Version(Versioning{}, p.Name)
		i := slices.IndexFunc(ps, func(q distros.Package) bool { return q.Name == p.Name && q.Version == v })
		out[p.Name] = Package{Name: p.Name, Version: v, Arch: ps[i].Arch}
	}
	return out
}

// Versions maps package names to installed versions.
func Versions(pkgs map[string]Package) map[string]string {
	m := make(map[string]string, len(pkgs))
	for n, p := range pkgs {
		m[n] = p.Version
	}
	return m
}
