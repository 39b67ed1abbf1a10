package apk

import (
	"fmt"
	"regexp"
	"time"

	"github.com/copa/frontend/distros"
)

// Release is the per-release data of an apk distro release: what the
// frontend must know of it to patch its images. Alpine's branches are
// values in the table below; a branch the table does not list gets its
// distro's defaults (a tooling image of its name, no end of support), so
// a new branch works before it is added. Wolfi and Chainguard are rolling
// distributions: one release each, whatever the image's VERSION_ID.
type Release struct {
	distros.Release
	// Branch is Alpine's branch ("3.21", "edge"); "" for a rolling
	// distro.
	Branch string
	// CacheKey names the release in cache mount IDs: the apk cache
	// (indexes and downloads) is shared by the builds of one release and
	// platform.
	CacheKey string
}

// Where the distros publish their tooling images. Only apk and a shell
// are taken from a tooling image: the patch reads the repositories, keys
// and architecture of the image it patches (apk --root), so any image of
// the distro serves.
const (
	alpineTooling = "docker.io/library/alpine:%s"
	wolfiTooling  = "cgr.dev/chainguard/wolfi-base:latest"
)

// alpineEOL is the end of security support of Alpine's branches (main
// repository), as alpinelinux.org/releases publishes it. A branch left
// out was not confirmed, and a branch without a date never warns.
var alpineEOL = map[string]string{
	"3.14": "2023-05-01",
	"3.15": "2023-11-01",
	"3.16": "2024-05-23",
	"3.17": "2024-11-22",
	"3.18": "2025-05-09",
	"3.19": "2025-11-01",
	"3.20": "2026-04-01",
	"3.21": "2026-11-01",
	"3.22": "2027-05-01",
	"3.23": "2027-11-01",
}

var (
	// alpineVersion is a release's VERSION_ID ("3.21.3", "3.21") or the
	// version a scanner reports; the branch is its first two numbers.
	alpineVersion = regexp.MustCompile(`^([0-9]+\.[0-9]+)(\.[0-9]+)?$`)
	// alpineEdge is edge's VERSION_ID: the next branch, an _alpha and
	// the snapshot's date ("3.22_alpha20250108").
	alpineEdge = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?_alpha[0-9]*$`)
)

// ReleaseOf returns the per-release data of an image's release.
func ReleaseOf(osr distros.OSRelease) (Release, error) {
	d, ok := distros.DistroOf(Format{}, osr)
	if !ok {
		return Release{}, fmt.Errorf("%s is not an apk distro copa/frontend knows", osr)
	}
	r := Release{Release: distros.Release{Distro: d.ID}, CacheKey: d.ID}
	switch d.ID {
	case "alpine":
		v := osr.VersionID
		switch m := alpineVersion.FindStringSubmatch(v); {
		case v == "":
			return Release{}, fmt.Errorf("the image's os-release (%s) has no VERSION_ID: copa/frontend needs it to pick the Alpine branch's tooling image", osr)
		case m != nil:
			r.Branch = m[1]
		case alpineEdge.MatchString(v):
			r.Branch = "edge"
		default:
			return Release{}, fmt.Errorf("the image's os-release VERSION_ID %q is not an Alpine release (3.21.3, or edge's 3.22_alpha20250108)", distros.Clip(v))
		}
		r.Name = r.Branch
		r.Tooling = fmt.Sprintf(alpineTooling, r.Branch)
		r.CacheKey += "-" + r.Branch
		if eol := alpineEOL[r.Branch]; eol != "" {
			t, err := time.Parse(time.DateOnly, eol)
			if err != nil {
				panic(err) // the table is code
			}
			r.EOL = t
		}
	case "wolfi", "chainguard":
		// Rolling: the os-release's VERSION_ID is a date that names no
		// branch. Chainguard's images come from Wolfi's packages, so
		// Wolfi's base image is their tooling image too.
		r.Tooling = wolfiTooling
	default:
		// A distro that publishes no tooling image copa/frontend knows of:
		// TOOLING must name one for images without apk.
	}
	return r, nil
}

// Release implements distros.PatchFormat.
func (Format) Release(osr distros.OSRelease) (distros.Release, error) {
	r, err := ReleaseOf(osr)
	return r.Release, err
}
