// Package deb patches Debian and Ubuntu images: dpkg's version order and
// name grammar, its status database, the apt sources of a release, and the
// apt run that installs a plan.
package deb

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	debversion "github.com/knqyf263/go-deb-version"

	"github.com/copa/frontend/distros"
)

// maxField bounds names and versions: Debian's longest real versions are far
// shorter, and anything longer is not from a package database.
const maxField = 256

var (
	// Debian Policy 5.6.1: lower case letters, digits, + - . ; at least two
	// characters; starts with an alphanumeric.
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	// Debian Policy 5.6.12, restricted to ASCII; the structure (epoch,
	// revision) is checked by the version library.
	versionChars = regexp.MustCompile(`^[0-9A-Za-z.+~:_-]+$`)
)

// Versioning is dpkg's version order and name grammar.
type Versioning struct{}

// Compare orders versions as dpkg --compare-versions does. Versions must
// have passed ValidVersion; an unparsable one sorts first.
func (Versioning) Compare(a, b string) int {
	va, errA := debversion.NewVersion(a)
	vb, errB := debversion.NewVersion(b)
	switch {
	case errA != nil && errB != nil:
		return 0
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return cmp.Compare(va.Compare(vb), 0)
}

// ValidName accepts a Debian binary package name.
func (Versioning) ValidName(name string) error {
	if len(name) > maxField || !namePattern.MatchString(name) {
		return fmt.Errorf("%q is not a Debian package name (lower-case letters, digits, '+', '-', '.'; starting with a letter or digit)", distros.Clip(name))
	}
	return nil
}

// ValidVersion accepts a Debian version: [epoch:]upstream[-revision].
func (Versioning) ValidVersion(v string) error {
	if len(v) > maxField || !versionChars.MatchString(v) {
		return fmt.Errorf("%q is not a Debian version", distros.Clip(v))
	}
	// Policy §5.6.12: the epoch is an unsigned integer and the upstream
	// version starts with a digit. The library takes a signed epoch
	// ("-0:0"), and a version that starts with '-' reads as an option.
	upstream := v
	if epoch, rest, ok := strings.Cut(v, ":"); ok {
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" {
			return fmt.Errorf("%q is not a Debian version: its epoch is not a number", distros.Clip(v))
		}
		upstream = rest
	}
	if upstream == "" || upstream[0] < '0' || upstream[0] > '9' {
		return fmt.Errorf("%q is not a Debian version: it must start with a digit", distros.Clip(v))
	}
	if _, err := debversion.NewVersion(v); err != nil {
		return fmt.Errorf("%q is not a Debian version: %v", v, err)
	}
	return nil
}
