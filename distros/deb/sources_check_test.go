package deb

import (
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestCheckSources(t *testing.T) {
	tests := []struct {
		name, data, err string
	}{
		{"mirror.list", "# corp mirror\ndeb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://artifactory.example/debian bookworm main\n", ""},
		{"mirror.sources", "Types: deb\nURIs: https://nexus.example/repository/debian\nSuites: bookworm bookworm-updates\nComponents: main\n", ""},
		{"mirror.repo", "[x]\nbaseurl=http://x\n", "must end in .list or .sources"},
		{"mirror.list", "deb-src http://x bookworm main\n", "no binary package source"},
		{"mirror.list", "deb http://x\n", "line 1: an entry needs a URI and a suite"},
		{"mirror.list", "\nrm -rf / bookworm\n", "line 2:"},
		{"mirror.sources", "Types: deb\nURIs: http://x\nComponents: main\n", "stanza 1 has no Suites field"},
		{"mirror.sources", "Types: rpm\nURIs: http://x\nSuites: a\n", "unknown type"},
		{"mirror.sources", "Enabled: no\nTypes: deb\nURIs: http://x\nSuites: a\n", "no binary package source"},
		{"mirror.list", "deb http://x a main\x00", "not a text file"},
	}
	for _, tt := range tests {
		err := Format{}.CheckSources(distros.Sources{Name: tt.name, Data: []byte(tt.data)})
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s %q: %v", tt.name, tt.data, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s %q: error %v, want %q", tt.name, tt.data, err, tt.err)
		}
	}
}
