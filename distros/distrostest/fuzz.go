package distrostest

import (
	"slices"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/report"
	"github.com/copa/frontend/internal/fuzzseed"
)

// What the fuzz targets of every format share: the properties a
// distros.Versioning must have, and seeds taken from the shared report
// fixtures.

// maxField is the longest name or version any format accepts.
const maxField = 256

// unsafeChars are the bytes no accepted name or version may hold: shell
// metacharacters and quotes, path separators, and '=' and ',' (which
// separate a name from its version, or entries, in the steps' commands).
const unsafeChars = " \t\n\r\v\f\x00\"'`$&|;<>()[]{}*?!#\\/=,"

// CheckSafeWord fails t when s, which the format's grammar (what) accepted,
// could be taken as anything but one plain word: empty, over maxField
// bytes, not printable ASCII, holding a byte of unsafeChars, or starting
// with '-' (an option).
func CheckSafeWord(t testing.TB, what, s string) {
	t.Helper()
	switch {
	case s == "" || len(s) > maxField:
		t.Fatalf("%s %q accepted with length %d", what, s, len(s))
	case s[0] == '-':
		t.Fatalf("%s %q accepted though it starts with '-'", what, s)
	case strings.ContainsAny(s, unsafeChars):
		t.Fatalf("%s %q accepted though it holds one of %q", what, s, unsafeChars)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			t.Fatalf("%s %q accepted though byte %d is %#x", what, s, i, s[i])
		}
	}
}

// CheckName checks v.ValidName on one input: an accepted name is a safe
// word (CheckSafeWord) that does not start with '.' (so, without '/', it
// is no path either), and a finding for it passes Finding.Validate.
func CheckName(t *testing.T, v distros.Versioning, name string) {
	t.Helper()
	if v.ValidName(name) != nil {
		return
	}
	CheckSafeWord(t, "name", name)
	if name[0] == '.' {
		t.Fatalf("name %q accepted though it is a relative path", name)
	}
	if err := (distros.Finding{Package: name, Entry: "fuzz"}).Validate(v); err != nil {
		t.Fatalf("ValidName accepts %q but Finding.Validate refuses it: %v", name, err)
	}
}

// CheckVersioning checks v.Compare and v.ValidVersion on three inputs.
// Every version ValidVersion accepts must be a safe word (CheckSafeWord);
// among the accepted ones Compare must return -1, 0 or 1 and be a total
// preorder: reflexive, antisymmetric and transitive, with equality
// transitive too. Inputs ValidVersion refuses are still compared, for
// panics only, since Compare's contract covers valid versions.
func CheckVersioning(t *testing.T, v distros.Versioning, a, b, c string) {
	t.Helper()
	all := []string{a, b, c}
	var valid []string
	for _, x := range all {
		if v.ValidVersion(x) == nil {
			CheckSafeWord(t, "version", x)
			valid = append(valid, x)
		}
	}
	for _, x := range all {
		for _, y := range all {
			_ = v.Compare(x, y) // no panic, whatever the input
		}
	}
	for _, x := range valid {
		if got := v.Compare(x, x); got != 0 {
			t.Fatalf("Compare(%q, %q) = %d, want 0", x, x, got)
		}
		for _, y := range valid {
			xy, yx := v.Compare(x, y), v.Compare(y, x)
			if xy < -1 || xy > 1 {
				t.Fatalf("Compare(%q, %q) = %d, want -1, 0 or 1", x, y, xy)
			}
			if xy != -yx {
				t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", x, y, xy, y, x, yx)
			}
		}
	}
	// Transitivity: sorted by Compare, each element must be ≤ every later
	// one, and elements equal to a neighbour equal to each other.
	sorted := slices.Clone(valid)
	slices.SortStableFunc(sorted, v.Compare)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if got := v.Compare(sorted[i], sorted[j]); got > 0 {
				t.Fatalf("not transitive: %q sorts before %q but Compare gives %d (sorted %q)", sorted[i], sorted[j], got, sorted)
			}
		}
	}
	if len(sorted) == 3 {
		x, y, z := sorted[0], sorted[1], sorted[2]
		if v.Compare(x, y) == 0 && v.Compare(y, z) == 0 && v.Compare(x, z) != 0 {
			t.Fatalf("equality not transitive: %q = %q = %q but Compare(%q, %q) = %d", x, y, z, x, z, v.Compare(x, z))
		}
	}
}

// ReportSeeds returns the package names and version triples (installed,
// fixed, and the next finding's installed version) of the shared report
// fixtures whose OS family is one of f's distros, for seeding f's fuzz
// targets; nothing when the fixtures are absent. Reports the reader
// refuses are skipped: they seed the report targets instead.
func ReportSeeds(t testing.TB, f distros.Format) (names []string, versions [][3]string) {
	t.Helper()
	var families []string
	for _, d := range f.Distros() {
		families = append(families, d.Families...)
	}
	for _, data := range fuzzseed.Files(t, "reports", ".json") {
		rep, err := report.Parse(data)
		if err != nil || !slices.Contains(families, rep.Family) {
			continue
		}
		for i, fd := range rep.Findings {
			if !slices.Contains(names, fd.Package) {
				names = append(names, fd.Package)
			}
			next := rep.Findings[(i+1)%len(rep.Findings)].InstalledVersion
			fixed := append(fd.FixedVersions(), "")[0]
			tr := [3]string{fd.InstalledVersion, fixed, next}
			if !slices.Contains(versions, tr) {
				versions = append(versions, tr)
			}
		}
	}
	return names, versions
}
