package distros

import (
	"context"
	"slices"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format is a package format (deb, rpm, apk): what reports of its distros
// mean, whatever method patches them.
type Format interface {
	// Name is the format's name, e.g. "deb".
	Name() string
	// Versioning is the format's version order and name grammar.
	Versioning() Versioning
	// Distros are the distributions whose packages are of this format.
	Distros() []Distro
	// PackageURL is the package URL of an installed package, as scanners
	// write it, so that VEX statements match their findings.
	PackageURL(t PURLTarget, p Package) string
}

// PatchFormat is a Format that the frontend can patch: it reads the
// installed packages and knows each release's facts. Every format that
// has a Method is one.
type PatchFormat interface {
	Format
	// Installed reads the installed packages from the image's files. An
	// image without the format's package database is an error that says
	// what is missing.
	Installed(ctx context.Context, root FS) (Packages, error)
	// Release returns the per-release facts of an image of a distro this
	// format serves.
	Release(osr OSRelease) (Release, error)
	// CheckSources checks a SOURCES file before any step runs: that it is
	// of a kind the format's package managers read (its name's ending)
	// and well formed. Errors name the line.
	CheckSources(s Sources) error
}

// Distro is one distribution in the vocabularies that meet here: its
// os-release ID, the family names scanners give it, and its package-URL
// namespace.
type Distro struct {
	// ID is the os-release ID the distro ships: "debian", "rhel".
	ID string
	// Families are the names reports give it (report.Report.Family, in
	// Trivy's vocabulary; the Grype reader maps its own onto these).
	Families []string
	// Namespace is the package-URL namespace of its packages.
	Namespace string
}

// Matches reports whether an image of release osr is of this distro: its
// ID, or an ID_LIKE naming it.
func (d Distro) Matches(osr OSRelease) bool {
	return osr.Is(d.ID)
}

// Release is what every format knows of one distro release, from its
// per-release data.
type Release struct {
	// Distro is the os-release ID, Name the release's name for messages
	// and cache IDs ("bookworm", "9").
	Distro, Name string
	// EOL is when free security support ended or ends; zero when unknown.
	EOL time.Time
	// Tooling is the default tooling image of the release, "" when it has
	// none (then TOOLING must name one).
	Tooling string
}

// String names the release, e.g. "debian bookworm".
func (r Release) String() string {
	if r.Name == "" {
		return r.Distro
	}
	return r.Distro + " " + r.Name
}

// EndOfLife reports whether the release's security support had ended at t.
func (r Release) EndOfLife(t time.Time) bool {
	return !r.EOL.IsZero() && !t.Before(r.EOL)
}

// PURLTarget is what package URLs carry besides the package: the image's
// release and platform.
type PURLTarget struct {
	OS       OSRelease
	Platform ocispecs.Platform
}

// DistroOf returns the distro of f that an image of release osr is. The
// image's own ID wins over ID_LIKE, so that a derivative named in the
// vocabulary is itself and not its parent.
func DistroOf(f Format, osr OSRelease) (Distro, bool) {
	ds := f.Distros()
	if i := slices.IndexFunc(ds, func(d Distro) bool { return d.ID == osr.ID }); i >= 0 {
		return ds[i], true
	}
	if i := slices.IndexFunc(ds, func(d Distro) bool { return d.Matches(osr) }); i >= 0 {
		return ds[i], true
	}
	return Distro{}, false
}

// Namespace is the package-URL namespace of an image of release osr: its
// distro's, or the os-release ID of a distro f does not list.
func Namespace(f Format, osr OSRelease) string {
	if d, ok := DistroOf(f, osr); ok {
		return d.Namespace
	}
	return osr.ID
}
