package deb

import (
	"reflect"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestSuites(t *testing.T) {
	files := map[string][]byte{
		SourcesList: []byte(`# deb http://deb.debian.org/debian bookworm-backports main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-proposed-updates main
`),
		SourcesPartDir + "/debian.sources": []byte(`Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites:
 bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://example.invalid/debian
Suites: bookworm-backports
`),
	}
	got := Suites(files)
	want := []string{"bookworm", "bookworm-updates", "bookworm-security"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Suites = %q, want %q", got, want)
	}
}

func TestExtraSources(t *testing.T) {
	tests := []struct {
		name       string
		rel        Release
		arch       string
		configured []string
		list       string
		added      []string
	}{
		{
			name:       "debian with everything configured",
			rel:        Release{"debian", "bookworm"},
			arch:       "amd64",
			configured: []string{"bookworm", "bookworm-updates", "bookworm-security"},
		},
		{
			name:       "debootstrap-style bookworm",
			rel:        Release{"debian", "bookworm"},
			arch:       "amd64",
			configured: []string{"bookworm"},
			list: "deb http://deb.debian.org/debian-security bookworm-security main\n" +
				"deb http://deb.debian.org/debian bookworm-updates main\n",
			added: []string{"bookworm-security", "bookworm-updates"},
		},
		{
			name:       "buster's security suite has the old name",
			rel:        Release{"debian", "buster"},
			arch:       "amd64",
			configured: []string{"buster", "buster-updates"},
			list:       "deb http://deb.debian.org/debian-security buster/updates main\n",
			added:      []string{"buster/updates"},
		},
		{
			name:       "ubuntu on arm64 uses ports",
			rel:        Release{"ubuntu", "jammy"},
			arch:       "arm64",
			configured: []string{"jammy", "jammy-security"},
			list:       "deb http://ports.ubuntu.com/ubuntu-ports jammy-updates main restricted universe multiverse\n",
			added:      []string{"jammy-updates"},
		},
		{
			name: "unknown codename adds nothing",
			rel:  Release{"debian", ""},
			arch: "amd64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, added := ExtraSources(tt.rel, tt.arch, tt.configured)
			if list != tt.list || !reflect.DeepEqual(added, tt.added) {
				t.Errorf("ExtraSources = %q %q, want %q %q", list, added, tt.list, tt.added)
			}
		})
	}
}

func TestReleaseOf(t *testing.T) {
	tests := []struct {
		osr     distros.OSRelease
		want    Release
		wantErr bool
	}{
		{osr: distros.OSRelease{ID: "debian", VersionCodename: "bookworm"}, want: Release{"debian", "bookworm"}},
		{osr: distros.OSRelease{ID: "ubuntu", IDLike: []string{"debian"}, VersionCodename: "jammy"}, want: Release{"ubuntu", "jammy"}},
		{osr: distros.OSRelease{ID: "raspbian", IDLike: []string{"debian"}, VersionCodename: "bookworm"}, want: Release{"debian", "bookworm"}},
		{osr: distros.OSRelease{ID: "alpine"}, wantErr: true},
		{osr: distros.OSRelease{ID: "debian", VersionCodename: "bookworm;rm"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ReleaseOf(tt.osr)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ReleaseOf(%+v) = %+v, %v", tt.osr, got, err)
		}
	}
}

func TestSuitesDeb822(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{name: "comment lines inside a stanza", data: "Types: deb\n# URIs: http://old.invalid/debian\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n# bookworm-backports\n bookworm-updates\n", want: []string{"bookworm", "bookworm-updates"}},
		{name: "field names in any case", data: "types: deb deb-src\nSUITES: trixie\n", want: []string{"trixie"}},
		{name: "Enabled: No", data: "Types: deb\nEnabled: No\nSuites: bookworm\n"},
		{name: "source packages only", data: "Types: deb-src\nSuites: bookworm\n"},
		{name: "stanzas after several blank lines, CRLF", data: "Types: deb\r\nSuites: a\r\n\r\n\r\nTypes: deb\r\nSuites: b/\r\n", want: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Suites(map[string][]byte{SourcesPartDir + "/x.sources": []byte(tt.data)})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Suites = %q, want %q", got, tt.want)
			}
		})
	}
}
