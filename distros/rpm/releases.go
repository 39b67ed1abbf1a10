package rpm

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/copa/frontend/distros"
)

// Release is the per-release data of an rpm distro release: what the
// frontend must know of it to patch its images. Releases are values in
// the table below; a release the table does not list gets its distro's
// defaults (distroDefaults), so a new release works before it is added.
type Release struct {
	distros.Release
	// ReleaseVer is $releasever of the release, as its repository files
	// use it ("9", "2023", "15.6", "3.0"): a tooling step passes it to the
	// package manager, which cannot read it from an image that lacks the
	// release package.
	ReleaseVer string
	// CacheKey names the release in cache mount IDs: repository metadata
	// is shared by the builds of one release and platform.
	CacheKey string
}

// distroDefaults says how a distro's releases are named and where their
// tooling images are. Tooling is a format string given the release name;
// "" when the distro publishes none.
type distroDefaults struct {
	// major: the release is VERSION_ID's first number ("9.4" → "9");
	// otherwise VERSION_ID as it is ("15.6", "3.0", "2023").
	major   bool
	tooling string
}

// defaults are the distros' official tooling images: images of the same
// release that have a package manager (the Copacetic FAQ names the same
// ones). dnf, tdnf and zypper images all serve (see Tooling.CheckTooling).
var defaults = map[string]distroDefaults{
	"rhel":                {major: true, tooling: "registry.access.redhat.com/ubi%s/ubi:latest"},
	"centos":              {major: true, tooling: "quay.io/centos/centos:stream%s"},
	"rocky":               {major: true, tooling: "docker.io/rockylinux/rockylinux:%s"},
	"almalinux":           {major: true, tooling: "docker.io/library/almalinux:%s"},
	"ol":                  {major: true, tooling: "docker.io/library/oraclelinux:%s"},
	"amzn":                {major: true, tooling: "docker.io/library/amazonlinux:%s"},
	"fedora":              {major: true, tooling: "docker.io/library/fedora:%s"},
	"mariner":             {tooling: "mcr.microsoft.com/cbl-mariner/base/core:%s"},
	"azurelinux":          {tooling: "mcr.microsoft.com/azurelinux/base/core:%s"},
	"photon":              {tooling: "docker.io/library/photon:%s"},
	"sles":                {tooling: "registry.suse.com/bci/bci-base:%s"},
	"sle-micro":           {tooling: ""},
	"opensuse-leap":       {tooling: "docker.io/opensuse/leap:%s"},
	"opensuse-tumbleweed": {tooling: "docker.io/opensuse/tumbleweed:latest"},
}

// eols are the ends of free security support the frontend warns about,
// by distro and release name. A date left out was not confirmed, and a
// release without a date never warns. RHEL's rebuilds follow its
// maintenance phases; CentOS Stream ends with its RHEL's full support.
var eols = map[string]map[string]string{
	"rhel":      {"7": "2024-06-30", "8": "2029-05-31", "9": "2032-05-31"},
	"centos":    {"7": "2024-06-30", "8": "2024-05-31", "9": "2027-05-31"},
	"rocky":     {"8": "2029-05-31", "9": "2032-05-31"},
	"almalinux": {"8": "2029-05-31", "9": "2032-05-31"},
	"ol":        {"7": "2024-12-31", "8": "2029-07-31", "9": "2032-06-30"},
	"amzn":      {"2": "2026-06-30", "2023": "2029-06-30"},
	"mariner":   {"1.0": "2023-07-31", "2.0": "2025-07-31"},
	"opensuse-leap": {
		"15.4": "2023-12-07", "15.5": "2024-12-31", "15.6": "2025-12-31",
	},
}

// versionID is what a release name may be: digits and dots.
var versionID = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// ReleaseOf returns the per-release data of an image's release.
func ReleaseOf(osr distros.OSRelease) (Release, error) {
	d, ok := distros.DistroOf(Format{}, osr)
	if !ok {
		return Release{}, fmt.Errorf("%s is not an rpm distro copa/frontend knows", osr)
	}
	def := defaults[d.ID]
	v := osr.VersionID
	switch {
	case d.ID == "opensuse-tumbleweed":
		// A rolling release: one release, whatever the snapshot.
		v = ""
	case v == "":
		return Release{}, fmt.Errorf("the image's os-release (%s) has no VERSION_ID: copa/frontend needs it to pick the release's repositories and tooling image", osr)
	case !versionID.MatchString(v):
		return Release{}, fmt.Errorf("the image's os-release VERSION_ID %q is not a release number", distros.Clip(v))
	case def.major:
		v, _, _ = strings.Cut(v, ".")
	}
	r := Release{ReleaseVer: v}
	r.Distro, r.Name = d.ID, v
	if def.tooling != "" {
		if strings.Contains(def.tooling, "%s") {
			r.Tooling = fmt.Sprintf(def.tooling, v)
		} else {
			r.Tooling = def.tooling
		}
	}
	if eol := eols[d.ID][v]; eol != "" {
		t, err := time.Parse(time.DateOnly, eol)
		if err != nil {
			panic(err) // the table is code
		}
		r.EOL = t
	}
	r.CacheKey = d.ID
	if v != "" {
		r.CacheKey += "-" + v
	}
	return r, nil
}
