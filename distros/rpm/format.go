package rpm

import (
	"context"
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/rpm/rpmdb"
)

// Format is the rpm package format: Red Hat and its rebuilds, Amazon
// Linux, Fedora, SUSE, CBL-Mariner/Azure Linux and Photon.
type Format struct{}

var _ distros.PatchFormat = Format{}

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

// Installed implements distros.PatchFormat: the records of the image's
// rpm database (rpmdb.Read), one per package, architecture and version.
// The database is the image's, so every record must pass rpm's grammar.
func (Format) Installed(ctx context.Context, root distros.FS) (distros.Packages, error) {
	db, err := rpmdb.Read(ctx, root)
	if err != nil {
		return nil, err
	}
	v := Versioning{}
	out := make(distros.Packages, 0, len(db.Headers))
	for _, h := range db.Headers {
		if err := v.ValidName(h.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", db.File, err)
		}
		evr := h.EVR()
		if err := v.ValidVersion(evr); err != nil {
			return nil, fmt.Errorf("%s: package %s: %w", db.File, h.Name, err)
		}
		arch := h.Arch
		if arch == "(none)" {
			arch = ""
		}
		out = append(out, distros.Package{Name: h.Name, Arch: arch, Version: evr, Source: sourceName(h.SourceRPM)})
	}
	return out, nil
}

// sourceName is the name in a source package's file name,
// NAME-VERSION-RELEASE.src.rpm; "" when it is not one.
func sourceName(srpm string) string {
	s, ok := strings.CutSuffix(srpm, ".src.rpm")
	if !ok {
		s, ok = strings.CutSuffix(srpm, ".nosrc.rpm")
	}
	if !ok {
		return ""
	}
	for range 2 {
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return ""
		}
		s = s[:i]
	}
	return s
}

// Release implements distros.PatchFormat.
func (Format) Release(osr distros.OSRelease) (distros.Release, error) {
	r, err := ReleaseOf(osr)
	return r.Release, err
}
