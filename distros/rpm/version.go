// Package rpm holds what the rpm-based families (Red Hat and its rebuilds,
// Amazon Linux, SUSE, Mariner/Azure Linux, Photon) share: rpm's version
// order and name grammar.
package rpm

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	rpmversion "github.com/knqyf263/go-rpm-version"

	"github.com/copa/frontend/distros"
)

// maxField bounds names and versions: real RPM names and EVRs are far
// shorter, and anything longer is not from a package database.
const maxField = 256

var (
	// rpmbuild's rules for Name (build/parsePreamble.c): letters, digits
	// and ". - _ +", starting with a letter, digit or '_', and no "..".
	// Upper case is allowed (NetworkManager, perl-Digest-MD5).
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]*$`)
	// [epoch:]version[-release]: rpmbuild allows letters, digits and
	// ". _ + ~ ^" in Version and Release (no '-': it separates them), and
	// the epoch is an unsigned number. Trivy writes the epoch only when it
	// is not zero, Grype always ("0:1.2-3").
	evrPattern = regexp.MustCompile(`^(?:([0-9]{1,10}):)?([A-Za-z0-9._+~^]+)(?:-([A-Za-z0-9._+~^]+))?$`)
)

// Versioning is rpm's version order (rpmvercmp) and name grammar.
type Versioning struct{}

// Compare orders [epoch:]version[-release] strings as rpm does: a missing
// epoch is 0 (so "0:1.2-3" equals "1.2-3"), '~' sorts before anything and
// '^' after the base version. A missing release sorts before any release,
// as rpm's labelCompare does (only rpm's dependency ranges ignore it;
// installed and fixed versions always carry one). Versions must have passed
// ValidVersion.
func (Versioning) Compare(a, b string) int {
	return cmp.Compare(rpmversion.NewVersion(a).Compare(rpmversion.NewVersion(b)), 0)
}

// ValidName accepts an RPM package name.
func (Versioning) ValidName(name string) error {
	if len(name) > maxField || !namePattern.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("%q is not an RPM package name (letters, digits, '.', '_', '+', '-'; starting with a letter, digit or '_')", distros.Clip(name))
	}
	return nil
}

// ValidVersion accepts an RPM version: [epoch:]version[-release].
func (Versioning) ValidVersion(v string) error {
	if len(v) > maxField || !evrPattern.MatchString(v) || strings.Contains(v, "..") {
		return fmt.Errorf("%q is not an RPM version ([epoch:]version[-release] of letters, digits and '.', '_', '+', '~', '^')", distros.Clip(v))
	}
	return nil
}
