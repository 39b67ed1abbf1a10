// Package debtest is what tests read of the dpkg databases in images and
// trees they make: the integration tests under frontend/, so that
// frontend/ itself names no format package (docs/architecture.md), and
// the deb package's own tests of the same view.
package debtest

import (
	"slices"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/deb/debstep"
)

// Package is an installed package by name: the version that decides
// (distros.Packages.Version) and that record's architecture.
type Package struct {
	Name    string
	Version string
	Arch    string
}

// Versioning is dpkg's version order.
type Versioning = deb.Versioning

// ParseStatus reads a dpkg status file by name (deb.ParseInstalled).
func ParseStatus(data []byte) (map[string]Package, error) {
	ps, err := deb.ParseInstalled(data)
	return byName(ps), err
}

// ParseStatusD reads one file of status.d by name (deb.ParseInstalledD).
func ParseStatusD(data []byte) (map[string]Package, error) {
	ps, err := deb.ParseInstalledD(data)
	return byName(ps), err
}

func byName(ps distros.Packages) map[string]Package {
	out := map[string]Package{}
	for _, p := range ps {
		if _, done := out[p.Name]; done {
			continue
		}
		v, _ := ps.Version(deb.Versioning{}, p.Name)
		i := slices.IndexFunc(ps, func(q distros.Package) bool { return q.Name == p.Name && q.Version == v })
		out[p.Name] = Package{Name: p.Name, Version: v, Arch: ps[i].Arch}
	}
	return out
}

// Versions maps names to versions.
func Versions(pkgs map[string]Package) map[string]string {
	m := make(map[string]string, len(pkgs))
	for n, p := range pkgs {
		m[n] = p.Version
	}
	return m
}

// UnmetDepends lists the dependencies of the new packages that the image
// does not meet (debstep.UnmetDepends).
func UnmetDepends(depends map[string][]string, after map[string]string) ([]string, error) {
	return debstep.UnmetDepends(depends, after)
}
