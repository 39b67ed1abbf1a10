package apk

import (
	"testing"

	"github.com/copa/frontend/distros/distrostest"
)

// Fuzz targets of the apk format: apk-tools' version order and the name
// grammar. `make fuzz` runs each; crashers found land in
// testdata/fuzz/<target>/ and are replayed by every `go test`.

// FuzzVersioning checks that Compare is a total preorder on the versions
// ValidVersion accepts and that accepted versions are safe words
// (distrostest.CheckVersioning).
func FuzzVersioning(f *testing.F) {
	for _, s := range [][3]string{
		{"1.36.1-r15", "1.36.1-r16", "1.37.0-r0"},
		{"1.2.3_rc1-r0", "1.2.3-r0", "1.2.3_p1-r0"},
		{"3.3.2-r4", "3.3.3-r0", "3.3.2-r5"},
		{"1.0a-r1", "1.0b", "1.0_alpha2_beta3"},
		{"0.1.2_git20230101-r0", "0.1.2_cvs", "0.1.2_svn1_hg2"},
		{"01.2", "1.02", "1.2.0"},
		{"", "1.", "1.0-r"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	_, versions := distrostest.ReportSeeds(f, Format{})
	for _, s := range versions {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		distrostest.CheckVersioning(t, Versioning{}, a, b, c)
	})
}

// FuzzValidName checks that every name ValidName accepts is a safe word
// (distrostest.CheckName).
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"musl-utils", "py3-pip", "libc++", "so:libc.musl-x86_64.so.1", "ca-certificates-bundle", "-x", "a=1", "x_y.z"} {
		f.Add(s)
	}
	names, _ := distrostest.ReportSeeds(f, Format{})
	for _, s := range names {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		distrostest.CheckName(t, Versioning{}, name)
	})
}
