package distros_test

import (
	"reflect"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/deb"
)

// TestPackagesVersion covers names with several records: per architecture
// the newest counts (copies kept side by side), across architectures the
// lowest, so that verification never passes on one architecture while
// another is still behind.
func TestPackagesVersion(t *testing.T) {
	ps := distros.Packages{
		{Name: "libc6", Arch: "amd64", Version: "2.36-9+deb12u10"},
		{Name: "libc6", Arch: "i386", Version: "2.36-9+deb12u4"},
		{Name: "kernel", Arch: "x86_64", Version: "5.14.0-1"},
		{Name: "kernel", Arch: "x86_64", Version: "5.14.0-3"},
		{Name: "tzdata", Arch: "all", Version: "2025b-0+deb12u1"},
	}
	v := deb.Versioning{}
	for name, want := range map[string]string{"libc6": "2.36-9+deb12u4", "kernel": "5.14.0-3", "tzdata": "2025b-0+deb12u1", "gone": ""} {
		got, ok := ps.Version(v, name)
		if got != want || ok != (want != "") {
			t.Errorf("Version(%s) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if got := ps.Versions(v); !reflect.DeepEqual(got, map[string]string{"libc6": "2.36-9+deb12u4", "kernel": "5.14.0-3", "tzdata": "2025b-0+deb12u1"}) {
		t.Errorf("Versions = %v", got)
	}
	if ps.Arch("libc6") != "" || ps.Arch("tzdata") != "all" || ps.Arch("kernel") != "x86_64" {
		t.Errorf("Arch: libc6 %q, tzdata %q, kernel %q", ps.Arch("libc6"), ps.Arch("tzdata"), ps.Arch("kernel"))
	}
	// i386 still behind: the patch is not verified.
	if short := distros.Verify(v, ps, []distros.Update{{Name: "libc6", Fixed: "2.36-9+deb12u10"}}); len(short) != 1 || short[0].Installed != "2.36-9+deb12u4" {
		t.Errorf("Verify = %+v", short)
	}
}
