package apk

import (
	"github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
)

// Format is the apk package format: Alpine, Wolfi, Chainguard and MinimOS.
// It reads the installed packages (Installed), knows each release's facts
// (Release) and checks SOURCES files (CheckSources); its methods are
// InImage (apk in the image) and Tooling (apk of a tooling image).
type Format struct{}

var _ distros.PatchFormat = Format{}

// Name implements distros.Format.
func (Format) Name() string { return "apk" }

// Versioning implements distros.Format.
func (Format) Versioning() distros.Versioning { return Versioning{} }

// Distros implements distros.Format.
func (Format) Distros() []distros.Distro {
	return []distros.Distro{
		{ID: "alpine", Families: []string{"alpine"}, Namespace: "alpine"},
		{ID: "wolfi", Families: []string{"wolfi"}, Namespace: "wolfi"},
		{ID: "chainguard", Families: []string{"chainguard"}, Namespace: "chainguard"},
		{ID: "minimos", Families: []string{"minimos"}, Namespace: "minimos"},
	}
}

// PackageURL implements distros.Format: pkg:apk/<namespace>/<name>@<version>,
// whose distro qualifier is the release alone, as Trivy writes them.
func (f Format) PackageURL(t distros.PURLTarget, p distros.Package) string {
	ns := distros.Namespace(f, t.OS)
	q := map[string]string{}
	if p.Arch != "" {
		q["arch"] = p.Arch
	}
	if t.OS.VersionID != "" {
		q["distro"] = t.OS.VersionID
	}
	return packageurl.NewPackageURL(packageurl.TypeApk, ns, p.Name, p.Version, packageurl.QualifiersFromMap(q), "").ToString()
}
