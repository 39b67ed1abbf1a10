// Package debtest is what the integration tests under frontend/ read of
// the dpkg databases in the images they export, so that frontend/ itself
// names no format package (docs/architecture.md).
package debtest

import (
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/deb/debstep"
)

// Package is an installed package by name (deb.Package).
type Package = deb.Package

// Versioning is dpkg's version order.
type Versioning = deb.Versioning

// ParseStatus reads a dpkg status file (deb.ParseStatus).
func ParseStatus(data []byte) (map[string]Package, error) { return deb.ParseStatus(data) }

// ParseStatusD reads one file of status.d (deb.ParseStatusD).
func ParseStatusD(data []byte) (map[string]Package, error) { return deb.ParseStatusD(data) }

// Versions maps names to versions (deb.Versions).
func Versions(pkgs map[string]Package) map[string]string { return deb.Versions(pkgs) }

// UnmetDepends lists the dependencies of the new packages that the image
// does not meet (debstep.UnmetDepends).
func UnmetDepends(depends map[string][]string, after map[string]string) ([]string, error) {
	return debstep.UnmetDepends(depends, after)
}
