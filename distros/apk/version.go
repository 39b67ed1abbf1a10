// Package apk is the apk package format of Alpine, Wolfi and Chainguard:
// apk's version order and name grammar, the installed database, release
// facts, SOURCES files, and the two methods that patch its images (apk in
// the image, or a tooling image's apk with the image as its root), with
// their step script. The helper commands that run inside the step are in
// distros/apk/apkstep.
package apk

import (
	"cmp"
	"fmt"
	"regexp"

	apkversion "github.com/knqyf263/go-apk-version"

	"github.com/copa/frontend/distros"
)

// maxField bounds names and versions: real apk names and versions are far
// shorter, and anything longer is not from a package database.
const maxField = 256

var (
	// Alpine's package names: lower-case letters, digits and ". _ + -",
	// starting with a letter or digit (so never an option).
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._+-]*$`)
	// apk-tools' grammar (src/version.c): numbers separated by dots, one
	// optional letter, any number of _suffix[N] (alpha, beta, pre, rc
	// sort before the release; cvs, svn, git, hg, p after), and an
	// optional -rN package revision.
	versionPattern = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)*[a-z]?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(?:-r[0-9]+)?$`)
)

// Versioning is apk's version order and name grammar.
type Versioning struct{}

// Compare orders versions as `apk version -t` does. Versions must have
// passed ValidVersion.
func (Versioning) Compare(a, b string) int {
	return cmp.Compare(apkversion.Version(a).Compare(apkversion.Version(b)), 0)
}

// ValidName accepts an apk package name.
func (Versioning) ValidName(name string) error {
	if len(name) > maxField || !namePattern.MatchString(name) {
		return fmt.Errorf("%q is not an apk package name (lower-case letters, digits, '.', '_', '+', '-'; starting with a letter or digit)", distros.Clip(name))
	}
	return nil
}

// ValidVersion accepts an apk version such as 1.36.1-r15 or 1.2.3_rc1-r0.
func (Versioning) ValidVersion(v string) error {
	if len(v) > maxField || !versionPattern.MatchString(v) {
		return fmt.Errorf("%q is not an apk version (e.g. 1.36.1-r15, 1.2_rc1-r0)", distros.Clip(v))
	}
	if _, err := apkversion.NewVersion(v); err != nil {
		return fmt.Errorf("%q is not an apk version: %v", distros.Clip(v), err)
	}
	return nil
}
