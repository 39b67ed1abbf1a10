package deb

import (
	"context"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
)

// Format is the deb package format of Debian, Ubuntu and their
// derivatives: dpkg's version order and database, apt's releases.
type Format struct{}

var _ distros.PatchFormat = Format{}

// Name implements distros.Format.
func (Format) Name() string { return "deb" }

// Versioning implements distros.Format.
func (Format) Versioning() distros.Versioning { return Versioning{} }

// Distros implements distros.Format. Both scanners call them by their
// os-release IDs.
func (Format) Distros() []distros.Distro {
	return []distros.Distro{
		{ID: "debian", Families: []string{"debian"}, Namespace: "debian"},
		{ID: "ubuntu", Families: []string{"ubuntu"}, Namespace: "ubuntu"},
	}
}

// Installed implements distros.PatchFormat: the dpkg database, status or
// status.d, whichever the image keeps.
func (Format) Installed(ctx context.Context, root distros.FS) (distros.Packages, error) {
	return ReadInstalled(ctx, root)
}

// Release implements distros.PatchFormat.
func (Format) Release(osr distros.OSRelease) (distros.Release, error) {
	r, err := ReleaseOf(osr)
	return r.Release, err
}

// PackageURL implements distros.Format: pkg:deb/<distro>/<name>@<version>
// with the package's dpkg architecture (the image's when the database does
// not say) and the release, as Trivy writes them. packageurl-go
// percent-encodes what the purl spec reserves, e.g. the '+' of
// "5.36.0-7+deb12u4" becomes %2B, as in Trivy's own purls.
func (f Format) PackageURL(t distros.PURLTarget, p distros.Package) string {
	ns := distros.Namespace(f, t.OS)
	q := map[string]string{}
	if arch := p.Arch; arch != "" {
		q["arch"] = arch
	} else if arch := Arch(t.Platform.Architecture, t.Platform.Variant); arch != "" {
		q["arch"] = arch
	}
	if t.OS.VersionID != "" {
		q["distro"] = ns + "-" + t.OS.VersionID
	}
	return packageurl.NewPackageURL(packageurl.TypeDebian, ns, p.Name, p.Version, packageurl.QualifiersFromMap(q), "").ToString()
}

// Arch maps an OCI architecture and variant ("arm", "v7") to the dpkg
// architecture ("armhf").
func Arch(arch, variant string) string {
	switch arch {
	case "386":
		return "i386"
	case "arm":
		if variant == "v5" || variant == "v6" {
			return "armel"
		}
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	case "mips64le":
		return "mips64el"
	default:
		return strings.ToLower(arch) // amd64, arm64, s390x, riscv64, loong64 keep their names
	}
}
