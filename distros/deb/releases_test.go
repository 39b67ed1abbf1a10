package deb

import (
	"reflect"
	"testing"
	"time"

	"github.com/copa/frontend/distros"
)

func TestExtraSources(t *testing.T) {
	bookworm := distros.OSRelease{ID: "debian", VersionCodename: "bookworm"}
	tests := []struct {
		name       string
		osr        distros.OSRelease
		arch       string
		configured []string
		list       string
		added      []string
	}{
		{
			name:       "debian with everything configured",
			osr:        bookworm,
			arch:       "amd64",
			configured: []string{"bookworm", "bookworm-updates", "bookworm-security"},
		},
		{
			name:       "debootstrap-style bookworm",
			osr:        bookworm,
			arch:       "amd64",
			configured: []string{"bookworm"},
			list: "deb http://deb.debian.org/debian-security bookworm-security main\n" +
				"deb http://deb.debian.org/debian bookworm-updates main\n",
			added: []string{"bookworm-security", "bookworm-updates"},
		},
		{
			name:       "buster's security suite has the old name",
			osr:        distros.OSRelease{ID: "debian", VersionCodename: "buster"},
			arch:       "amd64",
			configured: []string{"buster", "buster-updates"},
			list:       "deb http://deb.debian.org/debian-security buster/updates main\n",
			added:      []string{"buster/updates"},
		},
		{
			name:       "ubuntu on arm64 uses ports",
			osr:        distros.OSRelease{ID: "ubuntu", VersionCodename: "jammy"},
			arch:       "arm64",
			configured: []string{"jammy", "jammy-security"},
			list:       "deb http://ports.ubuntu.com/ubuntu-ports jammy-updates main restricted universe multiverse\n",
			added:      []string{"jammy-updates"},
		},
		{
			name:       "ubuntu on i386 stays on the main archive",
			osr:        distros.OSRelease{ID: "ubuntu", VersionCodename: "jammy"},
			arch:       "i386",
			configured: []string{"jammy", "jammy-updates"},
			list:       "deb http://security.ubuntu.com/ubuntu jammy-security main restricted universe multiverse\n",
			added:      []string{"jammy-security"},
		},
		{
			name:       "a release the table does not list gets the distro's suites",
			osr:        distros.OSRelease{ID: "debian", VersionCodename: "duke"},
			arch:       "amd64",
			configured: []string{"duke"},
			list: "deb http://deb.debian.org/debian-security duke-security main\n" +
				"deb http://deb.debian.org/debian duke-updates main\n",
			added: []string{"duke-security", "duke-updates"},
		},
		{
			name: "unstable has no security or updates suite",
			osr:  distros.OSRelease{ID: "debian", VersionCodename: "sid"},
			arch: "amd64",
		},
		{
			name: "unknown codename adds nothing",
			osr:  distros.OSRelease{ID: "debian"},
			arch: "amd64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel, err := ReleaseOf(tt.osr)
			if err != nil {
				t.Fatal(err)
			}
			list, added := rel.ExtraSources(tt.arch, tt.configured)
			if list != tt.list || !reflect.DeepEqual(added, tt.added) {
				t.Errorf("ExtraSources = %q %q, want %q %q", list, added, tt.list, tt.added)
			}
		})
	}
}

func TestReleaseOf(t *testing.T) {
	tests := []struct {
		osr                     distros.OSRelease
		distro, codename, cache string
		eol                     string
		wantErr                 bool
	}{
		{osr: distros.OSRelease{ID: "debian", VersionCodename: "bookworm"}, distro: "debian", codename: "bookworm", cache: "debian-bookworm", eol: "2028-06-30"},
		{osr: distros.OSRelease{ID: "debian", VersionCodename: "bullseye"}, distro: "debian", codename: "bullseye", cache: "debian-bullseye", eol: "2026-08-31"},
		{osr: distros.OSRelease{ID: "ubuntu", IDLike: []string{"debian"}, VersionCodename: "jammy"}, distro: "ubuntu", codename: "jammy", cache: "ubuntu-jammy"},
		{osr: distros.OSRelease{ID: "raspbian", IDLike: []string{"debian"}, VersionCodename: "bookworm"}, distro: "debian", codename: "bookworm", cache: "debian-bookworm", eol: "2028-06-30"},
		{osr: distros.OSRelease{ID: "debian"}, distro: "debian", cache: "debian-unknown"},
		{osr: distros.OSRelease{ID: "alpine"}, wantErr: true},
		{osr: distros.OSRelease{ID: "debian", VersionCodename: "bookworm;rm"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ReleaseOf(tt.osr)
		if (err != nil) != tt.wantErr {
			t.Errorf("ReleaseOf(%+v): %v", tt.osr, err)
			continue
		}
		if tt.wantErr {
			continue
		}
		eol := ""
		if !got.EOL.IsZero() {
			eol = got.EOL.Format(time.DateOnly)
		}
		if got.Distro != tt.distro || got.Codename != tt.codename || got.CacheKey != tt.cache || eol != tt.eol {
			t.Errorf("ReleaseOf(%+v) = %s %s cache %s eol %q, want %s %s cache %s eol %q", tt.osr, got.Distro, got.Codename, got.CacheKey, eol, tt.distro, tt.codename, tt.cache, tt.eol)
		}
	}
	// The table's releases are found by their own os-release.
	for _, r := range releases {
		got, err := ReleaseOf(distros.OSRelease{ID: r.Distro, VersionCodename: r.Codename})
		if err != nil || got.Codename != r.Codename || got.Version != r.Version {
			t.Errorf("%s %s: got %+v, %v", r.Distro, r.Codename, got, err)
		}
	}
}

func TestReleaseEndOfLife(t *testing.T) {
	rel, err := ReleaseOf(distros.OSRelease{ID: "debian", VersionCodename: "buster"})
	if err != nil {
		t.Fatal(err)
	}
	if !rel.EndOfLife(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)) || rel.EndOfLife(time.Date(2024, 6, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("buster's support ended on 2024-06-30, EndOfLife says otherwise")
	}
	if noDate := (distros.Release{Distro: "debian", Name: "forky"}); noDate.EndOfLife(time.Now()) {
		t.Error("a release without a date is never past its end of life")
	}
}

func TestArch(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"amd64", ""}: "amd64", {"arm64", "v8"}: "arm64", {"arm", "v7"}: "armhf", {"arm", "v6"}: "armel",
		{"386", ""}: "i386", {"ppc64le", ""}: "ppc64el", {"s390x", ""}: "s390x", {"riscv64", ""}: "riscv64", {"", ""}: "",
	} {
		if got := Arch(in[0], in[1]); got != want {
			t.Errorf("Arch(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
