package distros_test

import (
	"context"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/deb/debstep"
	"github.com/copa/frontend/distros/distrostest"
	"github.com/copa/frontend/distros/rpm"
)

// TestRegistryVocabulary maps every scanner family and os-release ID the
// formats name to their format: the report check compares these, not the
// raw words (Trivy says "redhat", os-release "rhel").
func TestRegistryVocabulary(t *testing.T) {
	families := map[string]string{
		"debian": "deb", "ubuntu": "deb",
		"alpine": "apk", "wolfi": "apk", "chainguard": "apk",
		"redhat": "rpm", "centos": "rpm", "rocky": "rpm", "alma": "rpm", "oracle": "rpm", "amazon": "rpm",
		"fedora": "rpm", "cbl-mariner": "rpm", "azurelinux": "rpm", "photon": "rpm", "sles": "rpm", "slem": "rpm",
		"opensuse-leap": "rpm", "opensuse-tumbleweed": "rpm",
		// No OS packages, or not a Report.Family name.
		"": "", "bottlerocket": "", "rockylinux": "", "opensuse.leap": "", "Debian": "",
	}
	for fam, want := range families {
		f, _, ok := all.Registry.ForFamily(fam)
		if got := ""; ok {
			got = f.Name()
			if got != want {
				t.Errorf("ForFamily(%q) = %s, want %s", fam, got, want)
			}
		} else if want != "" {
			t.Errorf("ForFamily(%q): none, want %s", fam, want)
		}
	}
	matches := []struct {
		family string
		osr    distros.OSRelease
		want   bool
	}{
		{"redhat", distros.OSRelease{ID: "rhel"}, true},
		{"amazon", distros.OSRelease{ID: "amzn"}, true},
		{"oracle", distros.OSRelease{ID: "ol"}, true},
		{"alma", distros.OSRelease{ID: "almalinux"}, true},
		{"cbl-mariner", distros.OSRelease{ID: "mariner"}, true},
		{"opensuse", distros.OSRelease{ID: "opensuse-leap"}, true},
		{"debian", distros.OSRelease{ID: "raspbian", IDLike: []string{"debian"}}, true},
		{"redhat", distros.OSRelease{ID: "debian"}, false},
		{"ubuntu", distros.OSRelease{ID: "debian"}, false},
		{"echo", distros.OSRelease{ID: "echo"}, true}, // unknown to the registry: compared as it is
	}
	for _, m := range matches {
		if got := all.Registry.FamilyMatches(m.family, m.osr); got != m.want {
			t.Errorf("FamilyMatches(%q, %s) = %v", m.family, m.osr, got)
		}
	}
	// A derivative's own ID wins over its ID_LIKE.
	if _, d, ok := all.Registry.ForOS(distros.OSRelease{ID: "ubuntu", IDLike: []string{"debian"}}); !ok || d.ID != "ubuntu" {
		t.Errorf("ubuntu is %+v", d)
	}
}

func TestNewRegistryRefusesMistakes(t *testing.T) {
	tests := []struct {
		name string
		e    distros.Entries
		want string
	}{
		{"method without its format", distros.Entries{Formats: []distros.Format{rpm.Format{}}, Methods: []distros.Method{deb.Apt{}}}, "method apt installs deb packages, a format the registry does not list"},
		{"distro twice", distros.Entries{Formats: []distros.Format{deb.Format{}, deb.Format{}}}, `distro "debian" is listed by formats deb and deb`},
		{"helper twice", distros.Entries{Helpers: append(debstep.Commands, debstep.Commands[0])}, `helper command "keep-unchanged-deb" is listed twice`},
	}
	for _, tt := range tests {
		if _, err := distros.NewRegistry(tt.e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := distros.NewRegistry(distros.Entries{Formats: []distros.Format{deb.Format{}, rpm.Format{}, apk.Format{}}, Methods: []distros.Method{deb.Apt{}, deb.Tooling{}}, Helpers: debstep.Commands}); err != nil {
		t.Error(err)
	}
}

func TestDetectOrder(t *testing.T) {
	// Both deb methods could patch an image with apt; apt, listed first,
	// wins.
	fs := distrostest.MapFS{"/var/lib/dpkg/status": "Package: a\nStatus: install ok installed\nVersion: 1\n", "/bin/sh": "", "/usr/bin/apt-get": ""}
	m, err := all.Registry.Detect(context.Background(), fs, distros.OSRelease{ID: "debian", VersionCodename: "bookworm"}, false)
	if err != nil || m.Name() != "apt" {
		t.Errorf("Detect = %v, %v", m, err)
	}
}
