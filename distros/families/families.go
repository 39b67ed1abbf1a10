// Package families maps a report's OS family (report.Report.Family, in
// Trivy's vocabulary) to the version order and name grammar of the
// family's package manager, so that reports can be planned and checked
// before it is known how the image will be patched.
package families

import (
	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/rpm"
)

// versionings maps each OS family that has OS packages to its package
// format. Families are named as report.Report.Family names them (Trivy's
// names; the Grype reader maps its own onto these).
var versionings = map[string]distros.Versioning{
	// dpkg
	"debian": deb.Versioning{},
	"ubuntu": deb.Versioning{},
	// apk
	"alpine":     apk.Versioning{},
	"wolfi":      apk.Versioning{},
	"chainguard": apk.Versioning{},
	"minimos":    apk.Versioning{},
	// rpm
	"redhat":              rpm.Versioning{},
	"centos":              rpm.Versioning{},
	"centos-stream":       rpm.Versioning{},
	"rocky":               rpm.Versioning{},
	"alma":                rpm.Versioning{},
	"oracle":              rpm.Versioning{},
	"amazon":              rpm.Versioning{},
	"fedora":              rpm.Versioning{},
	"cbl-mariner":         rpm.Versioning{},
	"azurelinux":          rpm.Versioning{},
	"photon":              rpm.Versioning{},
	"sles":                rpm.Versioning{},
	"slem":                rpm.Versioning{},
	"opensuse":            rpm.Versioning{},
	"opensuse-leap":       rpm.Versioning{},
	"opensuse-tumbleweed": rpm.Versioning{},
}

// VersioningFor returns the version order and name grammar of the package
// manager of an OS family. ok is false for a family this frontend does not
// know, or one without OS packages of its own ("" when the report names no
// OS).
func VersioningFor(family string) (v distros.Versioning, ok bool) {
	v, ok = versionings[family]
	return v, ok
}
