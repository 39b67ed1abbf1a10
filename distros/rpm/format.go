package rpm

import (
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
)

// Format is the rpm package format. Its reports are read and planned; no
// method patches its images yet, so it is not a distros.PatchFormat.
type Format struct{}

var _ distros.Format = Format{}

// Name implements distros.Format.
func (Format) Name() string { return "rpm" }

// Versioning implements distros.Format.
func (Format) Versioning() distros.Versioning { return Versioning{} }

// Distros implements distros.Format: the os-release IDs the distros ship,
// the family names Trivy gives them (its SUSE names before v0.58.0 are
// mapped by the report reader), and Trivy's package-URL namespaces.
func (Format) Distros() []distros.Distro {
	return []distros.Distro{
		{ID: "rhel", Families: []string{"redhat"}, Namespace: "redhat"},
		{ID: "centos", Families: []string{"centos", "centos-stream"}, Namespace: "centos"},
		{ID: "rocky", Families: []string{"rocky"}, Namespace: "rocky"},
		{ID: "almalinux", Families: []string{"alma"}, Namespace: "alma"},
		{ID: "ol", Families: []string{"oracle"}, Namespace: "oracle"},
		{ID: "amzn", Families: []string{"amazon"}, Namespace: "amazon"},
		{ID: "fedora", Families: []string{"fedora"}, Namespace: "fedora"},
		{ID: "mariner", Families: []string{"cbl-mariner"}, Namespace: "cbl-mariner"},
		{ID: "azurelinux", Families: []string{"azurelinux"}, Namespace: "azurelinux"},
		{ID: "photon", Families: []string{"photon"}, Namespace: "photon"},
		{ID: "sles", Families: []string{"sles"}, Namespace: "suse"},
		{ID: "sle-micro", Families: []string{"slem"}, Namespace: "suse"},
		{ID: "opensuse-leap", Families: []string{"opensuse-leap", "opensuse"}, Namespace: "opensuse"},
		{ID: "opensuse-tumbleweed", Families: []string{"opensuse-tumbleweed"}, Namespace: "opensuse"},
	}
}

// PackageURL implements distros.Format: pkg:rpm/<namespace>/<name>@<version>-<release>
// with the epoch as a qualifier, as Trivy writes them.
func (f Format) PackageURL(t distros.PURLTarget, p distros.Package) string {
	ns := distros.Namespace(f, t.OS)
	q := map[string]string{}
	version := p.Version
	if epoch, rest, ok := strings.Cut(version, ":"); ok {
		version = rest
		if epoch != "0" {
			q["epoch"] = epoch
		}
	}
	if p.Arch != "" {
		q["arch"] = p.Arch
	}
	if t.OS.VersionID != "" {
		q["distro"] = ns + "-" + t.OS.VersionID
	}
	return packageurl.NewPackageURL(packageurl.TypeRPM, ns, p.Name, version, packageurl.QualifiersFromMap(q), "").ToString()
}
